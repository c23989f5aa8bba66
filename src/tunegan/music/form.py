"""Form in any piece: which bars repeat, which phrases return, how a piece ends and how a loop's
seam compares with the piece's own bar-to-bar transitions.

A bar is the set of its notes as ``(onset within the bar in 1/12 quarter notes, pitch)``: pitch
and rhythm together, durations and loudness left out. Two bars are alike by the mean of two
Jaccard indices: of those sets (the same notes at the same places) and of their onsets alone
(the same rhythm), so 1 = the same notes, and a bar with the same rhythm and half its notes
changed scores about 0.67. A bar *repeats* an earlier one when they are alike at least
:data:`NEAR` (exact repeats score 1); phrases return when their bars are, on average.

    bars = bar_sets(score)
    self_similarity(bars)          # share of bars (after the first) that repeat an earlier bar
    find_form(score)               # FormReport: "AABA", phrases of 4 bars, "bars 13-16 repeat bars 1-4"
    ends_on_tonic(score)           # the final chord's lowest note is the key's tonic
    seam(score, bars=N)            # the step from bar N back to bar 1, against steps inside the piece
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import symusic

from .keys import find_key, parse_key, pitch_class_histogram
from .score import skyline, tick_notes
from .timing import bar_grid

NEAR = 0.7          # bars alike at least this much repeat
PHRASE_NEAR = 0.7   # phrases alike (mean over their bars) at least this much return
GRID = 12           # onsets within a bar on a grid of 1/12 quarter note
MAX_FORM_BARS = 512 # form is looked for in the first this many bars


def _bars(score: symusic.Score) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bar index, onset (1/12 quarter) within the bar, and pitch of every note."""
    notes = tick_notes(score)
    if len(notes) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    grid = bar_grid(score, int((notes["time"]).max()))
    idx = np.searchsorted(grid.bars, notes["time"], side="right") - 1
    onset = np.rint((notes["time"] - grid.bars[idx]) * GRID / score.ticks_per_quarter).astype(np.int64)
    return idx, onset, notes["pitch"].astype(np.int64)


def bar_starts(score: symusic.Score, bars: int) -> np.ndarray:
    """Ticks where bars 1..``bars + 1`` start (the last: where bar ``bars`` ends); bars past the
    last note take the last bar's length again."""
    grid = bar_grid(score, int(score.end()) + 1)
    starts = grid.bars[: bars + 1].astype(np.float64)
    if len(starts) < bars + 1:
        step = grid.numerators[-1] * grid.beat_ticks[-1]
        starts = np.concatenate([starts, starts[-1] + step * np.arange(1, bars + 2 - len(starts))])
    return np.rint(starts).astype(np.int64)


def bar_sets(score: symusic.Score, n_bars: int | None = None) -> list[frozenset]:
    """One set of ``(onset, pitch)`` per bar, from bar 1 to the last bar with a note (or ``n_bars``),
    at most :data:`MAX_FORM_BARS` bars."""
    idx, onset, pitch = _bars(score)
    n = n_bars if n_bars is not None else (int(idx.max()) + 1 if len(idx) else 0)
    n = min(n, MAX_FORM_BARS)
    out: list[set] = [set() for _ in range(n)]
    for b, o, p in zip(idx.tolist(), onset.tolist(), pitch.tolist()):
        if b < n:
            out[b].add((o, p))
    return [frozenset(s) for s in out]


def _jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def bar_similarity(a: frozenset, b: frozenset) -> float:
    """Mean of the Jaccard indices of two bars' ``(onset, pitch)`` sets and of their onsets; two
    empty bars are alike (1)."""
    return 0.5 * (_jaccard(a, b) + _jaccard({o for o, _ in a}, {o for o, _ in b}))


