"""Several critics judged on one held-out set: which separates real music from the generator's best?

    python benchmarks/check_critic_heldout.py --data CACHE --critics RUN [RUN ...] [--generator default]
        [--windows 512] [--seq-len 256] [--seed 0] [--json PATH]

A critic's held-out accuracy in its own log is measured against the samples of its own run (other
seeds, sometimes another generator), so two logs do not compare. Here every critic (the
discriminator of each ``--critics`` checkpoint) scores the same windows: ``--windows`` real
windows of ``--seq-len`` tokens from the opening of ``validation`` pieces, against as many fresh
samples of ``--generator`` made the way critic training makes them
(:func:`tunegan.training.critic.generated_windows`: half continue a real opening, half open as
the piece's genre opens, every one asking for that genre). Reported per critic: accuracy at 0.5,
ECE and Brier (:func:`tunegan.training.critic.calibration`), the AUC of its logit, and the
accuracy per genre.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from check_realism import auc  # P(second > first), ties half: Mann-Whitney
from common import save_json  # benchmarks/ is on sys.path when a script runs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, type=Path)
    ap.add_argument("--critics", required=True, nargs="+")
    ap.add_argument("--generator", default="default", help="whose samples the critics judge (default: the shipped model)")
    ap.add_argument("--windows", type=int, default=512)
    ap.add_argument("--seq-len", type=int, default=256)
    ap.add_argument("--primed-share", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", type=Path)
    a = ap.parse_args(argv)

    import torch

    from tunegan.checkpoint import load_checkpoint
    from tunegan.data.dataset import TokenCache
    from tunegan.training.critic import _pieces, _windows, calibration, generated_windows, load_critic, logits_of

    torch.set_num_threads(a.threads)
    model = load_checkpoint(a.generator, with_discriminator=False)
    cache = TokenCache(a.data)
    pieces, genres = _pieces(cache, "validation", a.seq_len)
    rng = np.random.default_rng([a.seed, 5])
    pick = rng.integers(0, len(pieces), a.windows)
    real = _windows([pieces[i] for i in pick], a.seq_len, np.random.default_rng([a.seed, 6]), model.tokenizer.bos_id)
    real_genre = [genres[i] for i in pick]
    fake = generated_windows(model, pieces, genres, a.windows, a.seq_len, a.primed_share, 10**7 + a.seed)
    # generated_windows draws its pieces with its own generator: the same draw gives each window's genre
    fake_pick = np.random.default_rng([10**7 + a.seed, 23]).integers(0, len(pieces), a.windows)
    fake_genre = [genres[i] for i in fake_pick]
    V = model.tokenizer.vocab_size
    rows = {}
    print(f"{a.windows} real validation windows against {a.windows} samples of {a.generator}, {a.seq_len} tokens")
    print("  critic | accuracy | ECE | Brier | AUC | " + " | ".join(sorted({g for g in genres if g})))
    for path in a.critics:
        critic, _ = load_critic(path)
        lr, lf = logits_of(critic, real, V), logits_of(critic, fake, V)
        p = 1 / (1 + np.exp(-np.concatenate([lr, lf])))
        cal = calibration(p, np.r_[np.ones(len(lr), bool), np.zeros(len(lf), bool)])
        by_genre = {}
        for g in sorted({g for g in genres if g}):
            ok = [lr[i] > 0 for i in range(len(lr)) if real_genre[i] == g] + \
                 [lf[i] <= 0 for i in range(len(lf)) if fake_genre[i] == g]
            by_genre[g] = float(np.mean(ok)) if ok else float("nan")
        rows[path] = {**cal, "auc": auc(lf, lr), "by_genre": by_genre,
                      "pooling": critic.config.pooling, "layers": critic.config.num_layers}
        print(f"  {path} | {cal['accuracy']:.3f} | {cal['ece']:.3f} | {cal['brier']:.3f} | {rows[path]['auc']:.3f} | "
              + " | ".join(f"{v:.3f}" for v in by_genre.values()))
    if a.json:
        save_json({"generator": a.generator, "data": str(a.data), "windows": a.windows, "seq_len": a.seq_len,
                   "seed": a.seed, "critics": rows}, a.json)
        print(f"saved {a.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
