"""How fast is audio rendering? FluidSynth (small TimGM6mb soundfont) against the numpy synthesizer.

    python benchmarks/bench_render.py [--seconds 30] [--repeats 5]

Builds about 30 s of generated-looking music in code (a random melody in eighths and quarters
over one three-note chord per bar, 120 bpm), renders it with each engine several times and
prints the best and median wall time. Targets: 30 s of audio in under 1 s, and the numpy
synthesizer no slower than 2x FluidSynth.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import time
from pathlib import Path

import numpy as np
import symusic

from tunegan.outputs.audio import render_audio

SMALL_SOUNDFONT = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--repeats", type=int, default=5)
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
    if "fluidsynth" in results:
        ratio = min(results["numpy"]) / min(results["fluidsynth"])
        print(f"numpy / fluidsynth (best): {ratio:.2f}x  (target <= 2x)")
    ok = all(min(t) < 1.0 for t in results.values())
    print(f"30 s of audio under 1 s: {'yes' if ok else 'no'}")


if __name__ == "__main__":
    main()
