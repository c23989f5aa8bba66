"""A copy of a shipped folder whose interval factors (or, with ``degrees``, its scale-degree
factors) are recomputed from the counts its guard fit stored (``harmony.fit.genres.*.intervals``
or ``.degrees``: real and sampled counts per bin) with another cap (``INTERVAL_CAP``), nothing
resampled: a check on the copy differs from one on the original only by the factors above 1 (bins
the samples make too rarely, lifted up to the cap). The other table stays as it is.

    python main/docs/results/recap-guard.py SRC DST CAP [intervals|degrees]      # e.g. CAP 2
"""

import json
import shutil
import sys
from pathlib import Path

import tunegan.harmony.fit as fit

src, dst, cap = Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])
table = sys.argv[4] if len(sys.argv) > 4 else "intervals"
if table not in ("intervals", "degrees"):
    raise SystemExit(f"the table to recap is intervals or degrees, not {table!r}")
meta = json.loads((src / "meta.json").read_text())
h = meta["harmony"]
for name, parts in ((table, None if table == "intervals" else fit.DEGREE_PARTS),):
    for g, row in h["fit"]["genres"].items():
        style = "" if g == "any" else g
        if name not in row or style not in h.get(name, {}):
            continue
        kw = {} if parts is None else {"parts": parts}
        fit.INTERVAL_CAP = 1.0
        again = fit.interval_factors(row[name]["real"], row[name]["samples"], **kw)
        if list(again) != list(h[name][style]):
            raise SystemExit(f"{name} of {g}: the stored counts do not give the stored factors")
        fit.INTERVAL_CAP = cap
        h[name][style] = list(fit.interval_factors(row[name]["real"], row[name]["samples"], **kw))
        print(name, g, "factors above 1:", sum(x > 1 for x in h[name][style]), "largest", max(h[name][style]))
if dst.exists():
    shutil.rmtree(dst)
shutil.copytree(src, dst)
(dst / "meta.json").write_text(json.dumps(meta, indent=1))
