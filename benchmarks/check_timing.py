"""Where a style's timing differs from its music: note density and tempo changes, samples against data.

    python benchmarks/check_timing.py --data CACHE [--genres classical pop] [--samples 100] [--json PATH]

Per genre (``--length`` 512-token pieces):

* onsets per quarter note (distinct onset times over the span in quarters; medians) of real crops
  of the train split and of ``--split`` (the crops style-eval draws), of samples made the way
  ``tunegan generate`` makes them, and of the network alone (``harmony`` and ``repeats`` off);
* the same for continuations: each ``--split`` piece primed with its first ``--prime`` tokens,
  the network's continuation (3 draws, shipped path) against the piece's real continuation;
* tempo: the share of pieces whose tempo changes within ``--length`` tokens (train openings
  against samples), the share opening under 60 BPM, and the mean share of a train piece's bars
  that play at another tempo than the piece's most common one.
"""

from __future__ import annotations

import argparse
import zlib
from pathlib import Path

import numpy as np

from common import save_json  # benchmarks/ is on sys.path when a script runs


def onsets_per_quarter(score) -> float:
    on = np.unique(np.concatenate([np.asarray([n.time for n in t.notes]) for t in score.tracks if len(t.notes)]
                                  or [np.zeros(0)]))
    return len(on) / ((on[-1] - on[0]) / score.ticks_per_quarter) if len(on) > 1 and on[-1] > on[0] else float("nan")


def median_density(scores) -> float:
    return float(np.nanmedian([onsets_per_quarter(s) for s in scores]))


def tempo_facts(tokens: np.ndarray, tempo: dict, is_bar) -> tuple[list[float], float]:
    """The tempos ``tokens`` set, in order, and the share of bars at another tempo than the most common."""
    seq, cur, per_bar = [], None, []
    bars = is_bar(tokens)
    for t, b in zip(np.asarray(tokens).tolist(), bars):
        if t in tempo:
            cur = tempo[t]
            seq.append(cur)
        if b:
            per_bar.append(cur)
    per_bar = [x for x in per_bar[1:] + [cur] if x is not None]
    off = 1.0 - max(per_bar.count(x) for x in set(per_bar)) / len(per_bar) if per_bar else 0.0
    return seq, off


def changes(seq: list[float]) -> bool:
    return any(a != b for a, b in zip(seq, seq[1:]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="prepared bar-based cache with genre labels")
    ap.add_argument("--checkpoint", default=None, help="run folder or checkpoint (default: the shipped model)")
    ap.add_argument("--genres", nargs="*", default=["classical", "pop"])
    ap.add_argument("--samples", type=int, default=100)
    ap.add_argument("--length", type=int, default=512)
    ap.add_argument("--prime", type=int, default=256)
    ap.add_argument("--split", default="validation")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    import torch

    from tunegan.checkpoint import load_checkpoint
    from tunegan.data.dataset import TokenCache
    from tunegan.evaluation.genre_classifier import _tempo_table, crop_starts, decode_crop, piece_genres
    from tunegan.generation import GenerationOptions, sample_pieces, sample_tokens

    torch.set_num_threads(args.threads)
    ckpt = load_checkpoint(args.checkpoint, with_discriminator=False, device="cpu")
    cache = TokenCache(args.data)
    tok, L = cache.tokenizer, args.length
    tempos = _tempo_table(tok)
    res = {"checkpoint": str(ckpt.path), "data": str(args.data), "split": args.split, "samples": args.samples,
           "length": L, "genres": {}}

    def real_crops(split: str, g: str) -> list:
        data, gof = cache.split(split), piece_genres(cache, split)
        rng = np.random.default_rng([args.seed, zlib.crc32(split.encode())])
        return [decode_crop(tok, np.asarray(data.tokens[s:s + L], np.int64),
                            np.asarray(data.tokens[int(data.offsets[k]):s], np.int64), tempos)
                for k, s in crop_starts(data, np.flatnonzero(gof == g), args.samples, L, tokenizer=tok, rng=rng)]

    seeds = [args.seed + i for i in range(args.samples)]
    for g in args.genres:
        r: dict = {}
        r["onsets_per_quarter"] = {"train crops": median_density(real_crops("train", g)),
                                   f"{args.split} crops": median_density(real_crops(args.split, g))}
        made = {}
        for name, kw in (("samples", {}), ("network alone", {"harmony": False, "repeats": False})):
            made[name] = sample_pieces(ckpt, GenerationOptions(length=L, style=(g,), **kw), seeds)
            pieces = [tok.decode(np.concatenate([p[1:], n])) for p, n, _ in made[name]]
            r["onsets_per_quarter"][name] = median_density(pieces)

        data, gof = cache.split(args.split), piece_genres(cache, args.split)
        rows = [np.asarray(data.tokens[int(data.offsets[k]):int(data.offsets[k + 1])], np.int64)
                for k in np.flatnonzero(gof == g) if int(data.offsets[k + 1] - data.offsets[k]) >= args.prime + L + 1]
        if rows:
            primes = np.stack([x[:args.prime + 1] for x in rows])
            cont = [n for rep in range(3) for n in
                    sample_tokens(ckpt, primes, GenerationOptions(length=L, style=(g,)), args.seed + 1000 * rep)]
            r["continuation"] = {"pieces": len(rows),
                                 "real": median_density([tok.decode(x[args.prime + 1:args.prime + 1 + L]) for x in rows]),
                                 "samples": median_density([tok.decode(n) for n in cont])}

        train, tg = cache.split("train"), piece_genres(cache, "train")
        facts = [tempo_facts(np.asarray(train.piece(k)), tempos, tok.is_bar) for k in np.flatnonzero(tg == g)]
        opening = [tempo_facts(np.asarray(train.piece(k))[:L + 1], tempos, tok.is_bar)[0] for k in np.flatnonzero(tg == g)]
        sampled = [tempo_facts(np.concatenate([p[1:], n]), tempos, tok.is_bar)[0] for p, n, _ in made["samples"]]
        r["tempo"] = {"train openings changing tempo": float(np.mean([changes(s) for s in opening])),
                      "samples changing tempo": float(np.mean([changes(s) for s in sampled])),
                      "train openings under 60 bpm": float(np.mean([bool(s) and s[0] < 60 for s in opening])),
                      "samples under 60 bpm": float(np.mean([bool(s) and s[0] < 60 for s in sampled])),
                      "train bars off their piece's tempo": float(np.mean([off for _, off in facts]))}
        res["genres"][g] = r
        print(f"\n{g}")
        print("  onsets per quarter (median): " + ", ".join(f"{k} {v:.2f}" for k, v in r["onsets_per_quarter"].items()))
        if "continuation" in r:
            c = r["continuation"]
            print(f"  continuations of {c['pieces']} {args.split} pieces after {args.prime} tokens: "
                  f"real {c['real']:.2f}, samples {c['samples']:.2f}")
        print("  tempo: " + ", ".join(f"{k} {v:.1%}" for k, v in r["tempo"].items()))
    save_json(res, args.json)


if __name__ == "__main__":
    main()
