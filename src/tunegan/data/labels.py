"""Style and mood labels for pieces: composer era, meter, key, and a rule-based mood.

Every label is a short lower-case word or a number, so a piece's labels fit in JSON
and can become conditioning keywords:

- ``genre``: classical | pop | folk | chorale | game (set by the source)
- ``era``: renaissance | baroque | classical | romantic | late romantic | modern | traditional
- ``form``: jig, reel, hornpipe, waltz, chorale... (set by the source when it knows)
- ``meter``: ``"4/4"``; ``key``: ``"F# minor"``; ``mode``: major | minor
- ``valence``, ``arousal`` in [-1, 1] and ``mood``: upbeat | calm | tense | melancholy

Human labels from a source (VGMIDI valence/arousal, POP909 keys, Nottingham keys) win
over estimates; ``mood_source`` says which one a piece got.

Run ``python -m tunegan.data.labels check-mood PATH/TO/vgmidi`` to measure how well the
rule-based mood agrees with VGMIDI's human labels (see :mod:`.mood_check`).
"""

from __future__ import annotations

import csv
import difflib
import functools
import math
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import symusic

PITCH_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
COMPOSER_TABLE_NAME = "giantmidi-piano-meta/composers_manually_checked.csv"

# Era by the composer's birth year: (first year NOT in the era, era). A heuristic: it places
# Beethoven (1770) in "classical" and Rachmaninoff (1873), Scriabin (1872), Ravel (1875) in
# "late romantic" (which includes the impressionists); Berg, Enescu, Medtner (1880+) are "modern".
ERA_BY_BIRTH = ((1600, "renaissance"), (1710, "baroque"), (1775, "classical"),
                (1830, "romantic"), (1880, "late romantic"), (10_000, "modern"))
# Era for corpora without composers.
CORPUS_ERA = {"pop909": "modern", "vgmidi": "modern", "nottingham": "traditional", "jsb": "baroque"}
CORPUS_GENRE = {"maestro": "classical", "pop909": "pop", "nottingham": "folk", "jsb": "chorale", "vgmidi": "game"}
MOODS = {(True, True): "upbeat", (True, False): "calm", (False, True): "tense", (False, False): "melancholy"}

# Krumhansl & Kessler (1982) probe-tone key profiles, tonic first.
KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])

_PARTICLES = {"van", "von", "de", "der", "da", "di", "du", "le", "la"}
_SUFFIXES = {"jr", "sr", "jr.", "sr."}


# --------------------------------------------------------------------------- composers

def normalise_composer(name: str) -> str:
    """The first composer of a MAESTRO credit: ``"Franz Schubert / Franz Liszt"`` -> ``"Franz Schubert"``."""
    first = re.split(r"\s*/\s*|\s+&\s+", name or "")[0]
    return " ".join(first.split())


def _fold(name: str) -> list[str]:
    """Lower-case ASCII tokens of a name without accents, dots, suffixes (Jr., Sr.)."""
    ascii_ = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    tokens = re.sub(r"[^a-z\- ]", " ", ascii_.lower().replace(".", ". ")).split()
    return [t for t in tokens if t not in _SUFFIXES and t.strip("-")]


@functools.lru_cache(maxsize=4)
def _composer_table(path: str) -> dict[str, list[tuple[list[str], int]]]:
    """Surname -> [(folded tokens, birth year)] from the GiantMIDI table (tab-separated, BOM)."""
    table: dict[str, list[tuple[list[str], int]]] = {}
    with open(path, newline="", encoding="utf-8-sig") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            birth = (row.get("birth") or "").strip()
            tokens = _fold(row.get("composer_name") or "")
            if birth.isdigit() and tokens:
                table.setdefault(tokens[-1], []).append((tokens, int(birth)))
    return table


def _given_names_agree(a: list[str], b: list[str]) -> bool:
    """Every given name of the shorter list is close (ratio >= 0.75) to one of the other list."""
    a = [t for t in a if t not in _PARTICLES]
    b = [t for t in b if t not in _PARTICLES]
    if not a or not b:
        return True
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    return all(max(difflib.SequenceMatcher(None, s, t).ratio() for t in long_) >= 0.75 for s in short)


