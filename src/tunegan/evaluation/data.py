"""The data an evaluation reads: a prepared cache, or MIDI tokenized now with the checkpoint's tokenizer.

Raw folders are tokenized into a cache under ``$TUNEGAN_CACHE`` (default ``~/.cache/tunegan``),
reused on later runs.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ..checkpoint import Checkpoint
from ..data.dataset import TokenCache
from ..data.prepare import MANIFEST, prepare
from ..data.registry import open_source
from ..errors import DataError, TokenizerMismatchError


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
