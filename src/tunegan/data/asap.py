"""ASAP classical piano scores (Foscarin et al., ISMIR 2020) as a corpus: ``open_source("asap:PATH")``.

Each ``COMPOSER/WORK/PIECE/midi_score.mid`` is a score on its written metrical grid, with its
tempos and time signatures (repeats unfolded, grace notes as very short notes), so bar and
position tokens made from it follow the written metre, unlike MAESTRO's performances (120 BPM and
4/4 declared, notes where the pianist played them). The split is ``metadata.csv``'s, which
follows MAESTRO's: a work whose performances are in MAESTRO's test split is never in train here.

Labels: ``genre`` classical, ``composer`` (full name), ``era`` (by birth year from the GiantMIDI
composer table next to the data, :func:`~tunegan.data.labels.composer_era`), ``title``, ``form``
(from the folder: fugue, prelude, sonata, etude...), ``meter`` (the metre most of the score's
bars are written in, from ``midi_score_annotations.txt``) and ``key_signature`` (sharps > 0,
flats < 0, the score's first one), which guides the key estimate.

Some scores change metre very often, or write a cadenza as one long bar (``65/4``): a bar-based
tokenizer without a token for such a metre gets them rewritten by :mod:`.metre` at ``prepare``.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from ..errors import DataError
from .corpora import Deduplicated, FileSource
from .labels import composer_era, find_composer_table
from .sources import Piece

METADATA = "metadata.csv"

#: ASAP's composer folders -> the full names MAESTRO and the GiantMIDI table use.
ASAP_COMPOSERS = {
    "Bach": "Johann Sebastian Bach", "Balakirev": "Mily Balakirev", "Beethoven": "Ludwig van Beethoven",
    "Brahms": "Johannes Brahms", "Chopin": "Frédéric Chopin", "Debussy": "Claude Debussy",
    "Glinka": "Mikhail Glinka", "Haydn": "Joseph Haydn", "Liszt": "Franz Liszt",
    "Mozart": "Wolfgang Amadeus Mozart", "Prokofiev": "Sergei Prokofiev", "Rachmaninoff": "Sergei Rachmaninoff",
    "Ravel": "Maurice Ravel", "Schubert": "Franz Schubert", "Schumann": "Robert Schumann",
    "Scriabin": "Alexander Scriabin",
}

#: (pattern in the work folder, form): the first match wins.
ASAP_FORMS = ((r"fugue", "fugue"), (r"prelude", "prelude"), (r"sonata", "sonata"), (r"etude", "etude"),
              (r"ballade", "ballade"), (r"scherzo", "scherzo"), (r"polonaise", "polonaise"),
              (r"impromptu", "impromptu"), (r"toccata", "toccata"), (r"waltz", "waltz"),
              (r"rhapsod", "rhapsody"), (r"barcarolle", "barcarolle"), (r"berceuse", "berceuse"),
              (r"fantas", "fantasia"), (r"concerto", "concerto"), (r"moment.musical", "moment musical"))


def asap_form(folder: str) -> str | None:
    """``"Bach/Fugue/bwv_846"`` -> ``"fugue"``; ``None`` for a work folder with no form word."""
    parts = folder.split("/")
    text = " ".join(parts[1:2]).lower()
    return next((form for pat, form in ASAP_FORMS if re.search(pat, text)), None)


def read_annotations(path: Path) -> dict:
    """``{"meter": "3/8", "key_signature": -4}`` from a ``midi_score_annotations.txt``: the metre
    held by the most downbeats (``db,N/D,K`` rows set it, bare ``db`` rows keep it; ties go to
    the first) and the first key signature. Missing or unreadable: ``{}``."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return {}
    bars: Counter[str] = Counter()
    meter, key = None, None
    for line in lines:
        cols = line.split("\t")
        if len(cols) < 3:
            continue
        fields = cols[2].strip().split(",")
        if len(fields) > 1 and re.fullmatch(r"\d+/\d+", fields[1].strip()):
            meter = fields[1].strip()
        if key is None and len(fields) > 2 and re.fullmatch(r"-?\d+", fields[2].strip()):
            key = int(fields[2])
        if fields[0] == "db" and meter is not None:
            bars[meter] += 1
    out = {}
    if bars:
        out["meter"] = bars.most_common(1)[0][0]  # most_common keeps first-seen order among ties
    if key is not None:
        out["key_signature"] = key
    return out


def _is_variant(folder: str) -> bool:
    """A score folder written as another version of its piece: ``17-1_no_repeat``, ``1_no_first_repeat``,
    ``6_Theme_and_Variations_repeat`` (ASAP keeps such versions beside the score as written)."""
    return re.search(r"_(no_(\w+_)?)?repeat$", folder.rstrip("/").split("/")[-1]) is not None


@dataclass(frozen=True)
class Asap(Deduplicated, FileSource):
    """ASAP scores from ``metadata.csv`` (module docstring); ``id`` is the score's folder.

    ASAP holds some pieces in two or three versions that differ only in which repeats they play
    (``Beethoven/Piano_Sonatas/17-1`` and ``17-1_no_repeat``): they open alike, so each would
    count its opening more than once in training and in the opening priors. One version per
    piece (composer and title) is kept, the one without a repeat suffix (else the first listed);
    :meth:`duplicates` lists the others."""

    name: ClassVar[str] = "asap"

    def scan(self) -> tuple[list[Piece], list[tuple[str, str]]]:
        """(pieces, duplicates) where duplicates lists ``(dropped folder, kept folder)`` pairs."""
        root = Path(self.root)
        table = root / METADATA
        if not table.is_file():
            raise DataError(f"{self.name}: no {METADATA} in {root}; is this the asap-scores folder?")
        composers = find_composer_table(root)
        with open(table, newline="", encoding="utf-8-sig") as f:
            rows = [r for r in csv.DictReader(f) if (root / r["midi_score"]).is_file()]
        kept: dict[tuple[str, str], dict] = {}
        for row in rows:  # the version as written wins over one with a repeat suffix, else the first
            key = (row["composer"], row["title"])
            if key not in kept or (_is_variant(kept[key]["folder"]) and not _is_variant(row["folder"])):
                kept[key] = row
        out, dups = [], []
        for row in rows:
            first = kept[(row["composer"], row["title"])]
            if first is not row:
                dups.append((row["folder"], first["folder"]))
                continue
            composer = ASAP_COMPOSERS.get(row["composer"], row["composer"])
            labels = {"genre": "classical", "composer": composer,
                      "era": composer_era(composer, composers), "title": row["title"].replace("_", " "),
                      "form": asap_form(row["folder"]), **read_annotations(root / row["annotations"])}
            out.append(Piece(id=row["folder"], split=row["split"], corpus=self.name, path=str(root / row["midi_score"]),
                             labels={k: v for k, v in labels.items() if v is not None}))
        return out, dups

