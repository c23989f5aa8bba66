"""The corpus shipped with ``pip install music21``: Bach chorales (MusicXML) and Essen folk songs (ABC).

``open_source("music21:builtin")`` (or ``"music21:"``) lists both from the installed corpus;
``"music21:builtin/bach"`` / ``"music21:builtin/essen"`` list one of them; ``"music21:PATH"``
reads a folder laid out like the corpus (``bach/*.mxl``, ``essenFolksong/*.abc``).

Listing reads only headers (MusicXML ``<fifths>``/``<mode>``/``<beats>``; ABC ``X:``, ``T:``,
``M:``, ``K:`` lines), so it takes about a second. Loading parses one piece with music21,
writes it as MIDI bytes and reads those with :func:`~tunegan.midi.read_midi` (about 0.1 s a piece).
music21 is imported only when a piece is loaded.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import importlib.util
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import symusic

from ..errors import DataError, MIDIError
from ..midi import DEFAULT_TPQ, read_midi
from ..music import key_label, read_key, tonic_to_fifths
from .labels import meter_label
from .sources import Piece, Source, hash_split

BUILTIN = ("", "builtin")
NOT_CHORALES = {"bwv846"}  # the WTC prelude in the bach folder
ESSEN_SKIP_PREFIX = "test"  # essenFolksong/test*.abc are music21's own test files
_METER = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


def builtin_corpus_dir() -> Path:
    """Folder of the installed music21 corpus (found without importing music21)."""
    spec = importlib.util.find_spec("music21")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("music21: the package is not installed (pip install music21)")
    return Path(next(iter(spec.submodule_search_locations))) / "corpus"


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


@functools.lru_cache(maxsize=64)
def abc_tunes(path: str, mtime: float = 0.0) -> dict[str, str]:
    """``{X number: tune text}`` of a multi-tune ABC file (file header lines kept in front of each tune)."""
    chunks = re.split(r"(?m)^(?=X:)", _read_text(Path(path)))
    header = chunks[0] if chunks and not chunks[0].startswith("X:") else ""
    tunes = {}
    for chunk in chunks:
        m = re.match(r"X:\s*(\d+)", chunk)
        if m and m.group(1) not in tunes:
            tunes[m.group(1)] = header + chunk
    return tunes


def _abc_field(tune: str, field: str) -> str | None:
    m = re.search(rf"(?m)^{field}:\s*(.*?)\s*$", tune)
    return m.group(1) if m and m.group(1) else None


def _musicxml_header(path: Path) -> dict:
    """meter / key / key_signature labels read from the MusicXML text with regular expressions."""
    try:
        if path.suffix == ".mxl":
            with zipfile.ZipFile(path) as z:
                m = re.search(r'full-path="([^"]+)"', z.read("META-INF/container.xml").decode("utf-8", "replace"))
                text = z.read(m.group(1)).decode("utf-8", "replace") if m else ""
        else:
            text = path.read_text(encoding="utf-8", errors="replace")
    except (OSError, KeyError, zipfile.BadZipFile):
        return {}
    out = {}
    if m := re.search(r"<beats>(\d+)</beats>\s*<beat-type>(\d+)</beat-type>", text):
        out["meter"] = meter_label(int(m.group(1)), int(m.group(2)))
    if f := re.search(r"<fifths>(-?\d+)</fifths>", text):
        fifths = int(f.group(1))
        mode = re.search(r"<mode>(major|minor)</mode>", text)
        if mode:
            tonic = (fifths * 7 + (9 if mode.group(1) == "minor" else 0)) % 12
            out["key"] = key_label(tonic, mode.group(1))
        else:
            out["key_signature"] = fifths
    return out


def _one_line(e: Exception) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0][:120]}" if text else type(e).__name__


def _stream_to_score(stream, name: str) -> symusic.Score:
    """music21 stream -> MIDI bytes -> tick Score at DEFAULT_TPQ, without empty tracks."""
    from music21 import meter
    from music21 import stream as m21stream
    from music21.midi.translate import streamToMidiFile

    # music21's ABC reader can put one TimeSignature object in several measures, which its MIDI
    # writer refuses ("already found in this Stream"): give each measure its own copy.
    seen = set()
    for measure in stream.recurse().getElementsByClass(m21stream.Measure):
        for ts in list(measure.getElementsByClass(meter.TimeSignature)):
            if id(ts) in seen:
                measure.replace(ts, copy.deepcopy(ts))
            seen.add(id(ts))
    try:
        data = streamToMidiFile(stream).writestr()
    except Exception as e:  # music21 raises many kinds; report one line
        raise MIDIError(f"{name}: music21 could not write MIDI ({_one_line(e)})") from None
    score = read_midi(data).resample(DEFAULT_TPQ, min_dur=1)
    kept = [t for t in score.tracks if len(t.notes)]
    score.tracks.clear()
    for t in kept:
        score.tracks.append(t)
    if not kept:
        raise MIDIError(f"{name}: no notes")
    return score


@dataclass(frozen=True)
class Music21Corpus(Source):
    """Bach chorales (genre/form chorale, era baroque) and Essen folk songs (genre folk) from the
    music21 corpus. Bach ids ``bach/bwv10.7.mxl``; Essen ids ``essen/altdeu10/5`` with
    ``ref="essenFolksong/altdeu10.abc#5"``. Split: hash of the id."""

    name: ClassVar[str] = "music21"

    def corpus_dir(self) -> Path:
        root = self.root.strip()
        if root in BUILTIN or root.startswith("builtin/"):
            return builtin_corpus_dir()
        p = Path(root)
        if not p.is_dir():
            raise DataError(f"{self.name}: {p} is not a folder")
        return p

    def parts(self) -> tuple[str, ...]:
        sub = self.root.strip().removeprefix("builtin/") if self.root.strip().startswith("builtin/") else ""
        if sub and sub not in ("bach", "essen"):
            raise DataError(f"{self.name}: unknown part {sub!r} (use builtin, builtin/bach or builtin/essen)")
        return (sub,) if sub else ("bach", "essen")

    def spec(self) -> dict:
        return {"name": self.name, "root": self.root if self.root.strip() in BUILTIN or
                self.root.startswith("builtin/") else str(Path(self.root).resolve())}

    def pieces(self) -> list[Piece]:
        base = self.corpus_dir()
        out = []
        if "bach" in self.parts():
            out += self._bach(base)
        if "essen" in self.parts():
            out += self._essen(base)
        return out

    def _bach(self, base: Path) -> list[Piece]:
        out = []
        for p in sorted((base / "bach").glob("*")):
            if p.suffix not in (".mxl", ".xml", ".musicxml") or p.name.split(".")[0] in NOT_CHORALES:
                continue
            pid = f"bach/{p.name}"
            labels = {"genre": "chorale", "form": "chorale", "composer": "Johann Sebastian Bach",
                      "era": "baroque", "title": "BWV " + p.stem.removeprefix("bwv"), **_musicxml_header(p)}
            out.append(Piece(id=pid, split=hash_split(pid), corpus=self.name, path=str(p), labels=labels))
        return out

    def _essen(self, base: Path) -> list[Piece]:
        out = []
        for p in sorted((base / "essenFolksong").glob("*.abc")):
            if p.stem.startswith(ESSEN_SKIP_PREFIX):
                continue
            for x, tune in abc_tunes(str(p), p.stat().st_mtime).items():
                pid = f"essen/{p.stem}/{x}"
                labels = {"genre": "folk", "era": "traditional", "collection": p.stem,
                          "title": _abc_field(tune, "T"), "region": _abc_field(tune, "O"),
                          "essen_type": _abc_field(tune, "R")}
                m = _METER.fullmatch(_abc_field(tune, "M") or "")
                if m:
                    labels["meter"] = meter_label(int(m.group(1)), int(m.group(2)))
                k = read_key(_abc_field(tune, "K"))
                if k:  # Essen's K: field is the key signature only; the mode is estimated later
                    labels["key_signature"] = tonic_to_fifths(*k)
                out.append(Piece(id=pid, split=hash_split(pid), corpus=self.name,
                                 ref=f"essenFolksong/{p.name}#{x}",
                                 labels={k_: v for k_, v in labels.items() if v is not None}))
        return out

    def _tune_text(self, piece: Piece) -> str:
        rel, _, x = (piece.ref or "").partition("#")
        path = self.corpus_dir() / rel
        if not path.is_file():
            raise MIDIError(f"{self.name}: no file {rel!r} for {piece.id}")
        tune = abc_tunes(str(path), path.stat().st_mtime).get(x)
        if tune is None:
            raise MIDIError(f"{self.name}: no tune X:{x} in {rel}")
        return tune

    def load(self, piece: Piece) -> symusic.Score:
        """Parse with music21 and convert to a tick Score; :class:`MIDIError` for a bad piece."""
        from music21 import converter

        try:
            if piece.path is not None:
                if not Path(piece.path).is_file():
                    raise MIDIError(f"{piece.path}: no such file")
                stream = converter.parse(piece.path, forceSource=True)
            else:
                stream = converter.parse(self._tune_text(piece), format="abc", forceSource=True)
        except MIDIError:
            raise
        except Exception as e:  # music21 parse errors come in many classes
            raise MIDIError(f"{self.name}: cannot parse {piece.id} ({_one_line(e)})") from None
        return _stream_to_score(stream, piece.id)

    def fingerprint(self, piece: Piece) -> str:
        if piece.path is not None:
            return super().fingerprint(piece)
        return hashlib.sha1(self._tune_text(piece).encode()).hexdigest()
