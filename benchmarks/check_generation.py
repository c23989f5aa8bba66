"""Listening-like checks of what ``tunegan generate`` gives, per style: tempo, metre, dynamics.

    python benchmarks/check_generation.py [--checkpoint default] [--samples 50] [--bars 16] [--data CACHE] [--json PATH]

For each genre keyword the model knows (and with no keyword), ``--samples`` pieces are made the
way the README's first command makes them, ``--seed-notes "C4 E4 G4" --style GENRE``, one seed
each (0, 1, 2, ...), through :func:`tunegan.api.generate`. Reported per style:

* tempo the piece plays at (median and range of its first tempo, BPM);
* metres: the share of pieces whose time signature changes inside the piece, and the opening metres;
* dynamics: the share with at least 4 distinct velocities (target: 90% for every style whose
  training data has dynamics), the median number of distinct velocities, and how often a note's
  velocity differs from the note before it (notes in order of onset, then pitch);
* harmony: the share of simultaneous note pairs a semitone apart.

With ``--data`` (a bar-based cache with genre labels), beside the dynamics: the share of the
style's real ``train`` pieces whose first ``--bars`` bars have at least 4 distinct velocities,
and the share of velocity changes there (the same counts on the music the model learned from).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from common import save_json  # benchmarks/ is on sys.path when a script runs


def velocity_changes(score) -> tuple[int, int]:
    """(notes whose velocity differs from the note before, pairs of consecutive notes), the notes
    in order of onset, then pitch."""
    from tunegan.music import extract_notes

    n = extract_notes(score)
    v = n["velocity"][np.lexsort((n["pitch"], n["start"]))]
    return int((v[1:] != v[:-1]).sum()), max(len(v) - 1, 0)


def check(checkpoint, style: str | None, samples: int, bars: int, seed_notes: str) -> dict:
    from tunegan import api
    from tunegan.evaluation.musical import semitone_clash_share
    from tunegan.music import extract_notes

    models = api.ModelCache("cpu")
    songs = api.generate(checkpoint=checkpoint, seed_notes=seed_notes, style=style, bars=bars, samples=samples,
                         seed=0, models=models, device="cpu")
    tempos = [sorted(s.score.tempos, key=lambda t: t.time)[0].qpm if len(s.score.tempos) else 120.0 for s in songs]
    metres = [[(t.numerator, t.denominator) for t in sorted(s.score.time_signatures, key=lambda t: t.time)] for s in songs]
    # the decoded tokens say what the model wrote (a held metre is also written into the file)
    tok = models.get(checkpoint).tokenizer
    changes = []
    for s in songs:
        names = [tok.describe(t) for t in s.tokens]
        ts = [n for n in names if n.startswith("TimeSig_")]
        changes.append(len(set(ts)) > 1)
    vel = [len(set(n.velocity for t in s.score.tracks for n in t.notes)) for s in songs]
    notes = [extract_notes(s.score) for s in songs]
    moves = np.array([velocity_changes(s.score) for s in songs]).sum(0)
    return {"style": style or "(none)", "samples": samples,
            "tempo_median": float(np.median(tempos)), "tempo_min": float(min(tempos)), "tempo_max": float(max(tempos)),
            "metre_change_share": float(np.mean(changes)),
            "opening_metres": dict(Counter(f"{m[0][0]}/{m[0][1]}" if m else "none" for m in metres).most_common(4)),
            "velocities_4plus_share": float(np.mean([v >= 4 for v in vel])), "velocities_median": float(np.median(vel)),
            "velocity_change_share": float(moves[0] / max(moves[1], 1)), "semitone_clash_share": semitone_clash_share(notes)}


def real_velocity_share(cache_path, bars: int) -> dict[str, tuple[float, float]]:
    """Per genre of a bar-based cache's train split: the share of pieces whose first ``bars``
    bars (tokens before the ``bars + 1``-th Bar token) have at least 4 distinct velocities, and
    the share of velocity changes between consecutive notes there (:func:`velocity_changes`)."""
    from tunegan.data.dataset import TokenCache
    from tunegan.evaluation.genre_classifier import piece_genres
    from tunegan.harmony import BAR, guard_tables

    cache = TokenCache(cache_path)
    tok, data = cache.tokenizer, cache.split("train")
    tables = guard_tables(tok)
    if tables is None:
        raise SystemExit(f"{cache_path}: '{tok.name}' tokens have no bars")
    genres, hits, moves = piece_genres(cache, "train"), {}, {}
    for i, g in enumerate(genres):
        if not g:
            continue
        tokens = data.piece(i)[1:]
        at = np.flatnonzero(tables.kind[tokens] == BAR)
        head = tokens[:at[bars]] if len(at) > bars else tokens
        score = tok.decode(head)
        hits.setdefault(g, []).append(len({n.velocity for t in score.tracks for n in t.notes}) >= 4)
        moves.setdefault(g, []).append(velocity_changes(score))
    return {g: (float(np.mean(v)), float(np.sum(moves[g], 0)[0] / max(np.sum(moves[g], 0)[1], 1)))
            for g, v in hits.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", default=None, help="checkpoint, run folder or shipped name (default: the shipped model)")
    ap.add_argument("--samples", type=int, default=50)
    ap.add_argument("--bars", type=int, default=16)
    ap.add_argument("--seed-notes", default="C4 E4 G4")
    ap.add_argument("--data", default=None, help="a bar-based cache: the same dynamics count on its train pieces")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    from tunegan import api

    rows = api.styles(args.checkpoint)
    genres = [r["keyword"] for r in rows if r["category"] == "genre"]
    out = [check(args.checkpoint, g, args.samples, args.bars, args.seed_notes) for g in [None, *genres]]
    real = real_velocity_share(args.data, args.bars) if args.data else {}
    for r in out:
        if r["style"] in real:
            r["real_velocities_4plus_share"], r["real_velocity_change_share"] = real[r["style"]]
    print(f"{args.samples} pieces of {args.bars} bars per style from --seed-notes \"{args.seed_notes}\", "
          f"checkpoint {args.checkpoint or 'default'}")
    head = ("style", "BPM median", "BPM range", "metre changes", "openings", ">=4 velocities", "velocity changes",
            "clashes") + (("real >=4 velocities", "real velocity changes") if real else ())
    print("  " + " | ".join(head))
    for r in out:
        print("  " + " | ".join([r["style"], f"{r['tempo_median']:.0f}", f"{r['tempo_min']:.0f}-{r['tempo_max']:.0f}",
                                 f"{100 * r['metre_change_share']:.0f}%", str(r["opening_metres"]),
                                 f"{100 * r['velocities_4plus_share']:.0f}%", f"{100 * r['velocity_change_share']:.1f}%",
                                 f"{100 * r['semitone_clash_share']:.1f}%"]
                                + ([f"{100 * r['real_velocities_4plus_share']:.0f}%", f"{100 * r['real_velocity_change_share']:.1f}%"]
                                   if "real_velocities_4plus_share" in r else ["-", "-"] if real else [])))
    save_json({"checkpoint": args.checkpoint or "default", "rows": out}, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
