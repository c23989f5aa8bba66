"""The Python API: everything the CLI and the web studio do, as plain functions.

    >>> import tunegan
    >>> [song] = tunegan.generate(seed_notes="C4 E4 G4", length=128, seed=1)
    >>> song.write_midi("out.mid")
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import symusic
import torch

from .checkpoint import Checkpoint, load_checkpoint
from .errors import MusicOptionError, TuneganError
from .midi import NOTE_DTYPE, notes_to_score, read_midi, write_midi
from .music import extract_notes
from .music import parse_notes
from .sampling import TokenStream

MAX_PRIME_TOKENS = 512


@dataclass
class Generation:
    """One generated piece: ``score`` (tick-based symusic Score) and the ``tokens`` it decodes from
    (primer tokens first, ``prime_len`` of them, without BOS)."""

    score: symusic.Score
    tokens: np.ndarray
    prime_len: int
    seed: int
    options: dict = field(default_factory=dict)

    def write_midi(self, path: str | os.PathLike) -> Path:
        return write_midi(self.score, path)

    def notes(self) -> np.ndarray:
        """``NOTE_DTYPE`` array (seconds) of all notes."""
        return extract_notes(self.score)


_MODEL_CACHE: dict[str, Checkpoint] = {}


def load_model(checkpoint: str | os.PathLike | None = None) -> Checkpoint:
    """Load (and memoise per process) a checkpoint; ``None`` = the shipped model."""
    from .checkpoint import resolve_checkpoint

    key = str(resolve_checkpoint(checkpoint).resolve())
    if key not in _MODEL_CACHE:
        _MODEL_CACHE[key] = load_checkpoint(key, with_discriminator=False)
    return _MODEL_CACHE[key]


def seed_score(midi_pitches: list[int], *, tempo: float = 120.0, time_signature=(4, 4), beats: float = 1.0,
               velocity: int = 80) -> symusic.Score:
    """Starting notes as a Score: one note after another, each ``beats`` long."""
    step = 60.0 / tempo * beats
    notes = np.empty(len(midi_pitches), dtype=NOTE_DTYPE)
    notes["pitch"] = midi_pitches
    notes["velocity"] = velocity
    notes["start"] = np.arange(len(midi_pitches)) * step
    notes["end"] = notes["start"] + step
    return notes_to_score(notes, tempo=tempo, time_signature=time_signature)


def prime_tokens(model: Checkpoint, *, seed_notes=None, primer=None, tempo: float | None = None,
                 time_signature=None, max_tokens: int = MAX_PRIME_TOKENS) -> np.ndarray:
    """BOS followed by the tokens of the starting notes or of the primer's opening."""
    tok = model.tokenizer
    body = np.zeros(0, dtype=np.int64)
    if seed_notes is not None and primer is not None:
        raise MusicOptionError("give either starting notes or a primer MIDI file, not both")
    if seed_notes is not None:
        pitches = parse_notes(seed_notes)
        body = tok.encode(seed_score(pitches, tempo=tempo or 120.0, time_signature=time_signature or (4, 4)))
    elif primer is not None:
        score = primer if isinstance(primer, symusic.Score) else read_midi(primer)
        try:
            body = tok.encode(score)
        except TuneganError as e:
            name = primer if not isinstance(primer, symusic.Score) else "primer"
            raise type(e)(f"{name}: {e}") from None
        body = body[:max_tokens]
    return np.concatenate([[tok.bos_id], body]).astype(np.int64)


def _scale_mask(model: Checkpoint, key: str | None) -> torch.Tensor | None:
    if not key:
        return None
    from .music import parse_key, scale_pitch_classes

    tonic, mode = parse_key(key)
    pcs = scale_pitch_classes(tonic, mode)
    pitches = model.tokenizer.token_pitches()
    allowed = (pitches < 0) | np.isin(pitches % 12, list(pcs))
    return torch.from_numpy(allowed)


def _score_end_seconds(score: symusic.Score) -> float:
    n = extract_notes(score)
    return float(n["end"].max()) if len(n) else 0.0


