"""Reading and writing MIDI with symusic, and the flat note array every module shares.

``NOTE_DTYPE`` arrays hold one row per note: ``pitch`` (MIDI number), ``velocity``
(1..127), ``start`` and ``end`` in seconds. They are sorted by onset, ties by pitch.

:func:`read_midi` is the one entry point for files, so every command (explain, render, generate
with a primer, prepare, the studio) reads odd files by the same rules:

* a header of 0 ticks per quarter note, or an SMPTE (frames per second) time division, is a
  :class:`MIDIError` (nothing can be timed in beats);
* a note that is never released (a note-on whose channel and pitch get fewer note-offs than
  note-ons in its track) is ended at the next onset of that pitch in the track, else at the end of
  the file (the last event of any track; one quarter note after its onset if it starts there).
  symusic alone drops such notes (and a retriggered note-on), so a file of unreleased notes read
  as "no notes". Files whose note-ons are all released are read exactly as symusic reads them.

:func:`require_pitched_notes` is the one rule for a score with nothing to play: ``"no notes"``,
or ``"only drum tracks, no pitched notes"`` for a drum-only file.
"""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path

import numpy as np
import symusic

from .errors import MIDIError

NOTE_DTYPE = np.dtype([("pitch", "i2"), ("velocity", "i2"), ("start", "f8"), ("end", "f8")])
MIDI_MAGIC = b"MThd"
DEFAULT_TPQ = 480


