"""More corpora (POP909, Nottingham, JSB Chorales, VGMIDI, music21): opened by name through :mod:`.registry`.

Each source lists pieces with a train/validation/test split and labels, and loads one piece
as a tick-based :class:`symusic.Score`; a bad piece raises :class:`~tunegan.errors.MIDIError`
with a one-line reason. Use them by name: ``open_source("pop909:/data/pop909")`` (on its
annotated beat grid; ``"pop909-midigrid:PATH"`` keeps the MIDI files' own grid),
``"nottingham:PATH"``, ``"jsb:PATH"`` (folder or one ``jsb-chorales-*.json``), ``"vgmidi:PATH"``,
``"music21:builtin"`` (see :mod:`.corpora_music21`).
"""

from __future__ import annotations

import csv
import functools
import hashlib
import json
import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import symusic

from ..errors import DataError, MIDIError
from ..midi import DEFAULT_TPQ, read_midi
from ..music import key_label, mood_word, read_key
from .beatgrid import beat_grid_score, read_pop909_beats
from .labels import meter_label
from .sources import Piece, Source, file_sha1, hash_split

BEAT_FILE = "beat_midi.txt"  # POP909's beat annotations, next to each song's MIDI

JSB_STEPS_PER_BEAT = {"16th": 4, "8th": 2, "quarter": 1}  # time steps per quarter note, by file name
JSB_TEMPO = 100.0  # bpm given to chorales, which have no tempo of their own
JSB_VELOCITY = 80


def _need_dir(root: str | os.PathLike, name: str) -> Path:
    p = Path(root)
    if not p.is_dir():
        raise DataError(f"{name}: {p} is not a folder")
    return p


class FileSource(Source):
    """Shared loader of the file-based corpora: a MIDI file that must hold notes."""

    def decode(self, piece: Piece, data: bytes) -> symusic.Score:
        score = read_midi(data, name=piece.path)
        if score.note_num() == 0:
            raise MIDIError(f"{piece.path}: no notes")
        return score


# --------------------------------------------------------------------------- POP909

def _pop909_key(path: Path) -> str | None:
    """Key held longest in ``key_audio.txt`` (rows: start s, end s, ``Gb:maj``); ties go to the first."""
    if not path.is_file():
        return None
    held: Counter[tuple[int, str]] = Counter()
    order: dict[tuple[int, str], int] = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.split()
        if len(parts) < 3 or (k := read_key(parts[2])) is None:
            continue
        try:
            held[k] += float(parts[1]) - float(parts[0])
        except ValueError:
            continue
        order.setdefault(k, len(order))
    if not held:
        return None
    best = max(held, key=lambda k: (held[k], -order[k]))
    return key_label(*best)


def _pop909_meter(beats: str | None, quavers: str | None) -> str | None:
    """index.csv num_beats_per_measure / num_quavers_per_beat -> meter: 2 quavers per beat is
    simple time (2 -> "2/4", 3 -> "3/4", as the MIDI files' own 2/4 says), 3 is compound (2 -> "6/8")."""
    try:
        b, q = int(beats), int(quavers)
    except (TypeError, ValueError):
        return None
    return meter_label(b, 4) if q == 2 else meter_label(b * q, 8)


def _pop909_compound(row: dict) -> bool:
    """Whether the index row says a beat is three quavers (a dotted quarter)."""
    return str(row.get("num_quavers_per_beat", "")).strip() == "3"


@functools.lru_cache(maxsize=4)
def _pop909_index(path: str, mtime: float) -> dict[str, dict]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        return {r["song_id"].strip(): r for r in csv.DictReader(f)}


def _read_pop909_index(root: Path) -> dict[str, dict]:
    p = root / "index.csv"
    return _pop909_index(str(p.resolve()), p.stat().st_mtime) if p.is_file() else {}


POP909_GRIDS = ("beats", "midi")
BEATGRID_VERSION = "beatgrid-1"  # part of a beat-grid song's fingerprint: bump when the mapping changes


