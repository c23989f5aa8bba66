"""Export the shipped network with the harmony guard fitted under other settings (the variants of
docs/results.md, session of 2026-12-03). Run from the folder that holds main/ and cache/:

    python main/docs/results/export-guard-variant.py runs/ship-s6i --no-degrees --span-quantile 90  # intervals only
    python main/docs/results/export-guard-variant.py runs/ship-s6k --no-degrees --span-quantile 90 --keep-pitch-mass
    python main/docs/results/export-guard-variant.py runs/ship-s6k2 --no-degrees --span-quantile 90 --keep-pitch-mass \
        --interval-cap 2
    python main/docs/results/export-guard-variant.py runs/ship-s6d --span-quantile 90               # + degrees
    python main/docs/results/export-guard-variant.py runs/ship-s6d75                                # + span at 75: shipped
    python main/docs/results/export-guard-variant.py runs/ship-s6g --span-quantile 90 --gaps        # + gaps
    python main/docs/results/export-guard-variant.py runs/ship-s6g75 --gaps
    # from the shipped s6d75 (commit c5b55f1):
    python main/docs/results/export-guard-variant.py runs/ship-s6d60 --span-quantile 60
    python main/docs/results/export-guard-variant.py runs/ship-s6r75 --register
    # session of 2026-12-03 (seventh), from the shipped default (commit 6509aa4):
    python main/docs/results/export-guard-variant.py runs/ship-s6t75 --tails       # + bar tails
    python main/docs/results/export-guard-variant.py runs/ship-s6u75 --durations   # + durations
    python main/docs/results/export-guard-variant.py runs/ship-s6x75 --gaps --tails --durations
    python main/docs/results/export-guard-variant.py runs/ship-s6w75 --draw-spans  # each piece draws its span
    python main/docs/results/export-guard-variant.py runs/ship-s6p75 --pairs       # + pairs of intervals
    python main/docs/results/export-guard-variant.py runs/ship-s6f128 --fit-samples 128  # the shipped guard, 4x the samples
    python main/docs/results/export-guard-variant.py runs/ship-s6seed1 --fit-seed 1000   # the shipped guard, other samples

The input is `main/src/tunegan/assets/default` with the interval guard (`ship-s6i`'s meta.json, commit
9b0c140): its priors and repeats are refitted, but the guard fit samples with its piece-memory boost.
The defaults are `tunegan export`'s (degrees on, gaps off, span at the 75th percentile).
"""
import argparse

import tunegan.harmony.fit as h
from tunegan.api.models import export

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--no-degrees", action="store_true")
ap.add_argument("--keep-pitch-mass", action="store_true")
ap.add_argument("--gaps", action="store_true")
ap.add_argument("--register", action="store_true")
ap.add_argument("--tails", action="store_true")
ap.add_argument("--durations", action="store_true")
ap.add_argument("--draw-spans", action="store_true")
ap.add_argument("--pairs", action="store_true")
ap.add_argument("--fit-samples", type=int, default=h.FIT_SAMPLES)
ap.add_argument("--fit-seed", type=int, default=h.FIT_SEED)
ap.add_argument("--interval-cap", type=float, default=h.INTERVAL_CAP)
ap.add_argument("--span-quantile", type=int, default=h.SPAN_QUANTILE)
ap.add_argument("--checkpoint", default="main/src/tunegan/assets/default")
ap.add_argument("--cache", default="cache/mix4-remi")
a = ap.parse_args()
h.FIT_DEGREES, h.KEEP_PITCH_MASS, h.FIT_GAPS = not a.no_degrees, a.keep_pitch_mass, a.gaps
h.INTERVAL_CAP, h.SPAN_QUANTILE, h.FIT_REGISTER = a.interval_cap, a.span_quantile, a.register
h.FIT_TAILS, h.FIT_DURATIONS, h.DRAW_SPANS, h.FIT_PAIRS = a.tails, a.durations, a.draw_spans, a.pairs
h.FIT_SAMPLES, h.FIT_SEED = a.fit_samples, a.fit_seed
export(a.checkpoint, a.out, priors_from=a.cache, repeats_from=a.cache, harmony_from=a.cache)
print("exported", a.out, vars(a))
