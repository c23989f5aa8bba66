"""What every benchmark script ends with: the targets table and the JSON file."""

from __future__ import annotations

import json
from pathlib import Path


def report_targets(res: dict, checks: list[tuple[str, float, str, bool]], *, width: int = 42, digits: int = 3) -> None:
    """Print ``(name, value, target, passed)`` rows as PASS/MISS lines and keep them in ``res["targets"]``."""
    print("\ntargets")
    for name, v, want, ok in checks:
        print(f"  {name:<{width}} {v:>9.{digits}f}  {want:<7} {'PASS' if ok else 'MISS'}")
    res["targets"] = [{"name": n, "value": round(v, 4), "target": t, "pass": ok} for n, v, t, ok in checks]


def save_json(res: dict, path: Path | None) -> None:
    """Write ``res`` to ``path`` (when given), creating its folder."""
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(res, indent=1, default=str))
    print(f"\nsaved {path}")
