"""How fast is ``tunegan prepare``? MAESTRO train split against pretty_midi and bare symusic parsing.

    python benchmarks/bench_prepare.py [--rounds 3] [--pm-files 16] [--json benchmarks/results/prepare.json]
    python benchmarks/bench_prepare.py --quick          # 60 files, one round, small subsets

Measures on the same files (the ``train`` rows of MAESTRO v3's CSV), interleaved ``--rounds``
times, best kept (so other jobs' load hits every variant alike):

* ``prepare``, pitch tokenizer, force rebuild, ``labels=False``, 1 and 2 workers, each in a fresh
  subprocess; ``labels=True`` once per worker count;
* pretty_midi: ``PrettyMIDI(path)``, non-drum notes sorted by (onset, pitch), the usual way. It is
  hundreds of times slower, so it runs on ``--pm-files`` evenly spaced files, extrapolated per file;
* bare symusic: ``symusic.Score(path)`` of every file.

Memory: each prepare child reports its own peak RSS (``VmHWM``: ``RUSAGE_SELF`` would include the
launcher's peak, which Linux carries across exec), ``getrusage(RUSAGE_CHILDREN).ru_maxrss`` (the
largest pool worker, reaped by ``pool.join``; Linux gives the max over children, not the sum;
"upper bound" = parent + workers x largest worker), and the summed PSS of itself and its workers
sampled from ``/proc/PID/smaps_rollup`` every 50 ms (PSS splits pages shared after ``fork``, so the
sum is the real footprint). The 1 GB target is checked on all of MAESTRO (every split,
``labels=True``, 2 workers). Then prepare tokens/s per representation on MAESTRO and POP909
(``--rep-files`` files, 2 workers), a per-stage breakdown of the workers' per-file work, and a cProfile.

Targets: >= 20x faster than pretty_midi; peak memory < 1 GB on all of MAESTRO; prepare (1 worker)
<= 1.5x the time of bare symusic parsing.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import resource
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from common import report_targets, save_json  # benchmarks/ is on sys.path when a script runs

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"  # /work/shared/data next to the repo
HERE = Path(__file__).resolve()

from tunegan.data.sources import Maestro, Piece, Source  # noqa: E402


@dataclass(frozen=True)
class Subset(Source):
    """The pieces of ``inner`` in one split (None = all), evenly thinned to at most ``n`` (0 = all)."""

    inner: Source | None = None
    split: str | None = None
    n: int = 0

    def pieces(self) -> list[Piece]:
        ps = [p for p in self.inner.pieces() if self.split is None or p.split == self.split]
        return ps[:: max(1, len(ps) // self.n)][: self.n] if self.n else ps

    def load(self, piece):
        return self.inner.load(piece)

    def decode(self, piece, data):
        return self.inner.decode(piece, data)

    def load_fingerprinted(self, piece):
        return self.inner.load_fingerprinted(piece)

    def fingerprint(self, piece):
        return self.inner.fingerprint(piece)

    def stat(self, piece):
        return self.inner.stat(piece)

    def spec(self):
        return self.inner.spec()


def make_source(kind: str, root: str, split: str | None, n: int) -> Source:
    if kind == "maestro":
        inner = Maestro(root)
    else:
        from tunegan.data.registry import open_source
        from tunegan.data.sources import MidiFolder

        try:
            inner = open_source(f"{kind}:{root}")
        except Exception:  # corpora module not there yet: any folder of MIDI
            inner = MidiFolder(root)
    return Subset(root, inner, split, n)


# -- child process: one prepare run, with its memory -------------------------------------------
def _tree_pss_kb(pid: int) -> int:
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in open(f"/proc/{p}/smaps_rollup"):
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
            for t in os.listdir(f"/proc/{p}/task"):
                todo += [int(c) for c in open(f"/proc/{p}/task/{t}/children").read().split()]
        except (OSError, ValueError):
            pass
    return total


def _vm_hwm_kb() -> int:
    """Peak RSS of this process since exec. (Not RUSAGE_SELF: Linux carries the launching
    process's peak across fork + exec into ru_maxrss, which would report the benchmark's own.)"""
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child(job: dict) -> None:
    """Run one prepare and print its time and memory as JSON. torch is not imported here (prepare
    does not need it), so the memory figures are prepare's own."""
    from tunegan.data.prepare import prepare
    from tunegan.tokenizers import get_tokenizer

    src = make_source(job["kind"], job["root"], job["split"], job["n"])
    tok = get_tokenizer(job["tokenizer"])
    peak, done = [0], threading.Event()

    def sample():
        while not done.wait(0.05):
            peak[0] = max(peak[0], _tree_pss_kb(os.getpid()))

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        rep = prepare([src], tok, Path(tmp) / "cache", workers=job["workers"], force=True, labels=job["labels"])
        secs = time.perf_counter() - t0
    done.set()
    th.join()
    print(json.dumps({"seconds": secs, "pieces": rep.pieces, "skipped": rep.skipped,
                      "tokens": sum(rep.tokens.values()),
                      "parent_rss_mb": _vm_hwm_kb() / 1024,
                      "worker_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                      "tree_pss_mb": peak[0] / 1024}))


def run_prepare(**job) -> dict:
    out = subprocess.run([sys.executable, str(HERE), "--child", json.dumps(job)], capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"prepare child failed:\n{out.stderr[-2000:]}")
    r = json.loads(out.stdout.strip().splitlines()[-1])
    w = job["workers"]
    r["rss_bound_mb"] = r["parent_rss_mb"] + (w * r["worker_rss_mb"] if w > 1 else 0)
    return r


# -- in-process baselines ---------------------------------------------------------------------
def symusic_parse(paths: list[str]) -> float:
    import symusic

    t0 = time.perf_counter()
    for p in paths:
        symusic.Score(p)
    return time.perf_counter() - t0


def pretty_midi_notes(paths: list[str]) -> float:
    import pretty_midi

    t0 = time.perf_counter()
    for p in paths:
        pm = pretty_midi.PrettyMIDI(p)
        notes = [n for inst in pm.instruments if not inst.is_drum for n in inst.notes]
        notes.sort(key=lambda n: (n.start, n.pitch))
    return time.perf_counter() - t0


def stages(pieces: list, src: Source) -> dict:
    """Seconds per stage of a prepare worker's per-file work (pitch tokenizer), summed over
    ``pieces``, one process; each file goes through every stage in turn, as in ``_encode_one``."""
    import hashlib

    from tunegan.data.labels import labels_for
    from tunegan.tokenizers import get_tokenizer

    tok = get_tokenizer("pitch")
    t = dict.fromkeys(["read bytes", "parse bytes (Source.decode)", "sha1 of the bytes", "tokenize (encode)",
                       "labels_for (labels=True only)"], 0.0)
    for p in pieces:
        t0 = time.perf_counter(); data = src._read(p); t1 = time.perf_counter()  # noqa: E702
        score = src.decode(p, data); t2 = time.perf_counter()  # noqa: E702
        hashlib.sha1(data).hexdigest(); t3 = time.perf_counter()  # noqa: E702
        tok.encode(score); t4 = time.perf_counter()  # noqa: E702
        labels_for(p, score); t5 = time.perf_counter()  # noqa: E702
        for k, dt in zip(t, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)):
            t[k] += dt
    return t


def profile_prepare(root: str, n: int, top: int = 14) -> list[dict]:
    from tunegan.data.prepare import prepare
    from tunegan.tokenizers import get_tokenizer

    src, tok = make_source("maestro", root, "train", n), get_tokenizer("pitch")
    prof = cProfile.Profile()
    with tempfile.TemporaryDirectory() as tmp:
        prof.enable()
        prepare([src], tok, Path(tmp) / "c", workers=1, force=True, labels=False)
        prof.disable()
    st = pstats.Stats(prof)
    rows = [{"function": f"{Path(f).name}:{line}({fn})", "calls": nc, "tottime_s": round(tt, 3), "cumtime_s": round(ct, 3)}
            for (f, line, fn), (cc, nc, tt, ct, _) in st.stats.items()]
    return sorted(rows, key=lambda r: -r["tottime_s"])[:top]


def table(rows: list[dict], cols: list[str]) -> None:
    fmt = lambda v: f"{v:,.2f}" if isinstance(v, float) else str(v)  # noqa: E731
    w = {c: max(len(c), *(len(fmt(r.get(c, ""))) for r in rows)) for c in cols}
    print("  ".join(c.rjust(w[c]) for c in cols))
    for r in rows:
        print("  ".join(fmt(r.get(c, "")).rjust(w[c]) for c in cols))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA, help="folder holding maestro-v3.0.0/ and pop909/")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved repeats (best time kept)")
    ap.add_argument("--files", type=int, default=0, help="use at most this many train files (0 = all)")
    ap.add_argument("--pm-files", type=int, default=16, help="files in the pretty_midi subset")
    ap.add_argument("--rep-files", type=int, default=50, help="files per corpus for the representation table")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="torch threads (prepare itself does not use torch)")
    ap.add_argument("--no-profile", action="store_true", help="skip the cProfile of prepare")
    ap.add_argument("--quick", action="store_true", help="60 files, 1 round, small subsets")
    ap.add_argument("--json", type=Path, help="save the results here")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(json.loads(args.child))
        return 0
    if args.quick:
        args.files, args.rounds, args.pm_files, args.rep_files = args.files or 60, 1, 6, 20
    import torch

    torch.set_num_threads(args.threads)
    maestro, pop = args.data / "maestro-v3.0.0", args.data / "pop909"
    if not (maestro / "maestro-v3.0.0.csv").is_file():
        print(f"skipped: MAESTRO not found at {maestro} (pass --data)")
        return 0
    root = str(maestro)
    files = [p.path for p in make_source("maestro", root, "train", args.files).pieces()]
    pm_sub = files[:: max(1, len(files) // args.pm_files)][: args.pm_files]
    mb = lambda ps: sum(os.path.getsize(p) for p in ps) / 1e6  # noqa: E731
    print(f"MAESTRO train: {len(files)} files, {mb(files):.1f} MB; pretty_midi subset {len(pm_sub)} files "
          f"({mb(pm_sub) / len(pm_sub) * 1e3:.0f} kB/file vs {mb(files) / len(files) * 1e3:.0f} kB/file overall); "
          f"{args.rounds} interleaved rounds, {args.threads} torch threads, {os.cpu_count()} cores")
    job = dict(kind="maestro", root=root, split="train", n=args.files, tokenizer="pitch")
    runs: dict[str, list] = {}
    for r in range(args.rounds):
        runs.setdefault("symusic", []).append(symusic_parse(files))
        for w in (1, 2):
            runs.setdefault(f"prepare w{w}", []).append(run_prepare(**job, workers=w, labels=False))
        runs.setdefault("pretty_midi subset", []).append(pretty_midi_notes(pm_sub))
        if r == 0:
            for w in (1, 2):
                runs[f"prepare w{w} labels"] = [run_prepare(**job, workers=w, labels=True)]
    sym = min(runs["symusic"])
    pm_full = min(runs["pretty_midi subset"]) / len(pm_sub) * len(files)
    res = {"files": len(files), "megabytes": round(mb(files), 2), "pretty_midi_subset": len(pm_sub), "variants": []}
    rows = [{"variant": "symusic Score(path)", "seconds": sym, "files/s": len(files) / sym, "x symusic": 1.0}]
    rows.append({"variant": f"pretty_midi (extrapolated from {len(pm_sub)} files)", "seconds": pm_full,
                 "files/s": len(files) / pm_full, "x symusic": pm_full / sym})
    for name in ("prepare w1", "prepare w2", "prepare w1 labels", "prepare w2 labels"):
        best = min(runs[name], key=lambda x: x["seconds"])
        s = best["seconds"]
        rows.append({"variant": name.replace("labels", "labels=True"), "seconds": s, "files/s": best["pieces"] / s,
                     "tokens/s": round(best["tokens"] / s), "x symusic": s / sym, "vs pretty_midi": pm_full / s,
                     "parent MB": best["parent_rss_mb"], "worker MB": best["worker_rss_mb"],
                     "PSS peak MB": best["tree_pss_mb"], "skipped": best["skipped"]})
    rows[1]["seconds_all_rounds"] = runs["pretty_midi subset"]
    print()
    table(rows, ["variant", "seconds", "files/s", "tokens/s", "x symusic", "vs pretty_midi", "parent MB", "worker MB",
                 "PSS peak MB", "skipped"])
    res["variants"] = rows

    print("\nall of MAESTRO (every split), labels=True, 2 workers: peak memory ...", flush=True)
    full = run_prepare(**{**job, "split": None, "n": 0}, workers=2, labels=True)
    print(f"  {full['pieces']} pieces in {full['seconds']:.1f} s; parent {full['parent_rss_mb']:.0f} MB, largest worker "
          f"{full['worker_rss_mb']:.0f} MB, parent + 2 x worker (upper bound) {full['rss_bound_mb']:.0f} MB, "
          f"sampled PSS peak of the tree {full['tree_pss_mb']:.0f} MB")
    res["all_maestro"] = full

    reps = []
    for corpus, path in (("maestro", maestro), ("pop909", pop)):
        if not path.is_dir():
            print(f"{corpus}: skipped (not found at {path})")
            continue
        for name in ("pitch", "remi", "performance"):
            split = "train" if corpus == "maestro" else None
            r = run_prepare(kind=corpus, root=str(path), split=split, n=args.rep_files, tokenizer=name,
                            workers=2, labels=False)
            reps.append({"corpus": corpus, "tokenizer": name, "files": r["pieces"], "skipped": r["skipped"],
                         "tokens": r["tokens"], "seconds": r["seconds"], "files/s": r["pieces"] / r["seconds"],
                         "tokens/s": round(r["tokens"] / r["seconds"])})
    print(f"\nprepare per representation ({args.rep_files} files per corpus, 2 workers, labels=False)")
    table(reps, ["corpus", "tokenizer", "files", "skipped", "tokens", "seconds", "files/s", "tokens/s"])
    res["representations"] = reps

    w1 = rows[2]["seconds"]
    targets = [("prepare (1 worker) >= 20x faster than pretty_midi", pm_full / w1, ">= 20", pm_full / w1 >= 20),
               ("peak memory, all of MAESTRO (PSS, MB)", full["tree_pss_mb"], "< 1024", full["tree_pss_mb"] < 1024),
               ("  same, RSS upper bound (MB)", full["rss_bound_mb"], "< 1024", full["rss_bound_mb"] < 1024),
               ("prepare (1 worker) / bare symusic parse", w1 / sym, "<= 1.5", w1 / sym <= 1.5),
               ("prepare (2 workers) / bare symusic parse", rows[3]["seconds"] / sym, "<= 1.5",
                rows[3]["seconds"] / sym <= 1.5)]
    report_targets(res, targets, width=48, digits=2)

    src = make_source("maestro", root, "train", args.files)
    st = stages(src.pieces(), src)
    print(f"\nwhere prepare's time goes (pitch, 1 process, {len(files)} files; best symusic parse = {sym:.2f} s)")
    table([{"stage": k, "seconds": v, "ms/file": v / len(files) * 1e3, "x symusic parse": v / sym} for k, v in st.items()],
          ["stage", "seconds", "ms/file", "x symusic parse"])
    per_file = sum(v for k, v in st.items() if not k.startswith("labels"))
    print(f"  prepare w1 measured {w1:.2f} s = per-file stages {per_file:.2f} s + listing, writing, manifest "
          f"{w1 - per_file:.2f} s")
    res["stages"] = {k: round(v, 4) for k, v in st.items()}
    if not args.no_profile:
        prof = profile_prepare(root, args.files or 200)
        print(f"\ncProfile of prepare (pitch, 1 worker, {args.files or 200} files), top by own time")
        table(prof, ["function", "calls", "tottime_s", "cumtime_s"])
        res["profile"] = prof
    save_json(res, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
