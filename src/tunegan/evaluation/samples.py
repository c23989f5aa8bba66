"""Evaluation samples: generated continuations of held-out music, beside the real continuations.

A *crop* is ``primer_len + length`` consecutive tokens of one held-out piece (in a token
cache a piece is stored as ``[BOS, t1, t2, ...]``). Its first ``primer_len`` tokens are the
*primer*, the rest the *real continuation*. Crops are drawn round-robin over the pieces that
are long enough, in an order shuffled by the seed: the first round takes every piece's
opening (the crop starts at its BOS), later rounds start at random positions (snapped to a
bar line for tokenizers with bars), so 200 crops from 117 pieces are all different.

Two generated sets are compared with the real continuations (same pieces, same token length):

* *primed*: the generator continues each crop's primer by ``length`` tokens;
* *unconditioned*: the generator starts from BOS alone.

Sampling runs the whole set as one batch through :func:`tunegan.generation.sample_tokens` (the path
``tunegan generate`` takes), row ``i`` seeded with ``seed + i``: the same seed and settings give the same samples.

Every continuation (real or generated) is decoded *with* its primer, then the primer's notes are
cut off and time is shifted so the continuation starts at 0 (:func:`continuation_score`): a
REMI continuation that starts mid-bar decodes correctly, and real and generated music go
through exactly the same steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import symusic

from ..checkpoint import Checkpoint
from ..data.dataset import SplitData
from ..errors import DataError
from ..music import extract_notes
from ..tokenizers import Tokenizer
from .novelty import pitch_sequence

DEFAULT_LENGTH = 256   # tokens generated per sample (and tokens per real continuation)
DEFAULT_PRIMER = 64    # tokens of held-out music a primed sample continues


@dataclass
class RealCrops:
    """Held-out crops. ``pieces``/``starts``: int64 ``(n,)`` (piece index in the split, and stream
    position of the primer's first token); ``primers``: int64 ``(n, primer_len)``; ``tokens``:
    int64 ``(n, length)``, the real continuations; ``scores``: their decoded Scores (ticks)."""

    pieces: np.ndarray
    starts: np.ndarray
    primers: np.ndarray
    tokens: np.ndarray
    scores: list[symusic.Score] = field(repr=False)

    def __len__(self) -> int:
        return len(self.tokens)


@dataclass
class Samples:
    """Generated continuations: ``tokens`` int64 ``(n, length)`` (primer not included),
    ``primers`` int64 ``(n, P)`` they continue (just BOS when unconditioned), decoded ``scores``
    and the sampling ``settings`` (temperature, top_k, top_p, seed, primed)."""

    tokens: np.ndarray
    primers: np.ndarray
    scores: list[symusic.Score] = field(repr=False)
    settings: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.tokens)


@dataclass
class EvalSamples:
    """The real crops and both generated sets made by :func:`make_samples`."""

    real: RealCrops
    primed: Samples
    unconditioned: Samples


# --- crops ------------------------------------------------------------------------------


def choose_crops(data: SplitData, n: int, primer_len: int, length: int, *, tokenizer: Tokenizer | None = None,
                 seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Piece index and stream start of ``n`` crops of ``primer_len + length`` tokens -> two int64 ``(n,)``.

    Raises :class:`DataError` when no piece of the split is long enough.
    """
    span = primer_len + length
    lens = np.diff(data.offsets)
    eligible = np.flatnonzero(lens >= span)
    if len(eligible) == 0:
        longest = int(lens.max()) if len(lens) else 0
        raise DataError(f"no piece in this split has {span} tokens for a crop of {primer_len} primer + {length} "
                        f"continuation tokens (longest: {longest}); ask for shorter samples")
    rng = np.random.default_rng(seed)
    order = rng.permutation(eligible)
    is_bar = tokenizer.is_bar if tokenizer is not None and tokenizer.has_bars else None
    pieces = np.empty(n, np.int64)
    starts = np.empty(n, np.int64)
    for i in range(n):
        k = int(order[i % len(order)])
        a = int(data.offsets[k])
        last = a + int(lens[k]) - span  # latest start that still fits
        if i < len(order) or last == a:
            s = a  # the piece's opening, from its BOS
        else:
            s = int(rng.integers(a + 1, last + 1))
            if is_bar is not None:
                bars = np.flatnonzero(is_bar(np.asarray(data.tokens[s:last + 1])))
                if len(bars):
                    s += int(bars[0])
        pieces[i], starts[i] = k, s
    return pieces, starts


def held_out_crops(data: SplitData, tokenizer: Tokenizer, *, n: int = 200, primer_len: int = DEFAULT_PRIMER,
                   length: int = DEFAULT_LENGTH, seed: int = 0) -> RealCrops:
    """``n`` crops of the split (see module docstring), with their real continuations decoded."""
    pieces, starts = choose_crops(data, n, primer_len, length, tokenizer=tokenizer, seed=seed)
    span = primer_len + length
    windows = np.stack([np.asarray(data.tokens[s:s + span], dtype=np.int64) for s in starts])
    primers, tokens = windows[:, :primer_len], windows[:, primer_len:]
    scores = [continuation_score(tokenizer, p, t) for p, t in zip(primers, tokens)]
    return RealCrops(pieces, starts, primers, tokens, scores)


# --- generation -------------------------------------------------------------------------


def generate_tokens(ckpt: Checkpoint, primers: np.ndarray, length: int, *, temperature: float = 1.0,
                    top_k: int = 0, top_p: float = 1.0, seed: int = 0, batch_size: int = 200) -> np.ndarray:
    """Continue each row of ``primers`` (int64 ``(n, P)``, P >= 1) by ``length`` tokens -> int64 ``(n, length)``.

    Sampled through :func:`tunegan.generation.sample_tokens`, as ``tunegan generate`` samples (row
    ``i`` with seed ``seed + i``), ``batch_size`` rows at a time; padding and BOS are never sampled.
    """
    from ..generation import GenerationOptions, sample_tokens

    options = GenerationOptions(length=length, temperature=temperature, top_k=top_k, top_p=top_p)
    rows = sample_tokens(ckpt, np.asarray(primers, dtype=np.int64), options, int(seed), batch_size=batch_size)
    return np.stack(rows) if rows else np.zeros((0, length), np.int64)


def generate_samples(ckpt: Checkpoint, primers: np.ndarray, length: int, *, temperature: float = 1.0,
                     top_k: int = 0, top_p: float = 1.0, seed: int = 0, batch_size: int = 200) -> Samples:
    """:func:`generate_tokens` plus the decoded continuations."""
    tokens = generate_tokens(ckpt, primers, length, temperature=temperature, top_k=top_k, top_p=top_p, seed=seed,
                             batch_size=batch_size)
    scores = [continuation_score(ckpt.tokenizer, p, t) for p, t in zip(primers, tokens)]
    primed = bool(np.asarray(primers).shape[1] > 1)
    return Samples(tokens, np.asarray(primers), scores, {"temperature": temperature, "top_k": top_k,
                                                          "top_p": top_p, "seed": seed, "primed": primed})


def make_samples(ckpt: Checkpoint, data: SplitData, *, n: int = 200, length: int = DEFAULT_LENGTH,
                 primer_len: int = DEFAULT_PRIMER, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0,
                 seed: int = 0, batch_size: int = 200) -> EvalSamples:
    """``n`` held-out crops, ``n`` primed and ``n`` unconditioned samples of ``length`` tokens.

    The primed set continues the crops' primers; the unconditioned set starts from BOS (seed
    ``seed + 1``). Both are compared with the same real continuations.
    """
    tok = ckpt.tokenizer
    real = held_out_crops(data, tok, n=n, primer_len=primer_len, length=length, seed=seed)
    kw = dict(temperature=temperature, top_k=top_k, top_p=top_p, batch_size=batch_size)
    primed = generate_samples(ckpt, real.primers, length, seed=seed, **kw)
    bos = np.full((n, 1), tok.bos_id, dtype=np.int64)
    uncond = generate_samples(ckpt, bos, length, seed=seed + 1, **kw)
    return EvalSamples(real, primed, uncond)


# --- decoding ---------------------------------------------------------------------------


def _note_starts(score: symusic.Score) -> np.ndarray:
    """Onsets (ticks) of all notes, sorted."""
    parts = [t.notes.numpy()["time"] for t in score.tracks if len(t.notes)]
    return np.sort(np.concatenate(parts)) if parts else np.empty(0, np.int64)


def continuation_score(tokenizer: Tokenizer, primer: np.ndarray, tokens: np.ndarray) -> symusic.Score:
    """The notes that ``tokens`` add after ``primer``, as a tick Score starting at tick 0.

    ``primer + tokens`` is decoded whole; the first ``k`` notes (``k`` = notes of the primer
    alone) are dropped at their onset time and the rest shifted to start at 0 (tempo and time
    signature in force there are kept). Notes that share the first new onset stay. A
    continuation without notes gives a Score without notes.
    """
    primer = np.asarray(primer, dtype=np.int64).ravel()
    full = tokenizer.decode(np.concatenate([primer, np.asarray(tokens, dtype=np.int64).ravel()]))
    k = len(_note_starts(tokenizer.decode(primer))) if len(primer) else 0
    starts = _note_starts(full)
    if k == 0:
        return full
    if k >= len(starts):
        return full.clip(0, 0, clip_end=False)  # keeps tpq, tempo and metre; no notes
    t0 = int(starts[k])
    return full.clip(t0, int(full.end()) + 1, clip_end=False).shift_time(-t0)


def score_pitches(score: symusic.Score) -> np.ndarray:
    """Melodic pitch sequence (onset order, ties by pitch) of a Score, int16 ``(n_notes,)``."""
    return pitch_sequence(extract_notes(score))
