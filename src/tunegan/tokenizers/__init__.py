"""Representations of music as tokens. Pick one by name; rebuild one from a checkpoint's state."""

from __future__ import annotations

from ..errors import ConfigError
from .base import Tokenizer, TokenizerConfig
from .performance import PerformanceTokenizer
from .pitch import PitchConfig, PitchTokenizer
from .remi import RemiTokenizer
from .remi_bpe import RemiBpeTokenizer

TOKENIZERS: dict[str, type[Tokenizer]] = {"pitch": PitchTokenizer, "performance": PerformanceTokenizer,
                                          "remi": RemiTokenizer, "remi-bpe": RemiBpeTokenizer}


def get_tokenizer(name: str, **config) -> Tokenizer:
    """``get_tokenizer("pitch")`` or ``get_tokenizer("remi", num_velocities=32)``."""
    if name not in TOKENIZERS:
        raise ConfigError(f"unknown tokenizer '{name}' (known: {', '.join(sorted(TOKENIZERS))})")
    cls = TOKENIZERS[name]
    return cls(cls.config_cls.from_dict(config))


def tokenizer_from_state(state: dict) -> Tokenizer:
    """Inverse of :meth:`Tokenizer.state`."""
    return get_tokenizer(state["name"], **state.get("config", {}))


def vocab_hash(tokenizer: Tokenizer) -> str:
    """SHA-1 (hex) of the tokenizer's vocabulary: the names of ids ``0 .. vocab_size - 1`` in order
    (:meth:`Tokenizer.describe`), one per line. Two tokenizers with the same hash read every id the
    same way; a checkpoint stores it (``meta.json``: ``vocab``) so a vocabulary rebuilt differently at
    load time (a MidiTok release that renamed or reordered REMI tokens, an edited config) is caught."""
    import hashlib

    names = "\n".join(tokenizer.describe(i) for i in range(tokenizer.vocab_size))
    return hashlib.sha1(names.encode()).hexdigest()


__all__ = ["Tokenizer", "TokenizerConfig", "PitchTokenizer", "PitchConfig", "PerformanceTokenizer", "RemiTokenizer",
           "TOKENIZERS", "get_tokenizer", "tokenizer_from_state", "vocab_hash"]
