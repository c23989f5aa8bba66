"""``tunegan compare``: several checkpoints and the n-gram baselines in one table and one plot.

Each checkpoint is evaluated with :func:`tunegan.evaluation.report.evaluate` on the same data
and split, tokenized its own way (so checkpoints with different tokenizers can be compared),
with the same sample settings and seed. The table has one row per checkpoint, one per
baseline and representation, and one "held-out data" row per representation as the
reference for novelty and diversity. NLL, perplexity and accuracies are per token of each
row's own representation: compare them only between rows with the same representation.
The sample-based columns (two-sample accuracy, novelty, musical overlap, diversity) are in
notes and comparable across representations, although each model's real crops are decoded
through its own tokenizer (the pitch tokenizer, for one, drops timing).

Output folder::

    compare.md / compare.json   the table (and the rows as JSON)
    quality_diversity.png       every model's sweep on one plot
    feature_overlap.png         musical-feature overlap of every model's primed samples
    models/<name>/              each model's full report (see :mod:`.report`)
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from ..errors import DataError
from .report import QUALITY_LABEL, evaluate, fmt, model_name, plot_points, to_jsonable

#: Musical features whose overlapping area is shown in the comparison table.
TABLE_FEATURES = ("pitch_class_hist", "pitch_interval_hist", "pitch_range", "ioi_hist", "note_length_hist")
HEADLINE_SET = "primed"  # which generated set the table reports


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "model"


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n} ({seen[n]})")
    return out


def _row(name: str, kind: str, tokenizer: str, lik: dict | None = None, suite: dict | None = None,
         set_name: str = HEADLINE_SET) -> dict:
    row = {"model": name, "kind": kind, "tokenizer": tokenizer}
    for k in ("nll", "perplexity", "top1", "top5"):
        row[k] = (lik or {}).get(k)
    if suite:
        ts = suite["two_sample"].get(set_name) or {}
        nov = suite["novelty"].get(set_name) or {}
        row.update(two_sample=ts.get("accuracy"), ci_low=ts.get("ci_low"), ci_high=ts.get("ci_high"),
                   median_run=nov.get("median_run"), max_run=nov.get("max_run"), ngram_share=nov.get("ngram_share"),
                   diversity=suite["diversity"].get(set_name))
        mus = suite["musical"].get(set_name) or {}
        row["oa"] = {f: (None if mus.get(f, {}).get("constant") else mus.get(f, {}).get("oa"))
                     for f in TABLE_FEATURES}
    return row


def comparison_rows(reports: Sequence[dict]) -> list[dict]:
    """Table rows from :func:`evaluate` reports: generators, then baselines and held-out data per
    representation (taken from the first report in that representation)."""
    rows = [_row(r["name"], "generator", r["tokenizer"]["name"], r["likelihood"]["generator"], r.get("suite"))
            for r in reports]
    by_tok: dict[str, dict] = {}
    for r in reports:
        by_tok.setdefault(json.dumps(r["tokenizer"], sort_keys=True), r)
    names = [r["tokenizer"]["name"] for r in by_tok.values()]
    tags = _unique(names)
    for tag, r in zip(tags, by_tok.values()):
        suffix = f" ({tag})" if len(by_tok) > 1 else ""
        for base, lik in r["likelihood"].items():
            if base != "generator":
                rows.append(_row(base + suffix, "baseline", r["tokenizer"]["name"], lik))
        s = r.get("suite")
        if s:
            ref = s["novelty"].get("held-out data") or {}
            rows.append({"model": "held-out data" + suffix, "kind": "reference", "tokenizer": r["tokenizer"]["name"],
                         "nll": None, "perplexity": None, "top1": None, "top5": None, "two_sample": None,
                         "ci_low": None, "ci_high": None, "median_run": ref.get("median_run"),
                         "max_run": ref.get("max_run"), "ngram_share": ref.get("ngram_share"),
                         "diversity": s["diversity"].get("held-out data"), "oa": {f: None for f in TABLE_FEATURES}})
    return rows


def compare(checkpoints: Sequence[str | os.PathLike], data: str | os.PathLike, *, split: str = "test",
            samples: int = 200, seed: int = 0, out: str | os.PathLike | None = None,
            cache_dir: str | os.PathLike | None = None, max_windows: int | None = None, suite: bool = True,
            suite_config=None, log: Callable[[str], None] | None = None, device: str | None = "auto") -> dict:
    """Evaluate every checkpoint (see module docstring); returns ``{data, split, rows, points,
    reports, seconds}`` and, with ``out``, writes the comparison folder."""
    from ..checkpoint import resolve_checkpoint

    if not checkpoints:
        raise DataError("no checkpoints to compare")
    t0 = time.perf_counter()
    samples = suite_config.samples if suite_config is not None else samples
    paths = [resolve_checkpoint(c) for c in checkpoints]
    names = _unique([model_name(p) for p in paths])
    reports = []
    for p, name in zip(paths, names):
        sub = Path(out) / "models" / _safe(name) if out is not None else None
        reports.append(evaluate(p, data, split=split, samples=samples, seed=seed, out=sub, name=name,
                                cache_dir=cache_dir, max_windows=max_windows, suite=suite,
                                suite_config=suite_config, log=log, device=device))
    points = [pt for r in reports if r.get("suite") for pt in r["suite"]["sweep"]]
    res = {"data": str(data), "split": split, "samples": samples, "seed": seed, "rows": comparison_rows(reports),
           "points": points, "reports": [r.get("files", [str(r["checkpoint"])]) for r in reports],
           "seconds": round(time.perf_counter() - t0, 2)}
    if out is not None:
        write_comparison(res, reports, out)
    return res


def write_comparison(res: dict, reports: Sequence[dict], out: str | os.PathLike) -> list[Path]:
    """Write ``compare.md``, ``compare.json`` and the two combined plots into ``out``."""
    from .plots import plot_feature_distributions, plot_quality_diversity

    d = Path(out)
    d.mkdir(parents=True, exist_ok=True)
    files = []
    if res["points"]:
        c = next(r["suite"]["config"] for r in reports if r.get("suite"))
        files.append(plot_quality_diversity(
            plot_points(res["points"]), d / "quality_diversity.png", quality_label=QUALITY_LABEL,
            diversity_label=f"diversity: distinct {c['diversity_n']}-note patterns in {c['diversity_draws']}",
            title="Quality vs diversity by sampling setting, all models"))
    overlap = {}
    for r in reports:
        mus = (r.get("suite") or {}).get("musical", {}).get(HEADLINE_SET)
        if mus:
            overlap[r["name"]] = {f: row for f, row in mus.items() if not row.get("constant")}
    if any(overlap.values()):
        files.append(plot_feature_distributions(overlap, d / "feature_overlap.png"))
    files += [d / "compare.md", d / "compare.json"]
    res["files"] = [str(f) for f in files]
    (d / "compare.md").write_text(format_comparison(res))
    (d / "compare.json").write_text(json.dumps(to_jsonable(res), indent=1))
    return files


def format_comparison(res: dict) -> str:
    """The comparison table as Markdown."""
    feats = TABLE_FEATURES
    head = (["model", "repr.", "NLL (nats/token)", "perplexity", "top-1", "top-5", "two-sample acc. [95%]",
             "median / max copied run", "8-note phrases in train", "diversity"] + [f"OA {f}" for f in feats])
    lines = ["# Model comparison", "",
             f"Data `{res['data']}`, split `{res['split']}`; {res['samples']} samples per model, seed {res['seed']}.",
             "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in res["rows"]:
        ts = "–" if r.get("two_sample") is None else (
            f"{fmt(r['two_sample'], '.1%')} [{fmt(r['ci_low'], '.0%')}–{fmt(r['ci_high'], '.0%')}]")
        run = "–" if r.get("median_run") is None else f"{fmt(r['median_run'], 'g')} / {r['max_run']}"
        oa = r.get("oa") or {}
        cells = [r["model"], r["tokenizer"], fmt(r["nll"]), fmt(r["perplexity"], ".2f"), fmt(r["top1"], ".1%"),
                 fmt(r["top5"], ".1%"), ts, run, fmt(r.get("ngram_share"), ".1%"), fmt(r.get("diversity"), ".3f")]
        cells += [fmt(oa.get(f), ".2f") for f in feats]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["",
              "NLL, perplexity and top-1/top-5 are per token of the row's own representation (`repr.`): compare "
              "them only between rows of the same representation. Baselines are fitted on the train split.",
              f"Sample columns use the {HEADLINE_SET} samples (held-out primers continued): two-sample accuracy "
              "0.5 = a classifier cannot tell them from the real continuations; copied run = longest run of notes "
              "found, maybe transposed, in a training piece; OA = overlapping area of Yang & Lerch's distance "
              "distributions (1 = like the data; – = same value in every piece in that representation). The "
              "held-out data rows show what unseen real music shares with the training set by chance.",
              "", "![quality vs diversity](quality_diversity.png)", "", "![feature overlap](feature_overlap.png)"]
    return "\n".join(lines) + "\n"
