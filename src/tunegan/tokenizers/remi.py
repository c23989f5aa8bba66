"""REMI (Huang & Yang, 2020): bars and beat positions, so rhythm and metre are explicit.

A piece is a stream of ``Bar`` tokens, each followed by its ``TimeSig`` (e.g. ``TimeSig_3/4``),
then for each onset position ``Position_k`` (``k`` steps of ``1/max(beat_res)`` beat from the bar
line), an optional ``Tempo_x`` (quarter notes per minute) and for each note ``Pitch_p``,
``Velocity_v`` and ``Duration_b.s.r`` (``b`` beats + ``s`` steps of ``1/r`` beat). The heavy lifting
is MidiTok's :class:`miditok.REMI`; this module configures it, merges all non-drum tracks into
one piano stream (we generate piano music) and exposes bar helpers, so "16 bars in 3/4" can be
asked for and checked.

Ids are MidiTok's own: ``0 = PAD_None``, ``1 = BOS_None``, ``2 = EOS_None``, ``3 = MASK_None``, then
``Bar_None`` and the rest. Quantization (what a round trip keeps): onsets and durations are snapped
to the beat resolution of their range, velocities to ``num_velocities`` bins, tempos to
``num_tempos`` bins in ``tempo_range``; tick resolutions are resampled by MidiTok.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import symusic

from ..errors import MIDIError
from ..midi import DEFAULT_TPQ
from ..music import PIANO_HIGH, PIANO_LOW
from .base import Tokenizer, TokenizerConfig

#: Common metres (1/4 is there because about half of POP909's files declare it). For ``/8``
#: metres MidiTok counts positions per eighth note, so 12/8 needs 96 ``Position`` tokens.
DEFAULT_TIME_SIGNATURES = ("1/4", "2/4", "3/4", "4/4", "5/4", "6/4", "7/4", "2/2", "3/2",
                           "3/8", "5/8", "6/8", "7/8", "9/8", "12/8")


def _parse_ts(text: str) -> tuple[int, int] | None:
    """``"6/8" -> (6, 8)``; ``None`` when the text is not ``N/D`` with D a power of two."""
    try:
        n, d = (int(x) for x in str(text).split("/"))
    except ValueError:
        return None
    if n < 1 or d < 1 or d & (d - 1):
        return None
    return n, d


@dataclass(frozen=True)
class RemiConfig(TokenizerConfig):
    # Beat resolution per range of beats, as JSON-friendly ``(first_beat, last_beat, steps_per_beat)``
    # triples: positions and durations under 4 beats in 1/8 beat, 4..12 beats in 1/4 beat.
    beat_res: tuple = ((0, 4, 8), (4, 12, 4))
    num_velocities: int = 16        # velocity bins over 1..127 (MidiTok's default is 32)
    pitch_low: int = PIANO_LOW      # lowest MIDI pitch kept (A0 = 21); notes outside are dropped
    pitch_high: int = PIANO_HIGH    # highest MIDI pitch kept (C8 = 108)
    use_tempos: bool = True         # emit Tempo tokens (quarter notes per minute)
    num_tempos: int = 32            # tempo bins
    tempo_range: tuple = (40, 250)  # quarter notes per minute; tempos outside are clipped to it
    use_time_signatures: bool = True  # emit a TimeSig token after every Bar
    time_signatures: tuple = DEFAULT_TIME_SIGNATURES  # "N/D" strings; other metres raise MIDIError

    def __post_init__(self):
        # JSON gives lists back: store tuples so the config stays hashable and compares equal.
        object.__setattr__(self, "beat_res", tuple(tuple(int(x) for x in r) for r in self.beat_res))
        object.__setattr__(self, "tempo_range", tuple(self.tempo_range))
        object.__setattr__(self, "time_signatures", tuple(str(t) for t in self.time_signatures))
        br = self.beat_res
        ok = len(br) > 0 and all(len(r) == 3 and 0 <= r[0] < r[1] and r[2] >= 1 for r in br)
        ok = ok and br[0][0] == 0 and all(a[1] == b[0] for a, b in zip(br, br[1:]))
        self._check("beat_res", ok, "contiguous (first_beat, last_beat, steps_per_beat) triples from beat 0")
        self._check("num_velocities", 1 <= self.num_velocities <= 127, "within 1 and 127")
        self._check("pitch_low", 0 <= self.pitch_low <= 127, "a MIDI pitch within 0 and 127")
        self._check("pitch_high", self.pitch_low < self.pitch_high <= 127, f"within {self.pitch_low + 1} and 127")
        self._check("num_tempos", self.num_tempos >= 1, ">= 1")
        tr = self.tempo_range
        self._check("tempo_range", len(tr) == 2 and 0 < tr[0] < tr[1], "(low, high) quarter notes per minute, 0 < low < high")
        ts = [_parse_ts(t) for t in self.time_signatures]
        self._check("time_signatures", len(ts) > 0 and all(t is not None for t in ts),
                    "non-empty 'N/D' strings with D a power of two, like '3/4'")

    def miditok(self):
        """The equivalent :class:`miditok.TokenizerConfig`."""
        import miditok

        ts_range: dict[int, list[int]] = {}
        for n, d in (_parse_ts(t) for t in self.time_signatures):
            ts_range.setdefault(d, []).append(n)
        return miditok.TokenizerConfig(
            pitch_range=(self.pitch_low, self.pitch_high),  # MidiTok's range is inclusive
            beat_res={(a, b): r for a, b, r in self.beat_res},
            num_velocities=self.num_velocities,
            special_tokens=["PAD", "BOS", "EOS", "MASK"],
            use_tempos=self.use_tempos,
            num_tempos=self.num_tempos,
            tempo_range=self.tempo_range,
            use_time_signatures=self.use_time_signatures,
            time_signature_range=ts_range,
            use_programs=False,
            use_pitchdrum_tokens=False,  # drums are dropped before encoding
            delete_equal_successive_tempo_changes=True,
        )


def drop_doubled_notes(track: symusic.Track) -> None:
    """Keep one note per (pitch, onset) in ``track``: the longest (the loudest of equals)."""
    if len(track.notes) < 2:
        return
    a = track.notes.numpy()
    order = np.lexsort((-a["velocity"], -a["duration"], a["pitch"], a["time"]))
    t, p = a["time"][order], a["pitch"][order]
    first = np.ones(len(order), bool)
    first[1:] = (t[1:] != t[:-1]) | (p[1:] != p[:-1])
    if first.all():
        return
    keep = np.sort(order[first])
    track.notes = symusic.Note.from_numpy(*(a[k][keep] for k in ("time", "duration", "pitch", "velocity")),
                                          ttype=track.ttype)


def end_restruck_notes(track: symusic.Track) -> None:
    """End a note where its pitch is struck again while it still sounds, as a piano key does.

    Left overlapping, the file is read two ways: symusic keeps both lengths, pretty_midi and
    synthesizers end the second note at the first one's note-off."""
    if len(track.notes) < 2:
        return
    a = track.notes.numpy()
    order = np.lexsort((a["time"], a["pitch"]))
    t, p = a["time"][order].astype(np.int64), a["pitch"][order]
    end = t + a["duration"][order]
    same = p[1:] == p[:-1]
    cut = same & (t[1:] < end[:-1])
    if not cut.any():
        return
    dur = a["duration"].astype(np.int64)
    i = order[:-1][cut]
    dur[i] = np.maximum(1, t[1:][cut] - t[:-1][cut])
    track.notes = symusic.Note.from_numpy(a["time"], dur.astype(a["duration"].dtype), a["pitch"], a["velocity"],
                                          ttype=track.ttype)


