"""#14's style targets over independent repeats of ``tunegan style-eval``: one run of 50 samples
against 50 crops moves by about ±9 points, so the mean of several runs is the figure to judge.

    python benchmarks/check_style_repeats.py --data CACHE [--checkpoint default] [--seeds 0 1000 2000 3000 4000]
    python benchmarks/check_style_repeats.py --reports DIR [DIR ...]       # runs already made
    python benchmarks/check_style_repeats.py --merge JSON [JSON ...]       # this script's earlier outputs, pooled

Each repeat is :func:`tunegan.api.style_eval` at guidance 1 (what ``tunegan generate`` uses)
with its own ``--seed``. Sample i of a run uses seed + i, so the seeds must lie at least
``--samples`` apart, or the runs share samples (the script refuses closer seeds). With
``--reports``, the ``style_report.json`` in each folder is read instead (its guidance-1 run).

Printed per repeat and as mean ± standard error: the two-sample accuracy per genre (target ≤ 70%),
the share of samples heard as the asked genre (≥ 95%), the share with the asked mood (≥ 60%) and,
per mood, the share whose valence has the right sign (≥ 75%, the lowest repeat counts).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from common import report_targets, save_json  # benchmarks/ is on sys.path when a script runs


def summary(report: dict, path: str = "") -> dict:
    """The guidance-1 figures of one style report."""
    runs = [r for r in report["runs"] if float(r.get("guidance", 1.0)) == 1.0]
    if not runs:
        raise SystemExit(f"{path or 'report'}: no run at guidance 1")
    run = runs[0]
    mood = run.get("mood") or {}
    return {"seed": report.get("settings", {}).get("seed"),
            "two_sample": {g: float(v["accuracy"]) for g, v in (run.get("two_sample") or {}).items()},
            "genre_share": float(run["mean_share"]["all"]),
            "mood_share": float(np.mean([m["share"] for m in mood.values()])) if mood else float("nan"),
            "valence_agree": {k: float(m["valence_agree"]) for k, m in mood.items()}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", help="a prepared cache with genre labels (to run the repeats)")
    ap.add_argument("--checkpoint", default=None, help="checkpoint, run folder or shipped name (default: the shipped model)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1000, 2000, 3000, 4000])
    ap.add_argument("--samples", type=int, default=50)
    ap.add_argument("--split", default="test")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--temperature", type=float, default=1.0, help="sampling temperature (1 = what generate uses)")
    ap.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling (1 = off, what generate uses)")
    ap.add_argument("--reports", type=Path, nargs="+", help="folders holding style_report.json (instead of running)")
    ap.add_argument("--merge", type=Path, nargs="+", help="JSON this script wrote before: their repeats pooled (instead of running)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)

    rows = []
    if args.merge:
        names = set()
        for f in args.merge:
            got = json.loads(f.read_text())
            rows.extend(got["repeats"])
            names.add(got.get("checkpoint", "default"))
        if len(names) > 1:
            ap.error(f"--merge pools repeats of one checkpoint (these are of {', '.join(sorted(names))})")
        args.checkpoint = args.checkpoint or names.pop()
    elif args.reports:
        for d in args.reports:
            f = d / "style_report.json" if d.is_dir() else d
            rows.append(summary(json.loads(f.read_text()), str(f)))
    else:
        if not args.data:
            ap.error("--data is needed to run the repeats (or give --reports or --merge)")
        seeds = sorted(args.seeds)
        if any(b - a < args.samples for a, b in zip(seeds, seeds[1:])):
            ap.error(f"seeds must lie at least --samples ({args.samples}) apart, or the repeats share samples")
        from tunegan import api

        for s in seeds:
            rep = api.style_eval(args.checkpoint, args.data, split=args.split, samples_per_keyword=args.samples,
                                 guidance=(1.0,), seed=s, temperature=args.temperature, top_p=args.top_p, threads=args.threads,
                                 device="cpu")
            rows.append(summary(rep))
    seeds = [r["seed"] for r in rows]
    if len(set(seeds)) < len(seeds):
        print(f"warning: repeated seeds {seeds}", file=sys.stderr)
    genres = sorted({g for r in rows for g in r["two_sample"]})
    moods = sorted({m for r in rows for m in r["valence_agree"]})
    print(f"{len(rows)} repeats of style-eval at guidance 1, checkpoint {args.checkpoint or 'default'}")
    print("  " + " | ".join(["seed", *genres, "genre heard", "moods agree"]))
    for r in rows:
        print("  " + " | ".join([str(r["seed"]), *[f"{100 * r['two_sample'].get(g, np.nan):.0f}%" for g in genres],
                                 f"{100 * r['genre_share']:.1f}%", f"{100 * r['mood_share']:.1f}%"]))

    def mean_se(values):
        v = np.asarray(values, float)
        return float(v.mean()), float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else float("nan")

    res = {"checkpoint": args.checkpoint or "default", "repeats": rows, "mean": {}}
    for g in genres:
        res["mean"][f"two_sample_{g}"] = mean_se([r["two_sample"][g] for r in rows if g in r["two_sample"]])
    res["mean"]["genre_share"] = mean_se([r["genre_share"] for r in rows])
    res["mean"]["mood_share"] = mean_se([r["mood_share"] for r in rows])
    low = {m: min(r["valence_agree"][m] for r in rows if m in r["valence_agree"]) for m in moods}
    res["valence_agree_lowest"] = low
    print("  " + " | ".join(["mean ± s.e.", *[f"{100 * res['mean'][f'two_sample_{g}'][0]:.1f} ± "
                                               f"{100 * res['mean'][f'two_sample_{g}'][1]:.1f}%" for g in genres],
                             f"{100 * res['mean']['genre_share'][0]:.1f}%", f"{100 * res['mean']['mood_share'][0]:.1f}%"]))
    checks = [(f"two-sample accuracy, {g} (mean)", res["mean"][f"two_sample_{g}"][0], "<= 0.70",
               res["mean"][f"two_sample_{g}"][0] <= 0.70) for g in genres]
    checks += [("genre heard as asked (mean)", res["mean"]["genre_share"][0], ">= 0.95", res["mean"]["genre_share"][0] >= 0.95),
               ("moods agree (mean)", res["mean"]["mood_share"][0], ">= 0.60", res["mean"]["mood_share"][0] >= 0.60)]
    checks += [(f"valence right, {m} (lowest repeat)", v, ">= 0.75", v >= 0.75) for m, v in low.items()]
    report_targets(res, checks)
    save_json(res, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