def self_similarity(bars: list[frozenset]) -> float:
    """Share of non-empty bars after the first that repeat an earlier bar exactly or nearly (>= NEAR);
    NaN with fewer than two non-empty bars."""
    seen: list[frozenset] = []
    hits, n = 0, 0
    for bar in bars:
        if not bar:
            continue
        if seen:
            n += 1
            hits += any(bar_similarity(bar, s) >= NEAR for s in seen)
        seen.append(bar)
    return hits / n if n else float("nan")


@dataclass
class Repeat:
    """Bars ``first..last`` (1-based) repeat bars ``source_first..source_last`` with this similarity."""

    first: int
    last: int
    source_first: int
    source_last: int
    similarity: float

    def describe(self) -> str:
        how = "exactly" if self.similarity >= 0.999 else f"nearly ({self.similarity:.0%} alike)"
        return f"bars {self.first}-{self.last} repeat bars {self.source_first}-{self.source_last} {how}"


@dataclass
class FormReport:
    """The form found in a piece: one letter per phrase of ``phrase_bars`` bars (``""`` when no
    phrase returns), the repeats behind it, and the bar-level :func:`self_similarity`."""

    letters: str
    phrase_bars: int
    repeats: list[Repeat] = field(default_factory=list)
    self_similarity: float = float("nan")
    bars: int = 0

    def describe(self) -> str:
        if not self.letters:
            return f"no phrase of 2, 4 or 8 bars returns ({self.bars} bars)"
        return f"{self.letters} (phrases of {self.phrase_bars} bars)"


def _phrase_similarity(bars: list[frozenset], i: int, j: int, size: int) -> float:
    """Mean similarity of the aligned bars of two phrases; 0 when more than a quarter of them
    (rounded down) are unlike (< 0.6): one changed bar (a cadence) is allowed in four."""
    sims = [bar_similarity(bars[i + k], bars[j + k]) for k in range(size)]
    if sum(s < 0.6 for s in sims) > size // 4:
        return 0.0
    return float(np.mean(sims))


