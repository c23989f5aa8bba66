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

Run ``python -m tunegan.data.mood_check PATH/TO/vgmidi`` to measure how well the
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

from ..errors import DataError
from ..music import keys
from ..music.keys import KeyEstimate, key_label, read_key
from ..music.mood import mood_word
from ..music.score import tick_notes
from ..music.timing import mean_tempo

COMPOSER_TABLE_NAME = "giantmidi-piano-meta/composers_manually_checked.csv"

# Era by the composer's birth year: (first year NOT in the era, era). A heuristic: it places
# Beethoven (1770) in "classical" and Rachmaninoff (1873), Scriabin (1872), Ravel (1875) in
# "late romantic" (which includes the impressionists); Berg, Enescu, Medtner (1880+) are "modern".
ERA_BY_BIRTH = ((1600, "renaissance"), (1710, "baroque"), (1775, "classical"),
                (1830, "romantic"), (1880, "late romantic"), (10_000, "modern"))
# Era for corpora without composers.
CORPUS_ERA = {"pop909": "modern", "vgmidi": "modern", "nottingham": "traditional", "jsb": "baroque"}
CORPUS_GENRE = {"maestro": "classical", "asap": "classical", "pop909": "pop", "nottingham": "folk", "jsb": "chorale",
                "vgmidi": "game"}

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
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            for row in csv.DictReader(f, delimiter="\t"):
                birth = (row.get("birth") or "").strip()
                tokens = _fold(row.get("composer_name") or "")
                if birth.isdigit() and tokens:
                    table.setdefault(tokens[-1], []).append((tokens, int(birth)))
    except (OSError, csv.Error, UnicodeDecodeError) as e:
        why = e.strerror if isinstance(e, OSError) and e.strerror else str(e).splitlines()[0]
        raise DataError(f"{path}: the composer table cannot be read ({why})") from None
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


def pitch_class_histogram(score: symusic.Score) -> np.ndarray:
    """Duration-weighted pitch-class histogram, shape=(12,), in ticks (drum tracks left out)."""
    n = tick_notes(score)
    return keys.pitch_class_histogram(n["pitch"], n["duration"])


def mode_and_key(score: symusic.Score, key_signature: int | None = None) -> KeyEstimate:
    """Krumhansl-Schmuckler key of a score (:func:`tunegan.music.find_key` over the
    duration-weighted pitch-class histogram); ``key_signature`` as there."""
    return keys.find_key(pitch_class_histogram(score), key_signature)


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


def music_features(score: symusic.Score) -> MusicFeatures:
    """The three numbers the mood rule reads from a score."""
    margin = keys.mode_margin(pitch_class_histogram(score))
    sec = score.to("second")
    n = sum(len(t.notes) for t in sec.tracks if not t.is_drum)
    span = float(sec.end() - sec.start()) if n else 0.0
    density = n / span if span > 0 else 0.0
    return MusicFeatures(margin, mean_tempo(score), density)


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


# --------------------------------------------------------------------------- all labels of a piece

def labels_for(piece, score: symusic.Score, *, composer_table: str | Path | None = None,
               mood_constants: MoodConstants = MoodConstants()) -> dict:
    """The source's labels of ``piece`` completed with genre, era, form, meter, key, mode and mood.

    ``composer_table``: the GiantMIDI composers csv for ``era`` of composed pieces; when ``None``
    it is looked for next to the piece's file (:func:`find_composer_table`).
    Returns a new JSON-ready dict; the source's own (human) labels are kept as they are.
    Raises :class:`~tunegan.errors.DataError` for labels that cannot be derived (an unreadable
    composer table, source valence/arousal that are not numbers); ``prepare`` records the reason.
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
    parsed = read_key(out.get("key"))
    if parsed is None:
        sig = out.get("key_signature")
        est = mode_and_key(score, int(sig) if isinstance(sig, (int, float)) else None)
        out.update(key=key_label(est.tonic, est.mode), mode=est.mode,
                   key_source="estimated", key_confidence=round(est.confidence, 4))
    else:
        out.setdefault("mode", parsed[1])
        out.setdefault("key_source", "label")
    if out.get("valence") is not None and out.get("arousal") is not None:
        try:
            valence, arousal = float(out["valence"]), float(out["arousal"])
        except (TypeError, ValueError):
            raise DataError(f"valence and arousal labels must be numbers (received {out['valence']!r}, "
                            f"{out['arousal']!r})") from None
        out.setdefault("mood", mood_word(valence, arousal))
        out.setdefault("mood_source", "human")
    else:
        out.update(mood_from_music(score, mood_constants), mood_source="estimated")
    return out
