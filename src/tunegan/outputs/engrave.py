"""Engraved sheet music: MuseScore 3 turns :mod:`.sheet`'s MusicXML into PNG, PDF or SVG pages,
under a time limit, the first :data:`SHEET_MAX_BARS` bars."""

from __future__ import annotations

import json
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
    if out.suffix.lower() not in SHEET_SUFFIXES:
        raise NotationError(f"sheet '{out.name}': use a .png, .pdf or .svg file name")
    if find_musescore() is None:
        raise missing_musescore()
    with tempfile.TemporaryDirectory(prefix="tunegan-sheet-") as tmp:
        xml = write_sheet_xml(score_or_path, Path(tmp) / "score.musicxml", title=title, max_minutes=max_minutes,
                              max_bars=max_bars, name=name, on_warning=on_warning)
        [got] = engrave_files([(xml, out)], dpi=dpi)
    if isinstance(got, NotationError):
        raise got
    return got


def write_sheet_xml(score_or_path, xml_path: str | os.PathLike, *, title: str | None = None,
                    max_minutes: float | None = MAX_MINUTES, max_bars: int = SHEET_MAX_BARS, name: str | None = None,
                    on_warning: Warn | None = None) -> Path:
    """The MusicXML that :func:`render_sheet` engraves (the first ``max_bars`` bars), at ``xml_path``."""
    m21 = build_stream(score_or_path, title=title, max_minutes=max_minutes, max_bars=max_bars, name=name,
                       on_warning=on_warning, what="the sheet")
    return Path(m21.write("musicxml", fp=str(xml_path), makeNotation=False))


def engrave_files(items: list[tuple[str | os.PathLike, str | os.PathLike]], *, dpi: int = 150) -> list:
    """MusicXML files to sheet pages, ``[(musicxml, out path)]``, in **one** MuseScore run (a job
    file: MuseScore starts once, about a third of a short score's time). Returns, per item, its
    pages in order (as :func:`render_sheet` names them) or the :class:`NotationError` it met; an
    item MuseScore could not engrave does not take the others with it (they are run again alone).
    All out paths share one suffix (``.png``, ``.pdf`` or ``.svg``)."""
    exe = find_musescore()
    if exe is None:
        return [missing_musescore() for _ in items]
    suffix = Path(items[0][1]).suffix.lower()
    if suffix not in SHEET_SUFFIXES or any(Path(o).suffix.lower() != suffix for _, o in items):
        raise NotationError("sheets engraved together need one suffix: .png, .pdf or .svg")
    with tempfile.TemporaryDirectory(prefix="tunegan-sheet-") as tmp:
        tmpd = Path(tmp)
        targets = [tmpd / f"sheet{i:03d}{suffix}" for i in range(len(items))]
        if len(items) == 1:
            cmd = [exe, "-o", str(targets[0]), str(items[0][0])]
        else:
            job = tmpd / "job.json"
            job.write_text(json.dumps([{"in": str(x), "out": str(t)} for (x, _), t in zip(items, targets)]))
            cmd = [exe, "-j", str(job)]
        if suffix == ".png":
            cmd[1:1] = ["-r", str(int(dpi)), "-T", "20"]
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_RUNTIME_DIR=tmp, TMPDIR=tmp, TMP=tmp, TEMP=tmp)
        try:
            run = run_program(cmd, timeout=MUSESCORE_TIMEOUT_S * len(items), env=env)
        except subprocess.TimeoutExpired:
            return [NotationError(f"MuseScore took longer than {MUSESCORE_TIMEOUT_S} s and was stopped;"
                                  f" try fewer bars (max_bars) or write MusicXML instead") for _ in items]
        out = []
        for (xml, dest), target in zip(items, targets):
            stem = target.stem
            pages = sorted(tmpd.glob(f"{stem}*{suffix}"),
                           key=lambda p: int(p.stem.rpartition("-")[2]) if p.stem != stem else 0)
            if not pages:
                if len(items) > 1:  # find out alone what went wrong with this one
                    out.append(engrave_files([(xml, dest)], dpi=dpi)[0])
                    continue
                lines = (run.stderr or run.stdout or "no output").strip().splitlines() or ["no output"]
                out.append(NotationError(f"MuseScore failed (exit {run.returncode}): {lines[-1]}"))
                continue
            dest = Path(dest)
            written = []
            for page in pages:
                final = dest.with_name(dest.stem + page.stem[len(stem):] + dest.suffix)
                with writing(final) as part:
                    shutil.move(str(page), part)
                written.append(final)
            out.append(written)
    return out
