"""Sheet music: MusicXML through music21, and PNG/PDF pages through MuseScore 3.

MIDI played by a person or a model has onsets a few milliseconds off the beat, which would be
written as unreadable 64th notes. :func:`to_musicxml` therefore snaps onsets and lengths to
sixteenths or eighth-note triplets, choosing one grid per beat (see :func:`quantize`).

To stay readable, notes that start together become one chord, a note still sounding when the
next chord starts on the same staff is written only up to that chord, and a note released just
before the next one (a gap under a quarter of its length) is written up to it (the paper shows
when notes start; the MIDI keeps how long they ring). Music that fits one clef gets one staff; music that
reaches both far below and above middle C gets a piano grand staff split at middle C (C4, MIDI 60).
The key signature is the key :func:`tunegan.explain.estimate_key` finds, and pitches are spelled
with sharps or flats to match it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import symusic

from ..errors import TuneganError
from ..music import as_score, score_notes
from ..notes import NAMES_SHARP

QUARTER_DIVISORS = (4, 3)  # sixteenths and eighth-note triplets
LEGATO_GAP = 0.25  # a rest shorter than this share of the note before it is written as a longer note
SPLIT_PITCH = 60  # grand staff: middle C and above go to the treble staff
TREBLE_LOW, BASS_HIGH = 55, 65  # one staff is enough when all notes are >= G3 (treble) or <= F4 (bass)
MUSESCORE_NAMES = ("musescore3", "mscore3", "mscore", "musescore", "MuseScore3")
MUSESCORE_TIMEOUT_S = 180
NAMES_FLAT = ("C", "D-", "D", "E-", "E", "F", "G-", "G", "A-", "A", "B-", "B")  # music21 writes flats as '-'
SHEET_SUFFIXES = (".png", ".pdf", ".svg")


class NotationError(TuneganError):
    """Sheet music could not be made (MuseScore missing or failing, or an unsupported format)."""


def to_musicxml(
    score_or_path: symusic.Score | str | os.PathLike | bytes,
    path: str | os.PathLike,
    *,
    title: str | None = None,
) -> Path:
    """Write ``score_or_path`` as quantized, readable MusicXML (``.musicxml``/``.xml``) and return the path.

    Raises ``MIDIError`` for an unreadable or empty file.
    """
    m21 = build_stream(score_or_path, title=title)
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    return Path(m21.write("musicxml", fp=str(p)))


def build_stream(score_or_path, *, title: str | None = None):
    """The :class:`music21.stream.Score` that :func:`to_musicxml` writes (one or two staves)."""
    from music21 import clef, instrument, layout, metadata, meter, stream, tempo

    score, name = as_score(score_or_path)
    notes = score_notes(score, name)  # raises MIDIError when empty; used for the key signature
    from ..explain import estimate_key  # local: explain is heavier and imports this package's music

    tpq = score.ticks_per_quarter
    onsets, lengths, pitches = _notes_in_quarters(score)
    tonic, mode, _ = estimate_key(notes)
    spelling = _spelling(tonic, mode)
    lo, hi = int(pitches.min()), int(pitches.max())
    if lo >= TREBLE_LOW or hi <= BASS_HIGH:
        staves = [("treble" if lo >= TREBLE_LOW else "bass", np.ones(len(pitches), bool))]
    else:
        staves = [("treble", pitches >= SPLIT_PITCH), ("bass", pitches < SPLIT_PITCH)]

    out = stream.Score()
    default_title = "Untitled" if name.startswith("<") else Path(name).stem
    out.metadata = metadata.Metadata(title=title or default_title, composer="tunegan")
    program = next((t.program for t in score.tracks if not t.is_drum and len(t.notes)), 0)
    end = float((onsets + lengths).max())
    parts = []
    for clef_name, mask in staves:
        part = stream.PartStaff() if len(staves) == 2 else stream.Part()
        part.insert(0, instrument.instrumentFromMidiProgram(int(program)))
        part.insert(0, clef.TrebleClef() if clef_name == "treble" else clef.BassClef())
        part.insert(0, _music21_key(tonic, mode))
        for ts in score.time_signatures:
            part.insert(ts.time / tpq, meter.TimeSignature(f"{ts.numerator}/{ts.denominator}"))
        if not score.time_signatures:
            part.insert(0, meter.TimeSignature("4/4"))
        if clef_name == staves[0][0]:
            for t in score.tempos:
                part.insert(t.time / tpq, tempo.MetronomeMark(number=round(float(t.qpm))))
        _fill_part(part, onsets[mask], lengths[mask], pitches[mask], spelling, end)
        parts.append(part)
        out.insert(0, part)
    if len(parts) == 2:
        out.insert(0, layout.StaffGroup(parts, name="Piano", abbreviation="Pno.", symbol="brace"))
    return out


def _notes_in_quarters(score: symusic.Score) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(onsets, lengths, pitches)`` of all pitched notes, quantized; onsets/lengths in quarter notes."""
    rows = [t.notes.numpy() for t in score.tracks if not t.is_drum and len(t.notes)]
    time = np.concatenate([r["time"] for r in rows]).astype(float) / score.ticks_per_quarter
    dur = np.concatenate([r["duration"] for r in rows]).astype(float) / score.ticks_per_quarter
    pitch = np.concatenate([r["pitch"] for r in rows]).astype(int)
    onsets, lengths = quantize(time, dur)
    return onsets, lengths, pitch


