"""Engraved sheet music: MuseScore 3 turns :mod:`.sheet`'s MusicXML into PNG, PDF or SVG pages,
under a time limit, the first :data:`SHEET_MAX_BARS` bars."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import symusic

from .limits import MAX_MINUTES, SUFFIXES, Warn, run_program, writing
from .sheet import NotationError, build_stream

SHEET_MAX_BARS = 120  # about 10 pages; MuseScore engraves 120 bars of dense piano in about 4 s here
MUSESCORE_NAMES = ("musescore3", "mscore3", "mscore", "musescore", "MuseScore3")
MUSESCORE_TIMEOUT_S = 120
SHEET_SUFFIXES = SUFFIXES["sheet"]


def find_musescore() -> str | None:
    """Path of the MuseScore 3 program (``$TUNEGAN_MUSESCORE``, else ``musescore3``/``mscore3``/...), or None."""
    given = os.environ.get("TUNEGAN_MUSESCORE")
    if given:
        return shutil.which(given)
    return next((p for p in map(shutil.which, MUSESCORE_NAMES) if p), None)


def missing_musescore() -> NotationError:
    """The error for a missing MuseScore (to raise)."""
    return NotationError("MuseScore 3 is not installed (apt install musescore3); write --musicxml instead and open it in any notation program")


def render_sheet(
    score_or_path: symusic.Score | str | os.PathLike | bytes,
    path: str | os.PathLike,
    *,
    title: str | None = None,
    dpi: int = 150,
    max_minutes: float | None = MAX_MINUTES,
    max_bars: int = SHEET_MAX_BARS,
    name: str | None = None,
    on_warning: Warn | None = None,
) -> list[Path]:
    """Engrave sheet music with MuseScore 3 to ``path`` (``.png``, ``.pdf`` or ``.svg``), the first ``max_bars`` bars.

    Returns the files written, in page order: a PDF is one file at ``path``; PNG and SVG get one
    file per page, ``name-1.png``, ``name-2.png``... next to ``path`` (MuseScore's naming).
    ``dpi`` sets PNG resolution. Raises :class:`NotationError` when MuseScore is missing, fails or
    takes longer than :data:`MUSESCORE_TIMEOUT_S`.
    """
    out = Path(path)
    suffix = out.suffix.lower()
    if suffix not in SHEET_SUFFIXES:
        raise NotationError(f"sheet '{out.name}': use a .png, .pdf or .svg file name")
    exe = find_musescore()
    if exe is None:
        raise missing_musescore()
    m21 = build_stream(score_or_path, title=title, max_minutes=max_minutes, max_bars=max_bars, name=name,
                       on_warning=on_warning, what="the sheet")
    with tempfile.TemporaryDirectory(prefix="tunegan-sheet-") as tmp:
        xml = Path(m21.write("musicxml", fp=str(Path(tmp) / "score.musicxml"), makeNotation=False))
        target = Path(tmp) / ("sheet" + suffix)
        cmd = [exe, "-o", str(target), str(xml)]
        if suffix == ".png":
            cmd[1:1] = ["-r", str(int(dpi)), "-T", "20"]
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_RUNTIME_DIR=tmp, TMPDIR=tmp, TMP=tmp, TEMP=tmp)
        try:
            run = run_program(cmd, timeout=MUSESCORE_TIMEOUT_S, env=env)
        except subprocess.TimeoutExpired:
            raise NotationError(f"MuseScore took longer than {MUSESCORE_TIMEOUT_S} s and was stopped;"
                                f" try fewer bars (max_bars) or write MusicXML instead") from None
        pages = sorted(Path(tmp).glob(f"sheet*{suffix}"),
                       key=lambda p: int(p.stem.rpartition("-")[2]) if p.stem != "sheet" else 0)
        if run.returncode != 0 or not pages:
            lines = (run.stderr or run.stdout or "no output").strip().splitlines() or ["no output"]
            raise NotationError(f"MuseScore failed (exit {run.returncode}): {lines[-1]}")
        written = []
        for page in pages:
            dest = out.with_name(out.stem + page.stem[len("sheet"):] + out.suffix)
            with writing(dest) as part:
                shutil.move(str(page), part)
            written.append(dest)
    return written
