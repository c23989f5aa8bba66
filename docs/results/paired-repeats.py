"""Repeat-by-repeat differences of two check_style_repeats.py JSON files made with the same seeds
(the second minus the first): per style, the mean difference in two-sample accuracy ± its standard
error, in points, for the styles both files judged.

    python main/docs/results/paired-repeats.py BEFORE.json AFTER.json
"""
import json
import sys

import numpy as np

a, b = (json.load(open(p)) for p in sys.argv[1:3])
if [r["seed"] for r in a["repeats"]] != [r["seed"] for r in b["repeats"]]:
    raise SystemExit("the two files were not made with the same seeds")
for g in (g for g in a["repeats"][0]["two_sample"] if g in b["repeats"][0]["two_sample"]):
    d = 100 * np.array([rb["two_sample"][g] - ra["two_sample"][g] for ra, rb in zip(a["repeats"], b["repeats"])])
    print(f"{g:<10} {d.mean():+.1f} ± {d.std(ddof=1) / np.sqrt(len(d)):.1f} points")