@dataclass(frozen=True)
class Pop909(FileSource):
    """POP909: ``NNN/NNN.mid`` (tracks MELODY, BRIDGE, PIANO, all kept), labels from ``index.csv``
    (title, artist) and ``key_audio.txt`` (the key held longest). Split: hash of the song id.

    grid: ``"beats"`` (default): each song is written on its annotated beat grid from
          ``beat_midi.txt`` (:mod:`.beatgrid`: bars at the downbeats, 4/4 or 3/4 as they imply,
          12/8 for the index's compound songs, tempo from the beat spacing), and its ``meter``
          label is that usual metre; a song without a usable beat file is skipped with the reason.
          ``"midi"``: the MIDI file as it is (its declared 1/4 or 2/4, its own tick grid), with the
          index's meter (``"2/4"``); opened by name as ``"pop909-midigrid:PATH"``.
    """

    grid: str = "beats"
    name: ClassVar[str] = "pop909"

    def __post_init__(self):
        if self.grid not in POP909_GRIDS:
            raise DataError(f"{self.name}: grid must be one of {', '.join(POP909_GRIDS)} (received {self.grid!r})")

    def pieces(self) -> list[Piece]:
        root = _need_dir(self.root, self.name)
        index = _read_pop909_index(root)
        out = []
        for d in sorted(p for p in root.iterdir() if p.is_dir() and p.name.isdigit()):
            midi = d / f"{d.name}.mid"
            if not midi.is_file():
                continue
            row = index.get(d.name, {})
            meter = _pop909_meter(row.get("num_beats_per_measure"), row.get("num_quavers_per_beat"))
            if self.grid == "beats":
                meter = self._grid_meter(d / BEAT_FILE, _pop909_compound(row))
            labels = {"genre": "pop", "title": row.get("name"), "artist": row.get("artist"),
                      "meter": meter, "key": _pop909_key(d / "key_audio.txt")}
            out.append(Piece(id=d.name, split=hash_split(d.name), corpus="pop909", path=str(midi),
                             labels={k: v for k, v in labels.items() if v is not None}))
        return out

    @staticmethod
    def _grid_meter(beat_file: Path, compound: bool) -> str | None:
        try:
            b = read_pop909_beats(beat_file).beats_per_bar
        except MIDIError:
            return None
        return meter_label(3 * b, 8) if compound else meter_label(b, 4)

    def decode(self, piece: Piece, data: bytes) -> symusic.Score:
        score = super().decode(piece, data)
        if self.grid == "midi":
            return score
        beats = read_pop909_beats(Path(piece.path).parent / BEAT_FILE)
        row = _read_pop909_index(Path(self.root)).get(piece.id, {})
        return beat_grid_score(score, beats, compound=_pop909_compound(row))

    # a beat-grid song is its MIDI file and its beat file: both go into the change detectors
    def _beat_digest(self, piece: Piece) -> str:
        p = Path(piece.path).parent / BEAT_FILE
        content = p.read_bytes() if p.is_file() else b"missing"
        return hashlib.sha1(BEATGRID_VERSION.encode() + content).hexdigest()

    def fingerprint(self, piece: Piece) -> str:
        base = super().fingerprint(piece)
        return base if self.grid == "midi" else hashlib.sha1(f"{base}|{self._beat_digest(piece)}".encode()).hexdigest()

    def load_fingerprinted(self, piece: Piece) -> tuple[symusic.Score, str]:
        score, base = super().load_fingerprinted(piece)
        if self.grid == "midi":
            return score, base
        return score, hashlib.sha1(f"{base}|{self._beat_digest(piece)}".encode()).hexdigest()

    def stat(self, piece: Piece) -> str:
        base = super().stat(piece)
        if self.grid == "midi":
            return base
        try:
            st = os.stat(Path(piece.path).parent / BEAT_FILE)
            beat = f"{st.st_size}:{st.st_mtime_ns}"
        except OSError:
            beat = "missing"
        return f"{base}|{beat}|{BEATGRID_VERSION}"

    def spec(self) -> dict:
        return {**super().spec(), "name": "pop909", "grid": self.grid}  # one corpus (and licence), two grids


@dataclass(frozen=True)
class Pop909MidiGrid(Pop909):
    """POP909 on the MIDI files' own grid (the behaviour before beat grids): ``"pop909-midigrid:PATH"``."""

    grid: str = "midi"
    name: ClassVar[str] = "pop909-midigrid"


# --------------------------------------------------------------------------- Nottingham

NOTTINGHAM_FORMS = {"jigs": "jig", "hpps": "hornpipe", "waltzes": "waltz", "slip": "slip jig"}
TITLE_FORMS = ("slip jig", "hornpipe", "jig", "reel", "waltz", "polka", "march", "schottische", "mazurka")


