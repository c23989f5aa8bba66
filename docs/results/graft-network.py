"""A shipped folder with another network's weights: OUT gets BASE's meta.json (guard, priors,
memory, keywords) and the weights of NET, a fine-tune of BASE whose keyword vocabulary may be a
subset of BASE's (``tunegan train --init-from`` keeps only the keywords of its data): its keyword
rows go to their words' rows, BASE's rows stay for the rest. Isolates what a network change does
from what its own export fits.

    python main/docs/results/graft-network.py BASE NET OUT
"""
import json
import shutil
import sys
from pathlib import Path

from safetensors.numpy import load_file, save_file

base, net, out = map(Path, sys.argv[1:4])
wa, wb = load_file(base / "model.safetensors"), load_file(net / "model.safetensors")
ka = json.load(open(base / "meta.json"))["conditions"]["keywords"]
kb = json.load(open(net / "meta.json"))["conditions"]["keywords"]
row = {w: i + 1 for i, w in enumerate(ka)}  # row 0 is the padding row
merged = {}
for name, a in wa.items():
    b = wb[name]
    if name.endswith("cond_embed.weight") and a.shape != b.shape:
        m = a.copy()
        for j, w in enumerate(kb):
            m[row[w]] = b[j + 1]
        merged[name] = m
    else:
        assert a.shape == b.shape, name
        merged[name] = b
out.mkdir(parents=True, exist_ok=True)
shutil.copy(base / "meta.json", out / "meta.json")
save_file(merged, str(out / "model.safetensors"))
print(f"{out}: {net}'s weights ({len(kb)} keywords) under {base}'s meta.json ({len(ka)} keywords)")
