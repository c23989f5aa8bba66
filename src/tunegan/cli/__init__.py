"""The ``tunegan`` command: one typer app over :mod:`tunegan.api`.

Each module holds one group of commands (data, train, generate, evaluate, outputs, studio);
commands parse options and call the library, which owns every default and every check. One
error handler (:mod:`.errors`) turns a :class:`~tunegan.errors.TuneganError` into one line on
stderr and exit code 1 (never a traceback).
"""

from __future__ import annotations

import typer

from .data import prepare
from .evaluate import compare, evaluate, style_eval
from .generate import generate, styles
from .outputs import explain, render
from .studio import studio
from .train import export, train

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="tunegan: music from a few starting notes, by an LSTM-GAN trained on real MIDI.")

app.command("prepare")(prepare)
app.command("train")(train)
app.command("export")(export)
app.command("generate")(generate)
app.command("styles")(styles)
app.command("render", help="Render a MIDI file to WAV audio, a piano-roll PNG, MusicXML or sheet music.")(render)
app.command("explain", help="Explain a MIDI file: notes with names, beats and note values, key, tempo, motifs.")(explain)
app.command("evaluate", help="Evaluate a checkpoint: likelihood beside baselines, musical statistics, novelty, "
            "a two-sample test and a quality-diversity sweep (JSON, Markdown, PNG).")(evaluate)
app.command("compare", help="Several checkpoints and the baselines in one table and one plot.")(compare)
app.command("style-eval", help="Do style and mood keywords work? A genre classifier trained on real music "
            "judges samples made with each keyword.")(style_eval)
app.command("studio", help="Start the web studio (Gradio) on http://127.0.0.1:7860.")(studio)


def main() -> None:  # pragma: no cover
    app()