def nottingham_form(collection: str, title: str = "") -> str:
    """Tune type: jigs->jig, reels*->reel, hpps->hornpipe, waltzes->waltz, slip->slip jig; the
    mixed collections (morris, playford, ashover, xmas) take a type word from the title if it
    has one ("Black Tulip Hornpipe" -> hornpipe), else keep the collection name."""
    if collection in NOTTINGHAM_FORMS:
        return NOTTINGHAM_FORMS[collection]
    if collection.startswith("reels"):
        return "reel"
    t = (title or "").lower()
    return next((f for f in TITLE_FORMS if re.search(rf"\b{f}s?\b", t)), collection)


class Deduplicated:
    """A source whose ``scan()`` gives ``(pieces, duplicates)``: the pieces it keeps, and a
    ``(dropped id, kept id)`` pair for each other copy or version of one of them."""

    def pieces(self) -> list[Piece]:
        return self.scan()[0]

    def duplicates(self) -> list[tuple[str, str]]:
        """``(dropped id, kept id)`` for each piece left out of :meth:`pieces` as a copy of another."""
        return self.scan()[1]


@dataclass(frozen=True)
class Nottingham(Deduplicated, FileSource):
    """Nottingham folk tunes: ``MIDI/<id>.mid`` (melody + chords) with ``index.csv`` labels (form,
    meter, key, title). Byte-identical files are dropped (the first in index order is kept).
    Split: hash of the tune id."""

    name: ClassVar[str] = "nottingham"

    def _rows(self, root: Path) -> list[dict]:
        if (root / "index.csv").is_file():
            with open(root / "index.csv", newline="", encoding="utf-8-sig") as f:
                return list(csv.DictReader(f))
        rows = []  # no index: tune ids from file names, collection = the letters before the number
        for p in sorted((root / "MIDI").glob("*.mid")):
            m = re.fullmatch(r"(.*?)(\d+)", p.stem)
            rows.append({"tune_id": p.stem, "collection": m.group(1) if m else p.stem})
        return rows

    def scan(self) -> tuple[list[Piece], list[tuple[str, str]]]:
        """(pieces, duplicates) where duplicates lists ``(dropped id, kept id)`` pairs."""
        root = _need_dir(self.root, self.name)
        seen: dict[str, str] = {}
        out, dups = [], []
        for row in self._rows(root):
            tid = row["tune_id"].strip()
            path = root / "MIDI" / f"{tid}.mid"
            if not path.is_file():
                continue
            digest = file_sha1(path)
            if digest in seen:
                dups.append((tid, seen[digest]))
                continue
            seen[digest] = tid
            key = read_key(row.get("key"))
            collection = row.get("collection") or ""
            labels = {"genre": "folk", "form": nottingham_form(collection, row.get("title") or ""),
                      "collection": collection, "title": row.get("title") or None,
                      "meter": row.get("meter") or None, "key": key_label(*key) if key else None,
                      "abc_source": row.get("source") or None}
            out.append(Piece(id=tid, split=hash_split(tid), corpus=self.name, path=str(path),
                             labels={k: v for k, v in labels.items() if v is not None}))
        return out, dups



# --------------------------------------------------------------------------- JSB Chorales

@functools.lru_cache(maxsize=2)
def _read_jsb(path: str, mtime: float) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def chorale_to_score(steps: list, *, steps_per_beat: int = 4, tempo: float = JSB_TEMPO,
                     tpq: int = DEFAULT_TPQ, name: str = "chorale") -> symusic.Score:
    """One-track 4/4 Score from time steps of MIDI pitches (each step 1/steps_per_beat quarter).

    A pitch sounding in consecutive steps becomes one held note (the encoding cannot tell a
    held note from a repeated one). Raises :class:`MIDIError` for a pitch outside 0..127.
    """
    step_ticks = tpq // steps_per_beat
    starts, durs, pitches = [], [], []
    open_: dict[int, int] = {}
    for i, step in enumerate([*steps, []]):
        now = {int(p) for p in step if int(p) >= 0}
        if any(p > 127 for p in now):
            raise MIDIError(f"{name}: pitch out of range in step {i}")
        for p in [p for p in open_ if p not in now]:
            start = open_.pop(p)
            starts.append(start * step_ticks)
            durs.append((i - start) * step_ticks)
            pitches.append(p)
        for p in now - open_.keys():
            open_[p] = i
    score = symusic.Score(tpq)
    score.tempos.append(symusic.Tempo(0, float(tempo)))
    score.time_signatures.append(symusic.TimeSignature(0, 4, 4))
    track = symusic.Track("Chorale", 0, False)
    if pitches:
        order = np.lexsort((pitches, starts))
        track.notes = symusic.Note.from_numpy(
            time=np.asarray(starts, np.int32)[order], duration=np.asarray(durs, np.int32)[order],
            pitch=np.asarray(pitches, np.int8)[order], velocity=np.full(len(pitches), JSB_VELOCITY, np.int8))
    score.tracks.append(track)
    return score


