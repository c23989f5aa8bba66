"""Music repeats itself: a cache of the piece's own continuations, mixed into the generator's prediction.

An LSTM of our size forgets what it played eight bars ago, so its music never returns to a
motif, while real music of every style does (folk tunes most of all). This module is the
classic *cache language model* (Kuhn & De Mori, 1990; the neural cache of Grave et al., ICLR
2017) made for music tokens:

* At each step, the last ``k`` tokens of the piece are looked up among all earlier places of the
  same piece, for each order ``k`` in :attr:`RepeatModel.orders`. Velocity tokens match any
  velocity (a motif played louder is the same motif). The **longest** order with a match gives
  the cache's proposal: the tokens that followed those earlier places, by how often.
* The prediction is ``(1 - w) * p_model + w * p_cache``, where ``w`` depends on the matched order
  (a longer match is trusted more) and on the style, and is 0 when nothing matches.
* The weights are **fitted on validation** music by maximum likelihood (:func:`fit_weights`):
  the cache is used exactly as much as it makes real held-out music more likely, per style. The
  mixture is then a better model of music by the likelihood measure (``tunegan evaluate``
  reports NLL per note with and without it), and its samples return to their motifs (folk
  nearly as often as real folk tunes; pop and classical still less often than real music:
  ``docs/results.md``).

Two things act only when sampling (likelihoods keep the fitted weights):

* :class:`BarRecall`: at each bar line, a bar may replay a whole earlier bar (1 to 16 bars back),
  with chances counted per style on training music (:func:`fit_recall`): a network sampling
  token by token seldom *starts* a repeat, which the memory then carries on.
* ``RepeatModel.boost``: the weights become ``1 - (1 - w) ** boost``, with the boost per style
  whose samples repeat their 4-note interval patterns as often as real validation music of
  the style (:func:`fit_boost`).

The cache sees only the piece being made: it never copies training music.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

ORDERS = (4, 8, 16, 32)     # tokens matched: about 1, 2, 4 and 8 notes in REMI
WEIGHT_GRID = np.concatenate([np.linspace(0.0, 0.9, 91), np.linspace(0.905, 0.995, 19)])
ANY_STYLE = ""              # the weights used without a style keyword (fitted on every piece)
MAX_WEIGHT = 0.995
BOOST_GRID = (1.0, 1.5, 2.0, 2.5, 3.0)


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
        return w if k == 1.0 else tuple(round(min(MAX_WEIGHT, 1.0 - (1.0 - x) ** k), 4) if x else 0.0 for x in w)

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
        return cls(tuple(d["orders"]), tuple(d.get("wildcard", ())),
                   {s: tuple(float(x) for x in w) for s, w in d.get("weights", {}).items()},
                   BarRecall.from_dict(d["recall"]) if d.get("recall") else None,
                   {s: float(k) for s, k in d.get("boost", {}).items()})

    @classmethod
    def for_tokenizer(cls, tokenizer, orders: Sequence[int] = ORDERS) -> "RepeatModel":
        """No weights yet; velocity tokens (if any) as wildcards."""
        return cls(tuple(orders), tuple(sorted(tokenizer.tokens_of_kind("Velocity"))))


RECALL_LAGS = (1, 2, 4, 8, 16)  # bars back a bar may come from (real music repeats mostly 4, 8 and 16 back)


@dataclass(frozen=True)
class BarRecall:
    """Bars that come back, as often as they do in real music of the style.

    The piece memory continues a repeat once the music has started one, but an LSTM sampling
    note by note rarely starts one: its bars almost never return. At every bar line, a bar
    replays (all its tokens) the bar ``lag`` bars before it, with a chance measured per style on
    training music (:func:`fit_recall`): ``cont[style][i]`` when the bar just finished repeated
    the one ``lags[i]`` before it (a repeated phrase goes on), else ``start[style][i]``. A
    replayed bar ends with a bar line (so the next bar is decided in turn). Bars
    are compared by their positions and pitches (tokens ``keep``); a bar without notes is never
    a repeat."""

    bar: int                                     # the bar-line token
    keep: tuple[int, ...]                        # tokens a bar is compared by
    lags: tuple[int, ...] = RECALL_LAGS
    start: dict[str, tuple[float, ...]] = field(default_factory=dict)
    cont: dict[str, tuple[float, ...]] = field(default_factory=dict)

    def __post_init__(self):
        if not self.lags or list(self.lags) != sorted(set(self.lags)) or self.lags[0] < 1:
            raise ValueError(f"recall lags must be increasing bar counts from 1 (received {self.lags})")
        for name, table in (("start", self.start), ("cont", self.cont)):
            for s, p in table.items():
                if len(p) != len(self.lags) or not all(0.0 <= x <= 1.0 for x in p) or sum(p) > 1.0 + 1e-9 \
                        and name == "start":
                    raise ValueError(f"recall {name} chances for {s!r} must be {len(self.lags)} values in [0, 1]"
                                     f"{' summing to at most 1' if name == 'start' else ''} (received {p})")

    def for_styles(self, styles: Sequence[str] = ()) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
        """``(start, cont)`` of the first style that has them, else those for any style, else None."""
        for s in [*styles, ANY_STYLE]:
            if s in self.start:
                return self.start[s], self.cont.get(s, (0.0,) * len(self.lags))
        return None

    def to_dict(self) -> dict:
        return {"bar": self.bar, "keep": list(self.keep), "lags": list(self.lags),
                "start": {s: list(p) for s, p in self.start.items()}, "cont": {s: list(p) for s, p in self.cont.items()}}

    @classmethod
    def from_dict(cls, d: dict) -> "BarRecall":
        f = lambda t: {s: tuple(float(x) for x in p) for s, p in t.items()}
        return cls(int(d["bar"]), tuple(int(x) for x in d["keep"]), tuple(int(x) for x in d["lags"]),
                   f(d.get("start", {})), f(d.get("cont", {})))


def bar_signatures(tokens, bar: int, keep) -> list[tuple]:
    """A piece's bars as the tuples of their ``keep`` tokens, bar by bar (tokens before the first
    bar line are left out); ``()`` for a bar that holds none."""
    t = np.asarray(tokens, np.int64)
    cuts = np.flatnonzero(t == bar)
    kept = np.isin(t, np.asarray(list(keep), np.int64))
    ends = [*cuts[1:].tolist(), len(t)]
    return [tuple(t[a + 1:b][kept[a + 1:b]].tolist()) for a, b in zip(cuts.tolist(), ends)]


def repeated_lag(sigs: Sequence[tuple], j: int, lags: Sequence[int]) -> int:
    """Index into ``lags`` of the shortest lag whose bar equals bar ``j`` (a bar with notes), -1 if none."""
    if not sigs[j]:
        return -1
    for i, lag in enumerate(lags):
        if j - lag >= 0 and sigs[j - lag] == sigs[j]:
            return i
    return -1


def recall_counts(sigs: Sequence[tuple], lags: Sequence[int]) -> np.ndarray:
    """``(4, len(lags))`` counts over a piece's bars: starts seen / possible, continuations seen /
    possible (what :func:`fit_recall` divides)."""
    c = np.zeros((4, len(lags)), np.int64)
    for j in range(1, len(sigs)):
        prev = repeated_lag(sigs, j - 1, lags)
        if prev >= 0:
            c[3, prev] += 1
            lag = lags[prev]
            c[2, prev] += int(bool(sigs[j]) and sigs[j - lag] == sigs[j])
        else:
            now = repeated_lag(sigs, j, lags)
            for i, lag in enumerate(lags):
                if j - lag >= 0 and bool(sigs[j - lag]):
                    c[1, i] += 1
            if now >= 0:
                c[0, now] += 1
    return c


def fit_recall(tokenizer, data, labels: Sequence[dict], *, lags: Sequence[int] = RECALL_LAGS,
               min_bars: int = 500) -> BarRecall | None:
    """How often bars come back in ``data`` (a split, usually train), per genre label with at least
    ``min_bars`` bars and for any style; None for a tokenizer without bar lines, positions and pitches."""
    if getattr(tokenizer, "name", "") != "remi" or not getattr(tokenizer, "has_bars", False):
        return None
    keep = tuple(sorted([*tokenizer.tokens_of_kind("Position"), *tokenizer.tokens_of_kind("Pitch")]))
    bar = int(tokenizer.bar_id)
    lags = tuple(int(x) for x in lags)
    counts: dict[str, np.ndarray] = {}
    bars: dict[str, int] = {}
    for i in range(len(data)):
        sigs = bar_signatures(data.piece(i), bar, keep)
        c = recall_counts(sigs, lags)
        for g in {ANY_STYLE, (labels[i] or {}).get("genre") or ANY_STYLE}:
            counts[g] = counts.get(g, 0) + c
            bars[g] = bars.get(g, 0) + len(sigs)
    start, cont = {}, {}
    for g, c in counts.items():
        if g != ANY_STYLE and bars[g] < min_bars:
            continue
        ratio = lambda a, b: tuple(round(float(x / y), 4) if y else 0.0 for x, y in zip(a, b))
        st = ratio(c[0], c[1])
        total = sum(st)
        start[g] = tuple(round(x / total, 4) for x in st) if total > 1.0 else st
        cont[g] = ratio(c[2], c[3])
    return BarRecall(bar, keep, lags, start, cont) if start else None


class Recalls:
    """The bars of a batch so far, one row each, and the bar each row is replaying (if any): made
    by :class:`BarRecall` decisions at every bar line, drawn from each row's own random numbers."""

    def __init__(self, recall: BarRecall, chances: list, seeds: Sequence[int] | None = None):
        """``chances``: per row ``(start, cont)`` or None (a row that never replays); ``seeds``: per
        row, or None until :meth:`seed` is called (before the first bar line is sampled)."""
        self.r = recall
        self.keep = frozenset(recall.keep)
        self.chances = list(chances)
        self.rngs = None
        if seeds is not None:
            self.seed(seeds)
        rows = len(self.chances)
        self.tokens: list[list[int]] = [[] for _ in range(rows)]
        self.starts: list[list[int]] = [[] for _ in range(rows)]   # index of each bar line
        self.sigs: list[list[tuple]] = [[] for _ in range(rows)]   # each finished bar's signature
        self.queue: list[list[int]] = [[] for _ in range(rows)]    # tokens still to replay (reversed)
        self.replayed: list[int] = [0] * rows                      # bars replayed, per row

    def _push_row(self, r: int, tok: int) -> None:
        toks, starts = self.tokens[r], self.starts[r]
        toks.append(tok)
        if tok != self.r.bar:
            return
        if starts:
            a = starts[-1]
            self.sigs[r].append(tuple(t for t in toks[a + 1:-1] if t in self.keep))
        starts.append(len(toks) - 1)
        if self.chances[r] is not None and not self.queue[r]:
            self._decide(r)

    def seed(self, seeds: Sequence[int]) -> None:
        """Each row's own random numbers (a row draws the same alone or in any batch)."""
        self.rngs = [np.random.default_rng([int(s) & 0xFFFFFFFF, int(s) >> 32 & 0xFFFFFFFF, 0x5EC]) for s in seeds]

    def _decide(self, r: int) -> None:
        if self.rngs is None:
            self.seed(range(len(self.chances)))
        start, cont = self.chances[r]
        sigs, lags = self.sigs[r], self.r.lags
        j = len(sigs)  # the bar that begins now
        u = float(self.rngs[r].random())
        pick = -1
        if j >= 1 and (prev := repeated_lag(sigs, j - 1, lags)) >= 0:
            pick = prev if u < cont[prev] else -1
        else:
            acc = 0.0
            for i, lag in enumerate(lags):
                if j - lag >= 0 and sigs[j - lag]:
                    acc += start[i]
                    if u < acc:
                        pick = i
                        break
        if pick >= 0:
            src = j - lags[pick]
            a, b = self.starts[r][src], self.starts[r][src + 1]
            self.queue[r] = [self.r.bar, *self.tokens[r][a + 1:b][::-1]]  # the bar, then its bar line
            self.replayed[r] += 1

    def prime(self, tokens) -> None:
        """The primer of every row (ints ``(rows, T)``): recorded, no decision taken in it."""
        for r, row in enumerate(np.atleast_2d(np.asarray(tokens, dtype=np.int64)).tolist()):
            chances, self.chances[r] = self.chances[r], None
            for tok in row:
                self._push_row(r, tok)
            self.chances[r] = chances

    def push(self, tokens) -> None:
        """One token per row, as sampled or forced."""
        for r, tok in enumerate(np.asarray(tokens, dtype=np.int64).reshape(-1).tolist()):
            self._push_row(r, tok)

    def forced(self) -> dict[int, int]:
        """``{row: token}`` for the rows replaying a bar: their next token (taken off the queue)."""
        return {r: q.pop() for r, q in enumerate(self.queue) if q}

    @classmethod
    def cat(cls, parts: list["Recalls"]) -> "Recalls":
        m = cls.__new__(cls)
        m.r, m.keep = parts[0].r, parts[0].keep
        for name in ("chances", "tokens", "starts", "sigs", "queue", "replayed"):
            setattr(m, name, [x for p in parts for x in getattr(p, name)])
        m.rngs = None if any(p.rngs is None for p in parts) else [x for p in parts for x in p.rngs]
        return m


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


