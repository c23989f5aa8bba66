"""``tunegan studio``: start the web studio in the browser.

It binds to this computer only (127.0.0.1) unless ``--host`` says otherwise, and never makes a
public share link.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import TuneganError


def studio(
    host: Annotated[str, typer.Option("--host", help="Address to listen on; 127.0.0.1 keeps the studio to this computer. "
                                      "Use 0.0.0.0 only on a network you trust.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.", min=1, max=65535)] = 7860,
    checkpoint: Annotated[Optional[Path], typer.Option("--checkpoint", "-c",
                                                       help="Model to use (default: the shipped model).")] = None,
    max_queue: Annotated[int, typer.Option("--max-queue", min=1, max=1000,
                                           help="Requests that may wait; more are told the studio is busy.")] = 16,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, max=16,
                                             help="Requests handled at once; their pieces are generated as one "
                                                  "batch, and rendering uses every core.")] = 8,
    device: Annotated[str, typer.Option("--device", help="auto | cpu | cuda | mps: where the model runs.")] = "auto",
) -> None:
    """Open the web studio: make music from a few notes, hear it, see it, and learn to read it."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not one line per request
    try:
        from ..studio.app import build_studio, launch_studio
    except ImportError as e:
        typer.echo(f"error: the studio needs gradio ({e.name or e}); install it with: pip install 'tunegan[studio]'", err=True)
        raise typer.Exit(1) from None
    try:
        demo = build_studio(checkpoint, device=device)
    except TuneganError as e:
        typer.echo(f"error: {str(e).splitlines()[0]}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"tunegan studio: open http://{'127.0.0.1' if host == '0.0.0.0' else host}:{port} in your browser "
               "(Ctrl+C to stop)", err=True)
    try:
        launch_studio(demo, host=host, port=port, max_queue=max_queue, concurrency=concurrency, quiet=True)
    except OSError as e:
        typer.echo(f"error: cannot listen on {host}:{port} ({e}); try another --port", err=True)
        raise typer.Exit(1) from None
