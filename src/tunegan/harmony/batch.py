"""The clocks of a batch of rows as arrays (:class:`Guards`): what sampling asks at every step."""

from __future__ import annotations

import numpy as np

from .bins import (BAND, KINDS, MIN_KEY_NOTES, N_DEGREES, N_INTERVALS, N_PAIRS, N_TAILS, NO_INTERVAL, _degree_table,
                   _interval_table, _neighbours_f, draw_span, fitted_to, gap_bins, pair_bins, register_bins, running_keys,
                   tail_bins)
from .clock import BAR, DURATION, METRE, PITCH, POSITION, GuardTables
from .guard import StyleGuard

_STALE = object()  # Guards._cached before the multipliers of the clocks' present state are made


class Guards:
    """The clocks of a batch of rows as arrays, and their factors (one tuple over :data:`KINDS` per
    row, None for a row without a guard): :class:`NoteClock`'s rules for every row at once, so a
    sampling step costs a few array operations, not a Python loop over rows (the multipliers equal
    each row's :meth:`NoteClock.factors`, tested)."""

    def __init__(self, tables: GuardTables, factors: list[tuple[float, ...] | None],
                 spans: list[int | None] | None = None, intervals: list | None = None,
                 keep_mass: list[bool] | None = None, degrees: list | None = None, gaps: list | None = None,
                 register: list | None = None, tails: list | None = None, durations: list | None = None,
                 pairs: list | None = None):
        self.t = tables
        B, n = len(factors), len(tables.pitch_ids)
        bands = register_bins(np.arange(n), n)
        self.rg = np.array([np.ones(n) if x is None else fitted_to(x, (n - 1) // BAND + 1)[bands]
                            for x in (register or [None] * B)], np.float64).reshape(B, n)
        self.gp = np.array([np.ones(tables.n_gaps) if x is None else fitted_to(x, tables.n_gaps)
                            for x in (gaps or [None] * B)], np.float64).reshape(B, tables.n_gaps)
        self.tl = np.array([np.ones(N_TAILS) if x is None else fitted_to(x, N_TAILS)
                            for x in (tails or [None] * B)], np.float64).reshape(B, N_TAILS)
        self.pr = np.array([np.ones(N_PAIRS) if x is None else np.asarray(x, np.float64)
                            for x in (pairs or [None] * B)], np.float64).reshape(B, N_PAIRS)
        self.last = np.full(B, -1, np.int64)             # index of the latest note's pitch (-1: none yet)
        self.before = np.full(B, NO_INTERVAL, np.int64)  # the interval that led to it
        nd = len(tables.duration_ids)
        self.du = np.array([np.ones(nd) if x is None else fitted_to(x, nd)
                            for x in (durations or [None] * B)], np.float64).reshape(B, nd)
        self.dg = np.array([np.ones(N_DEGREES) if x is None else np.asarray(x, np.float64)
                            for x in (degrees or [None] * B)], np.float64).reshape(B, N_DEGREES)
        self.pch = np.zeros((B, 12))                     # pitch classes weighted by duration
        self.keys = np.full(B, -1, np.int64)             # the key they sound in (running_keys), kept as notes end
        self.notes = np.zeros(B, np.int64)
        self.keep = np.array(keep_mass or [False] * B, bool).reshape(B)  # rows whose pitches keep their mass
        # one column more than the bins, a factor of 1 for "no bin" (the interval table's last index)
        self.iv = np.array([np.ones(N_INTERVALS + 1) if x is None else np.append(np.asarray(x, np.float64), 1.0)
                            for x in (intervals or [None] * B)], np.float64).reshape(B, N_INTERVALS + 1)
        self.span = np.array([-1 if x is None else int(x) for x in (spans or [None] * B)], np.int64)
        self.lo = np.full(B, 10 ** 6, np.int64)          # index of the piece's lowest pitch so far
        self.hi = np.full(B, -1, np.int64)               # and of its highest (-1: none yet)
        self.active = np.array([f is not None for f in factors], bool)
        self.f = np.array([tuple(f) + (1.0,) * (len(KINDS) - len(f)) if f is not None else (1.0,) * len(KINDS)
                           for f in factors], np.float64).reshape(B, len(KINDS))
        self.ends = np.full((B, n), -1, np.int64)       # end position of each pitch's latest note (-1: none yet)
        self.now = np.zeros(B, np.int64)
        self.bar_start = np.zeros(B, np.int64)
        self.bar_len = np.full(B, tables.bar_positions, np.int64)
        self.seen_bar = np.zeros(B, bool)
        self.pending = np.full(B, -1, np.int64)          # index of the pitch whose Duration has not come yet
        self.onset = np.full(B, -1, np.int64)            # the latest onset's position
        self.top = np.full(B, -1, np.int64)              # index of its highest pitch (-1: none yet)
        # which rows each part of the guard acts on (fixed per row, so not recomputed at every step)
        self.keyed = (self.dg != 1).any(1)
        self.banded = (self.rg != 1).any(1)
        self.timed = self.active & ((self.gp != 1).any(1) | (self.tl != 1).any(1))
        self.lasting = self.active & (self.du != 1).any(1)
        self.paired = (self.pr != 1).any(1)
        self.pitched = self.active & ((self.f.min(1) < 1) | (self.iv != 1).any(1) | self.keyed | self.banded |
                                      self.paired)
        self._cached = _STALE  # the last multipliers, kept while no token moves a clock (velocities, tempos)

    @classmethod
    def of(cls, tables: GuardTables, guard: StyleGuard, rows: int, seeds=None) -> Guards:
        """``rows`` rows that all sample with one style's guard; with its ``span_draws`` and the
        rows' ``seeds``, each row draws its own span (:func:`draw_span`)."""
        g = guard
        spans = [g.span] * rows
        if g.span_draws and seeds is not None:
            spans = [draw_span(g.span_draws, s) for s in seeds]
        return cls(tables, [g.factors] * rows, spans, [g.intervals] * rows, [g.keep_pitch_mass] * rows,
                   [g.degrees] * rows, [g.gaps] * rows, [g.register] * rows, [g.tails] * rows,
                   [g.durations] * rows, [g.pairs] * rows)

    def prime(self, primes: np.ndarray) -> None:
        primes = np.atleast_2d(np.asarray(primes, np.int64))
        for j in range(primes.shape[1]):
            self.push(primes[:, j])

    def push(self, tokens: np.ndarray) -> None:
        """One token per row, as :meth:`NoteClock.push` reads it."""
        tok = np.asarray(tokens, np.int64).reshape(-1)
        k, v = self.t.kind[tok], self.t.value[tok]
        if not ((k == BAR) | (k == METRE) | (k == POSITION) | (k == PITCH) | (k == DURATION)).any():
            return  # nothing a clock reads: the multipliers stay as they were
        self._cached = _STALE
        bar = k == BAR
        if bar.any():
            self.bar_start = np.where(bar & self.seen_bar, self.bar_start + self.bar_len, self.bar_start)
            self.seen_bar |= bar
            self.now = np.where(bar, self.bar_start, self.now)
        self.bar_len = np.where(k == METRE, v, self.bar_len)
        pos = k == POSITION
        self.now = np.where(pos, self.bar_start + v, self.now)
        self.pending = np.where(k == PITCH, v - self.t.pitch_low, self.pending)
        rows = np.flatnonzero((k == DURATION) & (self.pending >= 0))
        if len(rows):
            p, now = self.pending[rows], self.now[rows]
            self.before[rows] = np.where(self.last[rows] >= 0, p - self.last[rows], NO_INTERVAL)
            self.last[rows] = p
            self.ends[rows, p] = np.maximum(now + v[rows], self.ends[rows, p])  # overlaps: the later end
            self.top[rows] = np.where(self.onset[rows] != now, p, np.maximum(self.top[rows], p))
            self.onset[rows] = now
            self.lo[rows], self.hi[rows] = np.minimum(self.lo[rows], p), np.maximum(self.hi[rows], p)
            np.add.at(self.pch, (rows, (p + self.t.pitch_low) % 12), v[rows])
            self.notes[rows] += 1
            if self.keyed[rows].any():
                self.keys[rows] = running_keys(self.pch[rows])
            self.pending[rows] = -1

    def multipliers(self, vocab: int) -> np.ndarray | None:
        """``(batch, vocab)`` factors on the next token's probabilities, or None when all are 1
        (the same array again while no token has moved a clock: callers must not write to it)."""
        if self._cached is _STALE or (self._cached is not None and self._cached.shape[1] != vocab):
            self._cached = self._multipliers(vocab)
        return self._cached

    def _multipliers(self, vocab: int) -> np.ndarray | None:
        rows = np.flatnonzero(self.pitched)
        timed = np.flatnonzero(self.timed & (self.onset >= 0))
        pos = None
        if len(timed):  # the Position tokens, by the gap each would open from the row's latest onset
            pos_values = self.t.value[self.t.position_ids]
            bins = gap_bins(self.bar_start[timed, None] + pos_values[None, :] - self.onset[timed, None], self.t.n_gaps)
            pos = np.where(bins >= 0, np.take_along_axis(self.gp[timed], np.maximum(bins, 0), 1), 1.0)
            # the Bar tokens by the empty tail they would close the bar with
            tail = tail_bins(self.bar_start[timed] + self.bar_len[timed] - self.onset[timed], self.t.beat)
            tail = np.where(self.seen_bar[timed], tail, -1)
            bar = np.where(tail >= 0, self.tl[timed, np.maximum(tail, 0)], 1.0)
            if (pos == 1.0).all() and (bar == 1.0).all():
                pos = None
        m = self._pitch_multipliers(rows) if len(rows) else None
        lasting = np.flatnonzero(self.lasting & (self.pending >= 0))  # a Duration token may come next
        if m is None and pos is None and not len(lasting):
            return None
        out = np.ones((len(self.active), vocab), np.float32)
        if m is not None:
            out[np.ix_(rows, self.t.pitch_ids)] = m
        if pos is not None:
            out[np.ix_(timed, self.t.position_ids)] = pos
            out[np.ix_(timed, self.t.bar_ids)] = bar[:, None]
        if len(lasting):
            out[np.ix_(lasting, self.t.duration_ids)] = self.du[lasting]
        return out

    def _pitch_multipliers(self, rows: np.ndarray) -> np.ndarray | None:
        """``(len(rows), n pitches)`` factors on the Pitch tokens of ``rows``, or None when all are 1."""
        n = self.ends.shape[1]
        now = self.now[rows, None]
        ends = self.ends[rows]
        sound = ends > now
        waiting = np.flatnonzero(self.pending[rows] >= 0)
        sound[waiting, self.pending[rows][waiting]] = True
        ended = (ends == now) & ~sound
        step = np.flatnonzero((self.onset[rows] != self.now[rows]) & (self.top[rows] >= 0))
        span, lo, hi = self.span[rows, None], self.lo[rows, None], self.hi[rows, None]
        pitch = np.arange(sound.shape[1])[None, :]
        off = (span >= 0) & (hi >= 0) & ((pitch - lo > span) | (hi - pitch > span))
        top = self.top[rows]
        has_top = top >= 0
        keyed = (self.notes[rows] >= MIN_KEY_NOTES) & self.keyed[rows]
        registered = self.banded[rows].any()
        paired = self.paired[rows] & (self.last[rows] >= 0) & (self.before[rows] != NO_INTERVAL)
        if not (sound.any() or ended.any() or len(step) or off.any() or has_top.any() or keyed.any() or registered
                or paired.any()):
            return None
        near, far = _neighbours_f(sound.shape[1])
        f = self.f[rows]
        m = np.where(ended, f[:, 3:4], 1.0)
        m[step, self.top[rows][step]] *= f[step, 4]
        m = np.where(off, m * f[:, 5:6], m)
        s32 = sound.astype(np.float32)
        m = np.where(s32 @ near > 0, m * f[:, 1:2], m)  # once per kind, however many sounding notes it clashes with
        m = np.where(s32 @ far > 0, m * f[:, 2:3], m)
        m = np.where(sound, f[:, 0:1], m)
        iv = self.iv[rows]
        if has_top.any() and (iv != 1).any():
            # bins from a table (same onset or not, top note, pitch); bin -1 reads a factor of 1
            bins = _interval_table(n)[(self.onset[rows] == self.now[rows]).astype(np.int64), np.maximum(top, 0)]
            g = np.take_along_axis(iv, bins, 1)
            m = m * np.where(has_top[:, None], g, 1.0)
        if keyed.any():
            bins = _degree_table(n, self.t.pitch_low)[np.maximum(self.keys[rows], 0)]
            g = np.take_along_axis(self.dg[rows], bins, 1)
            m = m * np.where(keyed[:, None], g, 1.0)
        if registered:
            m = m * self.rg[rows]
        if paired.any():  # the pair of intervals each pitch would make (bin -1 where there is none: masked)
            bins = pair_bins(self.before[rows, None], pitch - self.last[rows, None])
            g = np.take_along_axis(self.pr[rows], np.maximum(bins, 0), 1)
            m = m * np.where(paired[:, None], g, 1.0)
        if (m == 1.0).all():
            return None
        return m

    def kept_mass(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Groups of tokens whose guarded probabilities sampling scales back to the mass the network
        gave the group, as ``(token ids, bool rows)``: the Position and Bar tokens in every row with
        gap or tail factors (the guard chooses how far the next onset lies, not whether the piece
        moves on), the Duration tokens in every row with duration factors (how long a note lasts,
        not whether it ends),
        and the Pitch tokens in rows that keep their pitch mass (:attr:`HarmonyGuard.keep_pitch_mass`)."""
        out = []
        if self.timed.any():
            out.append((np.concatenate([self.t.position_ids, self.t.bar_ids]), self.timed))
        if self.lasting.any():
            out.append((self.t.duration_ids, self.lasting))
        if self.keep.any():
            out.append((self.t.pitch_ids, self.keep))
        return out

    def select(self, rows) -> Guards:
        """The batch of ``rows`` only (in that order), each row's clock carried on."""
        out = Guards.__new__(Guards)
        out.t, out._cached = self.t, _STALE
        rows = np.asarray(rows, np.int64)
        for name in _GUARD_ARRAYS:
            setattr(out, name, getattr(self, name)[rows].copy())
        return out

    @classmethod
    def cat(cls, parts: list[Guards]) -> Guards:
        out = cls.__new__(cls)
        out.t, out._cached = parts[0].t, _STALE
        for name in _GUARD_ARRAYS:
            setattr(out, name, np.concatenate([getattr(p, name) for p in parts]))
        return out


_GUARD_ARRAYS = ("active", "keep", "keyed", "banded", "timed", "lasting", "paired", "pitched", "f", "iv", "dg", "gp", "tl",
                 "du", "pr", "rg", "pch", "keys", "last", "before", "notes", "span", "lo", "hi", "ends", "now", "bar_start", "bar_len", "seen_bar", "pending", "onset", "top")