def composer_birth_year(name: str, table_path: str | Path) -> int | None:
    """Birth year of ``name`` (first composer of a credit) from the GiantMIDI composer table.

    Matching: same surname (accents, case and Jr./Sr. ignored), then an exact full name, else
    given names that agree fuzzily (``Aleksandr``~``Alexander``, ``Pyotr``~``Pyotr Ilyich``);
    the closest full name wins. ``None`` if the table is missing or nothing matches.
    """
    if not Path(table_path).is_file():
        return None
    tokens = _fold(normalise_composer(name))
    if not tokens:
        return None
    candidates = _composer_table(str(Path(table_path).resolve())).get(tokens[-1], [])
    for cand, birth in candidates:
        if cand == tokens:
            return birth
    if len(tokens) == 1:
        return candidates[0][1] if len(candidates) == 1 else None
    fits = [(difflib.SequenceMatcher(None, " ".join(tokens), " ".join(c)).ratio(), b)
            for c, b in candidates if len(c) > 1 and _given_names_agree(tokens[:-1], c[:-1])]
    return max(fits)[1] if fits else None


def era_of_birth_year(year: int) -> str:
    """Era word for a composer born in ``year`` (cut-offs in :data:`ERA_BY_BIRTH`)."""
    return next(era for limit, era in ERA_BY_BIRTH if year < limit)


def composer_era(name: str, table_path: str | Path | None) -> str | None:
    """Era of a composer by birth year from the GiantMIDI table; ``None`` if unknown or no table."""
    if not name or table_path is None:
        return None
    year = composer_birth_year(name, table_path)
    return None if year is None else era_of_birth_year(year)


def find_composer_table(start: str | Path) -> Path | None:
    """The GiantMIDI composer table in a shared data folder next to ``start`` (a corpus root or
    file), looking up to three parent folders: ``<data>/giantmidi-piano-meta/...csv``."""
    p = Path(start).resolve()
    for folder in [p, *p.parents][:4]:
        cand = folder / COMPOSER_TABLE_NAME
        if cand.is_file():
            return cand
    return None


# --------------------------------------------------------------------------- meter and key

def meter_label(num: int, den: int) -> str:
    """``meter_label(6, 8) == "6/8"``."""
    return f"{int(num)}/{int(den)}"


def key_label(tonic: int, mode: str) -> str:
    """``key_label(9, "minor") == "A minor"``; tonic is a pitch class 0..11 (C=0)."""
    return f"{PITCH_NAMES[int(tonic) % 12]} {mode}"


_STEP = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11, "H": 11}
_MINORISH = {"m", "min", "minor", "aeo", "aeolian", "dor", "dorian", "phr", "phrygian", "loc", "locrian"}
_MAJORISH = {"", "maj", "major", "ion", "ionian", "mix", "mixolydian", "lyd", "lydian"}


def parse_key(text: str) -> tuple[int, str] | None:
    """``(tonic pitch class, "major"|"minor")`` from ``"Gb:maj"``, ``"Am"``, ``"D"``, ``"E dorian"``,
    ``"f# minor"``, ``"Es"``; church modes map to the nearer of major/minor. ``None`` if unreadable."""
    m = re.fullmatch(r"\s*([A-Ha-h])(#|b|s|es|is)?\s*:?\s*([A-Za-z]*)\s*", text or "")
    if not m:
        return None
    tonic = _STEP[m.group(1).upper()] + {"#": 1, "is": 1, "b": -1, "es": -1, "s": -1}.get(m.group(2) or "", 0)
    word = m.group(3).lower()
    word = word[:3] if word[:3] in {"maj", "min", "dor", "mix", "lyd", "phr", "loc", "aeo", "ion"} else word
    if word in _MINORISH:
        return tonic % 12, "minor"
    if word in _MAJORISH:
        return tonic % 12, "major"
    return None


def tonic_to_fifths(tonic: int, mode: str) -> int:
    """Key signature (sharps > 0, flats < 0, in -6..5) of a key: ``tonic_to_fifths(9, "minor") == 0``."""
    major = (int(tonic) + (3 if mode == "minor" else 0)) % 12
    f = (major * 7) % 12
    return f - 12 if f > 5 else f


class KeyEstimate(NamedTuple):
    """tonic: pitch class 0..11 (C=0); mode: major | minor; confidence: Pearson r of the best
    key profile with the histogram, in [-1, 1] (0.0 for a score without notes)."""

    tonic: int
    mode: str
    confidence: float


def pitch_class_histogram(score: symusic.Score) -> np.ndarray:
    """Duration-weighted pitch-class histogram, shape=(12,), in ticks (drum tracks left out)."""
    hist = np.zeros(12)
    for track in score.tracks:
        if track.is_drum or len(track.notes) == 0:
            continue
        a = track.notes.numpy()
        hist += np.bincount(a["pitch"].astype(np.int64) % 12, weights=a["duration"].astype(np.float64), minlength=12)
    return hist


