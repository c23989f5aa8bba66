"""The paper's representation: the sequence of piano keys, in onset order.

Token ``k`` (1..88) is piano key ``k``, i.e. MIDI pitch ``k + 20``: A0 (MIDI 21) is 1 and
C8 (MIDI 108) is 88. Token 0 is padding and also marks the start of a piece, which keeps
the paper's 89 classes. (The paper filters "pitch values 0 to 88"; the piano keys are
really MIDI 21..108, which is what we keep.) Onsets are quantized to ``quantum`` seconds
before ordering, so notes struck together (a chord) come out lowest first.

Timing, duration and loudness are not represented: decoding writes every token as a note of
``note_seconds`` at velocity ``velocity``, one after another.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import symusic

from ..errors import MIDIError
from ..midi import NOTE_DTYPE, notes_to_score
from ..music import PIANO_HIGH, PIANO_LOW, note_name
from .base import Tokenizer, TokenizerConfig

OFFSET = PIANO_LOW - 1  # MIDI pitch = token + 20


@dataclass(frozen=True)
class PitchConfig(TokenizerConfig):
    quantum: float = 0.01       # seconds; onsets closer than this count as simultaneous (ties by pitch)
    note_seconds: float = 0.25  # length of each decoded note, in seconds (an eighth note at 120 BPM)
    velocity: int = 80          # velocity of decoded notes (1..127)

    def __post_init__(self):
        self._check("quantum", self.quantum > 0, "> 0 seconds")
        self._check("note_seconds", self.note_seconds > 0, "> 0 seconds")
        self._check("velocity", 1 <= self.velocity <= 127, "within 1 and 127")


class PitchTokenizer(Tokenizer):
    name = "pitch"
    config_cls = PitchConfig
    has_pitches = True
    has_bars = False

    @property
    def vocab_size(self) -> int:
        return PIANO_HIGH - PIANO_LOW + 2  # 88 keys + padding = 89

    @property
    def bos_id(self) -> int:
        return self.pad_id  # the paper has 89 classes: padding doubles as start-of-piece

    def encode(self, score: symusic.Score) -> np.ndarray:
        # straight from symusic's arrays (no NOTE_DTYPE table): this is prepare's hot path
        sec = score.to("second")
        parts = [t.notes.numpy() for t in sec.tracks if not t.is_drum and len(t.notes)]
        if not parts:
            raise MIDIError("no notes outside drum tracks")
        pitch = np.concatenate([a["pitch"] for a in parts])
        start = np.concatenate([a["time"] for a in parts])
        return self._tokens(pitch, start)

    def encode_notes(self, notes: np.ndarray) -> np.ndarray:
        """``NOTE_DTYPE`` array -> tokens; notes off the piano are dropped."""
        return self._tokens(notes["pitch"], notes["start"])

    def _tokens(self, pitch: np.ndarray, start: np.ndarray) -> np.ndarray:
        """Pitches (MIDI) and onsets (seconds) -> tokens ordered by quantized onset, ties by pitch."""
        pitch, start = np.asarray(pitch, dtype=np.int64), np.asarray(start, dtype=np.float64)
        keep = (pitch >= PIANO_LOW) & (pitch <= PIANO_HIGH)
        if not keep.any():
            raise MIDIError("no notes on the 88 piano keys")
        if not keep.all():
            pitch, start = pitch[keep], start[keep]
        # one int64 key per note, (onset step, pitch), sorted in place: equal keys are equal tokens,
        # so a plain sort gives the same order as a stable argsort, at a third of the cost
        key = np.round(start / self.config.quantum).astype(np.int64)
        key *= 128
        key += pitch
        key.sort()
        return (key & 127) - OFFSET

    def decode(self, tokens: np.ndarray) -> symusic.Score:
        t = np.asarray(tokens, dtype=np.int64)
        t = t[(t >= 1) & (t <= 88)]
        notes = np.empty(len(t), dtype=NOTE_DTYPE)
        notes["pitch"] = t + OFFSET
        notes["velocity"] = self.config.velocity
        notes["start"] = np.arange(len(t)) * self.config.note_seconds
        notes["end"] = notes["start"] + self.config.note_seconds
        return notes_to_score(notes)

    def token_pitches(self) -> np.ndarray:
        out = np.arange(self.vocab_size, dtype=np.int64) + OFFSET
        out[0] = -1
        return out

    def describe(self, token: int) -> str:
        token = int(token)
        if token == 0:
            return "PAD/BOS"
        return note_name(token + OFFSET)

    def augment(self, tokens, rng, *, max_transpose=0, time_stretch=0.0):
        """Transpose by a random number of semitones in ``[-max_transpose, max_transpose]`` that keeps
        every key on the piano (special ids untouched)."""
        if max_transpose <= 0:
            return tokens
        notes = tokens[tokens > 0]
        if len(notes) == 0:
            return tokens
        lo = max(-max_transpose, 1 - int(notes.min()))
        hi = min(max_transpose, 88 - int(notes.max()))
        if lo > hi:
            return tokens
        shift = int(rng.integers(lo, hi + 1))
        out = tokens.copy()
        out[out > 0] += shift
        return out
