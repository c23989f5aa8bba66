"""``tunegan render`` and ``tunegan explain``: thin typer commands over :mod:`tunegan.outputs`
and :mod:`tunegan.explain`.

They hold no logic of their own: check the options, call the library, print what was written.
Any :class:`TuneganError` becomes one line ``error: ...`` on stderr and exit code 1.
Register them with ``app.command("render")(render)`` and ``app.command("explain")(explain)``.
"""

from __future__ import annotations

import json as _json
from pathlib import Path
from typing import Annotated, Optional

import typer

from .errors import MusicOptionError, TuneganError

MAX_TABLE_ROWS = 400  # longer pieces show the first notes only; --json has them all


def _fail(err: Exception) -> typer.Exit:
    """Print ``error: <one line>`` to stderr and return the exit to raise."""
    typer.echo(f"error: {str(err).splitlines()[0] if str(err) else type(err).__name__}", err=True)
    return typer.Exit(1)


def render(
    midi: Annotated[Path, typer.Argument(help="MIDI file to render.")],
    wav: Annotated[Optional[Path], typer.Option("--wav", help="Write audio here (16-bit WAV).")] = None,
    png: Annotated[Optional[Path], typer.Option("--png", help="Write a piano-roll picture here.")] = None,
    musicxml: Annotated[Optional[Path], typer.Option("--musicxml", help="Write sheet music as MusicXML here.")] = None,
    sheet: Annotated[Optional[Path], typer.Option("--sheet", help="Engrave sheet music with MuseScore 3 (.png, .pdf or .svg).")] = None,
    soundfont: Annotated[Optional[Path], typer.Option("--soundfont", help="SoundFont (.sf2) for fluidsynth; default: a small General MIDI one if installed.")] = None,
    engine: Annotated[str, typer.Option("--engine", help="Audio engine: auto, fluidsynth or numpy.")] = "auto",
) -> None:
    """Hear it and see it: turn a MIDI file into audio, a piano roll and sheet music.

    With no output option, writes NAME.wav and NAME.png next to the MIDI file.
    """
    from .outputs import plot_pianoroll, render_sheet, render_wav, to_musicxml
    from .outputs.audio import ENGINES

    try:
        if engine not in ENGINES:
            raise MusicOptionError(f"engine '{engine}' is unknown: use one of {', '.join(ENGINES)}")
        if not any((wav, png, musicxml, sheet)):
            wav, png = midi.with_suffix(".wav"), midi.with_suffix(".png")
        written: list[Path] = []
        if wav:
            written.append(render_wav(midi, wav, soundfont=soundfont, engine=engine))
        if png:
            written.append(plot_pianoroll(midi, png))
        if musicxml:
            written.append(to_musicxml(midi, musicxml))
        if sheet:
            written += render_sheet(midi, sheet)
    except TuneganError as err:
        raise _fail(err) from None
    for path in written:
        typer.echo(f"wrote {path}")


def explain(
    midi: Annotated[Path, typer.Argument(help="MIDI file to explain.")],
    json: Annotated[bool, typer.Option("--json", help="Print the explanation as JSON instead of a table.")] = False,
) -> None:
    """Understand it: key, time, tempo, range and motifs, and a table of every note."""
    from .explain import explain as explain_midi

    try:
        expl = explain_midi(midi)
    except TuneganError as err:
        raise _fail(err) from None
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
