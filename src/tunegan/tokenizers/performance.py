"""Performance events (Oore et al., 2018; Performance RNN / Music Transformer): timing and loudness.

The 388 events of the paper, offset by 2 so ``0`` is padding and ``1`` starts a piece:

======================  ==========  ==================================================
ids                     event       meaning
======================  ==========  ==================================================
``2 .. 129``            NOTE_ON     MIDI pitch ``id - 2`` starts (0..127)
``130 .. 257``          NOTE_OFF    MIDI pitch ``id - 130`` stops
``258 .. 357``          TIME_SHIFT  time moves on ``(id - 257) * 10`` ms (10 ms .. 1 s)
``358 .. 389``          VELOCITY    following note-ons have velocity bin ``id - 358`` (32 bins of 4)
======================  ==========  ==================================================

Times are absolute seconds, quantized to 10 ms; a gap longer than 1 s is several TIME_SHIFTs. A
VELOCITY event is written only when the bin changes. At one time step note-offs come before
note-ons (ascending pitch each), so a repeated note re-strikes. As in the published preprocessing,
a note released while the sustain pedal (CC64 >= 64) is down lasts until the pedal is lifted, or
until the same key is struck again (``sustain=True``). Encoding and decoding are vectorised numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import symusic

from ..errors import MIDIError
from ..midi import NOTE_DTYPE, notes_to_score
from ..music import PIANO_HIGH, PIANO_LOW, note_name
from .base import Tokenizer, TokenizerConfig

NUM_SPECIAL = 2  # PAD, BOS
ON0 = NUM_SPECIAL          # NOTE_ON of pitch 0
OFF0 = ON0 + 128           # NOTE_OFF of pitch 0
SHIFT0 = OFF0 + 128        # TIME_SHIFT of 1 step
MAX_SHIFT = 100            # steps per TIME_SHIFT token at most (1 s)
VEL0 = SHIFT0 + MAX_SHIFT  # VELOCITY bin 0
NUM_VELOCITY_BINS = 32
VOCAB_SIZE = VEL0 + NUM_VELOCITY_BINS  # 390
BIN_WIDTH = 128 // NUM_VELOCITY_BINS   # 4 velocities per bin


@dataclass(frozen=True)
class PerformanceConfig(TokenizerConfig):
    step: float = 0.01               # seconds per TIME_SHIFT step; fixed by the 388-event vocabulary
    sustain: bool = True             # extend notes while the sustain pedal is down (like Oore et al.)
    max_note_seconds: float = 5.0    # decoding: a note-on never closed lasts at most this long
    default_velocity: int = 64       # decoding: velocity of notes before any VELOCITY token (1..127)

    def __post_init__(self):
        self._check("step", self.step == 0.01, "0.01 seconds (the vocabulary has 100 shifts of 10 ms)")
        self._check("max_note_seconds", self.max_note_seconds >= self.step, f">= {self.step} seconds")
        self._check("default_velocity", 1 <= self.default_velocity <= 127, "within 1 and 127")


def velocity_bin(velocity: np.ndarray) -> np.ndarray:
    """MIDI velocity (1..127) -> bin 0..31 (``(v - 1) // 4``)."""
    return (np.clip(velocity, 1, 127).astype(np.int64) - 1) // BIN_WIDTH


def bin_velocity(b: np.ndarray) -> np.ndarray:
    """Bin 0..31 -> the middle velocity of the bin (2, 6, ..., 126)."""
    return np.minimum(np.asarray(b, dtype=np.int64) * BIN_WIDTH + BIN_WIDTH // 2 + 1, 127)


def interleave(events: np.ndarray, gaps: np.ndarray) -> np.ndarray:
    """Tokens for ``events`` (ids, shape ``(n,)``) each preceded by TIME_SHIFTs worth ``gaps`` steps.

    A gap ``g`` becomes ``g // 100`` shifts of 1 s then one of ``g % 100`` steps (if non-zero).
    ``gaps`` may be one longer than ``events`` (trailing time). Returns an int64 array.
    """
    gaps = np.asarray(gaps, dtype=np.int64)
    full, rest = np.divmod(gaps, MAX_SHIFT)
    n_shift = full + (rest > 0)
    count = n_shift.copy()
    count[: len(events)] += 1
    ends = np.cumsum(count)
    out = np.full(int(ends[-1]) if len(ends) else 0, SHIFT0 + MAX_SHIFT - 1, dtype=np.int64)
    has_rest = rest > 0
    shift_end = ends - (np.arange(len(gaps)) < len(events))  # index after each event's last shift
    out[shift_end[has_rest] - 1] = SHIFT0 + rest[has_rest] - 1
    out[ends[: len(events)] - 1] = events
    return out


class PerformanceTokenizer(Tokenizer):
    """Oore et al.'s 388 performance events + PAD + BOS = 390 ids.

    ``encode(score)`` -> ``np.int64`` array of shape ``(n_tokens,)`` (no BOS); ``decode`` gives a
    one-track piano Score at 480 ticks per quarter and 120 BPM (so 1 s = 960 ticks).
    """

    name = "performance"
    config_cls = PerformanceConfig
    has_pitches = True
    has_bars = False
    has_velocities = True

    @property
    def vocab_size(self) -> int:
        return VOCAB_SIZE

    # -- encoding -----------------------------------------------------------------------------
    def score_notes(self, score: symusic.Score) -> np.ndarray:
        """Non-drum notes of ``score`` as a ``NOTE_DTYPE`` array (seconds, unsorted), with sustain
        applied per track when ``config.sustain``. Raises :class:`MIDIError` if there are none."""
        if score.ticks_per_quarter <= 0:
            raise MIDIError(f"invalid resolution of {score.ticks_per_quarter} ticks per quarter note")
        sec = score.to("second")
        parts = []
        for track in sec.tracks:
            if track.is_drum or len(track.notes) == 0:
                continue
            a = track.notes.numpy()
            arr = np.empty(len(a["pitch"]), dtype=NOTE_DTYPE)
            arr["pitch"], arr["velocity"] = a["pitch"], a["velocity"]
            arr["start"] = a["time"]
            arr["end"] = a["time"] + a["duration"]
            if self.config.sustain and len(track.pedals):
                p = track.pedals.numpy()
                arr["end"] = sustain_ends(arr["end"], p["time"], p["time"] + p["duration"])
            parts.append(arr)
        if not parts:
            raise MIDIError("no notes outside drum tracks")
        return np.concatenate(parts)

    def encode(self, score: symusic.Score) -> np.ndarray:
        return self.encode_notes(self.score_notes(score))

    def encode_notes(self, notes: np.ndarray) -> np.ndarray:
        """``NOTE_DTYPE`` array (seconds, any order) -> tokens.

        A note lasts at least one step and ends no later than the next onset of the same pitch;
        duplicate notes (same pitch, same step) are merged.
        """
        if len(notes) == 0:
            raise MIDIError("no notes to encode")
        pitch = notes["pitch"].astype(np.int64)
        keep = (pitch >= 0) & (pitch <= 127)
        notes, pitch = notes[keep], pitch[keep]
        if len(notes) == 0:
            raise MIDIError("no notes with a MIDI pitch within 0..127")
        on = np.maximum(np.round(notes["start"] / self.config.step).astype(np.int64), 0)
        off = np.round(notes["end"] / self.config.step).astype(np.int64)
        order = np.lexsort((on, pitch))
        pitch, on, off, vel = pitch[order], on[order], off[order], notes["velocity"][order]
        same = pitch[1:] == pitch[:-1]
        first = np.ones(len(on), dtype=bool)
        first[1:] = ~(same & (on[1:] == on[:-1]))  # drop the repeats of a (pitch, step)
        pitch, on, off, vel = pitch[first], on[first], off[first], vel[first]
        off = np.maximum(off, on + 1)
        nxt = np.full(len(on), np.iinfo(np.int64).max)
        same = pitch[1:] == pitch[:-1]
        nxt[:-1][same] = on[1:][same]
        off = np.minimum(off, nxt)
        n = len(on)
        # All events, ordered by (time, off before on, pitch).
        time = np.concatenate([off, on])
        kind = np.concatenate([np.zeros(n, np.int64), np.ones(n, np.int64)])
        pitches = np.concatenate([pitch, pitch])
        vbin = np.concatenate([np.full(n, -1), velocity_bin(vel)])
        order = np.lexsort((pitches, kind, time))
        time, kind, pitches, vbin = time[order], kind[order], pitches[order], vbin[order]
        ev = np.where(kind == 1, ON0 + pitches, OFF0 + pitches)
        # A VELOCITY event before each note-on whose bin differs from the previous note-on's.
        is_on = kind == 1
        on_bins = vbin[is_on]
        change = np.ones(len(on_bins), dtype=bool)
        change[1:] = on_bins[1:] != on_bins[:-1]
        need = np.zeros(len(ev), dtype=bool)
        need[np.flatnonzero(is_on)[change]] = True
        gaps = np.diff(time, prepend=0)
        # Expand: velocity events get a zero gap and sit just before their note-on.
        n_vel = np.cumsum(need)
        idx = np.arange(len(ev)) + n_vel  # position of each event in the expanded list
        events = np.empty(len(ev) + int(n_vel[-1]), dtype=np.int64)
        egaps = np.zeros(len(events), dtype=np.int64)
        events[idx] = ev
        vpos = idx[need] - 1
        events[vpos] = VEL0 + vbin[need]
        egaps[vpos] = gaps[need]
        egaps[idx[~need]] = gaps[~need]
        return interleave(events, egaps)

    # -- decoding -----------------------------------------------------------------------------
    def decode_notes(self, tokens: np.ndarray) -> np.ndarray:
        """Tokens -> ``NOTE_DTYPE`` array (seconds), sorted by (start, pitch).

        A note-on is closed by the next note-off or note-on of its pitch; one left open ends at the
        last time of the sequence, at most ``max_note_seconds`` after its onset (and at least one
        step). Note-offs without a note-on, padding and BOS are ignored.
        """
        t = np.asarray(tokens, dtype=np.int64).ravel()
        t = t[(t >= NUM_SPECIAL) & (t < VOCAB_SIZE)]
        is_shift = (t >= SHIFT0) & (t < VEL0)
        clock = np.cumsum(np.where(is_shift, t - SHIFT0 + 1, 0))  # steps elapsed at each token
        is_vel = t >= VEL0
        last_vel = np.maximum.accumulate(np.where(is_vel, np.arange(len(t)), -1)) if len(t) else t
        vel = np.where(last_vel >= 0, bin_velocity(t[np.maximum(last_vel, 0)] - VEL0), self.config.default_velocity)
        is_note = t < SHIFT0
        pos = np.flatnonzero(is_note)
        tok = t[pos]
        on_mask = tok < OFF0
        pitch = np.where(on_mask, tok - ON0, tok - OFF0)
        order = np.lexsort((pos, pitch))  # by pitch, then in sequence order
        pos, pitch, on_mask = pos[order], pitch[order], on_mask[order]
        nxt_same = np.zeros(len(pos), dtype=bool)
        nxt_same[:-1] = pitch[1:] == pitch[:-1]
        starts = np.flatnonzero(on_mask)
        closed = nxt_same[starts]
        end_step = np.full(len(starts), clock[-1] if len(t) else 0, dtype=np.int64)
        end_step[closed] = clock[pos[starts[closed] + 1]]
        start_step = clock[pos[starts]]
        max_steps = int(round(self.config.max_note_seconds / self.config.step))
        end_step = np.where(closed, end_step, np.minimum(end_step, start_step + max_steps))
        end_step = np.maximum(end_step, start_step + 1)
        notes = np.empty(len(starts), dtype=NOTE_DTYPE)
        notes["pitch"] = pitch[starts]
        notes["velocity"] = vel[pos[starts]]
        notes["start"] = start_step * self.config.step
        notes["end"] = end_step * self.config.step
        return notes[np.lexsort((notes["pitch"], notes["start"]))]

    def decode(self, tokens: np.ndarray) -> symusic.Score:
        return notes_to_score(self.decode_notes(tokens), name="piano")

    def describe(self, token: int) -> str:
        t = int(token)
        if t == 0:
            return "PAD"
        if t == 1:
            return "BOS"
        if ON0 <= t < OFF0:
            return f"NOTE_ON {note_name(t - ON0)}"
        if OFF0 <= t < SHIFT0:
            return f"NOTE_OFF {note_name(t - OFF0)}"
        if SHIFT0 <= t < VEL0:
            return f"TIME_SHIFT {(t - SHIFT0 + 1) * 10} ms"
        if VEL0 <= t < VOCAB_SIZE:
            b = t - VEL0
            return f"VELOCITY {b * BIN_WIDTH + 1}-{b * BIN_WIDTH + BIN_WIDTH}"
        return f"<out of vocabulary: {t}>"

    # -- augmentation ---------------------------------------------------------------------------
    def token_pitches(self) -> np.ndarray:
        out = np.full(self.vocab_size, -1, dtype=np.int64)
        out[ON0:ON0 + 128] = np.arange(128)  # NOTE_ON starts a note; NOTE_OFF does not
        return out

    def augment(self, tokens, rng, *, max_transpose=0, time_stretch=0.0, velocity_shift=0):
        """Transpose NOTE_ON/NOTE_OFF by one random shift in ``[-max_transpose, max_transpose]``
        keeping pitches on the piano (A0..C8) — or within 0..127 for pieces already beyond it —,
        stretch time by a random factor in ``[1 - time_stretch, 1 + time_stretch]`` (TIME_SHIFTs are
        re-quantized from the stretched absolute times, so rounding errors do not accumulate), and
        move every VELOCITY by one random number of bins in ``[-velocity_shift, velocity_shift]``
        that keeps them all within the 32 bins."""
        out = np.asarray(tokens, dtype=np.int64)
        if max_transpose > 0:
            note = (out >= ON0) & (out < SHIFT0)
            if note.any():
                pitch = np.where(out < OFF0, out - ON0, out - OFF0)[note]
                low = PIANO_LOW if pitch.min() >= PIANO_LOW else 0
                high = PIANO_HIGH if pitch.max() <= PIANO_HIGH else 127
                lo, hi = max(-max_transpose, low - int(pitch.min())), min(max_transpose, high - int(pitch.max()))
                if lo <= hi:
                    out = out.copy()
                    out[note] += int(rng.integers(lo, hi + 1))
        if time_stretch > 0:
            factor = 1.0 + float(rng.uniform(-time_stretch, time_stretch))
            out = stretch(out, factor)
        if velocity_shift > 0:
            vel = out >= VEL0
            if vel.any():
                lo = max(-velocity_shift, VEL0 - int(out[vel].min()))
                hi = min(velocity_shift, VOCAB_SIZE - 1 - int(out[vel].max()))
                if lo <= hi:
                    out = out.copy()
                    out[vel] += int(rng.integers(lo, hi + 1))
        return out


def stretch(tokens: np.ndarray, factor: float) -> np.ndarray:
    """Scale all TIME_SHIFTs of ``tokens`` by ``factor`` (other tokens keep their order)."""
    is_shift = (tokens >= SHIFT0) & (tokens < VEL0)
    clock = np.cumsum(np.where(is_shift, tokens - SHIFT0 + 1, 0))
    events = tokens[~is_shift]
    times = np.append(clock[~is_shift], clock[-1] if len(clock) else 0)
    new = np.round(times * factor).astype(np.int64)
    return interleave(events, np.diff(new, prepend=0))


def sustain_ends(end: np.ndarray, pedal_on: np.ndarray, pedal_off: np.ndarray) -> np.ndarray:
    """Note ends (seconds) moved to the pedal release when the key is let go with the pedal down.

    ``pedal_on``/``pedal_off``: pedal intervals in seconds (overlaps are merged). A note released
    at ``t`` with ``pedal_on <= t < pedal_off`` now ends at ``pedal_off``. Re-strikes of the same
    key are handled by the caller (a note ends at the next onset of its pitch).
    """
    order = np.argsort(pedal_on, kind="stable")
    ps, pe = pedal_on[order], np.maximum.accumulate(pedal_off[order])
    i = np.searchsorted(ps, end, side="right") - 1  # last pedal pressed at or before the release
    inside = (i >= 0) & (end < pe[np.maximum(i, 0)])
    # With merged overlaps, the release is the end of the connected run of pedal intervals.
    run_end = _run_ends(ps, pe)
    return np.where(inside, np.maximum(end, run_end[np.maximum(i, 0)]), end)


def _run_ends(ps: np.ndarray, pe: np.ndarray) -> np.ndarray:
    """For sorted intervals (``pe`` running max), the end of the overlapping run each belongs to."""
    if len(ps) == 0:
        return pe
    new_run = np.ones(len(ps), dtype=bool)
    new_run[1:] = ps[1:] > pe[:-1]
    run_id = np.cumsum(new_run) - 1
    last = np.flatnonzero(np.append(new_run[1:], True))
    return pe[last][run_id]