def generate(
    *,
    seed_notes: str | list | None = None,
    primer: str | os.PathLike | symusic.Score | None = None,
    length: int | None = None,
    seconds: float | None = None,
    bars: int | None = None,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    seed: int | None = None,
    samples: int = 1,
    checkpoint: str | os.PathLike | None = None,
    key: str | None = None,
    transpose: int = 0,
    tempo: float | None = None,
    time_signature: str | tuple | None = None,
    instrument: str | int | None = None,
    style: str | list[str] | None = None,
    mood: str | None = None,
    guidance: float = 1.0,
) -> list[Generation]:
    """Continue starting notes (or a primer file, or nothing) with a trained generator.

    length:        tokens to generate (default 256, or until ``seconds``/``bars`` is reached).
    seconds/bars:  stop once the music is this long (bars use the time signature and tempo);
                   the result is cut there.
    temperature, top_k, top_p: sampling controls (see :mod:`tunegan.sampling`).
    seed:          random seed; sample i uses ``seed + i`` (default: random).
    key:           e.g. "A minor": new notes are kept to that key's scale (sampling is masked);
                   the starting notes are kept as given.
    transpose:     semitones to move the result (after generation).
    tempo, time_signature, instrument: written into the result (time signature also primes
                   the model for bar-based representations).
    style, mood, guidance: keywords for a conditional model (see ``tunegan styles``).
    """
    from . import music as M

    model = load_model(checkpoint)
    tok = model.tokenizer
    if not 0 <= temperature <= 10:
        raise MusicOptionError(f"temperature must be within 0 and 10 (received {temperature})")
    if not 0 < top_p <= 1:
        raise MusicOptionError(f"top-p must be within 0 (excluded) and 1 (received {top_p})")
    if top_k < 0:
        raise MusicOptionError(f"top-k must be >= 0 (received {top_k})")
    if not 1 <= samples <= 64:
        raise MusicOptionError(f"samples must be within 1 and 64 (received {samples})")
    if length is not None and not 1 <= length <= 20000:
        raise MusicOptionError(f"length must be within 1 and 20000 tokens (received {length})")
    ts = M.parse_time_signature(time_signature) if isinstance(time_signature, str) else time_signature
    bpm = M.parse_tempo(tempo) if tempo is not None else None
    program = M.parse_instrument(instrument) if instrument is not None else None
    if not -48 <= int(transpose) <= 48:
        raise MusicOptionError(f"transpose must be within -48 and 48 semitones (received {transpose})")
    if seconds is not None and not 0 < seconds <= 600:
        raise MusicOptionError(f"seconds must be within 0 and 600 (received {seconds})")
    if bars is not None and not 1 <= bars <= 256:
        raise MusicOptionError(f"bars must be within 1 and 256 (received {bars})")
    mask = _scale_mask(model, key)
    cond = None
    if style or mood:
        from .conditioning import keyword_ids

        cond = keyword_ids(model, style=style, mood=mood)
    prime = prime_tokens(model, seed_notes=seed_notes, primer=primer, tempo=bpm, time_signature=ts)
    base_seed = int(seed) if seed is not None else int(np.random.SeedSequence().entropy % (2**31))
    target_s = None
    by_bar_tokens = bars is not None and seconds is None and hasattr(tok, "count_bars")
    if seconds is not None:
        target_s = float(seconds)
    elif bars is not None and not by_bar_tokens:
        num, den = ts or (4, 4)
        target_s = bars * num * (4 / den) * 60.0 / (bpm or 120.0)
    # bar-based tokens: keep the asked metre by writing its time-signature token after every bar line
    force = tok.forced_tokens(ts) if hasattr(tok, "forced_tokens") else None
    results = []
    for i in range(samples):
        rng = torch.Generator().manual_seed(base_seed + i)
        c = None if cond is None else cond.unsqueeze(0)
        stream = TokenStream(model.generator, torch.from_numpy(prime).unsqueeze(0), cond=c, guidance=guidance)
        kw = dict(temperature=temperature, top_k=top_k, top_p=top_p, forbid=[tok.pad_id, tok.bos_id],
                  allowed_mask=mask, rng=rng, force=force)
        if by_bar_tokens:  # bar-based tokens (REMI): stop where bar number bars + 1 would begin
            new = _take_bars(stream, tok, prime[1:], bars, length or 20000, kw)
        elif target_s is None:
            new = stream.take(length or 256, **kw)[0].numpy()
        else:
            chunks, budget = [], length or 20000
            while budget > 0:
                chunks.append(stream.take(min(128, budget), **kw)[0].numpy())
                budget -= len(chunks[-1])
                so_far = tok.decode(np.concatenate([prime[1:], *chunks]))
                if _score_end_seconds(so_far if bpm is None else M.set_tempo(so_far, bpm)) >= target_s:
                    break  # in seconds at the tempo the result gets: the asked one, else the model's own
            new = np.concatenate(chunks)
        tokens = np.concatenate([prime[1:], new])
        score = tok.decode(tokens)
        if bpm is not None:
            score = M.set_tempo(score, bpm)
        if ts is not None:
            score = M.set_time_signature(score, *ts)
        if target_s is not None:
            score = _cut_seconds(score, target_s)
        if transpose:
            score = M.transpose_score(score, int(transpose))
        if program is not None:
            score = M.set_instrument(score, program)
        results.append(Generation(score, tokens, len(prime) - 1, base_seed + i,
                                  {"temperature": temperature, "top_k": top_k, "top_p": top_p, "key": key,
                                   "style": style, "mood": mood}))
    return results


def _take_bars(stream: TokenStream, tok, prime: np.ndarray, bars: int, budget: int, kw: dict) -> np.ndarray:
    """Sample until the music (primer included) holds ``bars`` bars; cut before the next Bar token."""
    chunks: list[np.ndarray] = []
    while budget > 0:
        chunks.append(stream.take(min(64, budget), **kw)[0].numpy())
        budget -= len(chunks[-1])
        new = np.concatenate(chunks)
        starts = np.flatnonzero(tok.is_bar(np.concatenate([prime, new])))
        if len(starts) > bars:
            return new[:max(0, starts[bars] - len(prime))]
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int64)


def _cut_seconds(score: symusic.Score, seconds: float) -> symusic.Score:
    """Drop notes starting at or after ``seconds`` and shorten those that ring past it
    (clipped in ticks, so tempo and time-signature events are kept)."""
    return score.clip(0, _seconds_to_tick(score, seconds), clip_end=True)


def _seconds_to_tick(score: symusic.Score, seconds: float) -> int:
    """The tick at ``seconds`` under the score's tempo map (120 BPM before the first tempo)."""
    tempos = sorted(score.tempos, key=lambda t: t.time)
    tick, t, qpm = 0, 0.0, 120.0
    for tempo in tempos:
        seg = (tempo.time - tick) / score.tpq * 60.0 / qpm
        if t + seg >= seconds:
            break
        t, tick, qpm = t + seg, tempo.time, tempo.qpm
    return int(round(tick + (seconds - t) * qpm / 60.0 * score.tpq))
