"""How fast, and how lean, is rendering? FluidSynth against the numpy synthesizer, and long pieces.

    python benchmarks/bench_render.py [--seconds 30] [--repeats 5]
    python benchmarks/bench_render.py --long /path/to/maestro-v3.0.0 [--json out.json]

1. Builds about 30 s of generated-looking music in code (a random melody in eighths and quarters
   over one three-note chord per bar, 120 bpm), renders it with each engine several times and
   prints the best and median wall time. Targets: 30 s of audio in under 1 s, and the numpy
   synthesizer no slower than 2x FluidSynth.
2. With ``--long`` (a MAESTRO folder, or one MIDI file): the longest piece (by the CSV's
   ``duration`` column) goes through ``render(wav=..., png=...)`` in a fresh process per case
   (each engine, the whole piece and the default 20-minute limit), which reports its wall time and
   peak resident memory (its own and its children's, i.e. fluidsynth's). Targets for the whole
   ~40-minute piece: under 60 s and under 1000 MB (the sum of both peaks, an upper bound).
   Nothing is kept: outputs go to a temporary folder.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import symusic

from tunegan.outputs.audio import render_audio

sys.path.insert(0, str(Path(__file__).parent))
from common import report_targets, save_json  # noqa: E402

SMALL_SOUNDFONT = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")
CHILD = """
import json, resource, sys, time
from tunegan.outputs.render import render
t0 = time.perf_counter()
report = render(sys.argv[1], wav=sys.argv[2] + "/a.wav", png=sys.argv[2] + "/a.png", engine=sys.argv[3],
                max_minutes=float(sys.argv[4]))
seconds = time.perf_counter() - t0
audio_s = (report.written[0].stat().st_size - 44) / 44100 / (4 if sys.argv[3] != "numpy" else 2)
print(json.dumps({"seconds": seconds, "audio_minutes": audio_s / 60, "warnings": report.warnings,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "children_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def make_score(seconds: float, seed: int = 0, bpm: float = 120.0) -> symusic.Score:
    """A piano Score of ``seconds`` length: random C-major melody (C4..C6) and a chord per 4/4 bar."""
    rng = np.random.default_rng(seed)
    tpq = 480
    score = symusic.Score(tpq)
    score.tempos.append(symusic.Tempo(0, bpm))
    score.time_signatures.append(symusic.TimeSignature(0, 4, 4))
    track = symusic.Track("piano", 0, False)
    end = int(seconds * bpm / 60 * tpq)
    scale = [p for p in range(60, 85) if p % 12 in (0, 2, 4, 5, 7, 9, 11)]
    tick, i = 0, 7
    while tick < end:
        dur = int(rng.choice([240, 240, 480, 720]))
        i = int(np.clip(i + rng.integers(-2, 3), 0, len(scale) - 1))
        track.notes.append(symusic.Note(tick, int(dur * 0.9), scale[i], int(rng.integers(60, 110))))
        tick += dur
    for bar, root in zip(range(0, end, 4 * tpq), [48, 53, 55, 48] * 1000):
        for p in (root, root + 4, root + 7):
            track.notes.append(symusic.Note(bar, 4 * tpq - 40, p, 64))
    score.tracks.append(track)
    return score


def time_engine(score: symusic.Score, engine: str, repeats: int, **kw) -> list[float]:
    """Wall-clock seconds of each of ``repeats`` renders."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        render_audio(score, engine=engine, **kw)
        times.append(time.perf_counter() - t0)
    return times


def longest_piece(where: Path) -> tuple[Path, float]:
    """``(MIDI path, minutes)`` of the longest piece in a MAESTRO folder (its CSV), or ``where`` itself."""
    if where.is_file():
        return where, symusic.Score(str(where)).to("second").end() / 60
    rows = list(csv.DictReader(open(next(where.glob("maestro-v*.csv")))))
    row = max(rows, key=lambda r: float(r["duration"]))
    return where / row["midi_filename"], float(row["duration"]) / 60


def render_in_child(midi: Path, engine: str, max_minutes: float) -> dict:
    """Run :func:`render` in a fresh interpreter; its JSON line (seconds, peak MB, warnings)."""
    with tempfile.TemporaryDirectory(prefix="bench-render-") as tmp:
        run = subprocess.run([sys.executable, "-c", CHILD, str(midi), tmp, engine, str(max_minutes)],
                             capture_output=True, text=True, check=True)
    return json.loads(run.stdout.strip().splitlines()[-1])


def bench_long(where: Path) -> tuple[dict, list]:
    """Each engine on the whole piece and at the default limit; results and target rows."""
    midi, minutes = longest_piece(where)
    print(f"\nlong piece: {midi.name} ({minutes:.1f} min)")
    engines = ["fluidsynth", "numpy"] if shutil.which("fluidsynth") else ["numpy"]
    res, checks = {"piece": midi.name, "minutes": round(minutes, 2)}, []
    for engine in engines:
        for limit, label in ((minutes + 5, "whole"), (20.0, "20-min limit")):
            r = render_in_child(midi, engine, limit)
            total = r["peak_mb"] + r["children_peak_mb"]
            print(f"  {engine:>10} {label:<13} {r['audio_minutes']:5.1f} min of audio in {r['seconds']:5.1f} s,"
                  f" peak {r['peak_mb']:.0f} MB (+ {r['children_peak_mb']:.0f} MB fluidsynth)")
            for w in r["warnings"]:
                print(f"             warning: {w}")
            res[f"{engine} {label}"] = r
            if label == "whole":
                checks += [(f"{engine} whole piece: seconds", r["seconds"], "< 60", r["seconds"] < 60),
                           (f"{engine} whole piece: peak MB", total, "< 1000", total < 1000)]
    return res, checks


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--long", type=Path, default=None, help="MAESTRO folder (with its CSV) or one long MIDI file")
    ap.add_argument("--json", type=Path, default=None, help="also save the figures here")
    args = ap.parse_args()
    score = make_score(args.seconds)
    print(f"music: {args.seconds:g} s, {score.note_num()} notes, 44.1 kHz, {args.repeats} repeats")
    results = {}
    if shutil.which("fluidsynth") and SMALL_SOUNDFONT.is_file():
        results["fluidsynth"] = time_engine(score, "fluidsynth", args.repeats, soundfont=SMALL_SOUNDFONT)
    else:
        print("fluidsynth: skipped (fluidsynth program or TimGM6mb.sf2 not installed)")
    results["numpy"] = time_engine(score, "numpy", args.repeats)
    for engine, times in results.items():
        print(f"{engine:>10}: best {min(times):.3f} s, median {statistics.median(times):.3f} s")
    res = {"short": {e: {"best_s": min(t), "median_s": statistics.median(t)} for e, t in results.items()}}
    checks = [(f"{e}: {args.seconds:g} s of audio, best s", min(t), "< 1", min(t) < 1.0) for e, t in results.items()]
    if "fluidsynth" in results:
        ratio = min(results["numpy"]) / min(results["fluidsynth"])
        checks.append(("numpy / fluidsynth (best)", ratio, "<= 2", ratio <= 2))
    if args.long is not None:
        res["long"], more = bench_long(args.long)
        checks += more
    report_targets(res, checks)
    save_json(res, args.json)


if __name__ == "__main__":
    main()
