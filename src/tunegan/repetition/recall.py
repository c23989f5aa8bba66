"""Bars that come back: chances counted on real music, and the decisions taken while sampling."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .memory import ANY_STYLE


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
                too_many = name == "start" and sum(p) > 1.0 + 1e-9  # one lag at most is drawn per bar
                if len(p) != len(self.lags) or not all(0.0 <= x <= 1.0 for x in p) or too_many:
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
    ratio = lambda a, b: tuple(round(float(x / y), 4) if y else 0.0 for x, y in zip(a, b))
    for g, c in counts.items():
        if g != ANY_STYLE and bars[g] < min_bars:
            continue
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

    def select(self, rows) -> "Recalls":
        """The batch of ``rows`` only (in that order), each row's history and draws carried on."""
        m = Recalls.cat([self])
        for name in ("chances", "tokens", "starts", "sigs", "queue", "replayed"):
            setattr(m, name, [getattr(self, name)[r] for r in rows])
        m.rngs = None if self.rngs is None else [self.rngs[r] for r in rows]
        return m
