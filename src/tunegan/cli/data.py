"""``tunegan prepare``: MIDI into a memmapped token cache."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .errors import handle_errors, parse_pairs


@handle_errors
def prepare(
    sources: list[str] = typer.Argument(..., help="MAESTRO folder, folder of MIDI, or NAME:PATH (maestro, folder, "
                                                  "pop909, nottingham, jsb, vgmidi, asap, music21:builtin)"),
    out: Path = typer.Option(..., "--out", "-o", help="cache folder to write"),
    tokenizer: str = typer.Option("pitch", help="representation: pitch (the paper's), remi, performance"),
    tok_opt: list[str] = typer.Option([], "--tok-opt", help="tokenizer config KEY=VALUE (repeatable)"),
    workers: int = typer.Option(0, help="worker processes (0 = all cores)"),
    limit: Optional[int] = typer.Option(None, help="at most this many pieces per source and split"),
    force: bool = typer.Option(False, help="rebuild even if the cache is up to date"),
):
    """Tokenize MIDI into a memmapped cache (reused when inputs and config are unchanged)."""
    from rich.console import Console
    from rich.progress import Progress

    from .. import api

    console = Console(stderr=True)
    with Progress(console=console, transient=True) as prog:
        task = prog.add_task("tokenizing", total=None)
        rep = api.prepare(sources, out, tokenizer=tokenizer, tokenizer_options=parse_pairs(tok_opt), workers=workers,
                          limit=limit, force=force, progress=lambda d, t: prog.update(task, completed=d, total=t))
    verb = "reused" if rep.reused else f"built in {rep.seconds:.1f}s"
    console.print(f"cache {rep.out_dir}: {verb}; {rep.pieces} pieces, {rep.skipped} skipped; tokens {rep.tokens}")
    for reason, n in sorted(rep.reasons.items(), key=lambda kv: -kv[1]):
        console.print(f"  skipped {n}: {reason}")