def read_midi(source: str | os.PathLike | bytes, *, name: str | os.PathLike | None = None) -> symusic.Score:
    """Read a MIDI file (path or bytes) into a tick-based :class:`symusic.Score` (rules: module docstring).

    Raises :class:`MIDIError` with a one-line reason for a missing, non-MIDI or corrupt file, and for
    one without a ticks-per-quarter resolution; ``name`` is what the message calls it (default: the
    path, or ``<bytes>``).
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
    if len(data) >= 14:
        division = int.from_bytes(data[12:14], "big")
        if division == 0:
            raise MIDIError(f"{name}: the header gives 0 ticks per quarter note, so no note can be timed")
        if division & 0x8000:
            raise MIDIError(f"{name}: SMPTE time division (frames per second) is not supported, only ticks "
                            f"per quarter note")
    try:
        score = symusic.Score.from_midi(data)
    except Exception as e:  # symusic raises RuntimeError/ValueError with long texts
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise MIDIError(f"{name}: corrupt MIDI ({msg})") from None
    if score.ticks_per_quarter <= 0:
        raise MIDIError(f"{name}: invalid resolution of {score.ticks_per_quarter} ticks per quarter note")
    if _drops_notes(data, score) and has_unreleased_notes(data):
        score = _end_unreleased_notes(data, score)
    return score


_ALL_NOTE_OFFS = b"".join(b"\x00" + bytes([0x80 | ch, note, 0x40]) for ch in range(16) for note in range(128))


def _drops_notes(data: bytes, score: symusic.Score) -> bool:
    """A cheap first test for never-released notes: symusic drops them, so the same file with a
    note-off for every channel and pitch added at the end of each track reads as more notes.
    One more C++ parse instead of a Python scan of every event; True when the file cannot be
    patched (then :func:`has_unreleased_notes` decides)."""
    try:
        out, pos = [data[:8 + struct.unpack(">I", data[4:8])[0]]], 8 + struct.unpack(">I", data[4:8])[0]
        while pos + 8 <= len(data):
            kind, length = data[pos:pos + 4], struct.unpack(">I", data[pos + 4:pos + 8])[0]
            body = data[pos + 8:pos + 8 + length]
            pos += 8 + length
            if kind == b"MTrk":
                eot = body.rfind(b"\xff\x2f\x00")
                if eot < 1:
                    return True
                # the end-of-track meta keeps its own delta; the note-offs go right before it
                body = body[:eot] + _ALL_NOTE_OFFS[1:] + b"\x00" + body[eot:]
            out.append(kind + struct.pack(">I", len(body)) + body)
        return symusic.Score.from_midi(b"".join(out)).note_num() != score.note_num()
    except Exception:  # noqa: BLE001 - any trouble patching: let the exact scan decide
        return True


def has_unreleased_notes(data: bytes) -> bool:
    """Whether a track of the MIDI ``data`` has a (channel, pitch) with more note-ons than note-offs
    (a note-on of velocity 0 is a note-off). A fast scan of the events, nothing decoded; a file it
    cannot follow counts as having none (symusic's reading stands)."""
    try:
        return any(balance > 0 for track in _note_balances(data) for balance in track.values())
    except (IndexError, struct.error):
        return False


def _note_balances(data: bytes) -> list[dict[int, int]]:
    """Per ``MTrk`` chunk: ``{channel << 7 | pitch: note-ons minus note-offs}``."""
    n = len(data)
    pos = 8 + struct.unpack(">I", data[4:8])[0]
    out = []
    while pos + 8 <= n:
        kind, length = data[pos:pos + 4], struct.unpack(">I", data[pos + 4:pos + 8])[0]
        i, end = pos + 8, min(n, pos + 8 + length)
        pos += 8 + length
        if kind != b"MTrk":
            continue
        bal: dict[int, int] = {}
        status = 0
        while i < end:
            while data[i] & 0x80:  # delta time (variable length)
                i += 1
            i += 1
            if i >= end:
                break
            b = data[i]
            if b & 0x80:
                status, i = b, i + 1
                if b >= 0xF0:  # meta (FF type len data) or sysex (F0/F7 len data): skipped
                    i += b == 0xFF
                    size = 0
                    while True:
                        c, i = data[i], i + 1
                        size = (size << 7) | (c & 0x7F)
                        if not c & 0x80:
                            break
                    i, status = i + size, 0
                    continue
            elif not status:
                break  # a data byte without a status: symusic's reading stands
            kind_ = status & 0xF0
            if kind_ in (0xC0, 0xD0):
                i += 1
                continue
            if kind_ in (0x80, 0x90):
                key = ((status & 0x0F) << 7) | data[i]
                bal[key] = bal.get(key, 0) + (1 if kind_ == 0x90 and data[i + 1] else -1)
            i += 2
        out.append(bal)
    return out


def _end_unreleased_notes(data: bytes, score: symusic.Score) -> symusic.Score:
    """``data`` read again with a note-off written for every note that is never released (module
    docstring); ``score`` (symusic's reading) when mido cannot parse the file."""
    import mido

    try:
        mf = mido.MidiFile(file=io.BytesIO(data), clip=True)
    except (OSError, EOFError, ValueError, KeyError, IndexError, TypeError):
        return score
    file_end = max((sum(m.time for m in t) for t in mf.tracks), default=0)
    for t, track in enumerate(mf.tracks):
        events, now = [], 0
        for m in track:
            now += m.time
            events.append((now, m))
        bal: dict[tuple[int, int], int] = {}
        for _, m in events:
            if m.type in ("note_on", "note_off"):
                k = (m.channel, m.note)
                bal[k] = bal.get(k, 0) + (1 if m.type == "note_on" and m.velocity else -1)
        broken = {k for k, v in bal.items() if v > 0}
        if not broken:
            continue
        out, open_ = [], {k: [] for k in broken}  # onsets of the notes sounding now, per broken key
        for tick, m in events:
            k = (getattr(m, "channel", None), getattr(m, "note", None))
            if k in open_ and m.type in ("note_on", "note_off"):
                if m.type == "note_on" and m.velocity:
                    out += [(tick, mido.Message("note_off", channel=k[0], note=k[1])) for _ in open_[k]]
                    open_[k] = [tick]
                elif open_[k]:
                    open_[k].pop(0)
                else:
                    continue  # a note-off that closes nothing
            if m.type == "end_of_track":
                continue
            out.append((tick, m))
        last = max(file_end, events[-1][0] if events else 0)
        for k, onsets in open_.items():
            out += [(max(last, on + mf.ticks_per_beat), mido.Message("note_off", channel=k[0], note=k[1]))
                    for on in onsets]
        out.sort(key=lambda e: e[0])  # stable: inserted note-offs stay before the note-on that caused them
        rebuilt, prev = mido.MidiTrack(), 0
        for tick, m in out:
            rebuilt.append(m.copy(time=tick - prev))
            prev = tick
        rebuilt.append(mido.MetaMessage("end_of_track", time=0))
        mf.tracks[t] = rebuilt
    buf = io.BytesIO()
    mf.save(file=buf)
    return symusic.Score.from_midi(buf.getvalue())


def require_pitched_notes(score: symusic.Score, name: str = "<score>") -> None:
    """Raise :class:`MIDIError` when ``score`` has no note outside drum tracks:
    ``"NAME: only drum tracks, no pitched notes"`` for a drum-only score, ``"NAME: no notes"`` else."""
    if any(len(t.notes) for t in score.tracks if not t.is_drum):
        return
    if any(len(t.notes) for t in score.tracks):
        raise MIDIError(f"{name}: only drum tracks, no pitched notes")
    raise MIDIError(f"{name}: no notes")


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
