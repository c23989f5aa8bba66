"""``tunegan evaluate``, ``tunegan compare`` and ``tunegan style-eval``: measure a model honestly.
Progress goes to stderr, the Markdown report to stdout."""

from __future__ import annotations

import json as _json
from pathlib import Path
from typing import Optional

import typer

from .errors import handle_errors

DEVICE_HELP = "auto | cpu | cuda | mps: where the model runs."
THREADS_HELP = "CPU threads for the model (0 = all cores; 1 is faster beside a training job)."


def _progress(msg: str) -> None:
    typer.echo(msg, err=True)


@handle_errors
def evaluate(
    checkpoint: Optional[str] = typer.Option(None, help="Checkpoint, run folder or shipped model name (default: the shipped model)."),
    data: str = typer.Option(..., "--data", "-d", help="MAESTRO folder, folder of MIDI, NAME:PATH, or a prepared cache."),
    split: str = typer.Option("test", help="Split to evaluate on: train | validation | test, or all (every piece of the data, e.g. a folder of held-out files)."),
    baselines_from: Optional[str] = typer.Option(None, "--baselines-from", help="Fit the n-gram baselines (and look for copying) on this cache's or source's train split, e.g. the checkpoint's training cache."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write report.md, report.json, plots and MIDI samples into this folder."),
    json: Optional[Path] = typer.Option(None, "--json", help="Also write the report as JSON here."),
    markdown: Optional[Path] = typer.Option(None, "--markdown", help="Also write the Markdown report here."),
    samples: int = typer.Option(200, help="Generated samples per set (primed and unconditioned)."),
    suite: bool = typer.Option(True, "--suite/--no-suite", help="Sample-based tests: musical statistics, novelty, two-sample test, sweep."),
    max_windows: Optional[int] = typer.Option(None, min=1, help="Score at most this many windows for the likelihood."),
    context: Optional[int] = typer.Option(None, min=2, help="Tokens per scored window (default: the span the model trained on, seq_len x tbptt_chunks)."),
    seed: int = typer.Option(0, help="Seed for crops, sampling and the tests."),
    length: int = typer.Option(256, help="Tokens per sample (and per real continuation)."),
    primer: int = typer.Option(64, help="Tokens of held-out music each primed sample continues."),
    threads: int = typer.Option(0, help=THREADS_HELP),
    device: str = typer.Option("auto", help=DEVICE_HELP),
) -> None:
    """Honest evaluation: likelihood beside n-gram baselines, and whether samples sound like the data.

    Reports NLL, perplexity and top-1/top-5 accuracy of next-token prediction beside n-gram
    baselines, then (unless --no-suite) makes samples and measures musical statistics, copying
    from the training set, a classifier two-sample test and a temperature sweep.
    """
    from .. import api
    from ..evaluation.report import format_markdown, to_jsonable

    api.check_outputs(json=json, markdown=markdown)  # before the run, not after it
    rep = api.evaluate(checkpoint, data, split=split, out=out, samples=samples, suite=suite, max_windows=max_windows,
                       context=context, seed=seed, length=length, primer=primer, threads=threads, device=device,
                       baselines_from=baselines_from, log=_progress)
    md = format_markdown(rep)
    for path, text in ((json, lambda: _json.dumps(to_jsonable(rep), indent=1)), (markdown, lambda: md)):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text())
    typer.echo(md)
    if out is not None:
        typer.echo(f"wrote {out}/ ({len(rep.get('files', []))} files)", err=True)


