"""A shipped folder with one guard table of another export grafted in, for some styles only, so
that every other style samples exactly as the shipped model does (a paired comparison, free of
the noise of a whole new guard fit). Run from the folder that holds main/ and runs/:

    python main/docs/results/graft-guard-table.py main/src/tunegan/assets/default runs/ship-s9dur \
        runs/ship-s9dur-classical --table durations --styles classical
"""
import argparse
import json
import shutil
from pathlib import Path

ap = argparse.ArgumentParser()
ap.add_argument("base")
ap.add_argument("donor")
ap.add_argument("out")
ap.add_argument("--table", required=True, help="a per-style table of meta['harmony'], e.g. durations, tails")
ap.add_argument("--styles", nargs="+", required=True)
a = ap.parse_args()
base, donor, out = Path(a.base), Path(a.donor), Path(a.out)
shutil.copytree(base, out, dirs_exist_ok=True)
meta = json.loads((base / "meta.json").read_text())
table = json.loads((donor / "meta.json").read_text())["harmony"].get(a.table) or {}
missing = [s for s in a.styles if s not in table]
if missing:
    raise SystemExit(f"{donor}: no {a.table} factors for {', '.join(missing)}")
meta["harmony"][a.table] = {**meta["harmony"].get(a.table, {}), **{s: table[s] for s in a.styles}}
(out / "meta.json").write_text(json.dumps(meta, indent=1))
print(f"{out}: {a.table} of {donor} for {', '.join(a.styles)}")