def _centred_profiles() -> tuple[np.ndarray, np.ndarray]:
    profiles = np.stack([np.roll(p, t) for p in (KK_MAJOR, KK_MINOR) for t in range(12)])
    prof = profiles - profiles.mean(axis=1, keepdims=True)
    return prof, np.linalg.norm(prof, axis=1)


_PROFILES, _PROFILE_NORMS = _centred_profiles()  # the 24 key profiles, centred once


def key_correlations(hist: np.ndarray) -> np.ndarray:
    """Pearson r of ``hist`` (shape=(12,)) with the 24 Krumhansl-Kessler profiles, shape=(24,):
    index ``t`` is ``t`` major, ``12 + t`` is ``t`` minor. All zeros for a flat histogram."""
    h = np.asarray(hist, dtype=np.float64) - np.mean(hist)
    if not np.any(h):
        return np.zeros(24)
    return _PROFILES @ h / (_PROFILE_NORMS * np.linalg.norm(h))


def mode_and_key(score: symusic.Score, key_signature: int | None = None) -> KeyEstimate:
    """Krumhansl-Schmuckler key finding over the duration-weighted pitch-class histogram.

    key_signature: sharps (> 0) or flats (< 0) when known; the choice is then only between the
    signature's major key and its relative minor.
    """
    r = key_correlations(pitch_class_histogram(score))
    if not np.any(r):
        return KeyEstimate(0, "major", 0.0)
    if key_signature is not None:
        major = (int(key_signature) * 7) % 12
        minor = (major + 9) % 12
        best = major if r[major] >= r[12 + minor] else 12 + minor
    else:
        best = int(np.argmax(r))
    return KeyEstimate(best % 12, "major" if best < 12 else "minor", float(r[best]))


# --------------------------------------------------------------------------- mood

@dataclass(frozen=True)
class MoodConstants:
    """Fixed constants of the rule-based mood (see :func:`mood_from_music`).

    valence_scale: difference of the best major and best minor key correlation that gives
                   valence +-1 (0.2 = clearly one mode).
    density_ref:   notes per second with zero arousal contribution (6.0, a middling piano texture).
    density_scale: natural-log units of density per standard unit (0.5: x1.65 density = +1).
    tempo_ref:     quarter notes per minute with zero contribution (120, the MIDI default).
    tempo_scale:   bpm per standard unit (30).
    density_weight, tempo_weight: weights of the two standardised terms (0.75 and 0.25; tempo
                   gets less because density in notes/s already grows with tempo).
    """

    valence_scale: float = 0.2
    density_ref: float = 6.0
    density_scale: float = 0.5
    tempo_ref: float = 120.0
    tempo_scale: float = 30.0
    density_weight: float = 0.75
    tempo_weight: float = 0.25


class MusicFeatures(NamedTuple):
    """mode_margin: best major r minus best minor r; tempo: bpm (time-weighted mean);
    density: notes per second over the span from the first onset to the last offset."""

    mode_margin: float
    tempo: float
    density: float


def score_tempo(score: symusic.Score) -> float:
    """Mean tempo in quarter notes per minute, weighted by how long (in ticks) each tempo holds."""
    tempos = sorted(score.tempos, key=lambda t: t.time)
    if not tempos:
        return 120.0
    end = max(score.end(), tempos[-1].time + 1)
    times = [t.time for t in tempos] + [end]
    spans = np.diff(np.maximum.accumulate(np.asarray(times, dtype=np.float64)))
    qpm = np.array([t.qpm for t in tempos])
    return float(np.average(qpm, weights=spans)) if spans.sum() > 0 else float(qpm[0])


def mode_margin(hist: np.ndarray) -> float:
    """Best major minus best minor key correlation of a pitch-class histogram: > 0 sounds major."""
    r = key_correlations(hist)
    return float(r[:12].max() - r[12:].max())


def music_features(score: symusic.Score) -> MusicFeatures:
    """The three numbers the mood rule reads from a score."""
    margin = mode_margin(pitch_class_histogram(score))
    sec = score.to("second")
    n = sum(len(t.notes) for t in sec.tracks if not t.is_drum)
    span = float(sec.end() - sec.start()) if n else 0.0
    density = n / span if span > 0 else 0.0
    return MusicFeatures(margin, score_tempo(score), density)


