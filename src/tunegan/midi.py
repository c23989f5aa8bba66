"""Reading and writing MIDI with symusic, and the flat note array every module shares.

``NOTE_DTYPE`` arrays hold one row per note: ``pitch`` (MIDI number), ``velocity``
(1..127), ``start`` and ``end`` in seconds. They are sorted by onset, ties by pitch.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import symusic

from .errors import MIDIError

NOTE_DTYPE = np.dtype([("pitch", "i2"), ("velocity", "i2"), ("start", "f8"), ("end", "f8")])
MIDI_MAGIC = b"MThd"
DEFAULT_TPQ = 480


def read_midi(source: str | os.PathLike | bytes, *, name: str | os.PathLike | None = None) -> symusic.Score:
    """Read a MIDI file (path or bytes) into a tick-based :class:`symusic.Score`.

    Raises :class:`MIDIError` with a one-line reason for a missing, non-MIDI or corrupt file;
    ``name`` is what the message calls it (default: the path, or ``<bytes>``).
    """
    if name is None:
        name = "<bytes>" if isinstance(source, (bytes, bytearray)) else source
    name = str(name)
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    else:
        p = Path(source)
        if not p.is_file():
            raise MIDIError(f"{name}: no such file")
        data = p.read_bytes()
    if len(data) == 0:
        raise MIDIError(f"{name}: the file is empty")
    if not data.startswith(MIDI_MAGIC):
        raise MIDIError(f"{name}: not a MIDI file (no MThd header)")
    try:
        return symusic.Score.from_midi(data)
    except Exception as e:  # symusic raises RuntimeError/ValueError with long texts
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise MIDIError(f"{name}: corrupt MIDI ({msg})") from None


def write_midi(score: symusic.Score, path: str | os.PathLike) -> Path:
    """Write ``score`` as a standard MIDI file; parent folders are created."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    score.dump_midi(str(p))
    return p


def notes_to_score(
    notes: np.ndarray,
    *,
    tempo: float = 120.0,
    program: int = 0,
    tpq: int = DEFAULT_TPQ,
    time_signature: tuple[int, int] = (4, 4),
    name: str = "tunegan",
) -> symusic.Score:
    """Build a one-track tick-based Score from a ``NOTE_DTYPE`` array (times in seconds)."""
    score = symusic.Score(tpq)
    score.tempos.append(symusic.Tempo(0, float(tempo)))
    score.time_signatures.append(symusic.TimeSignature(0, *time_signature))
    track = symusic.Track(name, int(program), False)
    ticks_per_s = tpq * tempo / 60.0
    if len(notes):
        start = np.round(notes["start"] * ticks_per_s).astype(np.int32)
        dur = np.maximum(1, np.round((notes["end"] - notes["start"]) * ticks_per_s).astype(np.int32))
        track.notes = symusic.Note.from_numpy(
            time=start, duration=dur,
            pitch=notes["pitch"].astype(np.int8), velocity=np.clip(notes["velocity"], 1, 127).astype(np.int8),
        )
    score.tracks.append(track)
    return score
