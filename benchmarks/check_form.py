"""Listening-like checks of form: repetition, endings and loop seams, generated vs real, per genre.

    python benchmarks/check_form.py --data CACHE [--checkpoint default] [--samples 30] [--bars 32] [--json PATH]

``CACHE`` is a prepared cache with genre labels (e.g. ``cache/mix4-remi``: POP909, Nottingham,
JSB, ASAP); its **test** split gives the real pieces. For each genre the model knows and the
cache holds, ``--samples`` pieces are made through :func:`tunegan.api.generate` (seeds 0, 1, ...,
the style's own opening, no starting notes), three ways:

* **form off**: ``--bars`` bars, ``ending="none"`` (the behaviour before forms);
* **form on**: ``--bars`` bars in that genre's form (:data:`FORMS`), the default cadence, at
  ``--variation`` (0 = exact returns);
* **loop**: ``--loop-bars`` bars with ``loop=True``.

Reported per genre, each as mean and the 10th-90th percentile range over pieces:

* **self-similarity**: share of bars repeating an earlier bar exactly or nearly
  (:func:`tunegan.music.form.self_similarity`), over the first ``--bars`` bars; real pieces too;
* **ends on the tonic**: the final chord's lowest note is the tonic of the key found in the piece
  (real: whole test pieces);
* **seam** (loops; form off and real pieces cut to ``--loop-bars`` bars treated the same way):
  melodic interval and onset gap from the last bar back into the first, and the share of the
  piece's own bar-to-bar steps at least as large (``rank``: 1 = smaller than all, 0 = larger);
* **two-sample accuracy** of form off and form on against the first ``--bars`` bars of the real
  test pieces (the evaluation's classifier, :func:`tunegan.evaluation.suite.two_sample`).
* **loop audio** (``--audio N``: the first N loops of each genre rendered to WAV with fluidsynth,
  the soundfont found as ``tunegan render`` finds it): at the wrap point (last sample -> first),
  the jump between the two samples against the 99th percentile of sample-to-sample steps inside,
  and the loudness (RMS) of the 50 ms either side of the seam against the same at the inner bar lines.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from common import save_json  # benchmarks/ is on sys.path when a script runs

FORMS = {"folk": "AABB", "pop": "ABAB", "classical": "AABA", "chorale": "AABA"}


def _spread(values) -> dict:
    v = np.asarray([x for x in values if x == x], dtype=float)  # NaNs left out
    if not len(v):
        return {"mean": float("nan"), "p10": float("nan"), "p90": float("nan"), "n": 0}
    return {"mean": float(v.mean()), "p10": float(np.percentile(v, 10)), "p90": float(np.percentile(v, 90)),
            "n": int(len(v))}


def _first_bars(score, bars: int):
    from tunegan.music import bar_grid

    grid = bar_grid(score, int(score.end()) + 1)
    return score.clip(0, int(grid.bars[bars]), clip_end=True) if bars < len(grid.bars) else score


def measure(scores, bars: int, loop_bars: int | None = None) -> dict:
    from tunegan.music.form import bar_sets, ends_on_tonic, seam, self_similarity

    out = {"self_similarity": _spread(self_similarity(bar_sets(_first_bars(s, bars), bars)) for s in scores),
           "ends_on_tonic": float(np.mean([ends_on_tonic(s) for s in scores])) if scores else float("nan")}
    if loop_bars:
        seams = [seam(_first_bars(s, loop_bars), loop_bars) for s in scores]
        out["seam"] = {k: _spread(getattr(m, k) for m in seams)
                       for k in ("interval", "inner_interval", "gap", "inner_gap", "interval_rank", "gap_rank")}
    return out


def loop_audio(scores, n: int, tmp: Path) -> dict:
    """The seam of rendered loops, as heard: a click (a jump at the wrap point) and a change in loudness."""
    from tunegan import api
    from tunegan.music import bar_grid, ticks_to_seconds
    from tunegan.outputs.audio import read_wav

    jumps, seam_db, inner_db = [], [], []
    for i, s in enumerate(scores[:n]):
        path = tmp / f"loop-{i}.wav"
        api.render(s, wav=path, engine="fluidsynth")
        audio, sr = read_wav(path)
        mono = audio.mean(axis=1) if audio.ndim == 2 else audio
        steps = np.abs(np.diff(mono))
        jumps.append(float(abs(mono[0] - mono[-1]) / max(np.percentile(steps, 99), 1e-9)))
        w = int(0.05 * sr)
        rms = lambda a: 20 * np.log10(max(float(np.sqrt(np.mean(a ** 2))), 1e-6))  # noqa: E731
        seam_db.append(rms(mono[:w]) - rms(mono[-w:]))
        grid = bar_grid(s, int(s.end()))
        at = (ticks_to_seconds(s, grid.bars[1:]) * sr).astype(int)
        inner_db += [rms(mono[a:a + w]) - rms(mono[a - w:a]) for a in at if w <= a < len(mono) - w]
    return {"loops": len(jumps), "wrap_jump_over_p99_step": _spread(jumps),
            "seam_loudness_change_db": _spread(np.abs(seam_db)), "inner_bar_loudness_change_db": _spread(np.abs(inner_db))}


def check(checkpoint, cache, genre: str, samples: int, bars: int, loop_bars: int, variation: float,
          audio: int = 0, split: str = "test") -> dict:
    from tunegan import api
    from tunegan.evaluation.suite import two_sample
    from tunegan.music import extract_notes

    models = api.ModelCache("cpu")
    tok = cache.tokenizer
    test = cache.split(split)
    real = [tok.decode(test.piece(i)) for i, lab in enumerate(cache.piece_labels(split)) if (lab or {}).get("genre") == genre]
    common = dict(checkpoint=checkpoint, style=genre, samples=samples, seed=0, models=models, device="cpu")
    t = time.perf_counter()
    off = [g.score for g in api.generate(bars=bars, ending="none", **common)]
    on = [g.score for g in api.generate(form=FORMS[genre], phrase_bars=bars // len(FORMS[genre]), variation=variation,
                                        **common)]
    loops = [g.score for g in api.generate(bars=loop_bars, loop=True, **common)]
    seconds = time.perf_counter() - t
    real_first = [extract_notes(_first_bars(s, bars)) for s in real]
    row = {"genre": genre, "form": FORMS[genre], "real_pieces": len(real), "samples": samples,
           "generate_seconds": round(seconds, 1),
           "real": measure(real, bars, loop_bars) | {"ends_on_tonic_whole": measure(real, bars)["ends_on_tonic"]},
           "form_off": measure(off, bars, loop_bars), "form_on": measure(on, bars), "loop": measure(loops, bars, loop_bars)}
    for name, scores in (("form_off", off), ("form_on", on)):
        gen = [extract_notes(s) for s in scores]
        folds = min(5, len(real_first), len(gen))
        ts = two_sample(real_first, gen, folds=folds, seed=0)
        row[name]["two_sample"] = {k: ts[k] for k in ("accuracy", "ci_low", "ci_high", "n")}
    if audio:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            row["loop_audio"] = loop_audio(loops, audio, Path(tmp))
    return row


def _fmt(d: dict) -> str:
    return f"{100 * d['mean']:.0f}% ({100 * d['p10']:.0f}-{100 * d['p90']:.0f})"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, type=Path, help="prepared cache with genre labels (its test split)")
    ap.add_argument("--checkpoint", default=None)
    ap.add_argument("--samples", type=int, default=30)
    ap.add_argument("--bars", type=int, default=32)
    ap.add_argument("--loop-bars", type=int, default=8)
    ap.add_argument("--variation", type=float, default=0.0)
    ap.add_argument("--genres", default=None, help="comma-separated (default: every genre of the model in the cache)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--audio", type=int, default=0, help="render this many loops per genre and measure the seam")
    ap.add_argument("--split", default="test", help="where the real pieces come from (choose settings on validation)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    from tunegan import api
    from tunegan.data.dataset import TokenCache

    cache = TokenCache(args.data)
    have = {(lab or {}).get("genre") for lab in cache.piece_labels(args.split)}
    genres = args.genres.split(",") if args.genres else [r["keyword"] for r in api.styles(args.checkpoint)
                                                         if r["category"] == "genre" and r["keyword"] in have]
    rows = []
    for g in genres:
        if g not in FORMS:
            print(f"skipping {g}: no form chosen for it in FORMS", file=sys.stderr)
            continue
        rows.append(check(args.checkpoint, cache, g, args.samples, args.bars, args.loop_bars, args.variation,
                          args.audio, args.split))
        r = rows[-1]
        print(f"{g} ({r['real_pieces']} real {args.split} pieces, {args.samples} samples each, form {r['form']}, "
              f"{r['generate_seconds']} s)")
        print(f"  self-similarity over {args.bars} bars: real {_fmt(r['real']['self_similarity'])}, form off "
              f"{_fmt(r['form_off']['self_similarity'])}, form on {_fmt(r['form_on']['self_similarity'])}")
        print(f"  ends on the tonic: real {100 * r['real']['ends_on_tonic']:.0f}%, form off "
              f"{100 * r['form_off']['ends_on_tonic']:.0f}%, form on (cadence) {100 * r['form_on']['ends_on_tonic']:.0f}%")
        for name in ("real", "form_off", "loop"):
            s = r[name]["seam"]
            print(f"  seam over {args.loop_bars} bars, {name}: interval {s['interval']['mean']:.1f} st (inner median "
                  f"{s['inner_interval']['mean']:.1f}), rank {s['interval_rank']['mean']:.2f}; gap "
                  f"{s['gap']['mean']:.2f} q (inner {s['inner_gap']['mean']:.2f}), rank {s['gap_rank']['mean']:.2f}")
        print(f"  two-sample accuracy vs real: form off {100 * r['form_off']['two_sample']['accuracy']:.0f}%, "
              f"form on {100 * r['form_on']['two_sample']['accuracy']:.0f}%")
        if "loop_audio" in r:
            a = r["loop_audio"]
            print(f"  loop audio ({a['loops']} WAVs): jump at the wrap {a['wrap_jump_over_p99_step']['mean']:.2f}x the 99th "
                  f"percentile step; loudness change at the seam {a['seam_loudness_change_db']['mean']:.1f} dB, at inner "
                  f"bar lines {a['inner_bar_loudness_change_db']['mean']:.1f} dB")
    save_json({"checkpoint": args.checkpoint or "default", "data": str(args.data), "split": args.split, "bars": args.bars,
               "loop_bars": args.loop_bars, "variation": args.variation, "rows": rows}, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