class RemiTokenizer(Tokenizer):
    """REMI tokens of all non-drum tracks, merged into one piano stream.

    ``encode(score)`` -> ``np.int64`` array of shape ``(n_tokens,)`` (no BOS); ``decode`` gives a
    one-track piano Score at 480 ticks per quarter (MidiTok's grid, resampled exactly).
    """

    name = "remi"
    config_cls = RemiConfig
    has_pitches = True
    has_bars = True
    own_metre = True
    has_velocities = True

    def __init__(self, config: RemiConfig | None = None):
        super().__init__(config)
        import miditok

        self.miditok = miditok.REMI(self.config.miditok())
        vocab = self.miditok.vocab
        self._names = [""] * len(vocab)
        for tok, i in vocab.items():
            self._names[i] = tok
        assert vocab["PAD_None"] == self.pad_id and vocab["BOS_None"] == 1, "MidiTok special ids moved"
        self.bar_id = vocab["Bar_None"]
        self.num_special = len(self.miditok.special_tokens)
        # Lookup tables for transposition: id -> MIDI pitch (-1 if not a Pitch token) and back.
        self._pitch_of = np.full(len(vocab), -1, dtype=np.int64)
        self._id_of_pitch = np.full(128, -1, dtype=np.int64)
        for p in range(self.config.pitch_low, self.config.pitch_high + 1):
            i = vocab[f"Pitch_{p}"]
            self._pitch_of[i] = p
            self._id_of_pitch[p] = i
        # ... and for velocity shifts: id -> velocity bin (-1 if not a Velocity token) and back
        vel = sorted((int(tok.split("_")[1]), i) for tok, i in vocab.items() if tok.startswith("Velocity_"))
        self._vel_bin_of = np.full(len(vocab), -1, dtype=np.int64)
        self._vel_bin_of[[i for _, i in vel]] = np.arange(len(vel))
        self._id_of_vel_bin = np.array([i for _, i in vel], dtype=np.int64)
        self._ts = {_parse_ts(t) for t in self.config.time_signatures}

    @property
    def vocab_size(self) -> int:
        return len(self.miditok.vocab)

    # -- encoding -----------------------------------------------------------------------------
    def piano_score(self, score: symusic.Score) -> symusic.Score:
        """All non-drum notes of ``score`` in one piano track (tempos and metres kept, pedals dropped).

        Raises :class:`MIDIError` for a score with no non-drum notes or a time signature outside
        ``config.time_signatures`` (its bars could not be counted).
        """
        if score.ticks_per_quarter <= 0:
            raise MIDIError(f"invalid resolution of {score.ticks_per_quarter} ticks per quarter note")
        if self.config.use_time_signatures:
            for ts in score.time_signatures:
                if (ts.numerator, ts.denominator) not in self._ts:
                    raise MIDIError(f"time signature {ts.numerator}/{ts.denominator} at tick {ts.time} is not one "
                                    f"of RemiConfig.time_signatures ({', '.join(self.config.time_signatures)})")
        tracks = [t for t in score.tracks if not t.is_drum and len(t.notes) > 0]
        if not tracks:
            raise MIDIError("no notes outside drum tracks")
        out = symusic.Score(score.ticks_per_quarter)
        out.tempos = score.tempos.copy()
        out.time_signatures = score.time_signatures.copy()
        piano = symusic.Track("piano", 0, False)
        if len(tracks) == 1:
            piano.notes = tracks[0].notes.copy()
        else:  # concatenate in numpy rather than element by element
            arrs = [t.notes.numpy() for t in tracks]
            cat = {k: np.concatenate([a[k] for a in arrs]) for k in ("time", "duration", "pitch", "velocity")}
            order = np.lexsort((cat["pitch"], cat["time"]))
            piano.notes = symusic.Note.from_numpy(**{k: v[order] for k, v in cat.items()})
        out.tracks.append(piano)
        return out

    def encode(self, score: symusic.Score) -> np.ndarray:
        """Score -> ids. Notes are quantized by MidiTok, then put in a canonical order (onset, then
        pitch, low to high) and de-duplicated (same onset and pitch: the longest is kept), so a
        chord always reads the same way and ``encode(decode(tokens))`` gives ``tokens`` back."""
        pre = self.miditok.preprocess_score(self.piano_score(score))
        if len(pre.tracks) == 0 or len(pre.tracks[0].notes) == 0:  # MidiTok drops an emptied track
            raise MIDIError(f"no notes within MIDI pitches {self.config.pitch_low}..{self.config.pitch_high}")
        track = pre.tracks[0]
        a = track.notes.numpy()
        order = np.lexsort((-a["duration"], a["pitch"], a["time"]))
        a = {k: v[order] for k, v in a.items()}
        keep = np.ones(len(order), dtype=bool)
        keep[1:] = (a["time"][1:] != a["time"][:-1]) | (a["pitch"][1:] != a["pitch"][:-1])
        track.notes = symusic.Note.from_numpy(**{k: v[keep] for k, v in a.items()})
        seqs = self.miditok.encode(pre, no_preprocess_score=True)
        seq = seqs[0] if isinstance(seqs, list) else seqs  # one sequence per track: we have one
        return np.asarray(seq.ids, dtype=np.int64)

    # -- decoding -----------------------------------------------------------------------------
    def decode(self, tokens: np.ndarray) -> symusic.Score:
        """Tokens -> one-track piano Score (ticks). Special ids are dropped; MidiTok skips notes
        missing their Velocity/Duration and positions outside a bar. A pitch sampled twice at one
        position is one note (a piano key is struck once): the longer is kept; a note still sounding
        when its pitch is struck again ends there (:func:`end_restruck_notes`)."""
        from miditok import TokSequence

        t = np.asarray(tokens, dtype=np.int64).ravel()
        t = t[(t >= self.num_special) & (t < self.vocab_size)]
        score = self.miditok.decode([TokSequence(ids=t.tolist())]).resample(DEFAULT_TPQ, min_dur=1)
        score.sort()  # ill-formed input can leave tempos/metres out of order (invalid MIDI deltas)
        for name in ("tempos", "time_signatures"):  # several at one tick: the last one sampled holds
            events = getattr(score, name)
            ticks = [e.time for e in events]
            keep = [i for i in range(len(ticks)) if i + 1 == len(ticks) or ticks[i + 1] != ticks[i]]
            if len(keep) < len(ticks):
                setattr(score, name, [events[i] for i in keep])
        if len(score.tracks) == 0:  # symusic 0.6 writes unsorted meta events for a track-less Score
            score.tracks.append(symusic.Track("piano", 0, False))
        for track in score.tracks:
            track.name = "piano"
            drop_doubled_notes(track)
            end_restruck_notes(track)
        return score

    def describe(self, token: int) -> str:
        token = int(token)
        return self._names[token] if 0 <= token < len(self._names) else f"<out of vocabulary: {token}>"

    # -- bars -----------------------------------------------------------------------------------
    def is_bar(self, token) -> np.ndarray | bool:
        """Whether ``token`` (an id or an array of ids) starts a bar."""
        return np.asarray(token) == self.bar_id

    def forced_tokens(self, time_signature: tuple[int, int] | None) -> dict[int, int]:
        """``{previous id: next id}`` that sampling must follow: a piece sampled from BOS opens with a
        ``Bar`` (so its first notes sit in a counted bar), and with ``time_signature`` every ``Bar`` is
        followed by that metre's ``TimeSig`` token (when the vocabulary has one)."""
        force = {self.bos_id: self.bar_id}
        if time_signature is not None and self.config.use_time_signatures:
            tid = self.miditok.vocab.get(f"TimeSig_{time_signature[0]}/{time_signature[1]}")
            if tid is not None:
                force[self.bar_id] = tid
        return force

    def count_bars(self, tokens: np.ndarray) -> int:
        """Number of ``Bar`` tokens, i.e. of bars the sequence decodes to."""
        return int(np.count_nonzero(np.asarray(tokens) == self.bar_id))

    def opening_tokens(self, tempo: float | None, time_signature: tuple[int, int] | None) -> np.ndarray:
        """int64 ids a piece opens with: ``Bar``, its ``TimeSig``, ``Position_0`` and the ``Tempo``
        token nearest ``tempo`` (each left out when not given or not in the vocabulary)."""
        vocab = self.miditok.vocab
        out = [self.bar_id]
        time_signature = time_signature or (4, 4)  # the model always saw a metre after a bar line
        if f"TimeSig_{time_signature[0]}/{time_signature[1]}" in vocab:
            out.append(vocab[f"TimeSig_{time_signature[0]}/{time_signature[1]}"])
        if tempo is not None and self.config.use_tempos:
            tempos = [(abs(float(n[6:]) - tempo), i) for i, n in enumerate(self._names) if n.startswith("Tempo_")]
            out += [vocab["Position_0"], min(tempos)[1]]
        return np.array(out, dtype=np.int64)

    def metre_supported(self, time_signature: tuple[int, int]) -> bool:
        return self.config.use_time_signatures and f"{time_signature[0]}/{time_signature[1]}" in self.config.time_signatures

    def metre_tokens(self) -> np.ndarray:
        """int64 ids of the ``TimeSig_*`` tokens."""
        return np.array([i for i, n in enumerate(self._names) if n.startswith("TimeSig_")], dtype=np.int64)

    def positions_beyond(self, time_signature: tuple[int, int]) -> np.ndarray:
        """int64 ids of the ``Position`` tokens that lie past the end of one bar of ``time_signature``
        (a bar has numerator x the finest beat resolution positions: 24 in 3/4, 48 in 6/8)."""
        per_bar = int(time_signature[0]) * max(self.miditok.config.beat_res.values())
        return np.array([i for i, n in enumerate(self._names)
                         if n.startswith("Position_") and int(n.split("_")[1]) >= per_bar], dtype=np.int64)

    # -- augmentation ---------------------------------------------------------------------------
    def token_pitches(self) -> np.ndarray:
        return self._pitch_of.copy()

    def transposed(self, tokens: np.ndarray, semitones: int) -> np.ndarray | None:
        """``tokens`` with every ``Pitch`` token moved by ``semitones``; None when a pitch would
        leave ``pitch_low..pitch_high``."""
        return self.repitched(tokens, np.arange(128) + int(semitones))

    def repitched(self, tokens: np.ndarray, new_pitch: np.ndarray) -> np.ndarray | None:
        """``tokens`` with every ``Pitch_p`` token made ``Pitch_{new_pitch[p]}`` (int ``(128,)``);
        None when a new pitch would leave ``pitch_low..pitch_high``."""
        tokens = np.asarray(tokens, np.int64)
        safe = np.clip(tokens, 0, self.vocab_size - 1)
        value = np.where(tokens == safe, self._pitch_of[safe], -1)
        mask = value >= 0
        if not mask.any():
            return tokens.copy()
        moved = np.asarray(new_pitch, np.int64)[value[mask]]
        if moved.min() < self.config.pitch_low or moved.max() > self.config.pitch_high:
            return None
        out = tokens.copy()
        out[mask] = self._id_of_pitch[moved]
        return out

    def augment(self, tokens, rng, *, max_transpose=0, time_stretch=0.0, velocity_shift=0):
        """Transpose every ``Pitch`` token by one random shift in ``[-max_transpose, max_transpose]``
        that keeps all pitches within ``pitch_low..pitch_high``, then move every ``Velocity`` token by
        one random number of bins in ``[-velocity_shift, velocity_shift]`` that keeps them all within
        the ``num_velocities`` bins (louder or softer as a whole; other tokens untouched).
        ``time_stretch`` is ignored: REMI time is in beats, and tempo tokens already carry the speed."""
        tokens = np.asarray(tokens)
        if max_transpose > 0:
            tokens = self._shift(tokens, rng, self._pitch_of, self._id_of_pitch, max_transpose,
                                 self.config.pitch_low, self.config.pitch_high)
        if velocity_shift > 0:
            tokens = self._shift(tokens, rng, self._vel_bin_of, self._id_of_vel_bin, velocity_shift,
                                 0, len(self._id_of_vel_bin) - 1)
        return tokens

    def _shift(self, tokens, rng, value_of, id_of, most, low, high):
        """Tokens whose ``value_of`` is >= 0 moved by one random shift in ``[-most, most]`` that keeps
        every value within ``low..high``; unchanged when no token has a value or no shift fits."""
        safe = np.clip(tokens, 0, self.vocab_size - 1)
        value = np.where(tokens == safe, value_of[safe], -1)
        mask = value >= 0
        if not mask.any():
            return tokens
        lo = max(-most, low - int(value[mask].min()))
        hi = min(most, high - int(value[mask].max()))
        if lo > hi:
            return tokens
        shift = int(rng.integers(lo, hi + 1))
        out = tokens.copy()
        out[mask] = id_of[value[mask] + shift]
        return out
