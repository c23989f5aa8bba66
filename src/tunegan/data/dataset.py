"""Reading a token cache: memmapped splits, fixed windows (the paper) and random crops.

Nothing here holds a corpus in Python lists: token arrays are ``np.memmap`` views, and a
batch copies only the windows it needs.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from ..errors import DataError
from ..tokenizers import Tokenizer, tokenizer_from_state
from .prepare import MANIFEST, TOKEN_DTYPE


class SplitData:
    """One split of a cache. ``tokens``: memmap ``(n_tokens,)`` uint16; ``offsets``: ``(n_pieces+1,)``."""

    def __init__(self, root: Path, split: str):
        path = root / f"{split}.tokens.u16"
        self.offsets = np.load(root / f"{split}.offsets.npy")
        self.pieces = np.load(root / f"{split}.pieces.npy")
        n = int(self.offsets[-1])
        self.tokens = np.memmap(path, dtype=TOKEN_DTYPE, mode="r", shape=(n,)) if n else np.zeros(0, TOKEN_DTYPE)

    def __len__(self) -> int:
        return len(self.pieces)

    @property
    def n_tokens(self) -> int:
        return int(self.offsets[-1])

    def piece(self, i: int) -> np.ndarray:
        return np.asarray(self.tokens[self.offsets[i]:self.offsets[i + 1]], dtype=np.int64)


class TokenCache:
    """A prepared cache folder (see :func:`tunegan.data.prepare.prepare`)."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        mpath = self.root / MANIFEST
        if not mpath.exists():
            raise DataError(f"{self.root}: not a token cache (no {MANIFEST}); run 'tunegan prepare' first")
        self.manifest = json.loads(mpath.read_text())
        self.tokenizer: Tokenizer = tokenizer_from_state(self.manifest["tokenizer"])
        self._splits: dict[str, SplitData] = {}

    def split(self, name: str) -> SplitData:
        if name not in self._splits:
            if name not in self.manifest["counts"]:
                raise DataError(f"{self.root}: no split '{name}' (have {', '.join(self.manifest['counts'])})")
            self._splits[name] = SplitData(self.root, name)
        return self._splits[name]

    def piece_labels(self, split: str) -> list[dict]:
        rows = self.manifest["pieces"]
        return [rows[i].get("labels", {}) | {"corpus": rows[i]["corpus"]} for i in self.split(split).pieces]


def augment_kwargs(tokenizer: Tokenizer | None, *, max_transpose: int = 0, time_stretch: float = 0.0,
                   velocity_shift: int = 0) -> dict:
    """The augmentations a dataset asks ``tokenizer.augment`` for: the non-zero ones, with
    ``velocity_shift`` only for a tokenizer whose tokens carry velocities (``has_velocities``);
    empty when there is nothing to do."""
    if tokenizer is None:
        return {}
    kw = {"max_transpose": max_transpose, "time_stretch": time_stretch}
    if tokenizer.has_velocities:
        kw["velocity_shift"] = velocity_shift
    return {k: v for k, v in kw.items() if v}


