"""Export the shipped network with the harmony guard fitted under other settings (the variants of
docs/results.md, session of 2026-12-03). Run from the folder that holds main/ and cache/:

    python main/docs/results/export-guard-variant.py runs/ship-s6d                    # degrees (the default)
    python main/docs/results/export-guard-variant.py runs/ship-s6i --no-degrees       # intervals only
    python main/docs/results/export-guard-variant.py runs/ship-s6k --no-degrees --keep-pitch-mass
    python main/docs/results/export-guard-variant.py runs/ship-s6k2 --no-degrees --keep-pitch-mass --interval-cap 2
    python main/docs/results/export-guard-variant.py runs/ship-s6d75 --span-quantile 75

The input is `main/src/tunegan/assets/default` as it stood (its priors, repeats and boost are refitted).
"""
import argparse

import tunegan.harmony as h
from tunegan.api.models import export

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--no-degrees", action="store_true")
ap.add_argument("--keep-pitch-mass", action="store_true")
ap.add_argument("--interval-cap", type=float, default=h.INTERVAL_CAP)
ap.add_argument("--span-quantile", type=int, default=h.SPAN_QUANTILE)
ap.add_argument("--checkpoint", default="main/src/tunegan/assets/default")
ap.add_argument("--cache", default="cache/mix4-remi")
a = ap.parse_args()
h.FIT_DEGREES, h.KEEP_PITCH_MASS = not a.no_degrees, a.keep_pitch_mass
h.INTERVAL_CAP, h.SPAN_QUANTILE = a.interval_cap, a.span_quantile
export(a.checkpoint, a.out, priors_from=a.cache, repeats_from=a.cache, harmony_from=a.cache)
print("exported", a.out, vars(a))
