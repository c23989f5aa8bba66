"""Notes out of a Score, and small edits that return a new Score (their input never changes).

Two note tables, both sorted by onset, ties by pitch, drum tracks left out unless asked:

* :func:`tick_notes`: structured ``TICK_NOTE_DTYPE`` (``time``, ``duration`` in ticks, ``pitch``,
  ``velocity``): what bar- and beat-based code reads;
* :func:`extract_notes`: ``NOTE_DTYPE`` (``pitch``, ``velocity``, ``start``, ``end`` in seconds).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import symusic

from ..errors import MIDIError, MusicOptionError
from ..midi import NOTE_DTYPE, notes_to_score, read_midi
from .options import parse_instrument, parse_tempo, parse_time_signature

TICK_NOTE_DTYPE = np.dtype([("time", "i8"), ("duration", "i8"), ("pitch", "i2"), ("velocity", "i2")])


def _arrays(score: symusic.Score, include_drums: bool) -> list[dict]:
    return [t.notes.numpy() for t in score.tracks if (include_drums or not t.is_drum) and len(t.notes)]


def tick_notes(score: symusic.Score, *, include_drums: bool = False) -> np.ndarray:
    """All notes of a tick-based ``score`` as ``TICK_NOTE_DTYPE``, shape ``(n_notes,)``, sorted by
    (time, pitch). An empty score gives an empty array."""
    parts = _arrays(score if score.ttype == symusic.TimeUnit.tick else score.to("tick"), include_drums)
    out = np.empty(sum(len(a["time"]) for a in parts), dtype=TICK_NOTE_DTYPE)
    if parts:
        for k in TICK_NOTE_DTYPE.names:
            out[k] = np.concatenate([a[k] for a in parts])
        out = out[np.lexsort((out["pitch"], out["time"]))]
    return out


def skyline(tick: np.ndarray, pitch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The melody: ``(onset ticks, highest pitch at each distinct onset)``; input sorted by
    (tick, pitch), as :func:`tick_notes` gives it."""
    last_of_onset = np.r_[tick[1:] != tick[:-1], True]
    return tick[last_of_onset], pitch[last_of_onset]


def extract_notes(score: symusic.Score, *, include_drums: bool = False) -> np.ndarray:
    """All notes of ``score`` as a ``NOTE_DTYPE`` array (seconds), sorted by (start, pitch).

    Drum tracks are left out unless ``include_drums``. An empty score gives an empty array.
    """
    parts = _arrays(score.to("second"), include_drums)
    notes = np.empty(sum(len(a["time"]) for a in parts), dtype=NOTE_DTYPE)
    if parts:
        notes["pitch"] = np.concatenate([a["pitch"] for a in parts])
        notes["velocity"] = np.concatenate([a["velocity"] for a in parts])
        notes["start"] = np.concatenate([a["time"] for a in parts])
        notes["end"] = notes["start"] + np.concatenate([a["duration"] for a in parts])
        notes = notes[np.lexsort((notes["pitch"], notes["start"]))]
    return notes


def as_score(source: symusic.Score | str | os.PathLike | bytes) -> tuple[symusic.Score, str]:
    """``(tick-based Score, display name)`` from a Score, a MIDI path or MIDI bytes (raises :class:`MIDIError`)."""
    if isinstance(source, symusic.Score):
        score = source if source.ttype == symusic.TimeUnit.tick else source.to("tick")
        return score, "<score>"
    name = "<bytes>" if isinstance(source, (bytes, bytearray)) else Path(source).name
    return read_midi(source), name


def score_notes(score: symusic.Score, name: str = "<score>", *, include_drums: bool = False) -> np.ndarray:
    """Notes as ``NOTE_DTYPE`` (seconds); raises ``MIDIError("<name>: no notes")`` when there are none."""
    notes = extract_notes(score, include_drums=include_drums)
    if len(notes) == 0:
        raise MIDIError(f"{name}: no notes")
    return notes


def transpose_score(score: symusic.Score, semitones: int) -> symusic.Score:
    """A copy with every pitched note moved by ``semitones`` (drum tracks untouched); stays in MIDI 0..127."""
    out = score.copy()
    for track in out.tracks:
        if track.is_drum or len(track.notes) == 0:
            continue
        pitches = track.notes.numpy()["pitch"].astype(int) + int(semitones)
        if pitches.min() < 0 or pitches.max() > 127:
            raise MusicOptionError(f"transposing by {semitones} semitones moves notes outside MIDI 0..127")
        track.shift_pitch(int(semitones), inplace=True)
    return out


def set_tempo(score: symusic.Score, bpm: float) -> symusic.Score:
    """A copy with one constant tempo of ``bpm`` quarter notes per minute (tick-based scores play faster/slower)."""
    out = score.copy()
    out.tempos.clear()
    out.tempos.append(symusic.Tempo(0, parse_tempo(bpm)))
    return out


def set_time_signature(score: symusic.Score, numerator: int, denominator: int) -> symusic.Score:
    """A copy with one time signature ``numerator/denominator`` from the start."""
    num, den = parse_time_signature((numerator, denominator))
    out = score.copy()
    out.time_signatures.clear()
    out.time_signatures.append(symusic.TimeSignature(0, num, den))
    return out


def set_instrument(score: symusic.Score, program: int | str) -> symusic.Score:
    """A copy where every non-drum track plays General MIDI ``program`` (number or name)."""
    prog = parse_instrument(program)
    out = score.copy()
    for track in out.tracks:
        if not track.is_drum:
            track.program = prog
    return out


def seed_score(midi_pitches: list[int], *, tempo: float = 120.0, time_signature=(4, 4), beats: float = 1.0,
               velocity: int | list[int] = 80) -> symusic.Score:
    """Starting notes as a Score: one note after another, each ``beats`` long (``velocity``: one
    loudness for all, or one per note)."""
    step = 60.0 / tempo * beats
    notes = np.empty(len(midi_pitches), dtype=NOTE_DTYPE)
    notes["pitch"] = midi_pitches
    notes["velocity"] = velocity
    notes["start"] = np.arange(len(midi_pitches)) * step
    notes["end"] = notes["start"] + step
    return notes_to_score(notes, tempo=tempo, time_signature=time_signature)
