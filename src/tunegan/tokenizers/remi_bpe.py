"""REMI with byte-pair encoding (``remi-bpe``): MidiTok's BPE training merges frequent runs of REMI
tokens within a bar into one token, so a piece takes fewer tokens and a model sees more music per
step. The merges are learned once from a REMI cache's train split (:func:`train_bpe`) and stored
in the tokenizer's config (``bpe_model``: Hugging Face tokenizers JSON), so a checkpoint carries
them and decodes without the data.

A merged token can hold several notes, a bar line and a metre at once, so the token-level
controls of plain REMI (a key's scale mask, a held metre, transposition by token) are not offered:
``has_pitches`` and ``has_bars`` are False and asking for them is a one-line error. Augmentation
decodes a crop to REMI, shifts it there and encodes it again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import symusic

from ..errors import ConfigError
from .base import Tokenizer
from .remi import RemiConfig, RemiTokenizer


@dataclass(frozen=True)
class RemiBpeConfig(RemiConfig):
    """REMI settings plus the BPE vocabulary: ``bpe_vocab`` tokens in all (base + merged) and
    ``bpe_model``, the learned merges (empty until :func:`train_bpe`)."""

    bpe_vocab: int = 1000
    bpe_model: str = ""

    def __post_init__(self):
        super().__post_init__()
        self._check("bpe_vocab", isinstance(self.bpe_vocab, int) and 400 <= self.bpe_vocab <= 30000,
                    "an integer within 400 and 30000 (the REMI base vocabulary has about 316 tokens)")


class RemiBpeTokenizer(RemiTokenizer):
    name = "remi-bpe"
    config_cls = RemiBpeConfig
    has_pitches = False
    has_bars = False
    has_velocities = True

    def __init__(self, config: RemiBpeConfig | None = None):
        super().__init__(config)
        self.base = RemiTokenizer(RemiConfig(**{k: getattr(self.config, k) for k in RemiConfig.field_names()}))
        if self.config.bpe_model:
            from tokenizers import Tokenizer as HFTokenizer

            # what MidiTok's own loader does with a saved "_model" (its base vocabulary is rebuilt
            # from the same config, so base ids and bytes are the ones the merges were learned on)
            self.miditok._model = HFTokenizer.from_str(self.config.bpe_model)
            self.miditok._vocab_learned_bytes_to_tokens = {}
            self.miditok._MusicTokenizer__create_vocab_learned_bytes_to_tokens()
        self._counts = None  # notes per merged token: computed on first use (evaluation), not at every load

    # merged tokens: no token-level pitch or bar controls (the base class says so, one line each)
    token_pitches = Tokenizer.token_pitches
    is_bar = Tokenizer.is_bar
    count_bars = Tokenizer.count_bars
    forced_tokens = Tokenizer.forced_tokens
    positions_beyond = Tokenizer.positions_beyond
    metre_tokens = Tokenizer.metre_tokens
    metre_supported = Tokenizer.metre_supported
    opening_tokens = Tokenizer.opening_tokens

    @property
    def trained(self) -> bool:
        return bool(self.config.bpe_model)

    def _need_training(self) -> None:
        if not self.trained:
            raise ConfigError("this remi-bpe tokenizer has no merges yet: make it with tunegan.tokenizers.remi_bpe.train_bpe")

    @property
    def vocab_size(self) -> int:
        return len(self.miditok) if self.trained else len(self.miditok.vocab)

    # -- ids -------------------------------------------------------------------------------------
    def to_bpe(self, base_ids: np.ndarray) -> np.ndarray:
        """REMI ids -> BPE ids (merges never cross a bar line)."""
        from miditok import TokSequence

        self._need_training()
        seq = TokSequence(ids=[int(i) for i in base_ids])
        self.miditok.complete_sequence(seq, complete_bytes=True)
        self.miditok.encode_token_ids(seq)
        return np.asarray(seq.ids, dtype=np.int64)

    def to_base(self, ids: np.ndarray) -> np.ndarray:
        """BPE ids -> REMI ids (special ids dropped: padding, BOS)."""
        from miditok import TokSequence

        self._need_training()
        ids = [int(i) for i in np.asarray(ids).ravel() if int(i) >= self.num_special]
        if not ids:
            return np.zeros(0, dtype=np.int64)
        seq = TokSequence(ids=ids, are_ids_encoded=True)
        self.miditok.decode_token_ids(seq)
        return np.asarray(seq.ids, dtype=np.int64)

    def encode(self, score: symusic.Score) -> np.ndarray:
        return self.to_bpe(self.base.encode(score))

    def decode(self, tokens: np.ndarray) -> symusic.Score:
        return self.base.decode(self.to_base(tokens))

    def describe(self, token: int) -> str:
        token = int(token)
        if not self.trained or token < len(self.base._names):
            return self.base.describe(token)
        return "+".join(self.base.describe(t) for t in self.to_base(np.array([token])))

    def _merged_counts(self) -> np.ndarray:
        counts = np.zeros(self.vocab_size, dtype=np.int64)
        base_notes = self.base.note_counts()
        for i in range(self.num_special, self.vocab_size):
            counts[i] = int(base_notes[self.to_base(np.array([i]))].sum())
        return counts

    def note_counts(self) -> np.ndarray:
        """Notes each token starts: the ``Pitch`` tokens it merges."""
        self._need_training()
        if self._counts is None:
            self._counts = self._merged_counts()
        return self._counts.copy()

    def augment(self, tokens, rng, *, max_transpose=0, time_stretch=0.0, velocity_shift=0):
        """Decode to REMI, transpose and shift loudness there (:meth:`RemiTokenizer.augment`), encode
        again; the crop keeps its length (cut or padded with padding)."""
        if max_transpose <= 0 and velocity_shift <= 0:
            return tokens
        tokens = np.asarray(tokens)
        lead = tokens[:1] if len(tokens) and tokens[0] < self.num_special else tokens[:0]
        base = self.base.augment(self.to_base(tokens), rng, max_transpose=max_transpose, velocity_shift=velocity_shift)
        out = np.concatenate([lead, self.to_bpe(base)])[:len(tokens)]
        return np.pad(out, (0, len(tokens) - len(out)), constant_values=self.pad_id)


def train_bpe(cache, vocab_size: int = 1000, *, every: int = 1) -> RemiBpeTokenizer:
    """Learn BPE merges from the train split of a plain REMI cache (every ``every``-th piece, split
    at bar lines as MidiTok does) and return the trained tokenizer."""
    base = cache.tokenizer
    if base.name != "remi":
        raise ConfigError(f"BPE is learned from a 'remi' cache (received '{base.name}')")
    tok = RemiBpeTokenizer(RemiBpeConfig(**base.config.to_dict(), bpe_vocab=vocab_size))
    m = tok.miditok
    train = cache.split("train")

    def bars(ids: np.ndarray) -> list[str] | str:
        cuts = np.flatnonzero(ids == base.bar_id)
        parts = np.split(ids, cuts[1:]) if len(cuts) else [ids]
        return m._ids_to_bytes([p.tolist() for p in parts if len(p)], as_one_str=True)

    items = [bars(train.piece(i)[1:]) for i in range(0, len(train), max(1, every))]
    m.train(vocab_size=vocab_size, iterator=items)
    return RemiBpeTokenizer(RemiBpeConfig(**base.config.to_dict(), bpe_vocab=vocab_size, bpe_model=m._model.to_str()))
