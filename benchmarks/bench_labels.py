"""Listing, loading and labelling speed of each corpus, plus piece counts per split.

    python benchmarks/bench_labels.py /path/to/shared/data [--n 40]

For each source found under the data folder (pop909, nottingham, jsb-chorales, vgmidi, maestro)
and the installed music21 corpus, prints one JSON line: pieces per split, listing time (s),
load speed and load + :func:`labels_for` speed (pieces/s, one process, ``--n`` pieces spread
evenly over the listing), and how many of them failed with MIDIError.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from tunegan.data.labels import find_composer_table, labels_for
from tunegan.data.registry import open_source
from tunegan.errors import MIDIError

SPECS = {"pop909": "pop909", "nottingham": "nottingham", "jsb": "jsb-chorales", "vgmidi": "vgmidi",
         "maestro": "maestro-v3.0.0"}


def bench(spec: str, n: int, composer_table: Path | None) -> dict:
    src = open_source(spec)
    t = time.perf_counter()
    pieces = src.pieces()
    listed = time.perf_counter() - t
    sample = pieces[:: max(1, len(pieces) // n)][:n]
    scores, failed = [], 0
    t = time.perf_counter()
    for p in sample:
        try:
            scores.append((p, src.load(p)))
        except MIDIError:
            failed += 1
    load_s = time.perf_counter() - t
    t = time.perf_counter()
    for p, s in scores:
        labels_for(p, s, composer_table=composer_table)
    label_s = time.perf_counter() - t
    return {"source": spec.split(":")[0], "pieces": len(pieces),
            "splits": {s: sum(p.split == s for p in pieces) for s in ("train", "validation", "test")},
            "list_seconds": round(listed, 2), "sampled": len(sample), "failed": failed,
            "load_pieces_per_s": round(len(sample) / load_s, 1) if load_s else None,
            "load_and_label_pieces_per_s": round(len(scores) / (load_s + label_s), 1) if scores else None}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data", type=Path, help="folder holding pop909/, nottingham/, jsb-chorales/, vgmidi/...")
    ap.add_argument("--n", type=int, default=40, help="pieces loaded per corpus")
    ap.add_argument("--skip-music21", action="store_true")
    args = ap.parse_args()
    table = find_composer_table(args.data)
    specs = [f"{k}:{args.data / v}" for k, v in SPECS.items() if (args.data / v).is_dir()]
    if not args.skip_music21:
        specs += ["music21:builtin/bach", "music21:builtin/essen"]
    for spec in specs:
        print(json.dumps(bench(spec, args.n, table), ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