def fit_weights(logp_model: np.ndarray, order: np.ndarray, prob: np.ndarray, n_orders: int) -> tuple[float, ...]:
    """Per matched order, the weight on :data:`WEIGHT_GRID` that maximises the likelihood of the true tokens."""
    p_model = np.exp(logp_model)
    out = []
    for i in range(n_orders):
        m = order == i
        if not m.any():
            out.append(0.0)
            continue
        a, c = p_model[m][:, None], prob[m][:, None]
        ll = np.log((1.0 - WEIGHT_GRID) * a + WEIGHT_GRID * c).sum(0)
        out.append(round(float(WEIGHT_GRID[int(np.argmax(ll))]), 4))
    return tuple(out)


def fit_repeats(ckpt, cache, *, split: str = "validation", seq_len: int | None = None,
                orders: Sequence[int] = ORDERS, min_tokens: int = 20_000,
                recall_split: str | None = "train", boost_samples: int = 32) -> tuple[RepeatModel, dict]:
    """Weights fitted on ``split`` of a labelled cache (the checkpoint's tokenizer) -> ``(model,
    report)``: one set for any style (every piece, the unconditioned network's predictions) and one
    per genre label with at least ``min_tokens`` targets. The network is scored as ``tunegan
    evaluate`` scores it (windows of ``seq_len``, default the span it trained on); the cache sees the
    whole piece before each target. ``report``: NLL per note on ``split`` per genre, the network
    alone and mixed. How often bars come back (:func:`fit_recall`) is counted on ``recall_split``
    (None: not at all), and the boost sampling gives the memory is fitted on ``split`` with
    ``boost_samples`` samples per genre (:func:`fit_boost`; 0: none). A split too short for one window raises :class:`~tunegan.errors.DataError`."""
    from .errors import DataError
    from .evaluation.likelihood import model_scores

    tc = ckpt.meta.get("train_config") or {}
    seq_len = int(seq_len or int(tc.get("seq_len", 64)) * int(tc.get("tbptt_chunks", 1)))
    data = cache.split(split)
    if data.n_tokens <= seq_len:
        raise DataError(f"{cache.root}: the {split} split has {data.n_tokens} tokens, too few to fit how much the "
                        f"music repeats (windows of {seq_len})")
    scores, targets, positions = model_scores(ckpt, data, seq_len)
    base = RepeatModel.for_tokenizer(ckpt.tokenizer, orders)
    piece, order, prob = split_cache_stats(base, data, positions)
    labels = cache.piece_labels(split)
    genre = np.array([(labels[int(k)] or {}).get("genre") or "" for k in piece])
    notes = ckpt.tokenizer.note_counts()[targets]
    weights = {ANY_STYLE: fit_weights(scores.logp, order, prob, len(orders))}
    for g in sorted(set(genre.tolist()) - {""}):
        m = genre == g
        if m.sum() >= min_tokens:
            weights[g] = fit_weights(scores.logp[m], order[m], prob[m], len(orders))
    recall = fit_recall(ckpt.tokenizer, cache.split(recall_split), cache.piece_labels(recall_split)) \
        if recall_split is not None and recall_split in cache.manifest["counts"] else None
    model = RepeatModel(base.orders, base.wildcard, weights, recall)
    report = {"split": split, "weights": {s: list(w) for s, w in weights.items()}, "per_genre": {}}
    if recall is not None:
        report["recall"] = {"split": recall_split, "start": recall.to_dict()["start"], "cont": recall.to_dict()["cont"]}
    if boost_samples:
        found, report["boost"] = fit_boost(ckpt, model, cache, split=split, samples=boost_samples)
        model = RepeatModel(model.orders, model.wildcard, model.weights, model.recall, found)
    for g in [ANY_STYLE, *sorted(set(genre.tolist()) - {""})]:
        m = genre == g if g else np.ones(len(genre), bool)
        n = int(notes[m].sum())
        if n:
            report["per_genre"][g or "all"] = {
                "notes": n, "matched": float(np.mean(order[m] >= 0)),
                "nll_per_note": float(-scores.logp[m].sum() / n),
                "nll_per_note_repeats": float(-mixed_logp(scores.logp[m], order[m], prob[m],
                                                          model.weights_for([g] if g else [])).sum() / n)}
    return model, report


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