class WindowDataset(Dataset):
    """Non-overlapping windows over a split's token stream (the paper's training data).

    Item ``i`` is ``(x, y)``, both int64 of shape ``(seq_len,)``, with ``y`` = ``x`` shifted by one.
    Windows may span piece boundaries; the BOS between pieces tells the model where one ends.
    With a ``tokenizer``, each window is transposed by up to ``max_transpose`` semitones and its
    velocities moved by up to ``velocity_shift`` bins, at random (deterministic given seed, epoch, i).
    """

    def __init__(self, data: SplitData, seq_len: int, *, tokenizer: Tokenizer | None = None,
                 max_transpose: int = 0, velocity_shift: int = 0, seed: int = 0):
        self.data, self.seq_len = data, seq_len
        self.n = max(0, (data.n_tokens - 1) // seq_len)
        self.tokenizer, self.max_transpose, self.seed = tokenizer, max_transpose, seed
        self.velocity_shift = velocity_shift
        self.augment = augment_kwargs(tokenizer, max_transpose=max_transpose, velocity_shift=velocity_shift)
        self.epoch = 0

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        s = i * self.seq_len
        w = np.asarray(self.data.tokens[s:s + self.seq_len + 1], dtype=np.int64)
        if self.augment:
            rng = np.random.default_rng((self.seed, self.epoch, i))
            w = self.tokenizer.augment(w, rng, **self.augment)
        w = torch.from_numpy(w)
        return w[:-1], w[1:]


class CropDataset(Dataset):
    """Random crops of ``seq_len + 1`` tokens, drawn within pieces (long-sequence training).

    One epoch draws ``n_crops`` crops. A piece is chosen with probability proportional to its
    length, times an optional per-piece weight (for balancing corpora); a piece shorter than the
    crop is taken whole and padded with ``pad_id`` (the loss ignores padding), or with ``pack`` it
    continues into the pieces that follow it in the cache (each after its BOS), so no step of a
    batch is spent on padding. A ``start_share`` of crops begins at the piece's start (its BOS),
    so the model learns how pieces open, which generation from BOS alone depends on. A crop is
    transposed by up to ``max_transpose`` semitones, stretched by up to ``time_stretch`` and its
    velocities moved by up to ``velocity_shift`` bins, at random (see :func:`augment_kwargs`). Crops are
    deterministic given (seed, epoch, index), so every DDP rank can draw its share independently.
    With ``cond_table`` (keyword ids per piece, see :mod:`tunegan.conditioning`) an item is
    ``(x, y, keywords)``, keywords dropped at random for classifier-free guidance; ``relabel``
    (``(window, piece, ids) -> ids``, e.g. :class:`tunegan.conditioning.CropMood`) may first
    adjust a crop's keywords to the crop's own music.
    """

    def __init__(self, data: SplitData, seq_len: int, *, n_crops: int, tokenizer: Tokenizer,
                 piece_weights: np.ndarray | None = None, max_transpose: int = 0,
                 time_stretch: float = 0.0, velocity_shift: int = 0, seed: int = 0,
                 cond_table: np.ndarray | None = None,
                 keyword_dropout: float = 0.0, uncond_prob: float = 0.0, pack: bool = False,
                 start_share: float = 0.0, relabel=None):
        if len(data) == 0:
            raise DataError("cannot crop from an empty split")
        if pack and cond_table is not None:
            raise DataError("packed crops mix pieces, so they cannot carry one piece's keywords")
        if pack and data.n_tokens < seq_len + 1:
            raise DataError(f"cannot pack crops of {seq_len + 1} tokens from a split of {data.n_tokens}")
        self.pack, self.start_share, self.relabel = pack, start_share, relabel
        self.data, self.seq_len, self.n_crops = data, seq_len, n_crops
        self.tokenizer, self.max_transpose, self.time_stretch, self.seed = tokenizer, max_transpose, time_stretch, seed
        self.velocity_shift = velocity_shift
        self.augment = augment_kwargs(tokenizer, max_transpose=max_transpose, time_stretch=time_stretch,
                                      velocity_shift=velocity_shift)
        self.lengths = lengths = np.diff(data.offsets).astype(np.float64)
        w = lengths if piece_weights is None else lengths * piece_weights
        self.p = w / w.sum()
        self.epoch = 0
        self.cond_table, self.keyword_dropout, self.uncond_prob = cond_table, keyword_dropout, uncond_prob

    def __len__(self) -> int:
        return self.n_crops

    def padding_share(self) -> float:
        """Expected share of a crop's positions that are padding (0 with ``pack``): how much
        compute packing would save on this data at this crop length."""
        if self.pack:
            return 0.0
        L = self.seq_len + 1
        return float((self.p * np.clip(L - self.lengths, 0, None)).sum() / L)

    def __getitem__(self, i: int):
        rng = np.random.default_rng((self.seed, self.epoch, i))
        k = int(rng.choice(len(self.p), p=self.p))
        a, b = int(self.data.offsets[k]), int(self.data.offsets[k + 1])
        L = self.seq_len + 1
        # a share of crops open at the piece's BOS: otherwise a long piece's opening is almost never seen
        at_start = self.start_share and rng.random() < self.start_share
        start = a if b - a <= L or at_start else int(rng.integers(a, b - L + 1))
        if self.pack and b - a < L:
            b = self.data.n_tokens
            start = min(start, b - L)  # the split's last pieces: start earlier rather than pad
        w = np.asarray(self.data.tokens[start:min(b, start + L)], dtype=np.int64)
        if self.augment:
            w = self.tokenizer.augment(w, rng, **self.augment)
        if len(w) < L:
            w = np.concatenate([w, np.full(L - len(w), self.tokenizer.pad_id, dtype=np.int64)])
        w = torch.from_numpy(w)
        if self.cond_table is None:
            return w[:-1], w[1:]
        from ..conditioning import drop_keywords

        ids = self.cond_table[k] if self.relabel is None else self.relabel(w.numpy(), k, self.cond_table[k])
        cond = drop_keywords(ids, rng, self.keyword_dropout, self.uncond_prob)
        return w[:-1], w[1:], torch.from_numpy(cond)

