"""Keys: parsing what people and datasets write, scales, and key finding.

One parser for every spelling tunegan meets, from users (``"A minor"``, ``"F# major"``,
``"Bb"``, ``"c#m"``, ``"D dorian"``, ``"A harmonic minor"``) and from datasets (``"Gb:maj"``,
``"Am"``, ``"Es"``, ``"H"``), and one key finder: Krumhansl-Schmuckler, the Pearson
correlation of a pitch-class histogram with the 24 rotated Krumhansl-Kessler (1982) profiles.
"""

from __future__ import annotations

import re
from typing import NamedTuple

import numpy as np

from ..errors import MusicOptionError

PITCH_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")  # key names (flats)

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
#: The nearer of major and minor for every mode (a mode with a minor third is minor).
MAJOR_OR_MINOR = {m: "minor" if 3 in steps else "major" for m, steps in MODES.items()}
_MODE_WORDS = {"": "major", "maj": "major", "major": "major", "m": "minor", "min": "minor", "minor": "minor",
               "ionian": "major", "ion": "major", "aeolian": "minor", "aeo": "minor", "dor": "dorian",
               "phr": "phrygian", "lyd": "lydian", "mix": "mixolydian", "loc": "locrian",
               "harmonic": "harmonic minor", "harm minor": "harmonic minor"}
_LETTER_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11, "H": 11}
_ACCIDENTALS = {"#": 1, "♯": 1, "b": -1, "♭": -1, "-": -1, "s": -1, "es": -1, "is": 1}
_ACC_RE = re.compile(r"(?:is|es|s|#|♯|♭|-|b)*")
_PLAIN_ACC_RE = re.compile(r"(?:#|♯|♭|-|b)*")

# Krumhansl & Kessler (1982) probe-tone key profiles, tonic first.
KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def parse_key(text: str, *, german: bool = False) -> tuple[int, str]:
    """``"A minor" -> (9, "minor")``; ``(tonic pitch class 0..11 (C=0), mode in MODES)``.

    A key without a mode word is major; ``m``/``min``/``minor`` mean minor; a lone ``M`` is
    major. Accidentals ``#``/``b``/``♯``/``♭`` or the words sharp/flat; an optional ``:`` before
    the mode (``"Gb:maj"``). ``german``: also ``H`` (B) and ``es``/``is``/``s`` (as datasets write them). Raises :class:`MusicOptionError` naming the
    text when it is not a key.
    """
    raw = str(text if text is not None else "").strip()
    if raw and raw[0].upper() in _LETTER_PC and (german or raw[0].upper() != "H"):
        rest = raw[1:]
        acc = (_ACC_RE if german else _PLAIN_ACC_RE).match(rest).group(0)
        for k in range(len(acc), -1, -1):  # the longest accidental that leaves a mode word
            word = rest[k:].strip()
            shift = 0
            for name, s in (("sharp", 1), ("flat", -1)):
                if word.lower().startswith(name):
                    word, shift = word[len(name):].strip(), s
            word = " ".join(word.lstrip(":").split())
            mode = "major" if word == "M" else _MODE_WORDS.get(word.lower(), word.lower())
            if mode in MODES:
                shift += sum(_ACCIDENTALS[a] for a in re.findall(r"is|es|s|#|♯|♭|-|b", acc[:k]))
                return (_LETTER_PC[raw[0].upper()] + shift) % 12, mode
    raise MusicOptionError(f"'{text}' is not a key: write a note letter A-G, optional # or b, then major "
                           "or minor, like 'A minor' or 'F# major'")


def read_key(text: str | None) -> tuple[int, str] | None:
    """A dataset's key label as ``(tonic, "major"|"minor")`` (church modes mapped to the nearer
    one); ``None`` when it is missing or unreadable. Uses :func:`parse_key`."""
    try:
        tonic, mode = parse_key(text, german=True) if text else (None, None)
    except MusicOptionError:
        return None
    return None if tonic is None else (tonic, MAJOR_OR_MINOR[mode])


def key_label(tonic: int, mode: str) -> str:
    """``key_label(9, "minor") == "A minor"``; tonic is a pitch class 0..11 (C=0)."""
    return f"{PITCH_NAMES[int(tonic) % 12]} {mode}"


