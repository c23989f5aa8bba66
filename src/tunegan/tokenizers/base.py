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
from ..errors import MusicOptionError


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
    #: Capabilities, declared by every subclass. ``has_pitches``: :meth:`token_pitches` names the
    #: pitch tokens (``--key`` can mask them). ``has_bars``: :meth:`is_bar`, :meth:`count_bars` and
    #: :meth:`forced_tokens` work (``--bars`` counts bar tokens, ``--time-signature`` holds a metre).
    has_pitches: ClassVar[bool]
    has_bars: ClassVar[bool]
    #: The decoded Score carries the metre the tokens wrote (REMI and its BPE form), so a metre
    #: cannot be stamped on afterwards: it must be held while sampling (``has_bars``) or not asked.
    own_metre: ClassVar[bool] = False
    #: ``augment`` takes ``velocity_shift``: the tokens carry velocity bins (REMI, performance).
    has_velocities: ClassVar[bool] = False

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

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        if not getattr(cls, "__abstractmethods__", None):  # a concrete tokenizer declares what it can do
            missing = [c for c in ("has_pitches", "has_bars") if not isinstance(getattr(cls, c, None), bool)]
            if missing:
                raise TypeError(f"{cls.__name__} must declare {' and '.join(missing)} (True or False)")

    def require(self, capability: str, option: str) -> None:
        """Raise :class:`MusicOptionError` when this representation lacks ``capability``
        (``"pitches"`` or ``"bars"``) that ``option`` (e.g. ``"--key"``) needs: never ignored silently."""
        if not getattr(self, f"has_{capability}"):
            raise MusicOptionError(f"{option} needs a representation with {capability}; this model's '{self.name}' "
                                   f"tokens have none")

    def token_pitches(self) -> np.ndarray:
        """int64 ``(vocab_size,)``: the MIDI pitch a token starts (note-on / pitch tokens), else -1.
        Used to keep sampling inside a key's scale. Only for ``has_pitches`` tokenizers."""
        self.require("pitches", "a key or scale")
        raise NotImplementedError(f"{type(self).__name__} declares has_pitches but has no token_pitches")

    def tokens_of_kind(self, kind: str) -> dict[int, str]:
        """``{id: value}`` of the single tokens named ``KIND_value`` (``"Tempo"`` -> ``{57: "121.29", ...}``),
        from :meth:`describe`; merged tokens (``"A_x+B_y"``) are left out. Empty when there are none."""
        prefix = kind + "_"
        return {i: n[len(prefix):] for i in range(self.vocab_size)
                if (n := self.describe(i)).startswith(prefix) and "+" not in n}

    def tokens_with_kind(self, kind: str) -> np.ndarray:
        """int64 ids of every token that holds a ``KIND_value`` token, merged tokens (``"A_x+B_y"``)
        included: the ids to mask so that no such token is sampled."""
        prefix = kind + "_"
        return np.array([i for i in range(self.vocab_size)
                         if any(part.startswith(prefix) for part in self.describe(i).split("+"))], dtype=np.int64)

    def note_counts(self) -> np.ndarray:
        """int64 ``(vocab_size,)``: how many notes each token starts (1 for a pitch or note-on token,
        0 otherwise; more for a merged token). Divides a piece's total NLL into NLL per note."""
        return (self.token_pitches() >= 0).astype(np.int64)

    def is_bar(self, tokens) -> np.ndarray | bool:
        """Whether each token id (an id or an array of ids) starts a bar. Only for ``has_bars``."""
        self.require("bars", "counting bars")
        raise NotImplementedError

    def count_bars(self, tokens: np.ndarray) -> int:
        """Number of bars ``tokens`` decode to. Only for ``has_bars`` tokenizers."""
        return int(np.count_nonzero(self.is_bar(np.asarray(tokens))))

    def forced_tokens(self, time_signature: tuple[int, int] | None) -> dict[int, int]:
        """``{previous id: next id}`` sampling must follow to keep a metre. Only for ``has_bars``."""
        self.require("bars", "--time-signature")
        raise NotImplementedError

    def opening_tokens(self, tempo: float | None, time_signature: tuple[int, int] | None) -> np.ndarray:
        """int64 ids that open a piece in ``time_signature`` at ``tempo`` BPM. Only for ``has_bars``."""
        self.require("bars", "an opening metre and tempo")
        raise NotImplementedError

    def metre_tokens(self) -> np.ndarray:
        """int64 ids of the tokens that set a time signature (never sampled while a metre is held:
        the held one is written after every bar line by :meth:`forced_tokens`). Only for ``has_bars``."""
        self.require("bars", "--time-signature")
        raise NotImplementedError

    def metre_supported(self, time_signature: tuple[int, int]) -> bool:
        """Whether the vocabulary can write ``time_signature``. Only for ``has_bars``."""
        self.require("bars", "--time-signature")
        raise NotImplementedError

    def positions_beyond(self, time_signature: tuple[int, int]) -> np.ndarray:
        """int64 ids of the position tokens past the end of one bar of ``time_signature``
        (never sampled while that metre is held). Only for ``has_bars``."""
        self.require("bars", "--time-signature")
        raise NotImplementedError

    def state(self) -> dict:
        """Everything needed to rebuild this tokenizer: ``{"name": ..., "config": {...}}``."""
        return {"name": self.name, "config": self.config.to_dict()}

    def fingerprint(self) -> str:
        import hashlib
        import json

        return hashlib.sha1(json.dumps(self.state(), sort_keys=True).encode()).hexdigest()[:16]

    def augment(self, tokens: np.ndarray, rng: np.random.Generator, *, max_transpose: int = 0,
                time_stretch: float = 0.0, velocity_shift: int = 0) -> np.ndarray:
        """Return tokens transposed/stretched/made louder or softer at random (default: unchanged).
        ``velocity_shift`` (bins) is passed only to tokenizers with :attr:`has_velocities`. See subclasses."""
        return tokens

    def __repr__(self) -> str:
        return f"{type(self).__name__}(vocab_size={self.vocab_size}, config={self.config})"
