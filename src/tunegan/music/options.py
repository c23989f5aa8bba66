"""What a user types for tempo, metre and instrument, parsed into validated values.

Each parser raises :class:`MusicOptionError` with a one-line message naming the bad input::

    parse_time_signature("3/4")     -> (3, 4)
    parse_instrument("violin")      -> 40                # General MIDI program, 0-based
    parse_tempo("90")               -> 90.0              # quarter notes per minute
"""

from __future__ import annotations

import difflib
import re

from ..errors import MusicOptionError

TEMPO_MIN, TEMPO_MAX = 20.0, 300.0  # quarter notes per minute
NUMERATOR_MAX = 32
DENOMINATORS = (1, 2, 4, 8, 16, 32, 64)

# The 128 General MIDI level 1 melodic instruments, program numbers 0..127 in order.
GM_PROGRAMS = (
    "Acoustic Grand Piano", "Bright Acoustic Piano", "Electric Grand Piano", "Honky-tonk Piano",
    "Electric Piano 1", "Electric Piano 2", "Harpsichord", "Clavinet",
    "Celesta", "Glockenspiel", "Music Box", "Vibraphone",
    "Marimba", "Xylophone", "Tubular Bells", "Dulcimer",
    "Drawbar Organ", "Percussive Organ", "Rock Organ", "Church Organ",
    "Reed Organ", "Accordion", "Harmonica", "Tango Accordion",
    "Acoustic Guitar (nylon)", "Acoustic Guitar (steel)", "Electric Guitar (jazz)", "Electric Guitar (clean)",
    "Electric Guitar (muted)", "Overdriven Guitar", "Distortion Guitar", "Guitar Harmonics",
    "Acoustic Bass", "Electric Bass (finger)", "Electric Bass (pick)", "Fretless Bass",
    "Slap Bass 1", "Slap Bass 2", "Synth Bass 1", "Synth Bass 2",
    "Violin", "Viola", "Cello", "Contrabass",
    "Tremolo Strings", "Pizzicato Strings", "Orchestral Harp", "Timpani",
    "String Ensemble 1", "String Ensemble 2", "Synth Strings 1", "Synth Strings 2",
    "Choir Aahs", "Voice Oohs", "Synth Voice", "Orchestra Hit",
    "Trumpet", "Trombone", "Tuba", "Muted Trumpet",
    "French Horn", "Brass Section", "Synth Brass 1", "Synth Brass 2",
    "Soprano Sax", "Alto Sax", "Tenor Sax", "Baritone Sax",
    "Oboe", "English Horn", "Bassoon", "Clarinet",
    "Piccolo", "Flute", "Recorder", "Pan Flute",
    "Blown Bottle", "Shakuhachi", "Whistle", "Ocarina",
    "Lead 1 (square)", "Lead 2 (sawtooth)", "Lead 3 (calliope)", "Lead 4 (chiff)",
    "Lead 5 (charang)", "Lead 6 (voice)", "Lead 7 (fifths)", "Lead 8 (bass + lead)",
    "Pad 1 (new age)", "Pad 2 (warm)", "Pad 3 (polysynth)", "Pad 4 (choir)",
    "Pad 5 (bowed)", "Pad 6 (metallic)", "Pad 7 (halo)", "Pad 8 (sweep)",
    "FX 1 (rain)", "FX 2 (soundtrack)", "FX 3 (crystal)", "FX 4 (atmosphere)",
    "FX 5 (brightness)", "FX 6 (goblins)", "FX 7 (echoes)", "FX 8 (sci-fi)",
    "Sitar", "Banjo", "Shamisen", "Koto",
    "Kalimba", "Bagpipe", "Fiddle", "Shanai",
    "Tinkle Bell", "Agogo", "Steel Drums", "Woodblock",
    "Taiko Drum", "Melodic Tom", "Synth Drum", "Reverse Cymbal",
    "Guitar Fret Noise", "Breath Noise", "Seashore", "Bird Tweet",
    "Telephone Ring", "Helicopter", "Applause", "Gunshot",
)
# Short everyday words for the most common choices.
_INSTRUMENT_ALIASES = {"piano": 0, "grand piano": 0, "electric piano": 4, "organ": 19, "guitar": 24,
                       "electric guitar": 27, "bass": 32, "strings": 48, "choir": 52, "sax": 65,
                       "saxophone": 65, "horn": 60, "harp": 46}


def _canon(text: str) -> str:
    """Lower case, punctuation dropped, single spaces: ``"Acoustic Guitar (nylon)" -> "acoustic guitar nylon"``."""
    return " ".join(re.sub(r"[^a-z0-9+]+", " ", text.lower()).split())


_BY_NAME = {_canon(n): i for i, n in enumerate(GM_PROGRAMS)} | {_canon(k): v for k, v in _INSTRUMENT_ALIASES.items()}


def parse_time_signature(text: str | tuple[int, int]) -> tuple[int, int]:
    """``"3/4" -> (3, 4)``. Numerator 1..32; denominator a power of two 1..64 (so ``"3/5"`` fails)."""
    if isinstance(text, (tuple, list)) and len(text) == 2:
        text = f"{text[0]}/{text[1]}"
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
    if not m:
        raise MusicOptionError(f"'{text}' is not a time signature: write beats/note value, like 4/4, 3/4 or 6/8")
    num, den = int(m.group(1)), int(m.group(2))
    if not 1 <= num <= NUMERATOR_MAX:
        raise MusicOptionError(f"time signature '{text}': the top number must be 1..{NUMERATOR_MAX} (received {num})")
    if den not in DENOMINATORS:
        raise MusicOptionError(
            f"time signature '{text}': the bottom number must be a note value 1, 2, 4, 8, 16, 32 or 64 (received {den})"
        )
    return num, den


def parse_instrument(text: str | int) -> int:
    """General MIDI program 0..127 from a name (``"violin"``, ``"Acoustic Grand Piano"``) or number (``"40"``).

    Numbers are 0-based as stored in MIDI files (GM charts often print them 1-based).
    Names are case-insensitive; a unique part of a name works too (``"nylon"``).
    """
    t = str(text).strip()
    if re.fullmatch(r"\d+", t):
        prog = int(t)
        if not 0 <= prog <= 127:
            raise MusicOptionError(f"instrument number {prog} is not a General MIDI program (0..127)")
        return prog
    key = _canon(t)
    if key in _BY_NAME:
        return _BY_NAME[key]
    partial = sorted({i for name, i in _BY_NAME.items() if key and key in name})
    if len(partial) == 1:
        return partial[0]
    close = difflib.get_close_matches(key, list(_BY_NAME), n=3, cutoff=0.6)
    names = [GM_PROGRAMS[i] for i in partial[:3]] or [GM_PROGRAMS[_BY_NAME[c]] for c in close]
    hint = f"; did you mean {' or '.join(repr(n) for n in dict.fromkeys(names))}?" if names else ""
    raise MusicOptionError(f"instrument '{text}' is not a General MIDI name or number 0..127{hint}")


def parse_tempo(bpm: str | float) -> float:
    """Tempo in quarter notes per minute, 20..300: ``"90" -> 90.0``."""
    try:
        value = float(bpm)
    except (TypeError, ValueError):
        raise MusicOptionError(f"tempo '{bpm}' is not a number: give beats per minute like 120") from None
    if not TEMPO_MIN <= value <= TEMPO_MAX:
        raise MusicOptionError(f"tempo {bpm} bpm is outside {TEMPO_MIN:g}..{TEMPO_MAX:g}")
    return value