def mood_word(valence: float, arousal: float) -> str:
    """Quadrant word: upbeat (+v,+a), calm (+v,-a), tense (-v,+a), melancholy (-v,-a); 0 counts as +."""
    return MOODS[(valence >= 0, arousal >= 0)]


def mood_from_features(f: MusicFeatures, c: MoodConstants = MoodConstants()) -> dict:
    """valence = clip(mode_margin / valence_scale, -1, 1) (major +, minor -, scaled by how clearly
    the mode wins); arousal = tanh(w_d * z_density + w_t * z_tempo) with
    z_density = ln(density / density_ref) / density_scale, z_tempo = (tempo - tempo_ref) / tempo_scale."""
    valence = float(np.clip(f.mode_margin / c.valence_scale, -1.0, 1.0))
    z_d = math.log(max(f.density, 0.05) / c.density_ref) / c.density_scale
    z_t = (f.tempo - c.tempo_ref) / c.tempo_scale
    arousal = math.tanh(c.density_weight * z_d + c.tempo_weight * z_t)
    return {"valence": round(valence, 4), "arousal": round(arousal, 4), "mood": mood_word(valence, arousal)}


def mood_from_music(score: symusic.Score, constants: MoodConstants = MoodConstants()) -> dict:
    """Rule-based ``{"valence": float, "arousal": float, "mood": str}`` (both in [-1, 1])."""
    return mood_from_features(music_features(score), constants)


def check_mood_mapping(vgmidi_root: str | Path, **kwargs) -> dict:
    """Agreement of :func:`mood_from_music` with VGMIDI's human labels; see :mod:`.mood_check`."""
    from .mood_check import check_mood_mapping as check

    return check(vgmidi_root, **kwargs)


# --------------------------------------------------------------------------- all labels of a piece

def labels_for(piece, score: symusic.Score, *, composer_table: str | Path | None = None,
               mood_constants: MoodConstants = MoodConstants()) -> dict:
    """The source's labels of ``piece`` completed with genre, era, form, meter, key, mode and mood.

    ``composer_table``: the GiantMIDI composers csv for ``era`` of composed pieces; when ``None``
    it is looked for next to the piece's file (:func:`find_composer_table`).
    Returns a new JSON-ready dict; the source's own (human) labels are kept as they are.
    """
    out = dict(piece.labels)
    out.setdefault("corpus", piece.corpus)
    if piece.corpus in CORPUS_GENRE:
        out.setdefault("genre", CORPUS_GENRE[piece.corpus])
    if out.get("composer"):
        main = normalise_composer(out["composer"])
        if main != out["composer"]:
            out.setdefault("composer_credit", out["composer"])
        out["composer"] = main
        if "era" not in out:
            table = composer_table if composer_table is not None else (
                find_composer_table(piece.path) if piece.path else None)
            era = composer_era(main, table)
            if era is not None:
                out["era"] = era
    if "era" not in out and piece.corpus in CORPUS_ERA:
        out["era"] = CORPUS_ERA[piece.corpus]
    out.setdefault("form", None)
    if not out.get("meter"):
        ts = sorted(score.time_signatures, key=lambda t: t.time)
        out["meter"] = meter_label(ts[0].numerator, ts[0].denominator) if ts else "4/4"
    parsed = parse_key(out["key"]) if out.get("key") else None
    if parsed is None:
        sig = out.get("key_signature")
        est = mode_and_key(score, int(sig) if isinstance(sig, (int, float)) else None)
        out.update(key=key_label(est.tonic, est.mode), mode=est.mode,
                   key_source="estimated", key_confidence=round(est.confidence, 4))
    else:
        out.setdefault("mode", parsed[1])
        out.setdefault("key_source", "label")
    if out.get("valence") is not None and out.get("arousal") is not None:
        out.setdefault("mood", mood_word(float(out["valence"]), float(out["arousal"])))
        out.setdefault("mood_source", "human")
    else:
        out.update(mood_from_music(score, mood_constants), mood_source="estimated")
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m tunegan.data.labels check-mood VGMIDI_ROOT``: print the agreement as JSON."""
    import argparse
    import json
    import sys

    from ..errors import TuneganError

    ap = argparse.ArgumentParser(prog="python -m tunegan.data.labels")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("check-mood", help="agreement of the rule-based mood with VGMIDI's human labels")
    p.add_argument("vgmidi_root")
    p.add_argument("--no-calibrate", action="store_true",
                   help="use the fixed default constants instead of medians of the train split")
    args = ap.parse_args(argv)
    try:
        result = check_mood_mapping(args.vgmidi_root, calibrate=not args.no_calibrate)
    except TuneganError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
