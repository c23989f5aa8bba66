"""Representations of music as tokens. Pick one by name; rebuild one from a checkpoint's state."""

from __future__ import annotations

from ..errors import ConfigError
from .base import Tokenizer, TokenizerConfig
from .pitch import PitchConfig, PitchTokenizer

TOKENIZERS: dict[str, type[Tokenizer]] = {"pitch": PitchTokenizer}

try:  # timing-aware representations (added by the rhythm issue)
    from .performance import PerformanceTokenizer

    TOKENIZERS["performance"] = PerformanceTokenizer
except ImportError:  # pragma: no cover
    pass
try:
    from .remi import RemiTokenizer

    TOKENIZERS["remi"] = RemiTokenizer
except ImportError:  # pragma: no cover
    pass


def get_tokenizer(name: str, **config) -> Tokenizer:
    """``get_tokenizer("pitch")`` or ``get_tokenizer("remi", num_velocities=32)``."""
    if name not in TOKENIZERS:
        raise ConfigError(f"unknown tokenizer '{name}' (known: {', '.join(sorted(TOKENIZERS))})")
    cls = TOKENIZERS[name]
    return cls(cls.config_cls.from_dict(config))


def tokenizer_from_state(state: dict) -> Tokenizer:
    """Inverse of :meth:`Tokenizer.state`."""
    return get_tokenizer(state["name"], **state.get("config", {}))


__all__ = ["Tokenizer", "TokenizerConfig", "PitchTokenizer", "PitchConfig", "TOKENIZERS", "get_tokenizer",
           "tokenizer_from_state"]
