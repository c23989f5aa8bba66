"""Do samples end in their style's keys as often as its pieces are in them? Held-out check of the
key weights export fits (``meta["keys"]``, :func:`tunegan.priors.fit_keys`).

    python benchmarks/check_key_weights.py [--checkpoint default] [--styles chorale classical folk pop] [--samples 512]

For each style, ``--samples`` pieces made at ``--seed`` (away from the fit's own seed, so this is
held out), and per mode the total variation between the prior's key shares and the keys the move
ends the samples in (its expected shares, :func:`tunegan.priors.key_miss`), with the stored
weights and without them. 0 = the samples' keys are the style's; 1 = no key in common.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from common import save_json  # benchmarks/ is on sys.path when a script runs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", default="default")
    ap.add_argument("--styles", nargs="*", default=["chorale", "classical", "folk", "pop"])
    ap.add_argument("--samples", type=int, default=512)
    ap.add_argument("--length", type=int, default=512)
    ap.add_argument("--seed", type=int, default=8_000_000)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    from tunegan.checkpoint import load_checkpoint
    from tunegan.generation import GenerationOptions, sample_pieces
    from tunegan.priors import for_prior, key_miss, mode_keys

    ck = load_checkpoint(args.checkpoint)
    fitted = (ck.meta.get("keys") or {}).get("weights") or {}
    res = {"checkpoint": str(ck.path), "samples": args.samples, "seed": args.seed, "styles": {}}
    for style in args.styles:
        pieces = sample_pieces(ck, GenerationOptions(length=args.length, style=(style,)),
                               [args.seed + i for i in range(args.samples)])
        ops = [o for _, _, o in pieces if o.sampled_key is not None]
        if not ops:
            continue
        name = ops[0].prior
        prior, weights = ck.meta["priors"][name], for_prior(fitted, name)
        row = {}
        for mode in ("major", "minor"):
            keys = mode_keys(prior, mode)
            obs = [o for o in ops if o.sampled_key.endswith(mode)]
            if not keys or not obs:
                continue
            seen = [(o.sampled_key, o.sampled_register) for o in obs]
            tv = {label: round(key_miss(prior, seen, keys, w), 4)
                  for label, w in (("counts alone", None), ("with the weights", weights))}
            row[mode] = {"samples": len(obs), "total_variation": tv}
            print(f"{style:<10} {mode:<6} {len(obs):>4} samples  total variation: counts alone "
                  f"{tv['counts alone']:.3f}, with the weights {tv['with the weights']:.3f}"
                  + ("" if weights else "  (no weights stored)"))
        res["styles"][style] = row
    save_json(res, args.json)


if __name__ == "__main__":
    main()
