"""Render one MIDI file to every format at once, with bounded work and paths checked first.

:func:`render` is the library entry point for ``tunegan render`` and :func:`tunegan.api.render`:

1. every output path is checked before any work (:func:`check_output`): not a folder, a suffix the
   format supports, a parent folder that exists or can be made and can be written to;
2. the MIDI is read once (a header with 0 ticks per quarter note is a :class:`MIDIError`);
3. the music is bounded by what it holds, not by what the file claims (:func:`limit_score`);
4. each output is written; :class:`RenderReport` lists the files and one-line warnings.

The limits themselves are in :mod:`.limits`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import symusic

from ..errors import MusicOptionError
from .limits import MAX_MINUTES, bounded_score, check_max_minutes, check_output, terminate_as_interrupt


@dataclass
class RenderReport:
    """What :func:`render` did: files written (page files of a sheet included) and one-line warnings."""

    written: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def render(
    source: symusic.Score | str | os.PathLike | bytes,
    *,
    wav: str | os.PathLike | None = None,
    png: str | os.PathLike | None = None,
    musicxml: str | os.PathLike | None = None,
    sheet: str | os.PathLike | None = None,
    soundfont: str | os.PathLike | None = None,
    engine: str = "auto",
    max_minutes: float = MAX_MINUTES,
) -> RenderReport:
    """Write each output that is given: audio (``wav``), piano roll (``png``: .png/.pdf/.svg), MusicXML
    (``musicxml``: .musicxml/.xml/.mxl) and MuseScore pages (``sheet``: .png/.pdf/.svg).

    All paths, ``engine``, ``soundfont`` and ``max_minutes`` are checked before any work; the music is
    bounded once by :func:`limit_score` (``max_minutes=None``: no limits at all). Raises a :class:`~tunegan.errors.TuneganError` with a one-line
    message; temporary files are removed on every path (errors, Ctrl-C and SIGTERM included).
    """
    from .audio import ENGINES, check_soundfont, find_soundfont, render_wav
    from .pianoroll import plot_pianoroll
    from .engrave import find_musescore, missing_musescore, render_sheet
    from .sheet import to_musicxml

    targets = {kind: check_output(p, kind) for kind, p in
               (("wav", wav), ("png", png), ("musicxml", musicxml), ("sheet", sheet)) if p is not None}
    if not targets:
        raise MusicOptionError("nothing to render: give at least one of wav, png, musicxml or sheet")
    if engine not in ENGINES:
        raise MusicOptionError(f"engine '{engine}' is unknown: use one of {', '.join(ENGINES)}")
    check_max_minutes(max_minutes)
    report = RenderReport()
    if "wav" in targets and engine != "numpy":
        find_soundfont(soundfont)  # a given or $TUNEGAN_SOUNDFONT soundfont must be a real one
    if soundfont is not None:
        check_soundfont(soundfont)
        if "wav" not in targets or engine == "numpy":
            report.warnings.append("the soundfont is not used: only fluidsynth audio (--wav) uses one")
    if "sheet" in targets and find_musescore() is None:
        raise missing_musescore()
    with terminate_as_interrupt():
        score, name = bounded_score(source, max_minutes, report.warnings.append)
        kw = dict(max_minutes=None, on_warning=report.warnings.append)
        if "wav" in targets:
            report.written.append(render_wav(score, targets["wav"], soundfont=soundfont, engine=engine, **kw))
        if "png" in targets:
            report.written.append(plot_pianoroll(score, targets["png"], name=name, **kw))
        if "musicxml" in targets:
            report.written.append(to_musicxml(score, targets["musicxml"], title=_title(name), name=name, **kw))
        if "sheet" in targets:
            report.written += render_sheet(score, targets["sheet"], title=_title(name), name=name, **kw)
    return report


def _title(name: str) -> str | None:
    """A title from a file name (``"song.mid"`` -> ``"song"``), None for in-memory input."""
    return None if name.startswith("<") else Path(name).stem
