"""Time in a tick-based Score: the tempo map (ticks <-> seconds) and the bar/beat grid."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import symusic

MAX_GRID_BARS = 100_000  # bar_grid stops here (a file can claim any length)


def first_time_signature(score: symusic.Score) -> tuple[int, int]:
    """The time signature at tick 0, or 4/4 when the file has none."""
    ts = sorted(score.time_signatures, key=lambda t: t.time)
    return (ts[0].numerator, ts[0].denominator) if ts else (4, 4)


def first_tempo(score: symusic.Score) -> float:
    """The first tempo in quarter notes per minute, or 120 (the MIDI default) when there is none."""
    tempos = sorted(score.tempos, key=lambda t: t.time)
    return float(tempos[0].qpm) if tempos else 120.0


class Grid(NamedTuple):
    """Bar and beat starts of a tick-based score (int64 tick arrays; per-bar arrays align with ``bars``)."""

    bars: np.ndarray        # tick where each bar starts, shape (n_bars,)
    beats: np.ndarray       # tick where each beat starts, shape (n_beats,)
    numerators: np.ndarray  # beats in each bar, shape (n_bars,)
    beat_ticks: np.ndarray  # ticks per beat in each bar (float64), shape (n_bars,)


def bar_grid(score: symusic.Score, end_tick: int) -> Grid:
    """Bars and beats from tick 0 past ``end_tick``, following time-signature changes (4/4 if none).

    A beat is the signature's note value: 6/8 has six eighth-note beats, 2/2 two half-note beats.
    """
    tpq = score.ticks_per_quarter
    changes = sorted(((t.time, t.numerator, t.denominator) for t in score.time_signatures), key=lambda c: c[0])
    if not changes or changes[0][0] > 0:
        changes.insert(0, (0, 4, 4))
    bars, beats, nums, lens = [], [], [], []
    tick, i = 0, 0
    while tick <= end_tick and len(bars) < MAX_GRID_BARS:
        while i + 1 < len(changes) and changes[i + 1][0] <= tick:
            i += 1
        _, num, den = changes[i]
        beat_len = tpq * 4 / den
        bars.append(tick)
        nums.append(num)
        lens.append(beat_len)
        beats.extend(int(round(tick + k * beat_len)) for k in range(num))
        tick = int(round(tick + num * beat_len))
    return Grid(np.array(bars, np.int64), np.array(beats, np.int64), np.array(nums, np.int64), np.array(lens, np.float64))


def ticks_to_seconds(score: symusic.Score, ticks: np.ndarray) -> np.ndarray:
    """Seconds for tick positions of a tick-based score, following its tempo changes. Shape kept."""
    ticks = np.asarray(ticks, dtype=np.float64)
    tpq = score.ticks_per_quarter
    tempos = sorted(((t.time, t.qpm) for t in score.tempos), key=lambda c: c[0]) or [(0, 120.0)]
    if tempos[0][0] > 0:
        tempos.insert(0, (0, 120.0))
    starts = np.array([t for t, _ in tempos], np.float64)
    sec_per_tick = np.array([60.0 / (q * tpq) for _, q in tempos])
    seg_secs = np.concatenate([[0.0], np.cumsum(np.diff(starts) * sec_per_tick[:-1])])
    idx = np.clip(np.searchsorted(starts, ticks, side="right") - 1, 0, len(starts) - 1)
    return seg_secs[idx] + (ticks - starts[idx]) * sec_per_tick[idx]


def seconds_to_tick(score: symusic.Score, seconds: float) -> int:
    """The tick at ``seconds`` under the score's tempo map (120 BPM before the first tempo)."""
    tempos = sorted(score.tempos, key=lambda t: t.time)
    tick, t, qpm = 0, 0.0, 120.0
    for tempo in tempos:
        seg = (tempo.time - tick) / score.tpq * 60.0 / qpm
        if t + seg >= seconds:
            break
        t, tick, qpm = t + seg, tempo.time, tempo.qpm
    return int(round(tick + (seconds - t) * qpm / 60.0 * score.tpq))


def mean_tempo(score: symusic.Score) -> float:
    """Mean tempo in quarter notes per minute, weighted by how long (in ticks) each tempo holds."""
    tempos = sorted(score.tempos, key=lambda t: t.time)
    if not tempos:
        return 120.0
    end = max(score.end(), tempos[-1].time + 1)
    times = [t.time for t in tempos] + [end]
    spans = np.diff(np.maximum.accumulate(np.asarray(times, dtype=np.float64)))
    qpm = np.array([t.qpm for t in tempos])
    return float(np.average(qpm, weights=spans)) if spans.sum() > 0 else float(qpm[0])
