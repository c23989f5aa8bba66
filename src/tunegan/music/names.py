"""Note names in scientific pitch notation and MIDI numbers.

MIDI note 60 is C4 (middle C); the 88 piano keys run from MIDI 21 (A0) to 108 (C8).
Sharps are written ``#`` (or ``♯``), flats ``b`` (or ``♭``): ``C#4 == Db4 == 61``.
"""

from __future__ import annotations

import re

from ..errors import NoteNameError

PIANO_LOW = 21   # A0, the lowest key of a piano
PIANO_HIGH = 108  # C8, the highest key
NAMES_SHARP = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_STEP = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_NOTE_RE = re.compile(r"^([A-Ga-g])([#♯b♭]*)(-?\d+)$")


def note_name(midi: int) -> str:
    """``61 -> "C#4"`` (sharps; octave numbers change at C)."""
    return f"{NAMES_SHARP[midi % 12]}{midi // 12 - 1}"


def parse_note(text: str, *, piano_only: bool = True) -> int:
    """Parse ``"C4"``, ``"F#3"``, ``"Bb2"`` or a MIDI number ``"60"`` into a MIDI number.

    Raises :class:`NoteNameError` naming the bad text, and when ``piano_only``
    for notes outside A0..C8 (21..108).
    """
    t = text.strip()
    if re.fullmatch(r"-?\d+", t):
        midi = int(t)
    else:
        m = _NOTE_RE.match(t)
        if not m:
            raise NoteNameError(
                f"'{text}' is not a note name: use a letter A-G, optional # or b, and an octave, like C4 or F#3 (or a MIDI number 21-108)"
            )
        letter, acc, octave = m.groups()
        midi = (int(octave) + 1) * 12 + _STEP[letter.upper()]
        midi += sum(1 if a in "#♯" else -1 for a in acc)
    lo, hi = (PIANO_LOW, PIANO_HIGH) if piano_only else (0, 127)
    if not lo <= midi <= hi:
        where = "on the piano (A0..C8, MIDI 21..108)" if piano_only else "in MIDI (0..127)"
        raise NoteNameError(f"note '{text}' (MIDI {midi}) is not {where}")
    return midi


def parse_notes(text: str | list[str] | list[int], *, piano_only: bool = True) -> list[int]:
    """Parse ``"C4 E4 G4"`` (spaces or commas) or a list of names/numbers into MIDI numbers."""
    if isinstance(text, str):
        items = [p for p in re.split(r"[\s,]+", text.strip()) if p]
    else:
        items = [str(p) for p in text]
    if not items:
        raise NoteNameError("no starting notes given: write them like 'C4 E4 G4'")
    return [parse_note(p, piano_only=piano_only) for p in items]
