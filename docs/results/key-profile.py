"""Scale-degree profile (pitch classes relative to the key found by Krumhansl-Schmuckler) of a
style's train pieces (first 600 tokens) against 120 samples of the shipped model, in major and
minor: as shipped, without the harmony guard, and without the guard and the mode rule.

    python main/docs/results/key-profile.py chorale jsb      # run from /work
"""
import sys

import numpy as np
import torch

from tunegan.checkpoint import load_checkpoint
from tunegan.data.dataset import TokenCache
from tunegan.data.labels import mode_and_key
from tunegan.generation import GenerationOptions, sample_pieces
from tunegan.harmony.fit import _with_harmony

torch.set_num_threads(1)
style, corpus = sys.argv[1], sys.argv[2]
ck = load_checkpoint("default")
tok = ck.tokenizer
tp = tok.token_pitches()
names = "1 b2 2 b3 3 4 #4 5 b6 6 b7 7".split()


def prof(toks):
    k = mode_and_key(tok.decode(np.asarray(toks, np.int64)))
    p = tp[toks]
    p = p[p >= 0]
    return k.mode, np.bincount((p - k.tonic) % 12, minlength=12)


def show(label, counts):
    print(label)
    for m in ("major", "minor"):
        c = counts[m] / max(counts[m].sum(), 1)
        print(f"  {m} ({int(counts[m].sum())} notes)  " + "  ".join(f"{n}:{x:.3f}" for n, x in zip(names, c)))


c = TokenCache("cache/mix4-remi-dd")
sd, labs = c.split("train"), c.piece_labels("train")
real = {"major": np.zeros(12), "minor": np.zeros(12)}
for i, lab in enumerate(labs):
    if lab["corpus"] == corpus:
        m, h = prof(sd.piece(i)[:600])
        real[m] += h
show(f"{corpus} train", real)
for label, model in [("shipped", ck), ("no guard", _with_harmony(ck, None, modes=True)),
                     ("no guard, no mode rule", _with_harmony(ck, None, modes=False))]:
    made = {"major": np.zeros(12), "minor": np.zeros(12)}
    for prime, new, _ in sample_pieces(model, GenerationOptions(length=512, style=(style,)),
                                       [600000 + i for i in range(120)]):
        m, h = prof(np.concatenate([prime[1:], new]))
        made[m] += h
    show(label, made)
