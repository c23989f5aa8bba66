"""Sources by name: ``open_source("pop909:/data/pop909")`` and the table of every kind.

This module knows every source class; the classes know nothing of it (no import cycle).
"""

from __future__ import annotations

from pathlib import Path

from ..errors import DataError
from .asap import Asap
from .corpora import JSBChorales, Nottingham, Pop909, Pop909MidiGrid, VGMidi
from .corpora_music21 import Music21Corpus
from .sources import Maestro, MidiFolder, Source

SOURCES: dict[str, type[Source]] = {c.name: c for c in (Maestro, MidiFolder, Pop909, Pop909MidiGrid, Nottingham,
                                                        JSBChorales, VGMidi, Music21Corpus, Asap)}


def open_source(spec: str) -> Source:
    """``"maestro:PATH"``, ``"pop909:PATH"`` (``"pop909-midigrid:PATH"``), ``"asap:PATH"``,
    ``"folder:PATH"``... (any name in :data:`SOURCES`), or a bare PATH (MAESTRO if it has its CSV,
    else a folder of MIDI)."""
    if ":" in spec and spec.split(":", 1)[0] in SOURCES:
        kind, root = spec.split(":", 1)
        return SOURCES[kind](root)
    root = Path(spec)
    if not root.exists():
        raise DataError(f"{spec}: no such file or folder")
    if list(root.glob("maestro-v*.csv")):
        return Maestro(str(root))
    return MidiFolder(str(root))