@dataclass(frozen=True)
class JSBChorales(Source):
    """JSB Chorales (Boulanger-Lewandowski split) from ``jsb-chorales-16th.json`` (or 8th/quarter;
    root may be the folder or the json). ``ref="train/12"``; valid -> validation."""

    name: ClassVar[str] = "jsb"

    def json_path(self) -> Path:
        root = Path(self.root)
        if root.is_file():
            return root
        for res in JSB_STEPS_PER_BEAT:
            if (root / f"jsb-chorales-{res}.json").is_file():
                return root / f"jsb-chorales-{res}.json"
        raise DataError(f"{self.name}: no jsb-chorales-{{16th,8th,quarter}}.json in {root}")

    def steps_per_beat(self) -> int:
        stem = self.json_path().stem
        return next((n for res, n in JSB_STEPS_PER_BEAT.items() if stem.endswith(res)), 4)

    def _data(self) -> dict:
        p = self.json_path()
        try:
            return _read_jsb(str(p.resolve()), p.stat().st_mtime)
        except (OSError, ValueError) as e:
            raise DataError(f"{p}: unreadable JSON ({str(e).splitlines()[0]})") from None

    def pieces(self) -> list[Piece]:
        out = []
        for part, split in (("train", "train"), ("valid", "validation"), ("test", "test")):
            for i, _ in enumerate(self._data().get(part, [])):
                out.append(Piece(id=f"{part}/{i}", split=split, corpus=self.name, ref=f"{part}/{i}",
                                 labels={"genre": "chorale", "form": "chorale", "meter": "4/4",
                                         "composer": "Johann Sebastian Bach", "era": "baroque"}))
        return out

    def _chorale(self, piece: Piece) -> list:
        part, _, idx = (piece.ref or "").partition("/")
        try:
            return self._data()[part][int(idx)]
        except (KeyError, IndexError, ValueError):
            raise MIDIError(f"{self.name}: no chorale {piece.ref!r} in {self.json_path().name}") from None

    def load(self, piece: Piece) -> symusic.Score:
        try:
            score = chorale_to_score(self._chorale(piece), steps_per_beat=self.steps_per_beat(), name=piece.id)
        except (TypeError, ValueError) as e:
            raise MIDIError(f"{self.name}: chorale {piece.ref} is malformed ({e})") from None
        if score.note_num() == 0:
            raise MIDIError(f"{self.name}: chorale {piece.ref} has no notes")
        return score

    def fingerprint(self, piece: Piece) -> str:
        content = json.dumps([self.steps_per_beat(), self._chorale(piece)], separators=(",", ":"))
        return hashlib.sha1(content.encode()).hexdigest()


# --------------------------------------------------------------------------- VGMIDI

@dataclass(frozen=True)
class VGMidi(FileSource):
    """VGMIDI labelled phrases: ``vgmidi_labelled.csv`` rows -> ``phrases/X`` with human valence and
    arousal (-1/1) and their quadrant mood. Split: hash of series/game/piece, so the phrases of one
    piece share a split."""

    name: ClassVar[str] = "vgmidi"

    def pieces(self) -> list[Piece]:
        root = _need_dir(self.root, self.name)
        table = root / "vgmidi_labelled.csv"
        if not table.is_file():
            raise DataError(f"{self.name}: no vgmidi_labelled.csv in {root}")
        out, seen = [], set()
        with open(table, newline="", encoding="utf-8-sig") as f:
            for row in csv.DictReader(f):
                rel = row["midi"].strip().removeprefix("labelled/")
                path = root / rel
                if rel in seen or not path.is_file():
                    continue
                seen.add(rel)
                try:
                    v, a = int(float(row["valence"])), int(float(row["arousal"]))
                except (KeyError, ValueError):
                    continue
                labels = {"genre": "game", "valence": v, "arousal": a, "mood": mood_word(v, a),
                          "series": row.get("series"), "console": row.get("console"),
                          "game": row.get("game"), "piece": row.get("piece"), "vgmidi_id": row.get("id")}
                group = f"{row.get('series')}/{row.get('game')}/{row.get('piece')}"
                out.append(Piece(id=rel, split=hash_split(group), corpus=self.name, path=str(path),
                                 labels={k: v for k, v in labels.items() if v is not None}))
        return out

