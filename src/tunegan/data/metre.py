"""Bars a bar-based tokenizer can write: metres it has no token for, rewritten as metres it has.

A score's bars come from its time signatures (:func:`score_bars`). A bar whose metre is not among
the tokenizer's (``RemiConfig.time_signatures``), or that a metre change cuts short, is rewritten
by :func:`fit_time_signatures` without moving a note:

* a bar as long as a supported metre takes it (``2/8`` -> ``1/4``, ``12/16`` -> ``6/8``, ``8/8`` -> ``4/4``);
* a longer one is split into supported bars, preferring the metre of the bar before it, then the
  same denominator, in as few bars as that allows (a ``65/4`` cadenza after 4/4 bars -> fifteen
  ``4/4`` and one ``5/4``;
  ``13/8`` -> ``6/8 + 7/8``; ``4/2`` -> ``2/2 + 2/2``);
* a bar no sum of supported metres can fill (shorter than the shortest, or not a whole number
  of eighth notes with the default metres: ``1/8``, ``3/16``, ``25/32``) is merged with a
  neighbour when the two can be filled, the irregular one first (a ``2/8`` and the ``1/8`` pickup
  of a repeat make one ``3/8``); as the first bar (a pickup) it gets a rest in front, to a full
  bar of the next bar's metre; as the last bar it is extended at the end; otherwise it gets a
  rest at its end, to the next length that can be filled (less than an eighth note with the
  default metres; every later event moves by it: the only case where the rhythm changes).

What cannot be fitted raises :class:`~tunegan.errors.MIDIError`, so ``prepare`` skips the piece
with the reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from functools import reduce

import symusic

from ..errors import MIDIError

Metre = tuple[int, int]
MAX_FIT_UNITS = 20_000  # longest bar (in the supported metres' common unit) that is split; 65/4 is 130


@dataclass(frozen=True)
class Bar:
    """One bar: ``start`` and ``length`` in ticks, ``metre`` as written (``None``: a bar cut short by a
    metre change, or two bars merged)."""

    start: int
    length: int
    metre: Metre | None


def metre_ticks(metre: Metre, tpq: int) -> Fraction:
    """Length of one bar of ``metre`` in ticks (a Fraction: 1/64 at 480 ticks a quarter is 30)."""
    return Fraction(4 * tpq * metre[0], metre[1])


def _changes(score: symusic.Score) -> list[tuple[int, Metre]]:
    """Time signatures by tick, the last of several at one tick kept, 4/4 from 0 if none is there."""
    by_tick: dict[int, Metre] = {}
    for ts in sorted(score.time_signatures, key=lambda t: t.time):
        by_tick[int(ts.time)] = (int(ts.numerator), int(ts.denominator))
    if 0 not in by_tick:
        by_tick[0] = (4, 4)
    return sorted(by_tick.items())


def score_bars(score: symusic.Score) -> list[Bar]:
    """Every bar from tick 0 through the score's end, as its time signatures lay them out; a metre
    change between bar lines cuts the bar before it short."""
    changes, tpq, end = _changes(score), score.ticks_per_quarter, max(score.end(), 1)
    bars = []
    for i, (t, metre) in enumerate(changes):
        stop = changes[i + 1][0] if i + 1 < len(changes) else None
        length = metre_ticks(metre, tpq)
        if length < 1:
            raise MIDIError(f"time signature {metre[0]}/{metre[1]} at tick {t} is shorter than a tick")
        k = 0
        while True:
            s = t + int(round(k * length))
            if (stop is not None and s >= stop) or (stop is None and s >= end and k > 0):
                break
            e = t + int(round((k + 1) * length))
            cut = stop is not None and e > stop
            bars.append(Bar(s, (stop if cut else e) - s, None if cut else metre))
            k += 1
    return bars


def _fits(score: symusic.Score, supported: set[Metre]) -> bool:
    """Fast check: every metre supported and every change on a bar line of the metre before it."""
    changes, tpq = _changes(score), score.ticks_per_quarter
    if any(m not in supported for _, m in changes):
        return False
    for (t0, m0), (t1, _) in zip(changes, changes[1:]):
        n = Fraction(t1 - t0) / metre_ticks(m0, tpq)
        if n.denominator != 1 and abs(float(n) - round(float(n))) * float(metre_ticks(m0, tpq)) > 0.5:
            return False
    return True


COMMON_METRES = {(4, 4), (3, 4), (2, 4), (2, 2), (6, 8), (3, 8), (12, 8)}


class _Fitter:
    """Lengths the supported metres can fill, in units of their greatest common length."""

    def __init__(self, supported: set[Metre], tpq: int):
        lengths = {m: metre_ticks(m, tpq) for m in supported}
        self.tpq, self.metres = tpq, sorted(supported, key=lambda m: (lengths[m], m[1]))
        self.unit = reduce(lambda a, b: Fraction(math.gcd(a.numerator * b.denominator, b.numerator * a.denominator),
                                                 a.denominator * b.denominator), lengths.values())
        self.units = {m: int(lengths[m] / self.unit) for m in self.metres}

    def n_units(self, ticks: int) -> int | None:
        u = Fraction(ticks) / self.unit
        return int(u) if u.denominator == 1 else None

    def writable(self, ticks: int) -> bool:
        return self.split(ticks, None, None) is not None

    def split(self, ticks: int, like: Metre | None, neighbour: Metre | None) -> list[Metre] | None:
        """Supported metres that fill ``ticks`` exactly at the least cost: each bar costs 1, plus 0 if
        it is ``neighbour``'s metre, else 1 for ``like``'s denominator or 2 for another, plus small
        terms for a change of compound-ness and of denominator. ``None``: cannot be filled."""
        total = self.n_units(ticks)
        if total is None or total <= 0 or total > MAX_FIT_UNITS:
            return None
        like = like or neighbour or (4, 4)

        def cost(m: Metre) -> float:
            if m == neighbour:
                return 1.0
            c = 2.0 if m[1] == like[1] else 3.0
            c += 0.5 * (_compound(m) != _compound(like))
            # ties go to the everyday metres: 8/4 becomes 4/4 + 4/4, not 7/4 + 1/4
            return c + 0.1 * abs(math.log2(m[1] / like[1])) + 0.01 * (m not in COMMON_METRES)

        best: list[tuple[float, Metre | None]] = [(0.0, None)] + [(math.inf, None)] * total
        for k in range(1, total + 1):
            for m in self.metres:
                u = self.units[m]
                if u <= k and best[k - u][0] + cost(m) < best[k][0]:
                    best[k] = (best[k - u][0] + cost(m), m)
        if math.isinf(best[total][0]):
            return None
        out, k = [], total
        while k > 0:
            m = best[k][1]
            out.append(m)
            k -= self.units[m]
        return sorted(out, key=lambda m: (m != neighbour, -self.units[m]))  # the neighbour's metre first

    def covering(self, ticks: int, prefer: Metre | None) -> Metre | None:
        """The supported metre of one bar at least ``ticks`` long: ``prefer`` if long enough, else the shortest."""
        if prefer is not None and prefer in self.units and self.units[prefer] * self.unit >= ticks:
            return prefer
        return next((m for m in self.metres if self.units[m] * self.unit >= ticks), None)


def _compound(m: Metre) -> bool:
    return m[0] % 3 == 0 and m[0] > 3


def _merge(bars: list[Bar], fitter: _Fitter) -> list[Bar]:
    """Pass 1: a bar in the middle that no supported metres can fill joins a neighbour when the two
    together can be filled (an irregular neighbour first, then the one before)."""
    bars = list(bars)
    i = 1
    while i < len(bars) - 1:
        bar = bars[i]
        if fitter.writable(bar.length):
            i += 1
            continue
        cands = sorted([(i - 1, bars[i - 1]), (i + 1, bars[i + 1])],
                       key=lambda c: c[1].metre is not None and c[1].metre in fitter.units)  # irregular first
        j = next((j for j, o in cands if fitter.writable(o.length + bar.length)), None)
        if j is None:
            i += 1  # left for pass 2 to pad
            continue
        a, b = (bars[j], bar) if j < i else (bar, bars[j])
        bars[min(i, j)] = Bar(a.start, a.length + b.length, None)
        del bars[max(i, j)]
        i = max(1, min(i, j))
    return bars


def fit_bars(bars: list[Bar], supported: set[Metre], tpq: int) -> tuple[list[Bar], list[tuple[int, int]]]:
    """``(bars of supported metres, rests)`` (module docstring). ``rests``: ``(tick, ticks)`` of
    silence to insert, in input ticks: at tick 0 before a pickup, or at the end of a bar in the
    middle that neither a neighbour nor a split can fill (it grows to the next length that can be
    filled, less than the shortest supported bar). Output bars are in output ticks (after the rests).
    Raises :class:`MIDIError` for a bar that cannot be fitted."""
    fitter = _Fitter(supported, tpq)
    segs = _merge(bars, fitter)
    out: list[Bar] = []
    rests: list[tuple[int, int]] = []
    shift = 0
    for i, seg in enumerate(segs):
        nxt = segs[i + 1].metre if i + 1 < len(segs) and segs[i + 1].metre in fitter.units else None
        prev = out[-1].metre if out else None
        s = seg.start + shift
        if seg.metre in fitter.units and fitter.units[seg.metre] * fitter.unit == seg.length:
            out.append(Bar(s, seg.length, seg.metre))
            continue
        metres = fitter.split(seg.length, seg.metre, prev or nxt)
        if metres is None and i == len(segs) - 1 and i > 0:  # the last bar: extended at the end
            m = fitter.covering(seg.length, prev)
            if m is not None:
                out.append(Bar(s, int(fitter.units[m] * fitter.unit), m))
                continue
        if metres is None:  # a pickup gets its rest in front, a bar in the middle at its end
            grow = _growth(seg.length, fitter)
            if i == 0 and (m := fitter.covering(seg.length, nxt)) is not None:
                grow, metres = int(fitter.units[m] * fitter.unit) - seg.length, [m]
            elif grow is not None:
                metres = fitter.split(seg.length + grow, seg.metre, prev or nxt)
            if metres is None:
                what = f"{seg.metre[0]}/{seg.metre[1]}" if seg.metre else f"{seg.length} ticks"
                raise MIDIError(f"a bar of {what} at tick {seg.start} cannot be written with the supported "
                                f"time signatures")
            rests.append((0 if i == 0 else seg.start + seg.length, grow))
            shift += grow
            s = 0 if i == 0 else s
        for m in metres:
            n = int(fitter.units[m] * fitter.unit)
            out.append(Bar(s, n, m))
            s += n
    return out, rests


def _growth(ticks: int, fitter: _Fitter) -> int | None:
    """The fewest ticks (up to 64 units) that make a bar of ``ticks`` one the supported metres can fill."""
    if fitter.unit.denominator != 1:
        return None
    unit = int(fitter.unit)
    first = (-ticks) % unit or unit
    return next((g for g in range(first, first + 64 * unit + 1, unit) if fitter.writable(ticks + g)), None)


def insert_rests(score: symusic.Score, rests: list[tuple[int, int]]) -> symusic.Score:
    """A copy of ``score`` with ``ticks`` of silence at each ``(tick, ticks)``: events from ``tick`` on
    move later (a note held across it lasts longer); what was at tick 0 stays there."""
    if not rests:
        return score.copy()
    orig, new, total = [], [], 0
    for tick, ticks in sorted(rests):
        if tick > 0 and (not orig or tick - 1 > orig[-1]):
            orig.append(tick - 1)
            new.append(tick - 1 + total)
        total += ticks
        if orig and orig[-1] == tick:
            new[-1] = tick + total
        else:
            orig.append(tick)
            new.append(tick + total)
    if orig[0] > 0:
        orig.insert(0, 0)
        new.insert(0, 0)
    end = max(score.end(), orig[-1]) + 1
    orig.append(end)
    new.append(end + total)
    out = score.adjust_time(orig, new)
    first = new[0]
    if first > 0:  # a rest at tick 0: the tempo and key that opened the piece still do
        for events in (out.tempos, out.key_signatures):
            for e in events:
                if e.time == first:
                    e.time = 0
    return out


def fit_time_signatures(score: symusic.Score, supported) -> symusic.Score:
    """``score`` with every bar in a metre of ``supported`` (``(n, d)`` pairs or ``"n/d"`` strings);
    the score itself when it already is. Notes keep their ticks, but for the rests of
    :func:`fit_bars` (a pickup padded to a full bar, an odd bar grown to a writable length)."""
    sup = {_metre(m) for m in supported}
    if _fits(score, sup):
        return score
    bars, rests = fit_bars(score_bars(score), sup, score.ticks_per_quarter)
    out = insert_rests(score, rests)
    out.time_signatures.clear()
    current = None
    for bar in bars:
        if bar.metre != current:
            out.time_signatures.append(symusic.TimeSignature(bar.start, *bar.metre))
            current = bar.metre
    out.sort()
    return out


def _metre(m) -> Metre:
    if isinstance(m, str):
        n, d = m.split("/")
        return int(n), int(d)
    return int(m[0]), int(m[1])
