"""The data an evaluation reads: a prepared cache, or MIDI tokenized now with the checkpoint's tokenizer.

Raw folders are tokenized into a cache under ``$TUNEGAN_CACHE`` (default ``~/.cache/tunegan``),
reused on later runs. :func:`all_pieces` joins a cache's three splits into one (``--split all``:
a folder of held-out files scored whole, whatever the hash split says), and :class:`EvalData` is
what the sample suite reads when the pieces scored and the training reference (for baselines and
novelty) come from different places (``--baselines-from``).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ..checkpoint import Checkpoint
import numpy as np

from ..data.dataset import SplitData, TokenCache
from ..data.prepare import MANIFEST, TOKEN_DTYPE, prepare
from ..data.sources import SPLITS
from ..data.registry import open_source
from ..errors import DataError, TokenizerMismatchError

ALL = "all"  # the split name that means every piece of the data


def cache_root() -> Path:
    return Path(os.environ.get("TUNEGAN_CACHE", Path.home() / ".cache" / "tunegan"))


def open_data(data: str | os.PathLike, ckpt: Checkpoint, *, cache_dir: str | os.PathLike | None = None,
              workers: int | None = None) -> TokenCache:
    """A token cache for ``data`` in the checkpoint's representation (built if needed).

    Raises :class:`DataError` for a missing or empty folder, or one where no MIDI file could be
    read, and :class:`TokenizerMismatchError` for a prepared cache in another representation.
    """
    p = Path(str(data).split(":", 1)[-1]) if ":" in str(data) and not Path(str(data)).exists() else Path(data)
    if (p / MANIFEST).exists():
        cache = TokenCache(p)
        if cache.tokenizer.state() != ckpt.tokenizer.state():
            raise TokenizerMismatchError(
                f"{p} was tokenized with '{cache.tokenizer.name}' {cache.tokenizer.config}, but the checkpoint "
                f"uses '{ckpt.tokenizer.name}' {ckpt.tokenizer.config}; evaluate on the MIDI folder instead "
                f"and it will be re-tokenized")
        return cache
    try:
        source = open_source(str(data))
        if cache_dir is None:
            key = hashlib.sha1(f"{source.spec()}|{ckpt.tokenizer.fingerprint()}".encode()).hexdigest()[:16]
            cache_dir = cache_root() / "caches" / key
        prepare([source], ckpt.tokenizer, cache_dir, workers=workers, labels=False)
    except OSError as e:
        raise DataError(f"{data}: cannot be read ({e.strerror or e})") from None
    cache = TokenCache(cache_dir)
    if int(cache.manifest.get("n_ok", 0)) == 0:
        reasons = cache.manifest.get("skip_reasons") or {}
        top = max(reasons, key=reasons.get) if reasons else "unknown reason"
        raise DataError(f"{data}: none of its {cache.manifest.get('n_skipped', 0)} MIDI files could be used "
                        f"(most common problem: {top})")
    return cache


class JoinedSplit(SplitData):
    """Several splits of one cache as one :class:`SplitData`: ``tokens`` (in memory, uint16),
    ``offsets`` ``(n_pieces + 1,)`` and ``pieces`` (manifest indices), in the order given."""

    def __init__(self, parts: list[SplitData]):  # joins arrays; SplitData.__init__ would read files
        lengths = [p.n_tokens for p in parts]
        self.tokens = (np.concatenate([np.asarray(p.tokens) for p in parts]) if sum(lengths)
                       else np.zeros(0, TOKEN_DTYPE))
        starts = np.cumsum([0] + lengths[:-1])
        self.offsets = np.concatenate([[0]] + [p.offsets[1:] + s for p, s in zip(parts, starts)]).astype(np.int64)
        self.pieces = np.concatenate([p.pieces for p in parts]).astype(np.int64) if parts else np.zeros(0, np.int64)


def all_pieces(cache: TokenCache) -> SplitData:
    """Every piece of ``cache`` (train, validation and test, in that order) as one split."""
    return JoinedSplit([cache.split(sp) for sp in SPLITS if sp in cache.manifest["counts"]])


class EvalData:
    """A cache view for :func:`~.suite.run_suite`: ``split(name)`` gives ``held_out`` and ``split("train")``
    the training reference's train split. ``root`` and ``manifest`` are the reference's, so the novelty
    index is saved with, and keyed by, the data it indexes."""

    def __init__(self, name: str, held_out: SplitData, reference: TokenCache, tokenizer):
        self.name, self.held_out, self.reference, self.tokenizer = name, held_out, reference, tokenizer
        self.root, self.manifest = reference.root, reference.manifest

    def split(self, name: str) -> SplitData:
        return self.held_out if name == self.name else self.reference.split(name)
