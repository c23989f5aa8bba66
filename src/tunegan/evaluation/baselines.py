"""N-gram baselines fitted on a training token stream, scored on held-out tokens.

Every baseline gives, for each target position, the log-probability of the true token (nats)
and a top-5 list, so its NLL, perplexity and accuracies sit beside the generator's on exactly
the same targets. Context runs across the whole stream (an n-gram sees at most 2 tokens back).

* ``unigram``: token frequencies (add-one smoothing); top-1 is the most frequent token.
* ``bigram`` / ``trigram``: linear interpolation of trigram, bigram and unigram estimates, the
  weights chosen on the validation stream (never on test) from a small grid.
* ``repeat``: the previous token again with probability ``r`` (its rate in train), else unigram.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np


@dataclass
class Scores:
    """Per-position results: ``logp`` (nats of the true token) and ``top5`` (int64 ``(n, 5)``)."""

    logp: np.ndarray
    top5: np.ndarray

    def summary(self, targets: np.ndarray, note_counts: np.ndarray | None = None) -> dict:
        """NLL (nats/token), perplexity, top-1/top-5 over ``targets``; with ``note_counts`` (int
        ``(vocab,)``: notes each token starts, :meth:`~tunegan.tokenizers.Tokenizer.note_counts`) also
        ``nll_per_note``: the total NLL of the targets over the notes they hold, comparable across
        tokenizers (a token that holds no note still costs nats)."""
        nll = float(-self.logp.mean()) if len(self.logp) else float("nan")
        out = {"nll": nll, "perplexity": float(np.exp(nll)),
               "top1": float((self.top5[:, 0] == targets).mean()),
               "top5": float((self.top5 == targets[:, None]).any(1).mean()), "tokens": int(len(targets))}
        if note_counts is not None:
            notes = int(np.asarray(note_counts)[targets].sum())
            out["notes"] = notes
            out["nll_per_note"] = float(-self.logp.sum() / notes) if notes else float("nan")
        return out


class NGram:
    """Interpolated n-gram model (n = 1, 2 or 3) over a vocabulary of ``V`` ids."""

    def __init__(self, V: int, order: int = 3, ignore: int | None = 0):
        self.V, self.order, self.ignore = V, order, ignore
        self.lambdas = (1.0, 0.0, 0.0)

    def fit(self, stream: np.ndarray, valid: np.ndarray | None = None) -> "NGram":
        s = np.asarray(stream, dtype=np.int64)
        V = self.V
        self.uni = np.bincount(s, minlength=V).astype(np.float64) + 1.0
        if self.ignore is not None:
            self.uni[self.ignore] = 1e-9
        self.uni /= self.uni.sum()
        if self.order >= 2:
            self.bi = np.zeros((V, V), dtype=np.float64)
            np.add.at(self.bi, (s[:-1], s[1:]), 1.0)
            self.bi_ctx = self.bi.sum(1)
        if self.order >= 3:
            ids = (s[:-2] * V + s[1:-1]) * V + s[2:]
            self.tri_keys, self.tri_counts = np.unique(ids, return_counts=True)
            ctx, first = np.unique(self.tri_keys // V, return_index=True)
            self.tri_ctx, self.tri_ctx_start = ctx, first
            self.tri_ctx_end = np.append(first[1:], len(self.tri_keys))
            self.tri_ctx_total = np.add.reduceat(self.tri_counts, first).astype(np.float64)
        grid = {1: [(1.0, 0.0, 0.0)],
                2: [(1 - b, b, 0.0) for b in (0.5, 0.7, 0.8, 0.9, 0.95)],
                3: [(l1, l2, 1 - l1 - l2) for l1, l2 in itertools.product((0.02, 0.05, 0.1, 0.2), (0.2, 0.3, 0.4, 0.5, 0.6))
                    if l1 + l2 < 1]}[self.order]
        self.lambdas = grid[len(grid) // 2]
        if valid is not None and len(valid) > 3 and len(grid) > 1:
            v = np.asarray(valid, dtype=np.int64)[:200_000]
            best = max(grid, key=lambda lam: self._logp_true(v, lam).mean())
            self.lambdas = best
        return self

    # components -------------------------------------------------------------------------------
    def _bi_prob(self, prev: np.ndarray, nxt: np.ndarray) -> np.ndarray:
        ctx = self.bi_ctx[prev]
        return np.where(ctx > 0, self.bi[prev, nxt] / np.maximum(ctx, 1), self.uni[nxt])

    def _tri_prob(self, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
        V = self.V
        key = (a * V + b) * V + c
        i = np.searchsorted(self.tri_keys, key)
        i = np.minimum(i, len(self.tri_keys) - 1)
        cnt = np.where(self.tri_keys[i] == key, self.tri_counts[i], 0).astype(np.float64)
        j = np.searchsorted(self.tri_ctx, a * V + b)
        j = np.minimum(j, len(self.tri_ctx) - 1)
        tot = np.where(self.tri_ctx[j] == a * V + b, self.tri_ctx_total[j], 0.0)
        return np.where(tot > 0, cnt / np.maximum(tot, 1), self._bi_prob(b, c))

    def _logp_true(self, s: np.ndarray, lam) -> np.ndarray:
        """log P(s[t] | s[t-2], s[t-1]) for t >= 2 (positions 0 and 1 have no full context)."""
        c = s[2:]
        p = lam[0] * self.uni[c]
        if self.order >= 2:
            p = p + lam[1] * self._bi_prob(s[1:-1], c)
        if self.order >= 3:
            p = p + lam[2] * self._tri_prob(s[:-2], s[1:-1], c)
        return np.log(np.maximum(p, 1e-12))

    def score(self, s: np.ndarray, positions: np.ndarray) -> Scores:
        """Score targets ``s[positions]`` (each position >= 2) in the stream ``s``."""
        s = np.asarray(s, dtype=np.int64)
        lam = self.lambdas
        logp = self._logp_true(s, lam)[positions - 2]
        top5 = np.empty((len(positions), 5), dtype=np.int64)
        for lo in range(0, len(positions), 2048):
            pos = positions[lo:lo + 2048]
            dense = np.tile(lam[0] * self.uni, (len(pos), 1))
            if self.order >= 2:
                prev = s[pos - 1]
                ctx = self.bi_ctx[prev][:, None]
                dense += lam[1] * np.where(ctx > 0, self.bi[prev] / np.maximum(ctx, 1), self.uni[None, :])
            if self.order >= 3:
                self._add_trigram_rows(dense, s[pos - 2], s[pos - 1], lam[2])
            if self.ignore is not None:
                dense[:, self.ignore] = -1
            part = np.argpartition(-dense, 4, axis=1)[:, :5]  # the 5 best, then in order
            order = np.argsort(-np.take_along_axis(dense, part, 1), axis=1)
            top5[lo:lo + len(pos)] = np.take_along_axis(part, order, 1)
        return Scores(logp, top5)

    def _add_trigram_rows(self, dense: np.ndarray, a: np.ndarray, b: np.ndarray, w: float) -> None:
        V = self.V
        ctx = a * V + b
        j = np.minimum(np.searchsorted(self.tri_ctx, ctx), len(self.tri_ctx) - 1)
        found = self.tri_ctx[j] == ctx
        # rows with no trigram context fall back to the bigram estimate (as in _tri_prob)
        no = ~found
        if no.any():
            ctxb = self.bi_ctx[b[no]][:, None]
            dense[no] += w * np.where(ctxb > 0, self.bi[b[no]] / np.maximum(ctxb, 1), self.uni[None, :])
        rows = np.nonzero(found)[0]
        if len(rows) == 0:
            return
        starts, ends = self.tri_ctx_start[j[rows]], self.tri_ctx_end[j[rows]]
        lens = ends - starts
        row_rep = np.repeat(rows, lens)
        idx = np.repeat(starts - np.cumsum(np.r_[0, lens[:-1]]), lens) + np.arange(lens.sum())
        cols = self.tri_keys[idx] % V
        vals = self.tri_counts[idx] / np.repeat(self.tri_ctx_total[j[rows]], lens)
        np.add.at(dense, (row_rep, cols), w * vals)


class RepeatPrevious:
    """P(next = previous) = r (fitted on train), the rest spread by unigram frequency."""

    def __init__(self, V: int, ignore: int | None = 0):
        self.V, self.ignore = V, ignore

    def fit(self, stream: np.ndarray, valid=None) -> "RepeatPrevious":
        s = np.asarray(stream, dtype=np.int64)
        self.r = float(np.clip((s[1:] == s[:-1]).mean(), 1e-3, 1 - 1e-3))
        self.uni = NGram(self.V, 1, self.ignore).fit(s).uni
        return self

    def score(self, s: np.ndarray, positions: np.ndarray) -> Scores:
        s = np.asarray(s, dtype=np.int64)
        prev, tgt = s[positions - 1], s[positions]
        p = (1 - self.r) * self.uni[tgt] + self.r * (tgt == prev)
        order = np.argsort(-self.uni)
        order = order[order != self.ignore] if self.ignore is not None else order
        top5 = np.empty((len(positions), 5), dtype=np.int64)
        top5[:, 0] = prev
        # then the most frequent tokens other than the previous one
        cand = np.tile(order[:5], (len(positions), 1))
        keep = np.argsort(cand == prev[:, None], axis=1, kind="stable")[:, :4]
        top5[:, 1:] = np.take_along_axis(cand, keep, 1)
        return Scores(np.log(np.maximum(p, 1e-12)), top5)


def fit_baselines(train: np.ndarray, valid: np.ndarray | None, V: int, ignore: int | None) -> dict:
    """The four baselines of ``tunegan evaluate``, fitted on ``train`` (n-gram weights on ``valid``)."""
    return {
        "most frequent (unigram)": NGram(V, 1, ignore).fit(train),
        "bigram": NGram(V, 2, ignore).fit(train, valid),
        "trigram": NGram(V, 3, ignore).fit(train, valid),
        "repeat previous": RepeatPrevious(V, ignore).fit(train),
    }
