"""Musical options for ``generate`` and small helpers on :class:`symusic.Score`.

Parsers turn what a user types into validated values and raise :class:`MusicOptionError`
with a one-line message naming the bad input::

    parse_key("A minor")            -> (9, "minor")      # tonic pitch class 0..11 (C=0)
    parse_time_signature("3/4")     -> (3, 4)
    parse_instrument("violin")      -> 40                # General MIDI program, 0-based
    parse_tempo("90")               -> 90.0              # quarter notes per minute

Score helpers (``transpose_score``, ``set_tempo``, ...) return a new Score and never change
their input. ``as_score``/``score_notes``/``bar_grid``/``ticks_to_seconds`` are shared by
:mod:`tunegan.outputs` and :mod:`tunegan.explain`.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path
from typing import NamedTuple

import numpy as np
import symusic

from .errors import MIDIError, MusicOptionError
from .midi import extract_notes, read_midi

TEMPO_MIN, TEMPO_MAX = 20.0, 300.0  # quarter notes per minute
NUMERATOR_MAX = 32
DENOMINATORS = (1, 2, 4, 8, 16, 32, 64)

# Semitone steps of each mode above its tonic.
MODES = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "harmonic minor": (0, 2, 3, 5, 7, 8, 11),  # the raised 7th (leading tone) that makes minor unmistakable
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "locrian": (0, 1, 3, 5, 6, 8, 10),
}
_MODE_ALIASES = {"": "major", "maj": "major", "M": "major", "ionian": "major",
                 "m": "minor", "min": "minor", "aeolian": "minor"}
_LETTER_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_KEY_RE = re.compile(r"^([A-Ga-g])\s*((?:#|♯|b|♭|-)*)\s*(?:sharp|flat)?\s*(.*)$", re.IGNORECASE)

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


def parse_key(text: str) -> tuple[int, str]:
    """``"A minor" -> (9, "minor")``; ``"F# major"``, ``"Bb"`` (major), ``"c#m"``, ``"D dorian"``.

    Returns ``(tonic_pc, mode)`` with ``tonic_pc`` in 0..11 (C=0) and ``mode`` one of :data:`MODES`.
    A key without a mode word is major; ``m``/``min``/``minor`` mean minor.
    """
    m = _KEY_RE.match(str(text).strip())
    mode_word = m.group(3).strip() if m else ""
    mode = _MODE_ALIASES.get(mode_word, _MODE_ALIASES.get(mode_word.lower(), mode_word.lower()))
    if not m or mode not in MODES:
        raise MusicOptionError(
            f"'{text}' is not a key: write a note letter A-G, optional # or b, then major or minor, like 'A minor' or 'F# major'"
        )
    letter, acc = m.group(1).upper(), m.group(2)
    shift = sum(1 if a in "#♯" else -1 for a in acc)
    word = str(text).lower()
    shift += 1 if "sharp" in word else -1 if "flat" in word else 0
    return (_LETTER_PC[letter] + shift) % 12, mode


def scale_pitch_classes(tonic: int, mode: str = "major") -> set[int]:
    """The seven pitch classes (0..11, C=0) of ``mode`` on ``tonic``: ``(0, "major") -> {0,2,4,5,7,9,11}``."""
    if mode not in MODES:
        raise MusicOptionError(f"mode '{mode}' is unknown: use one of {', '.join(MODES)}")
    return {(int(tonic) + s) % 12 for s in MODES[mode]}


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


# ---- shared by outputs/ and explain -------------------------------------------------------------

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


def first_time_signature(score: symusic.Score) -> tuple[int, int]:
    """The time signature at tick 0, or 4/4 when the file has none."""
    ts = sorted(score.time_signatures, key=lambda t: t.time)
    return (ts[0].numerator, ts[0].denominator) if ts else (4, 4)


def first_tempo(score: symusic.Score) -> float:
    """The first tempo in quarter notes per minute, or 120 (the MIDI default) when there is none."""
    tempos = sorted(score.tempos, key=lambda t: t.time)
    return float(tempos[0].qpm) if tempos else 120.0


class Grid(NamedTuple):
    """Bar and beat starts of a tick-based score (int64 tick arrays; per-bar arrays align with ``bars``)."""

    bars: np.ndarray        # tick where each bar starts, shape (n_bars,)
    beats: np.ndarray       # tick where each beat starts, shape (n_beats,)
    numerators: np.ndarray  # beats in each bar, shape (n_bars,)
    beat_ticks: np.ndarray  # ticks per beat in each bar (float64), shape (n_bars,)


def bar_grid(score: symusic.Score, end_tick: int) -> Grid:
    """Bars and beats from tick 0 past ``end_tick``, following time-signature changes (4/4 if none).

    A beat is the signature's note value: 6/8 has six eighth-note beats, 2/2 two half-note beats.
    """
    tpq = score.ticks_per_quarter
    changes = sorted(((t.time, t.numerator, t.denominator) for t in score.time_signatures), key=lambda c: c[0])
    if not changes or changes[0][0] > 0:
        changes.insert(0, (0, 4, 4))
    bars, beats, nums, lens = [], [], [], []
    tick, i = 0, 0
    while tick <= end_tick and len(bars) < 100_000:
        while i + 1 < len(changes) and changes[i + 1][0] <= tick:
            i += 1
        _, num, den = changes[i]
        beat_len = tpq * 4 / den
        bars.append(tick)
        nums.append(num)
        lens.append(beat_len)
        beats.extend(int(round(tick + k * beat_len)) for k in range(num))
        tick = int(round(tick + num * beat_len))
    return Grid(np.array(bars, np.int64), np.array(beats, np.int64), np.array(nums, np.int64), np.array(lens, np.float64))


def ticks_to_seconds(score: symusic.Score, ticks: np.ndarray) -> np.ndarray:
    """Seconds for tick positions of a tick-based score, following its tempo changes. Shape kept."""
    ticks = np.asarray(ticks, dtype=np.float64)
    tpq = score.ticks_per_quarter
    tempos = sorted(((t.time, t.qpm) for t in score.tempos), key=lambda c: c[0]) or [(0, 120.0)]
    if tempos[0][0] > 0:
        tempos.insert(0, (0, 120.0))
    starts = np.array([t for t, _ in tempos], np.float64)
    sec_per_tick = np.array([60.0 / (q * tpq) for _, q in tempos])
    seg_secs = np.concatenate([[0.0], np.cumsum(np.diff(starts) * sec_per_tick[:-1])])
    idx = np.clip(np.searchsorted(starts, ticks, side="right") - 1, 0, len(starts) - 1)
    return seg_secs[idx] + (ticks - starts[idx]) * sec_per_tick[idx]
