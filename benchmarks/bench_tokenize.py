"""Encoding speed of every tokenizer, in tokens per second, MIDI parsing included.

    python benchmarks/bench_tokenize.py --limit 50            # MAESTRO train split + POP909
    python benchmarks/bench_tokenize.py --tokenizers remi --json

For each corpus and tokenizer it reads the first ``--limit`` files (sorted; MAESTRO: the ``train``
rows of ``maestro-v3.0.0.csv``), times ``read_midi`` and ``encode`` separately on one core, and
prints files / skipped (``MIDIError``) / tokens / notes and tokens per second with and without
parsing. Parsing is timed in its own pass per tokenizer so each row is self-contained.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"  # /work/shared/data next to the repo


def maestro_files(root: Path, split: str = "train") -> list[Path]:
    """MIDI files of one split of MAESTRO v3, in CSV order (missing files are left out)."""
    with open(root / "maestro-v3.0.0.csv", newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == split]
    return [root / r["midi_filename"] for r in rows if (root / r["midi_filename"]).is_file()]


def pop909_files(root: Path) -> list[Path]:
    """The main ``NNN/NNN.mid`` file of each POP909 song (not the alternative versions)."""
    return sorted(p for p in root.glob("*/*.mid") if p.stem == p.parent.name)


def bench(tokenizer, files: list[Path]) -> dict:
    """Time parse + encode of ``files``; returns counts and rates (tokens per second)."""
    from tunegan.errors import MIDIError
    from tunegan.midi import read_midi

    parse_s = encode_s = 0.0
    tokens = notes = skipped = 0
    reasons: dict[str, int] = {}
    for path in files:
        t0 = time.perf_counter()
        try:
            score = read_midi(path)
        except MIDIError as e:
            skipped += 1
            reasons[str(e).split(": ", 1)[-1][:60]] = reasons.get(str(e).split(": ", 1)[-1][:60], 0) + 1
            continue
        t1 = time.perf_counter()
        try:
            ids = tokenizer.encode(score)
        except MIDIError as e:
            skipped += 1
            reasons[str(e)[:60]] = reasons.get(str(e)[:60], 0) + 1
            continue
        t2 = time.perf_counter()
        parse_s += t1 - t0
        encode_s += t2 - t1
        tokens += len(ids)
        notes += score.note_num()
    total = parse_s + encode_s
    return {
        "files": len(files) - skipped, "skipped": skipped, "skip_reasons": reasons, "tokens": tokens,
        "notes": notes, "parse_s": round(parse_s, 3), "encode_s": round(encode_s, 3),
        "tokens_per_s": round(tokens / total) if total else 0,
        "encode_tokens_per_s": round(tokens / encode_s) if encode_s else 0,
        "tokens_per_note": round(tokens / notes, 2) if notes else 0,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--maestro", type=Path, default=DATA / "maestro-v3.0.0", help="MAESTRO v3 folder (with its CSV)")
    ap.add_argument("--pop909", type=Path, default=DATA / "pop909", help="POP909 folder (NNN/NNN.mid)")
    ap.add_argument("--limit", type=int, default=50, help="files per corpus (0 = all)")
    ap.add_argument("--tokenizers", default="pitch,remi,performance", help="comma-separated names")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = ap.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    from tunegan.tokenizers import get_tokenizer

    corpora = {}
    if (args.maestro / "maestro-v3.0.0.csv").is_file():
        corpora["maestro-train"] = maestro_files(args.maestro)
    if args.pop909.is_dir():
        corpora["pop909"] = pop909_files(args.pop909)
    if not corpora:
        print(f"no corpus found at {args.maestro} or {args.pop909}", file=sys.stderr)
        return 1
    results = []
    for corpus, files in corpora.items():
        files = files[: args.limit] if args.limit > 0 else files
        for name in args.tokenizers.split(","):
            tok = get_tokenizer(name.strip())
            tok.encode  # noqa: B018 - build lookup tables / MidiTok vocab before timing
            results.append({"corpus": corpus, "tokenizer": name.strip(), "vocab_size": tok.vocab_size,
                            **bench(tok, files)})
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    head = f"{'corpus':<14}{'tokenizer':<12}{'vocab':>6}{'files':>6}{'skip':>5}{'notes':>10}{'tokens':>11}" \
           f"{'tok/note':>9}{'parse s':>9}{'encode s':>9}{'tok/s':>11}{'enc tok/s':>11}"
    print(head)
    print("-" * len(head))
    for r in results:
        print(f"{r['corpus']:<14}{r['tokenizer']:<12}{r['vocab_size']:>6}{r['files']:>6}{r['skipped']:>5}"
              f"{r['notes']:>10,}{r['tokens']:>11,}{r['tokens_per_note']:>9}{r['parse_s']:>9.2f}{r['encode_s']:>9.2f}"
              f"{r['tokens_per_s']:>11,}{r['encode_tokens_per_s']:>11,}")
        for reason, n in r["skip_reasons"].items():
            print(f"{'':<26}skipped {n}: {reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
