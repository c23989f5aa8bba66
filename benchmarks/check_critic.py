"""Does the critic help? Critic-ranked samples against plain ones, judged by an independent classifier.

    python benchmarks/check_critic.py --data CACHE --checkpoint RUN [--samples 50] [--length 512] [--json PATH]

``RUN`` is a checkpoint made by ``tunegan train --mode critic`` (its generator and its critic);
``CACHE`` a prepared cache with genre labels whose **test** split gives the real music. The critic
is never its own judge: realism is the evaluation's two-sample classifier
(:func:`tunegan.evaluation.suite.two_sample`, 5-fold logistic regression on musical features)
telling ``--samples`` samples per genre from as many real test windows of that genre (the first
``--length`` tokens of test pieces). Per genre, through :func:`tunegan.api.generate` (``style``
= the genre, ``length`` tokens, seeds ``--seed``, ``--seed`` + 1...; the classifier's folds drawn
with ``--seed`` too):

* plain sampling at temperature 1, and at lower temperatures (``--temperatures``);
* critic-ranked, best of N for each ``--candidates`` N;

each with its two-sample accuracy (lower = more like real music), diversity (share of distinct
4-note interval patterns, :func:`tunegan.evaluation.suite.diversity`) and NLL per note under the
generator is not reported here (ranking does not change the model; ``tunegan evaluate`` gives it),
and novelty: the median longest run of notes found (maybe transposed) in the train split, beside
that of the real test windows. "At equal diversity": for
each N, the plain temperature whose diversity is closest to the ranked samples' is listed beside
it (Caccia et al.: a gain that only trades diversity away is not a gain).

Cost: the wall time of ``candidates=8`` against ``candidates=1`` for 4 samples, side by side,
for a ``length`` piece (one batch) and for an 8-bar piece (the bar-by-bar path).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from common import save_json  # benchmarks/ is on sys.path when a script runs


def real_notes(cache, genre: str, length: int) -> list:
    from tunegan.music import extract_notes

    tok = cache.tokenizer
    test = cache.split("test")
    out = []
    for i, lab in enumerate(cache.piece_labels("test")):
        if (lab or {}).get("genre") == genre:
            p = test.piece(i)[1:length + 1]
            n = extract_notes(tok.decode(p))
            if len(n) >= 8:
                out.append(n)
    return out


def copied_run(index, notes) -> int:
    """Longest run of notes (maybe transposed) found in the train split."""
    from tunegan.evaluation.novelty import pitch_sequence
    from tunegan.evaluation.suite import matching_statistics

    p = pitch_sequence(notes)
    return int(matching_statistics(index, p).max()) + 1 if len(p) >= 2 else len(p)


def judge(real, songs, index=None, seed: int = 0) -> dict:
    from tunegan.evaluation.suite import diversity, two_sample

    gen = [s.notes() for s in songs]
    gen = [g for g in gen if len(g) >= 2]
    ts = two_sample(real, gen, folds=min(5, len(real), len(gen)), seed=seed)
    pitch = [np.sort(g, order="start")["pitch"] for g in gen]
    out = {"two_sample": round(float(ts["accuracy"]), 4), "ci": [round(float(ts["ci_low"]), 4), round(float(ts["ci_high"]), 4)],
           "diversity": round(float(diversity(pitch)), 4), "n": int(ts["n"])}
    if index is not None:
        out["copied_run_median"] = float(np.median([copied_run(index, g) for g in gen]))
    return out


def cost(checkpoint, models, repeats: int = 3) -> dict:
    from tunegan import api

    out = {}
    for name, kw in (("length 512 (one batch)", {"length": 512}), ("8 bars (bar by bar)", {"bars": 8})):
        times = {1: [], 8: []}
        for r in range(repeats):
            for n in (1, 8):
                t = time.perf_counter()
                api.generate(checkpoint=checkpoint, samples=4, candidates=n, seed=100 + r, models=models, device="cpu", **kw)
                times[n].append(time.perf_counter() - t)
        out[name] = {"one_s": min(times[1]), "eight_s": min(times[8]), "ratio": min(times[8]) / min(times[1])}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, type=Path)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--samples", type=int, default=50)
    ap.add_argument("--length", type=int, default=512)
    ap.add_argument("--candidates", default="4,8,16")
    ap.add_argument("--temperatures", default="0.95,0.9,0.85,0.8")
    ap.add_argument("--genres", default=None)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0, help="first sampling seed (and the classifier's): a repeat with other samples")
    ap.add_argument("--cost-only", action="store_true", help="only the cost of candidates (the JSON's rows are kept)")
    ap.add_argument("--no-cost", action="store_true", help="leave the cost out (a model without a critic: "
                                                             "--candidates '' --no-cost)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    from tunegan import api
    from tunegan.data.dataset import TokenCache

    from tunegan.evaluation.suite import novelty_index

    cache = TokenCache(args.data)
    models = api.ModelCache("cpu")
    ns = [int(x) for x in args.candidates.split(",") if x.strip()]
    info = {}
    if ns or not args.no_cost:
        _, info = models.critic(args.checkpoint)
        print(f"critic of {args.checkpoint}: held-out accuracy {info['accuracy']:.3f}, ECE {info['ece']:.3f}, "
              f"Brier {info['brier']:.3f} (epoch {info['epoch']})")
    index = None if args.cost_only else novelty_index(cache, "train")[0]
    have = {(lab or {}).get("genre") for lab in cache.piece_labels("test")}
    genres = args.genres.split(",") if args.genres else [r["keyword"] for r in api.styles(args.checkpoint)
                                                         if r["category"] == "genre" and r["keyword"] in have]
    temps = [float(x) for x in args.temperatures.split(",")]
    rows = []
    if args.cost_only:
        import json

        rows, genres = (json.loads(args.json.read_text())["rows"] if args.json and args.json.exists() else []), []
    for g in genres:
        real = real_notes(cache, g, args.length)[: args.samples * 2]
        common = dict(checkpoint=args.checkpoint, style=g, length=args.length, samples=args.samples, seed=args.seed,
                      models=models, device="cpu")
        row = {"genre": g, "real": len(real), "plain": {}, "ranked": {},
               "real_copied_run_median": float(np.median([copied_run(index, r) for r in real]))}
        for t in [1.0, *temps]:
            row["plain"][t] = judge(real, api.generate(temperature=t, **common), index, args.seed)
        for n in ns:
            row["ranked"][n] = judge(real, api.generate(candidates=n, **common), index, args.seed)
        rows.append(row)
        print(f"\n{g} ({len(real)} real test windows of {args.length} tokens, {args.samples} samples each)")
        print(f"  setting            two-sample  diversity  copied run (real: {row['real_copied_run_median']:g} notes)")
        for t, r in row["plain"].items():
            print(f"  plain, T={t:<5g}     {100 * r['two_sample']:5.1f}%     {r['diversity']:.3f}      "
                  f"{r['copied_run_median']:g}")
        for n, r in row["ranked"].items():
            near = min(row["plain"].items(), key=lambda kv: abs(kv[1]["diversity"] - r["diversity"]))
            r["equal_diversity_plain"] = {"temperature": near[0], **near[1]}
            print(f"  best of {n:<2d}         {100 * r['two_sample']:5.1f}%     {r['diversity']:.3f}      "
                  f"{r['copied_run_median']:g}   (plain at equal diversity: T={near[0]:g}, "
                  f"{100 * near[1]['two_sample']:.1f}%)")
    c = {}
    if not args.no_cost:
        c = cost(args.checkpoint, models)
        print("\ncost of candidates=8 against candidates=1 (4 samples, best of 3 runs):")
        for k, v in c.items():
            print(f"  {k}: {v['one_s']:.2f} s -> {v['eight_s']:.2f} s, {v['ratio']:.1f}x (target <= 3x)")
    save_json({"checkpoint": args.checkpoint, "critic": {k: v for k, v in info.items() if k != "history"} or None,
               "length": args.length, "samples": args.samples, "rows": rows, "cost": c}, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
