"""How well could a model that learned its training data perfectly do on #14's realism target?

    python benchmarks/check_realism_floor.py --data CACHE [--split test] [--seeds 0 1000 2000 3000 4000]

For each genre and seed, real crops of the *train* split stand in for the samples: they are judged
against real ``--split`` crops exactly as ``tunegan style-eval`` judges samples (the same crops,
:func:`tunegan.evaluation.genre_classifier.real_crop_features` with ``eval_crops`` per genre, and the
same classifier two-sample test, :func:`tunegan.evaluation.suite.two_sample`, ``--samples`` a side).
A generator that reproduced the train split's music exactly would score about this, so the figure is
the floor of #14's two-sample target (≤ 70%) for that genre: above 50% where the splits differ (other
pieces, other composers, other densities), 50% where they do not. Printed per seed and as mean ±
standard error; no model is involved.
"""

from __future__ import annotations

import argparse

import numpy as np

from common import save_json  # benchmarks/ is on sys.path when a script runs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="a prepared cache with genre labels")
    ap.add_argument("--split", default="test", help="the split the real crops come from, as style-eval's --split")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1000, 2000, 3000, 4000])
    ap.add_argument("--samples", type=int, default=50, help="train crops per genre (style-eval: samples per keyword)")
    ap.add_argument("--eval-crops", type=int, default=100, help="real crops per genre (style-eval's eval_crops)")
    ap.add_argument("--length", type=int, default=512, help="tokens per crop (style-eval's length)")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)

    from pathlib import Path

    from tunegan.data.dataset import TokenCache
    from tunegan.evaluation.genre_classifier import piece_genres, real_crop_features
    from tunegan.evaluation.suite import two_sample

    cache = TokenCache(args.data)
    have = [g for g in sorted(set(piece_genres(cache, "train"))) if g]
    acc = {g: [] for g in have}
    for seed in args.seeds:
        te = real_crop_features(cache, args.split, have, args.eval_crops, args.length, seed=seed, with_notes=True)
        tr = real_crop_features(cache, "train", have, args.samples, args.length, seed=seed, with_notes=True)
        row = []
        for i, g in enumerate(have):
            real = [n for n, y in zip(te["notes"], te["y"]) if y == i]
            stand_in = [n for n, y in zip(tr["notes"], tr["y"]) if y == i]
            folds = min(5, len(real), len(stand_in))
            acc[g].append(float(two_sample(real, stand_in, seed=seed, folds=folds)["accuracy"]) if folds >= 2
                          else float("nan"))
            row.append(f"{g} {acc[g][-1]:.1%}")
        print(f"seed {seed}: " + ", ".join(row))
    res = {"data": str(args.data), "split": args.split, "seeds": args.seeds, "samples": args.samples,
           "eval_crops": args.eval_crops, "length": args.length, "genres": {}}
    print(f"\ntrain crops against {args.split} crops, mean ± standard error over {len(args.seeds)} seeds")
    for g, a in acc.items():
        m = float(np.mean(a))
        se = float(np.std(a, ddof=1) / np.sqrt(len(a))) if len(a) > 1 else float("nan")
        res["genres"][g] = {"accuracy": a, "mean": m, "se": se}
        print(f"  {g:<10} {m:6.1%} ± {se:.1%}")
    save_json(res, Path(args.json) if args.json else None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
