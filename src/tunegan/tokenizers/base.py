"""The tokenizer interface every representation implements.

A tokenizer turns a :class:`symusic.Score` into a 1-D integer array and back. Ids
``0`` (padding) and :attr:`Tokenizer.bos_id` (start of a piece) are reserved; in a
token cache every piece is stored as ``[bos, t1, t2, ...]`` so a model learns how
pieces open and generation can start from nothing. The networks, trainer and sampler
only ever see :attr:`vocab_size`, :attr:`pad_id` and :attr:`bos_id`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import symusic

from ..config import ConfigBase


@dataclass(frozen=True)
class TokenizerConfig(ConfigBase):
    """Base for tokenizer configs: validated on construction, round-trips through JSON."""


class Tokenizer(ABC):
    """A representation of music as token ids.

    Subclasses set ``name`` and ``config_cls``, define :attr:`vocab_size`, and implement
    :meth:`encode` / :meth:`decode`. ``encode`` raises :class:`~tunegan.errors.MIDIError` for
    a score it cannot represent (``prepare`` skips such files and records the reason).
    """

    name: ClassVar[str]
    config_cls: ClassVar[type[TokenizerConfig]]
    pad_id: int = 0

    def __init__(self, config: TokenizerConfig | None = None):
        self.config = config if config is not None else self.config_cls()

    @property
    @abstractmethod
    def vocab_size(self) -> int: ...

    @property
    def bos_id(self) -> int:
        """Id that starts every piece (may equal ``pad_id`` for the paper's 89-class vocabulary)."""
        return 1

    @abstractmethod
    def encode(self, score: symusic.Score) -> np.ndarray:
        """Score -> int array of shape ``(n_tokens,)``, without the leading BOS."""

    @abstractmethod
    def decode(self, tokens: np.ndarray) -> symusic.Score:
        """Int array -> tick-based Score; padding and BOS ids are ignored."""

    def describe(self, token: int) -> str:
        """Human-readable name of one token id (for explanations and debugging)."""
        return str(int(token))

    def token_pitches(self) -> np.ndarray:
        """int64 ``(vocab_size,)``: the MIDI pitch a token starts (note-on / pitch tokens), else -1.
        Used to keep sampling inside a key's scale."""
        return np.full(self.vocab_size, -1, dtype=np.int64)

    def state(self) -> dict:
        """Everything needed to rebuild this tokenizer: ``{"name": ..., "config": {...}}``."""
        return {"name": self.name, "config": self.config.to_dict()}

    def fingerprint(self) -> str:
        import hashlib
        import json

        return hashlib.sha1(json.dumps(self.state(), sort_keys=True).encode()).hexdigest()[:16]

    def augment(self, tokens: np.ndarray, rng: np.random.Generator, *, max_transpose: int = 0,
                time_stretch: float = 0.0) -> np.ndarray:
        """Return tokens transposed/stretched at random (default: unchanged). See subclasses."""
        return tokens

    def __repr__(self) -> str:
        return f"{type(self).__name__}(vocab_size={self.vocab_size}, config={self.config})"
