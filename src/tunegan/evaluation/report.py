"""``tunegan evaluate``: one checkpoint on one data set, as a JSON-able dict.

The data may be a MAESTRO copy, any folder of MIDI, or a cache from ``tunegan prepare``; raw
folders are tokenized with the checkpoint's own tokenizer into a cache under
``$TUNEGAN_CACHE`` (default ``~/.cache/tunegan``), reused on later runs.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

from ..checkpoint import Checkpoint, load_checkpoint
from ..data.dataset import TokenCache
from ..data.prepare import MANIFEST, prepare
from ..data.sources import open_source
from ..errors import DataError, TokenizerMismatchError

PAPER_CLAIM = {
    "value": 0.9182,
    "text": "91.82% precision after 50 epochs (paper; metric not defined)",
    "our_reading": "The paper does not define it. The nearest quantities we can measure are the "
                   "discriminator's precision for the 'real' class on real vs generated sequences, and the "
                   "generator's next-token top-1 accuracy; both are reported here.",
}


def cache_root() -> Path:
    return Path(os.environ.get("TUNEGAN_CACHE", Path.home() / ".cache" / "tunegan"))


def open_data(data: str | os.PathLike, ckpt: Checkpoint, *, cache_dir: str | os.PathLike | None = None,
              workers: int | None = None) -> TokenCache:
    """A token cache for ``data`` in the checkpoint's representation (built if needed)."""
    p = Path(str(data).split(":", 1)[-1]) if ":" in str(data) and not Path(str(data)).exists() else Path(data)
    if (p / MANIFEST).exists():
        cache = TokenCache(p)
        if cache.tokenizer.state() != ckpt.tokenizer.state():
            raise TokenizerMismatchError(
                f"{p} was tokenized with '{cache.tokenizer.name}' {cache.tokenizer.config}, but the checkpoint "
                f"uses '{ckpt.tokenizer.name}' {ckpt.tokenizer.config}; evaluate on the MIDI folder instead "
                f"and it will be re-tokenized")
        return cache
    source = open_source(str(data))
    if cache_dir is None:
        key = hashlib.sha1(f"{source.spec()}|{ckpt.tokenizer.fingerprint()}".encode()).hexdigest()[:16]
        cache_dir = cache_root() / "caches" / key
    prepare([source], ckpt.tokenizer, cache_dir, workers=workers, labels=False)
    return TokenCache(cache_dir)


def evaluate(checkpoint: str | os.PathLike | None, data: str | os.PathLike, *, split: str = "test",
             cache_dir: str | os.PathLike | None = None, max_windows: int | None = None, n_disc: int = 128,
             seed: int = 0) -> dict:
    """Next-token NLL/perplexity/top-1/top-5 of the generator beside baselines fitted on the data's
    train split, plus the discriminator's accuracy on real vs generated sequences."""
    from .likelihood import discriminator_accuracy, likelihood_table

    t0 = time.perf_counter()
    ckpt = load_checkpoint(checkpoint)
    cache = open_data(data, ckpt, cache_dir=cache_dir)
    test = cache.split(split)
    if test.n_tokens < 3:
        raise DataError(f"{data}: the '{split}' split has no usable music")
    train = cache.split("train")
    if train.n_tokens < 3:
        raise DataError(f"{data}: the train split is empty, so the baselines cannot be fitted")
    valid = cache.split("validation") if split != "validation" else None
    seq_len = int((ckpt.meta.get("train_config") or {}).get("seq_len", 64))
    table = likelihood_table(ckpt, train, valid, test, seq_len, max_windows=max_windows)
    disc = discriminator_accuracy(ckpt, test, seq_len, n=n_disc, seed=seed)
    return {
        "checkpoint": str(ckpt.path), "tokenizer": ckpt.tokenizer.state(), "data": str(data), "split": split,
        "seq_len": seq_len, "pieces": len(test), "tokens": test.n_tokens,
        "mode": (ckpt.meta.get("train_config") or {}).get("mode"), "step": ckpt.meta.get("step"),
        "likelihood": table, "discriminator": disc, "paper_claim": PAPER_CLAIM,
        "seconds": round(time.perf_counter() - t0, 2),
    }


def format_markdown(rep: dict) -> str:
    """A Markdown table of a report from :func:`evaluate`."""
    lines = [f"# Evaluation of `{rep['checkpoint']}`", "",
             f"Data: `{rep['data']}` split `{rep['split']}`: {rep['pieces']} pieces, {rep['tokens']} tokens; "
             f"representation `{rep['tokenizer']['name']}`, windows of {rep['seq_len']}.", "",
             "| model | NLL (nats/token) | perplexity | top-1 | top-5 |", "|---|---|---|---|---|"]
    for name, m in rep["likelihood"].items():
        lines.append(f"| {name} | {m['nll']:.3f} | {m['perplexity']:.2f} | {m['top1']:.1%} | {m['top5']:.1%} |")
    d = rep.get("discriminator") or {}
    if d:
        lines += ["", f"Discriminator on {d['n_real']} real vs {d['n_fake']} generated sequences: accuracy "
                      f"{d['accuracy']:.1%}, precision (real) {d['precision_real']:.1%}, recall (real) {d['recall_real']:.1%}."]
    lines += ["", f"Paper's claim: {rep['paper_claim']['text']}. {rep['paper_claim']['our_reading']}"]
    return "\n".join(lines) + "\n"