def quantize(onsets: np.ndarray, lengths: np.ndarray, divisors: tuple[int, ...] = QUARTER_DIVISORS) -> tuple[np.ndarray, np.ndarray]:
    """Snap onsets and lengths (quarter notes) to ``1/d`` of a quarter, one ``d`` per beat.

    Like music21's ``quantize(quarterLengthDivisors=(4, 3))``, but each quarter-note beat uses a
    single grid (the one with the smallest total onset error, sixteenths on a tie), so a beat never
    mixes sixteenths and triplets into 1/12-note values. Lengths are at least one grid step.
    """
    on = np.asarray(onsets, float)
    end = on + np.asarray(lengths, float)
    beat = np.floor(on).astype(np.int64)
    last = int(max(beat.max(), np.floor(end).max())) + 1 if len(on) else 1
    errors = np.stack([np.bincount(beat, np.abs(np.round(on * d) / d - on), minlength=last + 1) for d in divisors])
    per_beat = np.asarray(divisors)[np.argmin(errors, axis=0)]  # ties: the first divisor
    d_on = per_beat[beat]
    q_on = np.round(on * d_on) / d_on
    d_end = per_beat[np.clip(np.floor(end).astype(np.int64), 0, last)]
    q_end = np.round(end * d_end) / d_end
    return q_on, np.maximum(q_end - q_on, 1.0 / d_on)