def with_repeats(ckpt, model: RepeatModel):
    """A shallow copy of a loaded checkpoint whose piece memory is ``model`` (the network is shared)."""
    from copy import copy

    out = copy(ckpt)
    out.meta = {**ckpt.meta, "repeats": model.to_dict()}
    return out


def self_repetition(notes) -> float:
    """Share of distinct 4-note interval patterns within one piece's notes (onset order, ties by
    pitch; the two-sample test's ``distinct_4gram`` feature): low = the piece returns to its motifs."""
    from .evaluation.twosample import crop_features

    return float(crop_features(notes)[DISTINCT_4GRAM])


DISTINCT_4GRAM = 43  # its index in :func:`tunegan.evaluation.twosample.crop_features`


def fit_boost(ckpt, model: RepeatModel, cache, *, split: str = "validation", samples: int = 32, length: int = 512,
              grid: Sequence[float] = BOOST_GRID, seed: int = 0) -> tuple[dict[str, float], dict]:
    """Per genre (and for any style), the boost on ``grid`` whose samples return to their motifs as
    often as real ``split`` music of the genre: ``samples`` pieces of ``length`` tokens each way
    (the crops and samples ``tunegan style-eval`` compares), the mean :func:`self_repetition` of
    the samples closest to that of the real crops (the smaller boost on a tie). Genres without a
    keyword in the checkpoint or without pieces in ``split`` keep no boost. Returns ``(boost,
    report)``; ``report`` has every grid point's mean beside the real one."""
    from .errors import DataError
    from .evaluation.genre_classifier import piece_genres, real_crop_features
    from .evaluation.style import generate_scores, model_keywords
    from .music import extract_notes

    have = [g for g in sorted(set(piece_genres(cache, split).tolist())) if g]
    genres = [g for g in model_keywords(ckpt, "genre") if g in have and g in model.weights]
    if not genres:
        return {}, {"split": split, "genres": {}}
    try:
        real = real_crop_features(cache, split, genres, samples, length, seed=seed, with_notes=True)
    except DataError as e:
        return {}, {"split": split, "skipped": str(e)}
    boost, report = {}, {"split": split, "samples": samples, "length": length, "genres": {}}
    for gi, g in enumerate([*genres, ANY_STYLE]):
        crops = [n for n, y in zip(real["notes"], real["y"]) if gi == len(genres) or y == gi]
        want = float(np.mean([self_repetition(n) for n in crops if len(n) > 4]))
        got = {}
        for k in grid:
            trial = RepeatModel(model.orders, model.wildcard, model.weights, model.recall, {g: float(k)})
            scores = generate_scores(with_repeats(ckpt, trial), samples, length, style=g or None, seed=seed)
            vals = [self_repetition(n) for n in map(extract_notes, scores) if len(n) > 4]
            got[float(k)] = float(np.mean(vals)) if vals else float("nan")
        best = min(got, key=lambda k: (abs(got[k] - want) if got[k] == got[k] else np.inf, k))
        boost[g] = best
        report["genres"][g or "any"] = {"real": round(want, 4), "samples": {str(k): round(v, 4) for k, v in got.items()},
                                       "boost": best}
    return boost, report