def _label(bars: list[frozenset], size: int) -> tuple[str, list[Repeat]]:
    letters: list[str] = []
    repeats: list[Repeat] = []
    for p in range(len(bars) // size):
        best, src = 0.0, -1
        for q in range(p):
            s = _phrase_similarity(bars, q * size, p * size, size)
            if s > best:
                best, src = s, q
        if src >= 0 and best >= PHRASE_NEAR and any(bars[p * size:(p + 1) * size]):
            letters.append(letters[src])
            repeats.append(Repeat(p * size + 1, (p + 1) * size, src * size + 1, (src + 1) * size, best))
        else:
            letters.append(chr(ord("A") + len(set(letters))) if len(set(letters)) < 26 else "?")
    return "".join(letters), repeats


def find_form(score: symusic.Score, *, phrase_bars: int | None = None, n_bars: int | None = None) -> FormReport:
    """Repeated phrases by bar self-similarity. Phrases are cut every ``phrase_bars`` bars from bar 1
    (tried: 8, 4 and 2, keeping the size at which most phrases return, larger sizes on a near tie)."""
    bars = bar_sets(score, n_bars)
    sizes = [phrase_bars] if phrase_bars else [8, 4, 2]
    best = None
    for size in sizes:
        if len(bars) // size < 2:
            continue
        letters, repeats = _label(bars, size)
        coverage = len(repeats) / (len(letters) - 1)
        score_ = coverage + 0.05 * np.log2(size)
        if repeats and (best is None or score_ > best[0]):
            best = (score_, letters, size, repeats)
    sim = self_similarity(bars)
    if best is None:
        return FormReport("", phrase_bars or 0, [], sim, len(bars))
    _, letters, size, repeats = best
    return FormReport(letters, size, repeats, sim, len(bars))


def final_chord(score: symusic.Score) -> np.ndarray:
    """Pitches of the last onset of a piece (empty without notes)."""
    notes = tick_notes(score)
    if len(notes) == 0:
        return np.zeros(0, np.int64)
    return np.sort(notes["pitch"][notes["time"] == notes["time"].max()].astype(np.int64))


def piece_key(score: symusic.Score, key: str | None = None) -> tuple[int, str]:
    """``(tonic pitch class, mode)``: ``key`` when given, else Krumhansl-Schmuckler on the notes
    weighted by duration."""
    if key:
        return parse_key(key)
    notes = tick_notes(score)
    est = find_key(pitch_class_histogram(notes["pitch"], notes["duration"]))
    return est.tonic, est.mode


def ends_on_tonic(score: symusic.Score, key: str | None = None) -> bool:
    """Whether the final chord's lowest note is the tonic of the piece's key (found or given)."""
    chord = final_chord(score)
    return bool(len(chord)) and int(chord[0]) % 12 == piece_key(score, key)[0]


def _onsets(score: symusic.Score):
    """Per onset (sorted): time in quarter notes and highest pitch (the melody)."""
    notes = tick_notes(score)
    if len(notes) == 0:
        return np.zeros(0), np.zeros(0, np.int64)
    times, top = skyline(notes["time"], notes["pitch"].astype(np.int64))
    return times / score.ticks_per_quarter, top


@dataclass
class Seam:
    """The step from the last bar back into the first, against the bar-to-bar steps inside the piece:
    ``interval`` (semitones between the melody notes either side, absolute) and ``gap`` (quarter
    notes between the onsets either side), each with the share of inner steps at least as large
    (``*_rank``: near 0 = larger than any inside the piece, 1 = smaller than all)."""

    interval: float
    gap: float
    inner_interval: float   # median of the inner steps
    inner_gap: float
    interval_rank: float
    gap_rank: float


def seam(score: symusic.Score, bars: int) -> Seam:
    """How the loop of the first ``bars`` bars of ``score`` steps from its end back to its start."""
    times, top = _onsets(score)
    starts = bar_starts(score, bars) / score.ticks_per_quarter
    end = starts[bars]
    keep = times < end
    times, top = times[keep], top[keep]
    bar_of = np.searchsorted(starts, times, side="right") - 1
    inner_iv, inner_gap = [], []
    for i in range(1, len(times)):
        if bar_of[i] != bar_of[i - 1]:  # the first onset of a bar after the last onset of the one before
            inner_iv.append(abs(int(top[i]) - int(top[i - 1])))
            inner_gap.append(times[i] - times[i - 1])
    if len(times) == 0:
        return Seam(float("nan"), float("nan"), float("nan"), float("nan"), float("nan"), float("nan"))
    iv = abs(int(top[0]) - int(top[-1]))
    gap = (end - times[-1]) + times[0]
    a_iv, a_gap = np.array(inner_iv, float), np.array(inner_gap, float)
    med_gap = float(np.median(a_gap)) if len(a_gap) else float("nan")
    return Seam(float(iv), float(gap), float(np.median(a_iv)) if len(a_iv) else float("nan"), med_gap,
                float(np.mean(a_iv >= iv)) if len(a_iv) else float("nan"),
                float(np.mean(np.abs(a_gap - med_gap) >= abs(gap - med_gap))) if len(a_gap) else float("nan"))


LOOP_START, LOOP_END = "loopStart", "loopEnd"  # the markers game engines and players look for


def mark_loop(score: symusic.Score, bars: int) -> symusic.Score:
    """A copy of ``score`` that is exactly ``bars`` bars long as a loop: nothing sounds past the
    last bar line, and ``loopStart``/``loopEnd`` markers sit at tick 0 and at that bar line (so
    the file ends there)."""
    end = int(bar_starts(score, bars)[bars])
    out = score.clip(0, end, clip_end=True)
    out.markers = [m for m in out.markers if m.text not in (LOOP_START, LOOP_END)]
    out.markers.append(symusic.TextMeta(0, LOOP_START))
    out.markers.append(symusic.TextMeta(end, LOOP_END))
    return out


def loop_end(score: symusic.Score) -> int | None:
    """Tick of a ``loopEnd`` marker, or None."""
    ends = [m.time for m in score.markers if m.text == LOOP_END]
    return int(ends[-1]) if ends else None