def scale_pitch_classes(tonic: int, mode: str = "major") -> set[int]:
    """The seven pitch classes (0..11, C=0) of ``mode`` on ``tonic``: ``(0, "major") -> {0,2,4,5,7,9,11}``."""
    if mode not in MODES:
        raise MusicOptionError(f"mode '{mode}' is unknown: use one of {', '.join(MODES)}")
    return {(int(tonic) + s) % 12 for s in MODES[mode]}


def tonic_to_fifths(tonic: int, mode: str) -> int:
    """Key signature (sharps > 0, flats < 0, in -6..5) of a key: ``tonic_to_fifths(9, "minor") == 0``."""
    major = (int(tonic) + (3 if MAJOR_OR_MINOR.get(mode, mode) == "minor" else 0)) % 12
    f = (major * 7) % 12
    return f - 12 if f > 5 else f


class KeyEstimate(NamedTuple):
    """tonic: pitch class 0..11 (C=0); mode: major | minor; confidence: Pearson r of the best
    key profile with the histogram, in [-1, 1] (0.0 for a histogram without notes)."""

    tonic: int
    mode: str
    confidence: float


def _centred_profiles() -> tuple[np.ndarray, np.ndarray]:
    profiles = np.stack([np.roll(p, t) for p in (KK_MAJOR, KK_MINOR) for t in range(12)])
    prof = profiles - profiles.mean(axis=1, keepdims=True)
    return prof, np.linalg.norm(prof, axis=1)


_PROFILES, _PROFILE_NORMS = _centred_profiles()  # the 24 key profiles, centred once


def pitch_class_histogram(pitches: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """float64 ``(12,)``: how much of each pitch class (C=0), weighted by ``weights`` (e.g.
    durations) or counted."""
    p = np.asarray(pitches, dtype=np.int64) % 12
    return np.bincount(p, weights=None if weights is None else np.asarray(weights, np.float64),
                       minlength=12).astype(np.float64)


def key_correlations(hist: np.ndarray) -> np.ndarray:
    """Pearson r of ``hist`` (shape=(12,)) with the 24 Krumhansl-Kessler profiles, shape=(24,):
    index ``t`` is ``t`` major, ``12 + t`` is ``t`` minor. All zeros for a flat histogram."""
    h = np.asarray(hist, dtype=np.float64) - np.mean(hist)
    if not np.any(h):
        return np.zeros(24)
    return _PROFILES @ h / (_PROFILE_NORMS * np.linalg.norm(h))


def rank_keys(hist: np.ndarray) -> list[KeyEstimate]:
    """All 24 keys, best first (ties: major before minor, then by tonic)."""
    r = key_correlations(hist)
    order = sorted(range(24), key=lambda i: (-r[i], i))
    return [KeyEstimate(i % 12, "major" if i < 12 else "minor", float(r[i])) for i in order]


def find_key(hist: np.ndarray, key_signature: int | None = None) -> KeyEstimate:
    """Krumhansl-Schmuckler key of a pitch-class histogram.

    key_signature: sharps (> 0) or flats (< 0) when known; the choice is then only between the
    signature's major key and its relative minor.
    """
    r = key_correlations(hist)
    if not np.any(r):
        return KeyEstimate(0, "major", 0.0)
    if key_signature is not None:
        major = (int(key_signature) * 7) % 12
        minor = (major + 9) % 12
        best = major if r[major] >= r[12 + minor] else 12 + minor
    else:
        best = int(np.argmax(r))
    return KeyEstimate(best % 12, "major" if best < 12 else "minor", float(r[best]))


def mode_margin(hist: np.ndarray) -> float:
    """Best major minus best minor key correlation of a pitch-class histogram: > 0 sounds major."""
    r = key_correlations(hist)
    return float(r[:12].max() - r[12:].max())


#: Pitch classes above the tonic that change when a piece moves to its parallel mode: major's
#: third and sixth come down a semitone for minor (the seventh stays raised: harmonic minor, the
#: minor of cadences); minor's third, sixth and seventh go up for major.
PARALLEL_MODE_STEPS = {"minor": {4: -1, 9: -1}, "major": {3: 1, 8: 1, 10: 1}}


def parallel_mode_map(tonic: int, mode: str) -> np.ndarray:
    """int ``(128,)``: each MIDI pitch where it goes when music on ``tonic`` moves into ``mode``
    (the parallel key: C major -> C minor lowers E and A; C minor -> C major raises Eb, Ab, Bb)."""
    steps = PARALLEL_MODE_STEPS[mode]
    p = np.arange(128)
    return p + np.array([steps.get((q - tonic) % 12, 0) for q in p])