def _fill_part(part, onsets, lengths, pitches, spelling, end: float) -> None:
    """Add chords/notes (one per distinct onset, cut at the next onset), rests, measures and ties."""
    from music21 import chord, note

    starts = np.unique(onsets)
    for i, t in enumerate(starts):
        here = onsets == t
        length = float(lengths[here].max())
        if i + 1 < len(starts):
            to_next = float(starts[i + 1] - t)
            # cut at the next chord; a short gap (under a quarter of the note) is closed: legato reads easier
            length = to_next if to_next - length <= length * LEGATO_GAP else min(length, to_next)
        names = [spelling[p % 12] + str(p // 12 - 1) for p in sorted(set(pitches[here].tolist()))]
        el = note.Note(names[0]) if len(names) == 1 else chord.Chord(names)
        el.quarterLength = length
        part.insert(float(t), el)
    last = float(starts[-1] + lengths[onsets == starts[-1]].max())
    if last < end:  # both staves run to the same end
        part.insert(last, note.Rest(quarterLength=end - last))
    part.makeNotation(inPlace=True)
    part.makeRests(fillGaps=True, inPlace=True, timeRangeFromBarDuration=True)


def _music21_key(tonic: int, mode: str):
    """The :class:`music21.key.Key` on pitch class ``tonic`` spelled with the fewest accidentals (Bb, not A#)."""
    from music21 import key

    mode = mode if mode in ("major", "minor") else "major"
    keys = [key.Key(NAMES_SHARP[tonic], mode), key.Key(NAMES_FLAT[tonic], mode)]
    return min(keys, key=lambda k: abs(k.sharps))


def _spelling(tonic: int, mode: str) -> tuple[str, ...]:
    """Pitch-class names (music21 spelling) for a key: flats for flat keys, sharps otherwise."""
    k = _music21_key(tonic, mode)
    names = list(NAMES_FLAT if k.sharps < 0 else NAMES_SHARP)
    for p in k.getPitches():
        names[p.pitchClass] = p.name
    return tuple(names)


def find_musescore() -> str | None:
    """Path of the MuseScore 3 program (``$TUNEGAN_MUSESCORE``, else ``musescore3``/``mscore3``/...), or None."""
    given = os.environ.get("TUNEGAN_MUSESCORE")
    if given:
        return shutil.which(given)
    return next((p for p in map(shutil.which, MUSESCORE_NAMES) if p), None)


def render_sheet(
    score_or_path: symusic.Score | str | os.PathLike | bytes,
    path: str | os.PathLike,
    *,
    title: str | None = None,
    dpi: int = 150,
) -> list[Path]:
    """Engrave sheet music with MuseScore 3 to ``path`` (``.png``, ``.pdf`` or ``.svg``).

    Returns the files written, in page order: a PDF is one file at ``path``; PNG and SVG get one
    file per page, ``name-1.png``, ``name-2.png``... next to ``path`` (MuseScore's naming).
    ``dpi`` sets PNG resolution. Raises :class:`NotationError` when MuseScore is missing or fails.
    """
    out = Path(path)
    if out.suffix.lower() not in SHEET_SUFFIXES:
        raise NotationError(f"sheet '{out.name}': use a .png, .pdf or .svg file name")
    exe = find_musescore()
    if exe is None:
        raise NotationError("MuseScore 3 is not installed (apt install musescore3); write --musicxml instead and open it in any notation program")
    with tempfile.TemporaryDirectory(prefix="tunegan-sheet-") as tmp:
        xml = to_musicxml(score_or_path, Path(tmp) / "score.musicxml", title=title)
        target = Path(tmp) / ("sheet" + out.suffix.lower())
        cmd = [exe, "-o", str(target), str(xml)]
        if out.suffix.lower() == ".png":
            cmd[1:1] = ["-r", str(int(dpi)), "-T", "20"]
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_RUNTIME_DIR=tmp)
        try:
            run = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=MUSESCORE_TIMEOUT_S,
                                 stdin=subprocess.DEVNULL, check=False)
        except subprocess.TimeoutExpired:
            raise NotationError(f"MuseScore took longer than {MUSESCORE_TIMEOUT_S} s and was stopped") from None
        pages = sorted(Path(tmp).glob(f"sheet*{out.suffix.lower()}"),
                       key=lambda p: int(p.stem.rpartition("-")[2]) if p.stem != "sheet" else 0)
        if run.returncode != 0 or not pages:
            lines = (run.stderr or run.stdout or "no output").strip().splitlines() or ["no output"]
            raise NotationError(f"MuseScore failed (exit {run.returncode}): {lines[-1]}")
        out.parent.mkdir(parents=True, exist_ok=True)
        written = []
        for page in pages:
            dest = out.with_name(out.stem + page.stem[len("sheet"):] + out.suffix)
            shutil.move(str(page), dest)
            written.append(dest)
    return written