@handle_errors
def compare(
    checkpoints: list[str] = typer.Argument(..., help="Checkpoints, run folders or shipped model names to compare."),
    data: str = typer.Option(..., "--data", "-d", help="MAESTRO folder, folder of MIDI or NAME:PATH (tokenized per checkpoint)."),
    split: str = typer.Option("test", help="Split to evaluate on: train | validation | test."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write compare.md, compare.json, plots and each model's report here."),
    samples: int = typer.Option(200, help="Generated samples per set and model."),
    seed: int = typer.Option(0, help="Seed for crops, sampling and the tests (the same for every model)."),
    length: int = typer.Option(256, help="Tokens per sample (and per real continuation)."),
    primer: int = typer.Option(64, help="Tokens of held-out music each primed sample continues."),
    threads: int = typer.Option(0, help=THREADS_HELP),
    device: str = typer.Option("auto", help=DEVICE_HELP),
) -> None:
    """Compare checkpoints (any representations) and n-gram baselines in one table and one plot."""
    from .. import api
    from ..evaluation.compare import format_comparison

    res = api.compare(checkpoints, data, split=split, out=out, samples=samples, seed=seed, length=length, primer=primer,
                      threads=threads, device=device, log=_progress)
    typer.echo(format_comparison(res))
    if out is not None:
        typer.echo(f"wrote {out}/", err=True)


@handle_errors
def style_eval(
    checkpoint: Optional[str] = typer.Option(None, help="Conditional checkpoint, run folder or shipped model name (default: the shipped model)."),
    data: list[str] = typer.Option(..., "--data", "-d", help="A prepared cache folder, or sources with genres (pop909:PATH, nottingham:PATH, ...); repeat for several sources."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for style_report.json and style_report.md."),
    samples_per_keyword: int = typer.Option(50, "--samples", "-n", help="Generated samples per keyword."),
    length: int = typer.Option(512, help="Tokens per generated sample and per real crop."),
    seed: int = typer.Option(0, help="Seed for crops and sampling (every keyword uses the same one; sample i uses "
                                     "seed + i, so independent repeats need seeds at least --samples apart)."),
    guidance: list[float] = typer.Option([1.0, 2.0], "--guidance", "-g", help="Guidance strengths to test; repeat for several."),
    temperature: float = typer.Option(1.0, help="Sampling temperature of the generated samples."),
    top_p: float = typer.Option(1.0, "--top-p", help="Nucleus sampling of the generated samples (1 = off, as generate)."),
    split: str = typer.Option("test", help="Split the classifier's accuracy is reported on."),
    train_crops: int = typer.Option(300, help="Real crops per genre to fit the classifier on."),
    eval_crops: int = typer.Option(100, help="Real crops per genre for validation and for the reported split."),
    style: Optional[list[str]] = typer.Option(None, "--style", help="Genre keywords to test (default: all)."),
    mood: Optional[list[str]] = typer.Option(None, "--mood", help="Mood keywords to test (default: all)."),
    key: Optional[str] = typer.Option(None, "--key", help="Keep every sample to this key's scale, as 'tunegan generate --key' (e.g. \"A harmonic minor\")."),
    mood_by_genre: bool = typer.Option(False, "--mood-by-genre", help="Also ask every mood with every genre (\"pop, melancholy\")."),
    threads: int = typer.Option(0, help=THREADS_HELP),
    device: str = typer.Option("auto", help=DEVICE_HELP),
) -> None:
    """Prove that keywords work: a genre classifier trained on real music judges keyword samples.

    Fits a classifier on real crops (train split, tuned on validation, accuracy on --split), then
    generates --samples pieces per genre and mood keyword (and without keywords) and reports how
    many are heard as the requested genre or mood.
    """
    from .. import api
    from ..evaluation.report import to_jsonable
    from ..evaluation.style import format_markdown

    api.check_outputs(json=out / "style_report.json", markdown=out / "style_report.md")  # before the run
    rep = api.style_eval(checkpoint, data, split=split, samples_per_keyword=samples_per_keyword, length=length,
                         guidance=guidance, seed=seed, temperature=temperature, top_p=top_p,
                         train_crops=train_crops, eval_crops=eval_crops, genres=style, moods=mood, mood_by_genre=mood_by_genre, key=key,
                         threads=threads, device=device, log=_progress)
    md = format_markdown(rep)
    out.mkdir(parents=True, exist_ok=True)
    (out / "style_report.json").write_text(_json.dumps(to_jsonable(rep), indent=1))
    (out / "style_report.md").write_text(md)
    typer.echo(md)
    typer.echo(f"wrote {out / 'style_report.json'} and {out / 'style_report.md'}", err=True)
