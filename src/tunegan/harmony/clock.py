"""One piece's place in time and the notes sounding there, read token by token from a REMI stream
(:class:`NoteClock`), and the note starts it counts over pieces (:func:`start_counts`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .bins import (BAND, KINDS, MIN_KEY_NOTES, N_DEGREES, N_INTERVALS, N_PAIRS, N_STEPS, N_TAILS, NO_INTERVAL, WIDE_SET,
                   _neighbours, degree_bins, fitted_to, gap_bins, interval_bins, pair_bins, register_bins, running_keys,
                   tail_bins)


@dataclass(frozen=True)
class GuardTables:
    """What a REMI vocabulary says about time: per token id its kind and value, in *positions*
    (MidiTok's finest grid: 1/``res`` of the time signature's beat)."""

    kind: np.ndarray      # int8: 0 other, 1 bar, 2 position, 3 pitch, 4 duration, 5 time signature, 6 velocity
    value: np.ndarray     # int64: position index, MIDI pitch, duration in positions, positions per bar
    pitch_ids: np.ndarray  # ids of the Pitch tokens, by pitch (pitch_low..pitch_high)
    pitch_low: int
    bar_positions: int    # positions in a bar before any time signature (4/4)
    position_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # ids of the Position tokens
    bar_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # ids of the Bar tokens
    duration_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # ids of the Duration tokens

    @property
    def n_gaps(self) -> int:
        """Bins of :func:`gap_bins`: a gap of 1 position up to a 4/4 bar (longer gaps share the last)."""
        return self.bar_positions + 1

    @property
    def beat(self) -> int:
        """Positions per beat (a quarter note)."""
        return max(1, self.bar_positions // 4)


OTHER, BAR, POSITION, PITCH, DURATION, METRE, VELOCITY = range(7)


def guard_tables(tok) -> GuardTables | None:
    """The tables of a tokenizer with bars, positions, pitches and durations (REMI), else None
    (made once per tokenizer object)."""
    if "_guard_tables" not in vars(tok):
        tok._guard_tables = _tables(tok)
    return tok._guard_tables


def _tables(tok) -> GuardTables | None:
    if not (getattr(tok, "has_bars", False) and getattr(tok, "has_pitches", False) and hasattr(tok, "miditok")):
        return None
    res = max(tok.miditok.config.beat_res.values())
    V = tok.vocab_size
    kind, value = np.zeros(V, np.int8), np.zeros(V, np.int64)
    for i in range(V):
        name = tok.describe(i)
        head, _, rest = name.partition("_")
        if head == "Bar":
            kind[i] = BAR
        elif head == "Position":
            kind[i], value[i] = POSITION, int(rest)
        elif head == "Pitch":
            kind[i], value[i] = PITCH, int(rest)
        elif head == "Duration":
            beats, sub, r = (int(x) for x in rest.split("."))
            kind[i], value[i] = DURATION, beats * res + sub * res // r
        elif head == "Velocity":
            kind[i] = VELOCITY
        elif head == "TimeSig":
            num, _den = (int(x) for x in rest.split("/"))
            kind[i], value[i] = METRE, num * res
    if not (kind == DURATION).any():
        return None
    pitch_ids = np.flatnonzero(kind == PITCH)
    pitch_ids = pitch_ids[np.argsort(value[pitch_ids])]
    return GuardTables(kind, value, pitch_ids, int(value[pitch_ids[0]]), 4 * res, np.flatnonzero(kind == POSITION),
                       np.flatnonzero(kind == BAR), np.flatnonzero(kind == DURATION))


class NoteClock:
    """One piece's place in time and the notes sounding there, token by token.

    ``now``: the current position (bars before it counted with their metre). Sounding at ``now``:
    notes that started before it and end after it, notes already started at ``now`` (a chord being
    written), and the note whose ``Duration`` has not come yet. :meth:`push` returns, for the
    token that completes a note (its ``Duration``), whether the note re-strikes a sounding pitch,
    clashes (a semitone from a sounding one), clashes wide (a semitone in pitch class, an octave
    or more away), re-attacks (its pitch's last note ends where it starts) where it starts, and
    makes a unison step (it opens an onset on the pitch the onset before ended on) and lies beyond
    ``span`` (semitones; None: no span) from the piece's lowest or highest note so far; None for
    other tokens. ``step`` is then the note's bin of :func:`interval_bins` (-1: none), and
    ``intervals`` (:data:`N_INTERVALS` factors, or None) scale each pitch by its bin. After a Bar
    token, ``tail`` is the bin of :func:`tail_bins` of the bar it closed (-1: none), and ``tails``
    (:data:`N_TAILS` factors, or None) scale the Bar tokens by the tail they would close a bar with;
    ``durations`` (one factor per Duration token, in :attr:`GuardTables.duration_ids` order, or
    None) scale how long a note lasts."""

    __slots__ = ("t", "bar_start", "bar_len", "now", "ends", "pending", "hit", "seen_bar", "onset", "top",
                 "span", "lo", "hi", "_factors", "intervals", "step", "degrees", "degree", "pch", "notes", "gaps", "gap",
                 "register", "last_pitch", "tails", "tail", "durations", "pairs", "pair", "before")

    def __init__(self, tables: GuardTables, span: int | None = None, intervals=None, degrees=None, gaps=None,
                 register=None, tails=None, durations=None, pairs=None):
        self.t = tables
        self.pairs = None if pairs is None else np.asarray(pairs, np.float64).reshape(N_STEPS, N_STEPS)
        self.pair, self.before = -1, NO_INTERVAL  # the pending note's pair bin; the interval to the latest note
        self.durations = None if durations is None else fitted_to(durations, len(tables.duration_ids))
        self.tails = None if tails is None else fitted_to(tails, N_TAILS)
        self.tail = -1
        n = len(tables.pitch_ids)
        bands = register_bins(np.arange(n), n)
        self.register = None if register is None else fitted_to(register, (n - 1) // BAND + 1)[bands]
        self.gaps = None if gaps is None else fitted_to(gaps, tables.n_gaps)
        self.gap = self.last_pitch = -1
        self.span = span
        self.intervals = None if intervals is None else np.asarray(intervals, np.float64)
        self.degrees = None if degrees is None else np.asarray(degrees, np.float64)
        self.step = self.degree = -1
        self.pch, self.notes = np.zeros(12), 0  # the piece's pitch classes weighted by duration, and its notes
        self.lo, self.hi = 10 ** 6, -1  # the piece's lowest and highest pitch so far
        self.bar_start, self.bar_len, self.now = 0, tables.bar_positions, 0
        self.ends: dict[int, int] = {}  # pitch -> end position of its latest note
        self.pending: int | None = None  # the pitch whose Duration token has not come yet
        self.hit = (False,) * len(KINDS)  # whether the pending pitch re-strikes, clashes, clashes wide, re-attacks
        self.seen_bar = False
        self.onset, self.top = -1, -1  # the latest onset's position and its highest pitch (-1: none yet)
        self._factors = None  # (factors, multipliers) until the clock moves

    def sounding(self) -> set[int]:
        now = self.now
        out = {p for p, e in self.ends.items() if e > now}
        if self.pending is not None:
            out.add(self.pending)
        return out

    def ended(self) -> set[int]:
        """Pitches whose latest note ends exactly now."""
        now = self.now
        return {p for p, e in self.ends.items() if e == now}

    def push(self, token: int) -> tuple[bool, ...] | None:
        k, v = int(self.t.kind[token]), int(self.t.value[token])
        if k == BAR or k == POSITION or k == PITCH or k == DURATION:
            self._factors = None
        if k == BAR:
            self.tail = self.tail_bin()
            if self.seen_bar:
                self.bar_start += self.bar_len
            self.seen_bar, self.now = True, self.bar_start
        elif k == METRE:
            self.bar_len = v
        elif k == POSITION:
            self.now = self.bar_start + v
        elif k == PITCH:
            self.pending = None  # a pitch left without its duration is no note (MidiTok drops it)
            sound = self.sounding()
            self.pending, self.hit = v, (v in sound, (v - 1) in sound or (v + 1) in sound,
                                         any(abs(v - p) in WIDE_SET for p in sound),
                                         v not in sound and self.ends.get(v) == self.now,
                                         self.onset != self.now and v == self.top,
                                         self.span is not None and self.hi >= 0 and
                                         (v - self.lo > self.span or self.hi - v > self.span))
            self.step = int(interval_bins(v - self.top, self.onset == self.now)) if self.top >= 0 else -1
            self.degree = int(degree_bins(v % 12, self.key())) if self.notes >= MIN_KEY_NOTES else -1
            self.gap = int(gap_bins(self.now - self.onset, self.t.n_gaps)) if self.onset >= 0 else -1
            self.pair = int(pair_bins(self.before, v - self.last_pitch)) if self.last_pitch >= 0 else -1
        elif k == DURATION and self.pending is not None:
            self.before = self.pending - self.last_pitch if self.last_pitch >= 0 else NO_INTERVAL
            p = self.last_pitch = self.pending
            self.ends[p] = max(self.now + v, self.ends.get(p, 0))  # overlaps: the later end
            self.top = p if self.onset != self.now else max(self.top, p)
            self.onset, self.pending = self.now, None
            self.lo, self.hi = min(self.lo, p), max(self.hi, p)
            self.pch[p % 12] += v
            self.notes += 1
            return self.hit
        return None

    def position_factors(self) -> np.ndarray | None:
        """Multipliers ``(n positions,)`` for the Position tokens (in :attr:`GuardTables.position_ids`
        order) by the gap from the latest onset each would open (:func:`gap_bins`), or None."""
        g = self.gaps
        if g is None or self.onset < 0 or (g == 1).all():
            return None
        bins = gap_bins(self.bar_start + self.t.value[self.t.position_ids] - self.onset, self.t.n_gaps)
        return np.where(bins >= 0, g[np.maximum(bins, 0)], 1.0)

    def tail_bin(self) -> int:
        """The bin of :func:`tail_bins` a bar line now would close the bar with (-1: none yet)."""
        if self.onset < 0 or not self.seen_bar:
            return -1
        return int(tail_bins(self.bar_start + self.bar_len - self.onset, self.t.beat))

    def bar_factor(self) -> float | None:
        """The multiplier for the Bar tokens by the empty tail they would close the bar with, or None."""
        g = self.tails
        if g is None or (g == 1).all():
            return None
        b = self.tail_bin()
        return float(g[b]) if b >= 0 else 1.0

    def duration_factors(self) -> np.ndarray | None:
        """Multipliers for the Duration tokens (:attr:`GuardTables.duration_ids` order) while a
        pitch waits for its duration, or None."""
        d = self.durations
        return None if d is None or self.pending is None or (d == 1).all() else d

    def key(self) -> int:
        """The key the piece sounds in so far (:func:`running_keys`)."""
        return int(running_keys(self.pch)[0])

    def factors(self, factors: tuple[float, ...]) -> np.ndarray | None:
        """Multipliers ``(n pitches,)`` for the Pitch tokens (by pitch) from one factor per kind of
        :data:`KINDS`, or None when all are 1."""
        if self._factors is not None and self._factors[0] == factors:
            return self._factors[1]
        f = self._make(*factors)
        self._factors = (factors, f)
        return f

    def _make(self, *factors: float) -> np.ndarray | None:
        f = self._make_kinds(*factors)
        pitch = np.arange(len(self.t.pitch_ids)) + self.t.pitch_low
        iv, dg = self.intervals, self.degrees
        if iv is not None and self.top >= 0 and (iv != 1).any():
            bins = interval_bins(pitch - self.top, self.onset == self.now)
            g = np.where(bins >= 0, iv[np.maximum(bins, 0)], 1.0)
            f = g if f is None else f * g
        if dg is not None and self.notes >= MIN_KEY_NOTES and (dg != 1).any():
            g = dg[degree_bins(pitch % 12, self.key())]
            f = g if f is None else f * g
        if self.register is not None and (self.register != 1).any():
            f = self.register if f is None else f * self.register
        pr = self.pairs
        if pr is not None and self.last_pitch >= 0 and self.before != NO_INTERVAL and (pr != 1).any():
            g = pr.reshape(-1)[pair_bins(self.before, pitch - self.last_pitch)]
            f = g if f is None else f * g
        return f

    def _make_kinds(self, restrike: float, clash: float, wide: float = 1.0, reattack: float = 1.0,
                    unison: float = 1.0, beyond: float = 1.0) -> np.ndarray | None:
        sound = self.sounding()
        ended = self.ended() - sound if reattack < 1 else set()
        n = len(self.t.pitch_ids)
        step = self.top - self.t.pitch_low if unison < 1 and self.onset != self.now and self.top >= 0 else -1
        far_off = beyond < 1 and self.span is not None and self.hi >= 0
        if (not sound and not ended and not 0 <= step < n and not far_off) or \
                min(restrike, clash, wide, reattack, unison, beyond) >= 1:
            return None
        f = np.ones(n)
        if ended:
            e = np.fromiter(ended, np.int64, len(ended)) - self.t.pitch_low
            f[e[(e >= 0) & (e < n)]] *= reattack
        if 0 <= step < n:
            f[step] *= unison
        if far_off:
            pitch = np.arange(n) + self.t.pitch_low
            f[(pitch - self.lo > self.span) | (self.hi - pitch > self.span)] *= beyond
        if sound:
            idx = np.fromiter(sound, np.int64, len(sound)) - self.t.pitch_low
            idx = idx[(idx >= 0) & (idx < n)]
            near, far = _neighbours(n)
            f[near[idx].any(0)] *= clash  # once per kind, however many sounding notes it clashes with
            f[far[idx].any(0)] *= wide
            f[idx] = restrike
        return f


def start_counts(tables: GuardTables, pieces, span: int | None = None) -> dict:
    """Note starts and how many of them re-strike, clash, clash wide, re-attack, step in unison and
    lie beyond ``span`` (:data:`KINDS`), over token sequences (:class:`NoteClock`); ``intervals``:
    how many fall in each bin of :func:`interval_bins` (a list); ``degrees``: in each bin of
    :func:`degree_bins`, in the key the piece sounded in before the note (from its
    :data:`MIN_KEY_NOTES`-th note on); ``gaps``: onsets per bin of :func:`gap_bins` (the positions
    since the onset before); ``register``: note starts per band of :func:`register_bins`; ``tails``:
    bar lines per bin of :func:`tail_bins` (the empty tail of the bar each closes); ``durations``:
    notes per Duration token (:attr:`GuardTables.duration_ids` order); ``pairs``: notes per bin of
    :func:`pair_bins` (the interval to each note after the interval to the note before)."""
    out = {"starts": 0, **{k: 0 for k in KINDS}}
    iv, dg = np.zeros(N_INTERVALS, np.int64), np.zeros(N_DEGREES, np.int64)
    gp = np.zeros(tables.n_gaps, np.int64)
    n = len(tables.pitch_ids)
    rg = np.zeros((n - 1) // BAND + 1, np.int64)
    tl = np.zeros(N_TAILS, np.int64)
    du = np.zeros(len(tables.duration_ids), np.int64)
    du_of = np.full(len(tables.kind), -1, np.int64)
    du_of[tables.duration_ids] = np.arange(len(tables.duration_ids))
    pr = np.zeros(N_PAIRS, np.int64)
    for p in pieces:
        clock = NoteClock(tables, span)
        for tkn in np.asarray(p, np.int64):
            hit = clock.push(int(tkn))
            if tables.kind[tkn] == BAR and clock.tail >= 0:
                tl[clock.tail] += 1
            if hit is not None:
                du[du_of[tkn]] += 1
                if clock.pair >= 0:
                    pr[clock.pair] += 1
                out["starts"] += 1
                for k, h in zip(KINDS, hit):
                    out[k] += h
                if clock.step >= 0:
                    iv[clock.step] += 1
                if clock.degree >= 0:
                    dg[clock.degree] += 1
                if clock.gap >= 0:
                    gp[clock.gap] += 1
                i = clock.last_pitch - tables.pitch_low
                if 0 <= i < n:
                    rg[register_bins(i, n)] += 1
    return out | {"intervals": iv.tolist(), "degrees": dg.tolist(), "gaps": gp.tolist(), "register": rg.tolist(),
                  "tails": tl.tolist(), "durations": du.tolist(), "pairs": pr.tolist()}
