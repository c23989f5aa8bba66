"""Measuring: :func:`evaluate` (likelihood, baselines, the sample suite), :func:`style_eval` (do
keywords work?), :func:`compare` (several checkpoints in one table). Options are checked here,
before any work, with one-line errors."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence

from ..errors import ConfigError

SPLITS = ("train", "validation", "test")


def _threads(threads: int) -> None:
    from ..training.distributed import DistInfo, set_threads

    if not isinstance(threads, int) or threads < 0:
        raise ConfigError(f"threads must be >= 0 (received {threads})")
    set_threads(threads, DistInfo())  # 0 = all cores; TUNEGAN_THREADS overrides


def _suite_config(samples: int, length: int, primer: int, seed: int):
    from ..evaluation.suite import SuiteConfig

    if not 10 <= samples <= 10000:
        raise ConfigError(f"samples must be within 10 and 10000 (received {samples})")
    return SuiteConfig(samples=samples, length=length, primer_len=primer, seed=seed)


def _split(split: str, *, all_ok: bool = False) -> None:
    if split not in SPLITS and not (all_ok and split == "all"):
        raise ConfigError(f"split must be train, validation{', test or all' if all_ok else ' or test'} "
                          f"(received '{split}')")


def evaluate(checkpoint: str | os.PathLike | None, data: str | os.PathLike, *, split: str = "test",
             out: str | os.PathLike | None = None, samples: int = 200, suite: bool = True,
             max_windows: int | None = None, context: int | None = None, seed: int = 0, length: int = 256,
             primer: int = 64, threads: int = 0, device: str | None = "auto",
             baselines_from: str | os.PathLike | None = None, log: Callable[[str], None] | None = None) -> dict:
    """Likelihood beside n-gram baselines and, with ``suite``, whether samples sound like the data
    (:func:`tunegan.evaluation.report.evaluate`). ``split="all"`` scores every piece of ``data``;
    ``baselines_from`` (a cache or MIDI source) gives the train split the baselines are fitted on.
    Returns the report dict (JSON-able with :func:`tunegan.evaluation.report.to_jsonable`)."""
    from ..evaluation.report import evaluate as run

    _split(split, all_ok=True)
    config = _suite_config(samples, length, primer, seed)
    _threads(threads)
    return run(checkpoint, data, split=split, max_windows=max_windows, seed=seed, samples=samples, suite=suite,
               suite_config=config, out=out, log=log, context=context, device=device, baselines_from=baselines_from)


def style_eval(checkpoint: str | os.PathLike | None, data: str | os.PathLike | Sequence[str], *, split: str = "test",
               samples_per_keyword: int = 50, length: int = 512, guidance: Sequence[float] = (1.0, 2.0), seed: int = 0,
               temperature: float = 1.0, top_p: float = 1.0, train_crops: int = 300, eval_crops: int = 100,
               genres: Sequence[str] | None = None, moods: Sequence[str] | None = None, mood_by_genre: bool = False,
               key: str | None = None, threads: int = 0, device: str | None = "auto",
               log: Callable[[str], None] | None = None) -> dict:
    """Do a model's style and mood keywords change the music? (:func:`tunegan.evaluation.style.style_report`)."""
    from ..evaluation.style import style_report

    if not 1 <= samples_per_keyword <= 10000:
        raise ConfigError(f"samples must be within 1 and 10000 (received {samples_per_keyword})")
    if not 8 <= length <= 20000:
        raise ConfigError(f"length must be within 8 and 20000 tokens (received {length})")
    if not guidance or any(not (isinstance(g, (int, float)) and math.isfinite(g) and 0 <= g <= 20) for g in guidance):
        raise ConfigError(f"guidance must be within 0 and 20 (received {list(guidance)})")
    if not (math.isfinite(temperature) and 0 < temperature <= 5):
        raise ConfigError(f"temperature must be within 0 (excluded) and 5 (received {temperature})")
    if not (math.isfinite(top_p) and 0 < top_p <= 1):
        raise ConfigError(f"top-p must be within 0 (excluded) and 1 (received {top_p})")
    _split(split)
    for name, v in (("train crops", train_crops), ("eval crops", eval_crops)):
        if v < 2:
            raise ConfigError(f"{name} must be >= 2 (received {v})")
    _threads(threads)
    items = list(data) if isinstance(data, (list, tuple)) else [data]
    return style_report(checkpoint, items if len(items) > 1 else items[0], split=split,
                        samples_per_keyword=samples_per_keyword, length=length, guidance=list(guidance), seed=seed,
                        temperature=temperature, top_p=top_p, train_crops=train_crops, eval_crops=eval_crops,
                        genres=genres or None,
                        moods=moods or None, mood_by_genre=mood_by_genre, key=key, device=device, log=log)


def compare(checkpoints: Sequence[str | os.PathLike], data: str | os.PathLike, *, split: str = "test",
            out: str | os.PathLike | None = None, samples: int = 200, seed: int = 0, length: int = 256,
            primer: int = 64, threads: int = 0, device: str | None = "auto",
            log: Callable[[str], None] | None = None) -> dict:
    """Several checkpoints (any representations) and the n-gram baselines in one table and one plot."""
    from ..evaluation.compare import compare as run

    _split(split)
    config = _suite_config(samples, length, primer, seed)
    _threads(threads)
    return run(checkpoints, data, split=split, samples=samples, seed=seed, out=out, suite_config=config, log=log,
               device=device)
