"""BPE on REMI: tokens per quarter note per corpus before and after, for several vocabulary sizes.

    python benchmarks/bench_bpe.py --cache /work/cache/mix4-remi [--sizes 500 1000 2000 4000] [--json PATH]

Merges are learned on the cache's train split (``tunegan.tokenizers.remi_bpe.train_bpe``) and
measured on its validation split: base REMI tokens, BPE tokens, and quarter notes of music
(the decoded piece's length), summed per corpus. Fewer tokens per quarter = more music per
training step and per sampled token; whether the model learns it as well is measured by
training at equal CPU time (``docs/results.md``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from common import save_json  # benchmarks/ is on sys.path when a script runs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, required=True, help="a plain REMI cache (tunegan prepare --tokenizer remi)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[500, 1000, 2000, 4000])
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    from tunegan.data.dataset import TokenCache
    from tunegan.tokenizers.remi_bpe import train_bpe

    cache = TokenCache(args.cache)
    base = cache.tokenizer
    val = cache.split("validation")
    corpora = [lab["corpus"] for lab in cache.piece_labels("validation")]
    pieces = [val.piece(i)[1:] for i in range(len(val))]
    quarters = np.array([base.decode(p).end() / 480.0 for p in pieces])
    names = sorted(set(corpora))
    rows = {c: {"quarters": float(quarters[[k == c for k in corpora]].sum()),
                "remi": int(sum(len(p) for p, k in zip(pieces, corpora) if k == c))} for c in names}
    out = {"cache": str(args.cache), "sizes": args.sizes, "corpora": rows, "train_seconds": {}}
    for size in args.sizes:
        t = time.perf_counter()
        tok = train_bpe(cache, size)
        out["train_seconds"][size] = round(time.perf_counter() - t, 1)
        for p, k in zip(pieces, corpora):
            rows[k][f"bpe{size}"] = rows[k].get(f"bpe{size}", 0) + len(tok.to_bpe(p))
    print(f"tokens per quarter note, validation split of {args.cache}")
    head = ["corpus", "REMI"] + [f"BPE {s}" for s in args.sizes]
    print("  " + "".join(f"{h:>12}" for h in head))
    for c in names + ["all"]:
        r = rows[c] if c != "all" else {k: sum(rows[n][k] for n in names) for k in rows[names[0]]}
        vals = [r["remi"] / r["quarters"]] + [r[f"bpe{s}"] / r["quarters"] for s in args.sizes]
        print("  " + f"{c:>12}" + "".join(f"{v:>12.2f}" for v in vals))
        if c == "all":
            out["all"] = {"remi": vals[0], **{f"bpe{s}": v for s, v in zip(args.sizes, vals[1:])}}
    save_json(out, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
