"""How well does a network predict the openings of pieces? Every sample a user gets is an opening
(it starts from BOS), while training crops mostly start inside pieces.

    python benchmarks/check_opening_nll.py --data CACHE --checkpoints A B ... [--split validation] [--tokens 256]

For each checkpoint: the network's NLL (its own path, without keywords) of the first ``--tokens``
tokens after BOS of every piece of ``--split`` that is that long, per token and per note (the
total over those tokens / the notes they start, as ``tunegan evaluate`` compares tokenizers).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from common import save_json  # benchmarks/ is on sys.path when a script runs


def opening_nll(ckpt, split, tokens: int, batch: int = 64) -> dict:
    import torch

    rows = [np.asarray(split.tokens[int(a):int(a) + tokens + 1], np.int64)
            for a, b in zip(split.offsets[:-1], split.offsets[1:]) if int(b) - int(a) >= tokens + 1]
    if not rows:
        raise SystemExit(f"no piece of the split has {tokens + 1} tokens")
    x = torch.from_numpy(np.stack(rows))
    notes = ckpt.tokenizer.note_counts()
    total = 0.0
    g = ckpt.generator.eval()
    with torch.no_grad():
        for i in range(0, len(x), batch):
            xb = x[i:i + batch]
            logits, _ = g(xb[:, :-1])
            total += float(torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), xb[:, 1:].reshape(-1),
                                                             reduction="sum"))
    n_tok = int(x[:, 1:].numel())
    n_notes = int(notes[x[:, 1:].numpy()].sum())
    return {"pieces": len(rows), "tokens": n_tok, "notes": n_notes, "nll_per_token": total / n_tok,
            "nll_per_note": total / max(n_notes, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--checkpoints", nargs="+", default=["default"])
    ap.add_argument("--split", default="validation")
    ap.add_argument("--tokens", type=int, default=256)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    import torch

    from tunegan.checkpoint import load_checkpoint
    from tunegan.data.dataset import TokenCache

    torch.set_num_threads(args.threads)
    split = TokenCache(args.data).split(args.split)
    res = {"data": str(args.data), "split": args.split, "tokens": args.tokens, "checkpoints": {}}
    for name in args.checkpoints:
        ckpt = load_checkpoint(None if name == "default" else name, with_discriminator=False, device="cpu")
        r = opening_nll(ckpt, split, args.tokens)
        res["checkpoints"][name] = r
        print(f"{name}: {r['pieces']} openings, NLL {r['nll_per_token']:.4f} nats/token, {r['nll_per_note']:.3f} nats/note")
    save_json(res, args.json)


if __name__ == "__main__":
    main()
