"""``tunegan style-eval``: do a model's style and mood keywords change the music?

A thin typer command over :func:`tunegan.evaluation.style.style_report`: it checks the options,
runs the report, prints the Markdown and writes ``style_report.json`` and ``style_report.md``
into ``--out``. Any :class:`TuneganError` becomes one line ``error: ...`` on stderr and exit
code 1. Register it with ``app.command("style-eval")(style_eval)``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Optional

import typer

from .errors import ConfigError, TuneganError


def _jsonable(x):
    """NaN -> null, numpy scalars -> Python numbers, recursively."""
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if hasattr(x, "item"):
        x = x.item()
    return None if isinstance(x, float) and math.isnan(x) else x


def style_eval(
    checkpoint: Optional[Path] = typer.Option(None, help="Conditional checkpoint or run folder "
                                                          "(default: the shipped model)."),
    data: list[str] = typer.Option(..., "--data", "-d",
                                   help="A prepared cache folder, or sources with genres (pop909:PATH, "
                                        "nottingham:PATH, ...); repeat for several sources."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for style_report.json and style_report.md."),
    samples_per_keyword: int = typer.Option(50, "--samples", "-n", help="Generated samples per keyword."),
    length: int = typer.Option(512, help="Tokens per generated sample and per real crop."),
    seed: int = typer.Option(0, help="Seed for crops and sampling (every keyword uses the same one)."),
    guidance: list[float] = typer.Option([1.0, 2.0], "--guidance", "-g",
                                         help="Guidance strengths to test; repeat for several."),
    temperature: float = typer.Option(1.0, help="Sampling temperature of the generated samples."),
    split: str = typer.Option("test", help="Split the classifier's accuracy is reported on."),
    train_crops: int = typer.Option(300, help="Real crops per genre to fit the classifier on."),
    eval_crops: int = typer.Option(100, help="Real crops per genre for validation and for the reported split."),
    style: Optional[list[str]] = typer.Option(None, "--style", help="Genre keywords to test (default: all)."),
    mood: Optional[list[str]] = typer.Option(None, "--mood", help="Mood keywords to test (default: all)."),
    key: Optional[str] = typer.Option(None, "--key", help="Keep every sample to this key's scale, as "
                                                          "'tunegan generate --key' (e.g. \"A harmonic minor\")."),
    mood_by_genre: bool = typer.Option(False, "--mood-by-genre",
                                       help="Also ask every mood with every genre (\"pop, melancholy\")."),
) -> None:
    """Prove that keywords work: a genre classifier trained on real music judges keyword samples.

    Fits a classifier on real crops (train split, tuned on validation, accuracy on --split), then
    generates --samples pieces per genre and mood keyword (and without keywords) and reports how
    many are heard as the requested genre or mood.
    """
    from .evaluation.style import format_markdown, style_report
    from .training.distributed import DistInfo, set_threads

    try:
        if not 1 <= samples_per_keyword <= 10000:
            raise ConfigError(f"--samples must be within 1 and 10000 (received {samples_per_keyword})")
        if not 8 <= length <= 20000:
            raise ConfigError(f"--length must be within 8 and 20000 tokens (received {length})")
        if any(not 0 <= g <= 20 for g in guidance):
            raise ConfigError(f"--guidance must be within 0 and 20 (received {guidance})")
        if not 0 < temperature <= 5:
            raise ConfigError(f"--temperature must be within 0 (excluded) and 5 (received {temperature})")
        if split not in ("train", "validation", "test"):
            raise ConfigError(f"--split must be train, validation or test (received '{split}')")
        for name, v in (("--train-crops", train_crops), ("--eval-crops", eval_crops)):
            if v < 2:
                raise ConfigError(f"{name} must be >= 2 (received {v})")
        set_threads(0, DistInfo())  # all cores, unless TUNEGAN_THREADS says otherwise
        rep = style_report(checkpoint, data if len(data) > 1 else data[0], split=split,
                           samples_per_keyword=samples_per_keyword, length=length, guidance=guidance, seed=seed,
                           temperature=temperature, train_crops=train_crops, eval_crops=eval_crops, genres=style or None,
                           moods=mood or None, mood_by_genre=mood_by_genre, key=key, log=lambda msg: typer.echo(msg, err=True))
        md = format_markdown(rep)
        out.mkdir(parents=True, exist_ok=True)
        (out / "style_report.json").write_text(json.dumps(_jsonable(rep), indent=1))
        (out / "style_report.md").write_text(md)
    except TuneganError as e:
        typer.echo(f"error: {str(e).splitlines()[0] if str(e) else type(e).__name__}", err=True)
        raise typer.Exit(1) from None
    typer.echo(md)
    typer.echo(f"wrote {out / 'style_report.json'} and {out / 'style_report.md'}", err=True)
