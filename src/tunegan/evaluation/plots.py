"""Figures for the evaluation report, drawn into files with matplotlib's Agg renderer (no pyplot).

* :func:`plot_quality_diversity` — the quality/diversity trade-off as sampling settings
  (temperature, top-p) change: one line per model.
* :func:`plot_feature_distributions` — Yang & Lerch overlapping areas per feature
  (the output of :func:`tunegan.evaluation.distribution.compare_sets`) as bars.

Both write the figure (format from the suffix: .png, .svg, .pdf) and return its path.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from matplotlib.figure import Figure  # no pyplot: no global state, renders with Agg


def _save(fig, path: str | os.PathLike) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(p, dpi=120, bbox_inches="tight")
    return p


def plot_quality_diversity(
    points: Sequence[Mapping],
    path: str | os.PathLike,
    *,
    quality_label: str = "quality",
    diversity_label: str = "diversity",
    title: str = "Quality vs diversity by sampling setting",
) -> Path:
    """Draw diversity (x) against quality (y), one line per model, each point labelled.

    ``points`` holds dicts with keys ``model`` (str), ``temperature`` (float), ``top_p``
    (float, or None when unused), ``quality`` and ``diversity`` (floats; NaN points are
    skipped). Within a model, points are joined in order of temperature, then top-p.
    Raises ``ValueError`` for a point missing a key.
    """
    need = ("model", "temperature", "top_p", "quality", "diversity")
    by_model: dict[str, list[Mapping]] = {}
    for i, pt in enumerate(points):
        missing = [k for k in need if k not in pt]
        if missing:
            raise ValueError(f"point {i} lacks {', '.join(missing)} (needs {', '.join(need)})")
        if math.isnan(float(pt["quality"])) or math.isnan(float(pt["diversity"])):
            continue
        by_model.setdefault(str(pt["model"]), []).append(pt)
    fig = Figure(figsize=(6.5, 4.5))
    ax = fig.subplots()
    for model, pts in by_model.items():
        pts = sorted(pts, key=lambda q: (float(q["temperature"]), -1.0 if q["top_p"] is None else float(q["top_p"])))
        xs = [float(q["diversity"]) for q in pts]
        ys = [float(q["quality"]) for q in pts]
        ax.plot(xs, ys, marker="o", label=model)
        for q, x, y in zip(pts, xs, ys):
            label = f"T={float(q['temperature']):g}"
            if q["top_p"] is not None:
                label += f", p={float(q['top_p']):g}"
            ax.annotate(label, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
    ax.set_xlabel(diversity_label)
    ax.set_ylabel(quality_label)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if by_model:
        ax.legend(title="model")
    else:
        ax.text(0.5, 0.5, "no points", ha="center", va="center", transform=ax.transAxes)
    return _save(fig, path)


def plot_feature_distributions(
    comparison: Mapping[str, Mapping] | Mapping[str, Mapping[str, Mapping]],
    path: str | os.PathLike,
    *,
    title: str = "Overlap of generated with real pieces, per feature (1 = like the data)",
) -> Path:
    """Horizontal bars of the overlapping area (0..1) for each feature.

    ``comparison`` is one :func:`compare_sets` result ``{feature: {"oa": ..., ...}}``, or
    several keyed by model name ``{model: {feature: {...}}}`` (grouped bars, one colour per
    model). Features with NaN OA are drawn as empty slots.
    """
    first = next(iter(comparison.values()), None)
    if first is not None and "oa" in first:
        comparison = {"": comparison}
    models = list(comparison)
    features: list[str] = []
    for m in models:
        features += [f for f in comparison[m] if f not in features]
    height = max(3.0, 0.32 * len(features) * max(1, len(models)) + 1.2)
    fig = Figure(figsize=(7.0, height))
    ax = fig.subplots()
    bar = 0.8 / max(1, len(models))
    for j, m in enumerate(models):
        oas = [float(comparison[m].get(f, {}).get("oa", math.nan)) for f in features]
        ys = [i + (j - (len(models) - 1) / 2) * bar for i in range(len(features))]
        ax.barh(ys, [0.0 if math.isnan(v) else v for v in oas], height=bar, label=m or None)
    ax.set_yticks(range(len(features)), features)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("overlapping area of intra-set and inter-set distance densities")
    ax.axvline(1.0, color="grey", lw=0.8)
    ax.set_title(title, fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    if models and models != [""]:
        ax.legend(title="model", fontsize=8)
    if not features:
        ax.text(0.5, 0.5, "no features", ha="center", va="center", transform=ax.transAxes)
    return _save(fig, path)
