"""A genre asked with a mood: is the genre still heard, and the mood? Summed up from style-eval reports.

    python benchmarks/check_mood_by_genre.py [NAME=]REPORT.json [[NAME=]REPORT.json ...] [--json PATH]

Each ``REPORT.json`` is a ``style_report.json`` written by ``tunegan style-eval --mood-by-genre``
(one guidance strength; the first run is read). For every genre and mood asked together
("pop, melancholy"), three shares of its samples: the genre classifier hears the genre asked
(``genre_kept``), the mood classifier hears the mood asked (``share``), and the valence sign is
the mood's (``valence_agree``). Printed per pair and as means over the pairs, per report; several
reports of the same checkpoint with other ``--seed`` values are pooled pair by pair (their mean);
``NAME=`` groups reports under a name of their own instead of their checkpoint's path.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from common import save_json  # benchmarks/ is on sys.path when a script runs

FIELDS = (("genre_kept", "genre heard"), ("share", "mood agrees"), ("valence_agree", "valence right"))


def pairs_of(report: dict) -> dict[tuple[str, str], dict[str, float]]:
    """``{(genre, mood): {field: share}}`` of a style-eval report's mood-by-genre run."""
    run = report["runs"][0]
    if "mood_by_genre" not in run:
        raise SystemExit("this report has no mood-by-genre run: run tunegan style-eval with --mood-by-genre")
    return {(g, m): {f: float(v[f]) for f, _ in FIELDS} for g, row in run["mood_by_genre"].items()
            for m, v in row.items() if m != "none"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("reports", nargs="+")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args(argv)
    by_ck: dict[str, list[dict]] = {}
    for arg in a.reports:
        head, eq, tail = arg.partition("=")
        name, path = (head, tail) if eq and "/" not in head else ("", arg)  # a path may hold "=" itself
        rep = json.loads(Path(path).read_text())
        by_ck.setdefault(name or rep["checkpoint"]["path"], []).append(pairs_of(rep))
    out = {}
    for ck, runs in by_ck.items():
        keys = sorted(set.intersection(*(set(r) for r in runs)))
        pooled = {k: {f: float(np.mean([r[k][f] for r in runs])) for f, _ in FIELDS} for k in keys}
        means = {f: float(np.mean([v[f] for v in pooled.values()])) for f, _ in FIELDS}
        print(f"{ck}: {len(runs)} report(s), {len(keys)} genre and mood pairs")
        print("  genre, mood | " + " | ".join(name for _, name in FIELDS))
        for (g, m), v in pooled.items():
            print(f"  {g}, {m} | " + " | ".join(f"{100 * v[f]:.0f}%" for f, _ in FIELDS))
        print("  mean | " + " | ".join(f"{100 * means[f]:.1f}%" for f, _ in FIELDS))
        out[ck] = {"reports": len(runs), "mean": means, "pairs": {f"{g}, {m}": v for (g, m), v in pooled.items()}}
    save_json(out, a.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
