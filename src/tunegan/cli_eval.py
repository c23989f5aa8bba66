"""``tunegan evaluate`` and ``tunegan compare``: thin typer commands over :mod:`tunegan.evaluation`.

They check the options, call :func:`tunegan.evaluation.report.evaluate` or
:func:`tunegan.evaluation.compare.compare`, print the Markdown report and say what was written.
Progress goes to stderr. Any :class:`TuneganError` becomes one line ``error: ...`` on stderr and
exit code 1. Register them with ``app.command("evaluate")(evaluate)`` and
``app.command("compare")(compare)``.
"""

from __future__ import annotations

import json as _json
from pathlib import Path
from typing import Optional

import typer

from .errors import ConfigError, TuneganError


def _fail(err: Exception) -> typer.Exit:
    """Print ``error: <one line>`` to stderr and return the exit to raise."""
    typer.echo(f"error: {str(err).splitlines()[0] if str(err) else type(err).__name__}", err=True)
    return typer.Exit(1)


def _progress(msg: str) -> None:
    typer.echo(msg, err=True)


def _threads(threads: int) -> None:
    from .training.distributed import DistInfo, set_threads

    if threads < 0:
        raise ConfigError(f"--threads must be >= 0 (received {threads})")
    set_threads(threads, DistInfo())  # 0 = all cores; TUNEGAN_THREADS overrides


def _suite_config(samples: int, length: int, primer: int, seed: int):
    """The suite's settings from the options (validated there, with the bad value in the message)."""
    from .evaluation.suite import SuiteConfig

    if not 10 <= samples <= 10000:
        raise ConfigError(f"--samples must be within 10 and 10000 (received {samples})")
    return SuiteConfig(samples=samples, length=length, primer_len=primer, seed=seed)


def evaluate(
    checkpoint: Optional[Path] = typer.Option(None, help="Checkpoint or run folder (default: the shipped model)."),
    data: str = typer.Option(..., "--data", "-d",
                             help="MAESTRO folder, folder of MIDI, NAME:PATH, or a prepared cache."),
    split: str = typer.Option("test", help="Split to evaluate on: train | validation | test."),
    out: Optional[Path] = typer.Option(None, "--out", "-o",
                                       help="Write report.md, report.json, plots and MIDI samples into this folder."),
    json: Optional[Path] = typer.Option(None, "--json", help="Also write the report as JSON here."),
    markdown: Optional[Path] = typer.Option(None, "--markdown", help="Also write the Markdown report here."),
    samples: int = typer.Option(200, help="Generated samples per set (primed and unconditioned)."),
    suite: bool = typer.Option(True, "--suite/--no-suite",
                               help="Sample-based tests: musical statistics, novelty, two-sample test, sweep."),
    max_windows: Optional[int] = typer.Option(None, min=1, help="Score at most this many windows for the likelihood."),
    context: Optional[int] = typer.Option(None, min=2, help="Tokens per scored window (default: the span the model "
                                                             "trained on, seq_len x tbptt_chunks)."),
    seed: int = typer.Option(0, help="Seed for crops, sampling and the tests."),
    length: int = typer.Option(256, help="Tokens per sample (and per real continuation)."),
    primer: int = typer.Option(64, help="Tokens of held-out music each primed sample continues."),
    threads: int = typer.Option(0, help="CPU threads for the model (0 = all cores; 1 is faster beside a "
                                        "training job)."),
) -> None:
    """Honest evaluation: likelihood beside n-gram baselines, and whether samples sound like the data.

    Reports NLL, perplexity and top-1/top-5 accuracy of next-token prediction beside n-gram
    baselines, then (unless --no-suite) makes samples and measures musical statistics, copying
    from the training set, a classifier two-sample test and a temperature sweep.
    """
    from .evaluation.report import evaluate as run_evaluate
    from .evaluation.report import format_markdown, to_jsonable

    try:
        config = _suite_config(samples, length, primer, seed)
        _threads(threads)
        rep = run_evaluate(checkpoint, data, split=split, max_windows=max_windows, seed=seed, samples=samples,
                           suite=suite, suite_config=config, out=out, log=_progress, context=context)
        md = format_markdown(rep)
        for path, text in ((json, lambda: _json.dumps(to_jsonable(rep), indent=1)), (markdown, lambda: md)):
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text())
    except TuneganError as err:
        raise _fail(err) from None
    typer.echo(md)
    if out is not None:
        typer.echo(f"wrote {out}/ ({len(rep.get('files', []))} files)", err=True)


def compare(
    checkpoints: list[Path] = typer.Argument(..., help="Checkpoints or run folders to compare."),
    data: str = typer.Option(..., "--data", "-d",
                             help="MAESTRO folder, folder of MIDI or NAME:PATH (tokenized per checkpoint)."),
    split: str = typer.Option("test", help="Split to evaluate on: train | validation | test."),
    out: Optional[Path] = typer.Option(None, "--out", "-o",
                                       help="Write compare.md, compare.json, plots and each model's report here."),
    samples: int = typer.Option(200, help="Generated samples per set and model."),
    seed: int = typer.Option(0, help="Seed for crops, sampling and the tests (the same for every model)."),
    length: int = typer.Option(256, help="Tokens per sample (and per real continuation)."),
    primer: int = typer.Option(64, help="Tokens of held-out music each primed sample continues."),
    threads: int = typer.Option(0, help="CPU threads for the model (0 = all cores; 1 is faster beside a "
                                        "training job)."),
) -> None:
    """Compare checkpoints (any representations) and n-gram baselines in one table and one plot."""
    from .evaluation.compare import compare as run_compare
    from .evaluation.compare import format_comparison

    try:
        config = _suite_config(samples, length, primer, seed)
        _threads(threads)
        res = run_compare(checkpoints, data, split=split, samples=samples, seed=seed, out=out,
                          suite_config=config, log=_progress)
    except TuneganError as err:
        raise _fail(err) from None
    typer.echo(format_comparison(res))
    if out is not None:
        typer.echo(f"wrote {out}/", err=True)
