"""``tunegan render`` and ``tunegan explain``: hear it, see it, understand it."""

from __future__ import annotations

import json as _json
from pathlib import Path
from typing import Annotated, Optional

import typer

from .errors import handle_errors

MAX_TABLE_ROWS = 400  # longer pieces show the first notes only; --json has them all


@handle_errors
def render(
    midi: Annotated[Path, typer.Argument(help="MIDI file to render.")],
    wav: Annotated[Optional[Path], typer.Option("--wav", help="Write audio here (16-bit WAV).")] = None,
    png: Annotated[Optional[Path], typer.Option("--png", help="Write a piano-roll picture here.")] = None,
    musicxml: Annotated[Optional[Path], typer.Option("--musicxml", help="Write sheet music as MusicXML here.")] = None,
    sheet: Annotated[Optional[Path], typer.Option("--sheet", help="Engrave sheet music with MuseScore 3 (.png, .pdf or .svg).")] = None,
    soundfont: Annotated[Optional[Path], typer.Option("--soundfont", help="SoundFont (.sf2) for fluidsynth; default: a small General MIDI one if installed.")] = None,
    engine: Annotated[str, typer.Option("--engine", help="Audio engine: auto, fluidsynth or numpy.")] = "auto",
    max_minutes: Annotated[Optional[float], typer.Option("--max-minutes", help="Render at most this many minutes of music (default 20).")] = None,
) -> None:
    """Hear it and see it: turn a MIDI file into audio, a piano roll and sheet music.

    With no output option, writes NAME.wav and NAME.png next to the MIDI file.
    """
    from .. import api

    rep = api.render(midi, wav=wav, png=png, musicxml=musicxml, sheet=sheet, soundfont=soundfont, engine=engine,
                     max_minutes=max_minutes)
    for w in rep.warnings:
        typer.echo(f"warning: {w}", err=True)
    for path in rep.written:
        typer.echo(f"wrote {path}")


@handle_errors
def explain(
    midi: Annotated[Path, typer.Argument(help="MIDI file to explain.")],
    json: Annotated[bool, typer.Option("--json", help="Print the explanation as JSON instead of a table.")] = False,
) -> None:
    """Understand it: key, time, tempo, range and motifs, and a table of every note."""
    from .. import api

    expl = api.explain(midi)
    if json:
        typer.echo(_json.dumps(expl.to_dict(), indent=2))
        return
    _print_rich(expl)


def _print_rich(expl) -> None:
    """Summary sentences and a rich table of notes."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"[bold]{expl.source}[/bold]")
    for line in expl.sentences:
        console.print(line, highlight=False)
    table = Table(title="Notes", show_lines=False)
    for col in ("bar:beat", "note", "length", "loudness"):
        table.add_column(col)
    for row in expl.notes[:MAX_TABLE_ROWS]:
        table.add_row(row.position, row.name, row.duration, f"{row.dynamic} ({row.velocity})")
    console.print(table)
    if len(expl.notes) > MAX_TABLE_ROWS:
        console.print(f"... and {len(expl.notes) - MAX_TABLE_ROWS} more notes (use --json for all)")
