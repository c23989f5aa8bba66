"""Where pieces come from: MAESTRO, any folder of MIDI, and (in :mod:`.corpora`) more corpora.

A *source* lists :class:`Piece` records (cheap: metadata only) and loads one piece
into a :class:`symusic.Score` (done in worker processes by ``prepare``). Sources and
pieces are plain picklable dataclasses, so listing happens once in the parent and
loading in parallel.
"""

from __future__ import annotations

import csv
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import symusic

from ..errors import DataError, MIDIError
from ..midi import read_midi

SPLITS = ("train", "validation", "test")
MIDI_SUFFIXES = (".mid", ".midi", ".MID", ".MIDI", ".kar")


@dataclass(frozen=True)
class Piece:
    """One piece of music in a source.

    id:     unique within its source, e.g. ``"2004/xxx.midi"``
    split:  ``train`` | ``validation`` | ``test``
    corpus: name of the source that can load it (``maestro``, ``folder``, ``pop909``...)
    path:   the MIDI file, when the piece is a file
    ref:    otherwise a source-specific locator (e.g. ``"train/12"`` in a JSON file)
    labels: per-piece labels kept for conditioning and reports
            (genre, composer, title, key, meter, form, valence, arousal, mood...)
    """

    id: str
    split: str
    corpus: str
    path: str | None = None
    ref: str | None = None
    labels: dict = field(default_factory=dict, hash=False, compare=False)


def hash_split(relpath: str, *, validation: float = 0.1, test: float = 0.1) -> str:
    """Deterministic split from a hash of the relative path (stable across machines)."""
    h = int(hashlib.sha1(relpath.replace(os.sep, "/").encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    if h < test:
        return "test"
    if h < test + validation:
        return "validation"
    return "train"


def file_sha1(path: str | os.PathLike) -> str:
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class Source:
    """Base class. Subclasses set ``name`` and implement :meth:`pieces`; file-based ones reuse :meth:`load`."""

    root: str
    name: ClassVar[str] = "source"

    def pieces(self) -> list[Piece]:
        raise NotImplementedError

    def load(self, piece: Piece) -> symusic.Score:
        """Load one piece; raises :class:`~tunegan.errors.MIDIError` on a bad file."""
        return self.decode(piece, self._read(piece))

    def decode(self, piece: Piece, data: bytes) -> symusic.Score:
        """The file's bytes -> Score (the one place a file-based source says how to read its files)."""
        return read_midi(data, name=piece.path)

    def fingerprint(self, piece: Piece) -> str:
        """Content hash used to decide whether a cache can be reused."""
        if piece.path is not None:
            return file_sha1(piece.path)
        return hashlib.sha1(f"{self.name}:{piece.ref}".encode()).hexdigest()

    def load_fingerprinted(self, piece: Piece) -> tuple[symusic.Score, str]:
        """:meth:`load` and :meth:`fingerprint` from one read of the file (prepare's workers).

        A subclass that overrides :meth:`load` (pieces that are not MIDI files) gets the two calls."""
        if piece.path is None or type(self).load is not Source.load:
            return self.load(piece), self.fingerprint(piece)
        data = self._read(piece)
        return self.decode(piece, data), hashlib.sha1(data).hexdigest()

    def stat(self, piece: Piece) -> str:
        """Cheap change detector: size and modification time of the piece's file (no read), or the
        fingerprint for a piece without a file. Equal stats let ``prepare`` reuse a cache unhashed."""
        if piece.path is None:
            return self.fingerprint(piece)
        try:
            st = os.stat(piece.path)
        except OSError:
            return "missing"
        return f"{st.st_size}:{st.st_mtime_ns}"

    def _read(self, piece: Piece) -> bytes:
        if piece.path is None:
            raise DataError(f"{self.name}: piece {piece.id} has no file and this source has no loader for refs")
        try:
            return Path(piece.path).read_bytes()
        except FileNotFoundError:
            raise MIDIError(f"{piece.path}: no such file") from None
        except OSError as e:
            raise MIDIError(f"{piece.path}: cannot read ({e.strerror})") from None

    def spec(self) -> dict:
        return {"name": self.name, "root": str(Path(self.root).resolve())}


@dataclass(frozen=True)
class Maestro(Source):
    """MAESTRO v3 (or v2): the official train/validation/test split from its CSV, with composer and title."""

    name: ClassVar[str] = "maestro"

    def pieces(self) -> list[Piece]:
        root = Path(self.root)
        csvs = sorted(root.glob("maestro-v*.csv"))
        if not csvs:
            raise DataError(f"{root}: no maestro-v*.csv here; is this a MAESTRO folder?")
        out = []
        with open(csvs[0], newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                path = root / row["midi_filename"]
                if not path.exists():
                    continue
                out.append(Piece(
                    id=row["midi_filename"], split=row["split"], corpus=self.name, path=str(path),
                    labels={"genre": "classical", "composer": row["canonical_composer"],
                            "title": row["canonical_title"], "year": int(row["year"]),
                            "duration": float(row["duration"])},
                ))
        return out


@dataclass(frozen=True)
class MidiFolder(Source):
    """Any folder of MIDI files, searched recursively; split by a hash of each relative path."""

    name: ClassVar[str] = "folder"

    def pieces(self) -> list[Piece]:
        root = Path(self.root)
        if not root.is_dir():
            raise DataError(f"{root}: no such folder")
        out = []
        for p in sorted(root.rglob("*")):
            if p.is_file() and p.suffix in MIDI_SUFFIXES:
                rel = p.relative_to(root).as_posix()
                out.append(Piece(id=rel, split=hash_split(rel), corpus=self.name, path=str(p), labels={}))
        return out
