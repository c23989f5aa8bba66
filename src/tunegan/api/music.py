"""Making music: :func:`generate`, :func:`render`, :func:`explain`, :func:`styles`, and the loaded
model they share (:func:`load_model`)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import symusic
import torch

from ..checkpoint import Checkpoint, ModelCache, load_checkpoint
from ..errors import MusicOptionError
from ..generation import MAX_SEED, GenerationOptions, check_seed, for_model, prime_tokens, sample_pieces, target_seconds
from ..midi import write_midi
from ..music import extract_notes, seed_score

__all__ = ["Generation", "load_model", "seed_score", "prime_tokens", "generate", "check_outputs", "render", "explain", "styles"]



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


def load_model(checkpoint: str | os.PathLike | None = None, *, models: ModelCache | None = None,
               device: str | torch.device | None = "auto") -> Checkpoint:
    """A checkpoint's generator, tokenizer and metadata (``None`` = the shipped model; a shipped
    model's name works too). With ``models`` it is loaded once and kept there."""
    if models is not None:
        return models.get(checkpoint)
    return load_checkpoint(checkpoint, with_discriminator=False, device=device)


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
    hold_tempo: bool = False,
    time_signature: str | tuple | None = None,
    instrument: str | int | None = None,
    style: str | list[str] | None = None,
    mood: str | None = None,
    guidance: float = 1.0,
    mode: str | None = None,
    density: str | None = None,
    pace: str | None = None,
    form: str | None = None,
    phrase_bars: int | None = None,
    variation: float = 0.0,
    ending: str | None = None,
    loop: bool = False,
    repeats: bool = True,
    harmony: bool = True,
    candidates: int = 1,
    seeds: list[int] | None = None,
    models: ModelCache | None = None,
    device: str | None = "auto",
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
                   the model for bar-based representations). A tempo given holds through the piece.
    hold_tempo:    keep the tempo the piece opens with (drawn from the style's prior) through it;
                   by default the model may change it, as its music sometimes does.
    style, mood, guidance: keywords for a conditional model (see ``tunegan styles``).
    mode, density, pace: "minor", "low", "slow"...: attributes of a model trained with them.
    form, phrase_bars, variation: phrases that return ("AABA"; see :mod:`tunegan.form`).
    ending:        "cadence" (default for bar-based models: the last bar is the tonic, held) or "none".
    loop:          the last bar leads back into the first; the MIDI is an exact number of bars
                   with ``loopStart``/``loopEnd`` markers, and rendered audio wraps its tail.
    repeats:       mix in what followed the same music earlier in the piece, as much as the
                   model's fitted weights say (:mod:`tunegan.repetition`); False = the network alone.
    harmony:       no key struck again while it sounds, and semitone clashes about as rare as in
                   the style's music, by the model's fitted guard (:mod:`tunegan.harmony`).
    candidates:    make this many candidates per sample and keep the one the checkpoint's critic
                   finds most real (``tunegan train --mode critic``); candidate j of sample i uses
                   seed ``seed + i + samples * j`` (j = 0 is the plain sample).
    seeds:         instead of ``seed`` and ``samples``: one sample per seed, candidate j of the
                   sample of seed s made with seed ``s + j``. So ``seeds=[a, b]`` gives what
                   ``seed=a`` and ``seed=b`` give one by one, made as one batch (the studio batches
                   requests this way).
    A bar-based model makes 8 bars when no length is given.
    The samples are made as one batch (see :func:`tunegan.generation.sample_tokens`).
    """
    from .. import music as M

    options = GenerationOptions(length=length, bars=bars, seconds=seconds, temperature=temperature, top_k=top_k,
                                top_p=top_p, key=key, tempo=tempo, hold_tempo=hold_tempo, time_signature=time_signature,
                                style=tuple(style) if isinstance(style, (list, tuple)) else (style or ()),
                                mood=mood, guidance=guidance, mode=mode, density=density, pace=pace, form=form,
                                phrase_bars=phrase_bars, variation=variation, ending=ending, loop=loop,
                                repeats=repeats, harmony=harmony)
    if not isinstance(samples, int) or not 1 <= samples <= 64:
        raise MusicOptionError(f"samples must be within 1 and 64 (received {samples})")
    if not isinstance(candidates, int) or isinstance(candidates, bool) or not 1 <= candidates <= 64:
        raise MusicOptionError(f"candidates must be within 1 and 64 (received {candidates})")
    if not -48 <= int(transpose) <= 48:
        raise MusicOptionError(f"transpose must be within -48 and 48 semitones (received {transpose})")
    program = M.parse_instrument(instrument) if instrument is not None else None
    if seeds is not None:
        if seed is not None or samples != 1:
            raise MusicOptionError("give either seeds, or seed and samples, not both")
        if not 1 <= len(seeds) <= 64:
            raise MusicOptionError(f"seeds must hold 1 to 64 seeds (received {len(seeds)})")
        firsts, stride = [check_seed(s) for s in seeds], 1
        samples = len(firsts)
    else:
        base_seed = check_seed(seed) if seed is not None else int(np.random.SeedSequence().entropy % (2**31))
        firsts, stride = [base_seed + i for i in range(samples)], samples
    if max(firsts) + stride * (candidates - 1) > MAX_SEED:
        raise MusicOptionError(f"seed {max(firsts)} leaves no room for {samples} samples of {candidates} candidates "
                               f"(sample i uses seed + i, at most 2**63-1): use a smaller seed")
    if models is not None and device not in (None, "auto"):
        from ..device import resolve_device

        if resolve_device(device) != models.device:
            raise MusicOptionError(f"device '{device}' differs from the model cache's ({models.device})")
    model = load_model(checkpoint, models=models, device=device)
    tok = model.tokenizer
    options = for_model(model, options)
    critic_scores = [None] * samples
    pool = [firsts[i] + stride * j for j in range(candidates) for i in range(samples)]  # i + samples * j
    if candidates > 1:
        critic, info = (models or ModelCache(device)).critic(checkpoint)
        from ..training.critic import score_tokens

        def best_of(tokens: list[np.ndarray]) -> list[int]:  # sample i's candidates are i, i + samples, ...
            scores = score_tokens(critic, int(info["seq_len"]), tok.vocab_size, tokens, tok.pad_id)
            best = [i + samples * max(range(candidates), key=lambda j: (scores[i + samples * j], -j))
                    for i in range(samples)]
            critic_scores[:] = [float(scores[k]) for k in best]
            chosen_seeds[:] = [pool[k] for k in best]
            return best

        chosen_seeds: list[int] = []
        pieces = sample_pieces(model, options, pool, seed_notes=seed_notes, primer=primer, select=best_of)
    else:
        pieces = sample_pieces(model, options, pool, seed_notes=seed_notes, primer=primer)
        chosen_seeds = pool
    target_s = target_seconds(tok, options)
    settings = {"temperature": temperature, "top_k": top_k, "top_p": top_p, "key": key, "style": style, "mood": mood,
                "repeats": bool(options.repeats and model.repeats is not None),
                "harmony": bool(options.harmony and model.harmony is not None)}
    results = []
    for i, (prime, add, o) in enumerate(pieces):
        tokens = np.concatenate([prime[1:], add])
        score = tok.decode(tokens)
        if options.tempo is not None:
            score = M.set_tempo(score, options.tempo)
        if o.hold and o.time_signature is not None:
            score = M.set_time_signature(score, *o.time_signature)
        if target_s is not None:
            score = score.clip(0, M.seconds_to_tick(score, target_s), clip_end=True)
        elif options.bars is not None and tok.has_bars:  # notes of the last bar end at its bar line
            grid = M.bar_grid(score, int(score.end()))
            if len(grid.bars) > options.bars:
                score = score.clip(0, int(grid.bars[options.bars]), clip_end=True)
        if options.loop and tok.has_bars:
            from ..music.form import mark_loop

            score = mark_loop(score, options.bars)
        if transpose:
            score = M.transpose_score(score, int(transpose))
        if program is not None:
            score = M.set_instrument(score, program)
        form_info = {"form": options.form, "phrase_bars": options.phrase_bars, "bars": options.bars,
                     "loop": options.loop, "ending": None if not (options.structured and tok.has_bars) else
                     ("loop" if options.loop else options.ending or "cadence")}
        results.append(Generation(score, tokens, len(prime) - 1, chosen_seeds[i],
                                  settings | form_info | {"candidates": candidates, "critic_score": critic_scores[i]}
                                  | {"opening": {"tempo": o.tempo, "time_signature": o.time_signature,
                                                          "metre_held": o.hold, "tempo_held": options.tempo_held,
                                                          "prior": o.prior, "drawn": list(o.drawn),
                                                          "key": o.key, "sampled_key": o.sampled_key,
                                                          "sampled_register": o.sampled_register, "mode": o.mode,
                                                          "mode_changed": o.mode_changed, "density": o.density}}))
    return results


def check_outputs(*, midi=None, wav=None, png=None, musicxml=None, sheet=None, json=None, markdown=None) -> None:
    """Check output paths before any work (writable, not a folder, a suffix the format supports):
    one-line :class:`MusicOptionError` otherwise."""
    from ..outputs.limits import check_output

    for kind, path in (("midi", midi), ("wav", wav), ("png", png), ("musicxml", musicxml), ("sheet", sheet),
                       ("json", json), ("markdown", markdown)):
        if path is not None:
            check_output(path, kind)


def render(midi: str | os.PathLike | symusic.Score | bytes, *, wav=None, png=None, musicxml=None, sheet=None,
           soundfont=None, engine: str = "auto", max_minutes: float | None = None):
    """Write audio, a piano roll, MusicXML and/or engraved sheet music of a MIDI file or Score.
    With no output given, ``NAME.wav`` and ``NAME.png`` next to a MIDI file. Every output path is
    checked before any work; returns a report with ``written`` paths and ``warnings``."""
    from ..outputs.render import render as run_render

    if not any((wav, png, musicxml, sheet)):
        if isinstance(midi, (symusic.Score, bytes, bytearray)):
            raise MusicOptionError("say what to write: wav, png, musicxml or sheet")
        wav, png = Path(midi).with_suffix(".wav"), Path(midi).with_suffix(".png")
    kw = {} if max_minutes is None else {"max_minutes": max_minutes}
    return run_render(midi, wav=wav, png=png, musicxml=musicxml, sheet=sheet, soundfont=soundfont, engine=engine, **kw)


def explain(midi: str | os.PathLike | symusic.Score | bytes):
    """Key, metre, tempo, range, motifs and a table of every note (:class:`tunegan.explain.Explanation`)."""
    from ..explain import explain as run_explain

    return run_explain(midi)


def styles(checkpoint: str | os.PathLike | None = None, *, models: ModelCache | None = None) -> list[dict]:
    """Rows ``{keyword, category, pieces}`` of the keywords a model knows (empty without keywords).
    ``pieces``: the training pieces that carry the keyword, as its opening prior counts them when
    the checkpoint has one (each piece once), else as the vocabulary counted them at training."""
    from ..conditioning import describe_vocabulary

    model = load_model(checkpoint, models=models, device="cpu")
    priors = model.meta.get("priors") or {}
    return [{**row, "pieces": priors[row["keyword"]]["pieces"]} if row["keyword"] in priors else row
            for row in describe_vocabulary(model.conditions)]
