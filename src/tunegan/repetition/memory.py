"""The piece memory: what followed the same music earlier in the piece, and how it is mixed in.

:class:`RepeatModel` holds the matched orders and the weights per style (and, for sampling, the
bar recall of :mod:`.recall` and a boost); :class:`Memories` keeps every row's contexts while a
batch is sampled; the rest scores a real piece against its own memory (for fitting and
likelihoods) and mixes proposals into the network's probabilities.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .recall import BarRecall

ORDERS = (4, 8, 16, 32)     # tokens matched: about 1, 2, 4 and 8 notes in REMI
ANY_STYLE = ""              # the weights used without a style keyword (fitted on every piece)
MAX_WEIGHT = 0.995


@dataclass(frozen=True)
class RepeatModel:
    """Orders matched, velocity ids (matched as one), and weights per style: ``{style: (w per order)}``."""

    orders: tuple[int, ...] = ORDERS
    wildcard: tuple[int, ...] = ()
    weights: dict[str, tuple[float, ...]] = field(default_factory=dict)
    recall: "BarRecall | None" = None
    boost: dict[str, float] = field(default_factory=dict)  # sampling only: w -> 1 - (1 - w) ** boost

    def __post_init__(self):
        if not self.orders or list(self.orders) != sorted(set(self.orders)) or self.orders[0] < 1 \
                or self.orders[-1] > 1024:
            raise ValueError(f"repeat orders must be increasing lengths from 1 to 1024 (received {self.orders})")
        for s, w in self.weights.items():
            if len(w) != len(self.orders) or not all(0.0 <= x < 1.0 for x in w):
                raise ValueError(f"repeat weights for {s!r} must be {len(self.orders)} values in [0, 1) "
                                 f"(received {w})")
        for s, k in self.boost.items():
            if not 1.0 <= float(k) <= 10.0:
                raise ValueError(f"repeat boost for {s!r} must be from 1 to 10 (received {k})")

    def weights_for(self, styles: Sequence[str] = ()) -> tuple[float, ...]:
        """The weights of the first style that has them, else those for any style (0 if none)."""
        for s in styles:
            if s in self.weights:
                return self.weights[s]
        return self.weights.get(ANY_STYLE, (0.0,) * len(self.orders))

    def sampling_weights(self, styles: Sequence[str] = ()) -> tuple[float, ...]:
        """The weights sampling uses: :meth:`weights_for`, each ``w`` made ``1 - (1 - w) ** boost``
        with the boost of the first style that has one (else any style's, else 1). Likelihoods
        (``tunegan evaluate``) use the fitted weights; a sampled piece starts fewer repeats than
        real music, so sampling may lean on the memory more (:func:`fit_boost`)."""
        w = self.weights_for(styles)
        k = next((self.boost[s] for s in [*styles, ANY_STYLE] if s in self.boost), 1.0)
        return w if k == 1.0 else tuple(round(min(MAX_WEIGHT, 1.0 - (1.0 - x) ** k), 4) for x in w)

    def memories(self, rows: int, vocab_size: int) -> "Memories":
        return Memories(self.orders, self.wildcard, rows, vocab_size)

    def to_dict(self) -> dict:
        d = {"orders": list(self.orders), "wildcard": list(self.wildcard),
             "weights": {s: list(w) for s, w in self.weights.items()}}
        if self.boost:
            d["boost"] = dict(self.boost)
        if self.recall is not None:
            d["recall"] = self.recall.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "RepeatModel":
        from .recall import BarRecall

        return cls(tuple(d["orders"]), tuple(d.get("wildcard", ())),
                   {s: tuple(float(x) for x in w) for s, w in d.get("weights", {}).items()},
                   BarRecall.from_dict(d["recall"]) if d.get("recall") else None,
                   {s: float(k) for s, k in d.get("boost", {}).items()})

    @classmethod
    def for_tokenizer(cls, tokenizer, orders: Sequence[int] = ORDERS) -> "RepeatModel":
        """No weights yet; velocity tokens (if any) as wildcards."""
        return cls(tuple(orders), tuple(sorted(tokenizer.tokens_of_kind("Velocity"))))



_P = 0x9E3779B97F4A7C15        # odd multiplier of the rolling hash (arithmetic mod 2**64)
_SALT = 0xD6E8FEB86659FD93     # keeps the contexts of different orders apart in one table
_MASK = (1 << 64) - 1


class Memories:
    """The pieces of a batch so far, one row each: for every order ``k``, a rolling hash of the
    last ``k`` tokens (velocities as one wildcard), and per row a table ``{context: {next token:
    count}}`` of what followed every earlier context. A token costs each row a few integer and
    dict steps, whatever the longest order."""

    def __init__(self, orders: Sequence[int], wildcard: Iterable[int], rows: int, vocab_size: int):
        self.orders = tuple(int(k) for k in orders)
        self.wild = frozenset(int(w) for w in wildcard)
        self.wild_key = int(vocab_size) + 1                      # tokens are keyed id + 1
        self.span = max(self.orders)
        self.out_pow = [pow(_P, k, 1 << 64) for k in self.orders]
        self.salt = [(i + 1) * _SALT & _MASK for i in range(len(self.orders))]
        self.hash = [[0] * len(self.orders) for _ in range(rows)]
        self.ring = [[0] * self.span for _ in range(rows)]       # the last ``span`` keys of each row
        self.n = [0] * rows                                       # tokens so far per row
        self.tables: list[dict[int, dict[int, int]]] = [{} for _ in range(rows)]

    def _push_row(self, r: int, tok: int) -> None:
        n, h, ring, table = self.n[r], self.hash[r], self.ring[r], self.tables[r]
        for i, k in enumerate(self.orders):  # record ``tok`` after each context it follows
            if n < k:
                break
            ctx = h[i] ^ self.salt[i]
            c = table.get(ctx)
            if c is None:
                table[ctx] = {tok: 1}
            else:
                c[tok] = c.get(tok, 0) + 1
        key = self.wild_key if tok in self.wild else tok + 1
        span = self.span
        for i, k in enumerate(self.orders):
            back = ring[(n - k) % span] if n >= k else 0         # the key leaving the window
            h[i] = (h[i] * _P + key - back * self.out_pow[i]) & _MASK
        ring[n % span] = key
        self.n[r] = n + 1

    def push(self, tokens) -> None:
        """One token per row (ints ``(rows,)``): recorded as what followed each row's contexts."""
        for r, tok in enumerate(np.asarray(tokens, dtype=np.int64).reshape(-1).tolist()):
            self._push_row(r, tok)

    def extend(self, tokens) -> None:
        """Several tokens per row (ints ``(rows, T)``), as ``T`` calls of :meth:`push`."""
        for r, row in enumerate(np.atleast_2d(np.asarray(tokens, dtype=np.int64)).tolist()):
            for tok in row:
                self._push_row(r, tok)

    def proposals(self) -> list[tuple[int, dict[int, int] | None]]:
        """Per row: ``(index of the longest order matched, counts of the tokens that followed)``,
        ``(-1, None)`` when even the shortest order finds no earlier match."""
        out = []
        last = len(self.orders) - 1
        for n, h, table in zip(self.n, self.hash, self.tables):
            got = (-1, None)
            for i in range(last, -1, -1):
                if n >= self.orders[i] and (c := table.get(h[i] ^ self.salt[i])):
                    got = (i, c)
                    break
            out.append(got)
        return out

    @classmethod
    def cat(cls, parts: list["Memories"]) -> "Memories":
        """One batch whose rows are those of ``parts``, in order (same orders and wildcards)."""
        m = cls.__new__(cls)
        p0 = parts[0]
        m.orders, m.wild, m.wild_key, m.span, m.out_pow, m.salt = (p0.orders, p0.wild, p0.wild_key, p0.span,
                                                                    p0.out_pow, p0.salt)
        m.hash = [h for p in parts for h in p.hash]
        m.ring = [r for p in parts for r in p.ring]
        m.n = [n for p in parts for n in p.n]
        m.tables = [t for p in parts for t in p.tables]
        return m

    def select(self, rows: Sequence[int]) -> "Memories":
        """The batch of ``rows`` only (in that order); their tables are shared, not copied."""
        m = Memories.cat([self])
        for name in ("hash", "ring", "n", "tables"):
            setattr(m, name, [getattr(self, name)[r] for r in rows])
        return m



def piece_cache_stats(model: RepeatModel, piece: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each target index ``t`` (into ``piece``, ``t >= 1``): the matched order's index (-1: none)
    and the cache's probability of the true token ``piece[t]`` given ``piece[:t]``."""
    piece = np.asarray(piece, np.int64)
    mem = model.memories(1, int(piece.max(initial=0)) + 1)  # the wildcard key only needs to differ from ids + 1
    want = np.zeros(len(piece), bool)
    want[targets] = True
    order = np.full(len(piece), -1, np.int64)
    prob = np.zeros(len(piece))
    for t, tok in enumerate(piece.tolist()):
        if want[t]:
            i, c = mem.proposals()[0]
            if c is not None:
                order[t] = i
                prob[t] = c.get(tok, 0) / sum(c.values())
        mem._push_row(0, tok)
    return order[targets], prob[targets]


def split_cache_stats(model: RepeatModel, data, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`piece_cache_stats` for stream ``positions`` of a split (each within its own piece):
    ``(piece index, matched order index, cache probability of the true token)`` per position."""
    positions = np.asarray(positions, np.int64)
    piece_of = np.searchsorted(data.offsets, positions, side="right") - 1
    order = np.full(len(positions), -1, np.int64)
    prob = np.zeros(len(positions))
    for k in np.unique(piece_of):
        sel = np.flatnonzero(piece_of == k)
        lo = int(data.offsets[k])
        o, p = piece_cache_stats(model, data.piece(int(k)), positions[sel] - lo)
        order[sel], prob[sel] = o, p
    return piece_of, order, prob


def mixed_logp(logp_model: np.ndarray, order: np.ndarray, prob: np.ndarray, weights: Sequence[float]) -> np.ndarray:
    """Log-probabilities of the true tokens under the mixture (model alone where nothing matched)."""
    w = np.where(order >= 0, np.asarray(weights, float)[np.maximum(order, 0)], 0.0)
    return np.log((1.0 - w) * np.exp(logp_model) + w * prob)



def mix_probs(p_model, proposals: list[tuple[int, dict[int, int] | None]], weights: list[Sequence[float]]):
    """``p_model`` (torch ``(batch, vocab)`` probabilities, changed in place) mixed row by row with
    each row's proposal ``(order index, counts)`` at that order's weight."""
    import torch

    rows = [(b, weights[b][i], c) for b, (i, c) in enumerate(proposals) if c is not None and weights[b][i] > 0]
    if not rows:
        return p_model
    if p_model.device.type == "cpu":  # a few proposed tokens per row: plain Python on the array
        arr = p_model.numpy()
        for b, w, c in rows:
            row, share = arr[b], w / sum(c.values())
            row *= 1.0 - w
            for tok, n in c.items():
                row[tok] += share * n
        return p_model
    for b, w, c in rows:
        total = sum(c.values())
        ids = torch.tensor(list(c.keys()), dtype=torch.long, device=p_model.device)
        vals = torch.tensor([w * v / total for v in c.values()], dtype=p_model.dtype, device=p_model.device)
        p_model[b].mul_(1.0 - w)
        p_model[b].index_add_(0, ids, vals)
    return p_model

