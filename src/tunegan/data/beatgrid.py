"""A song written on its own annotated beat grid (POP909's ``beat_midi.txt``).

POP909's MIDI files keep the tick grid of the sequencer they were played into: one tempo, a
declared 1/4 or 2/4 metre, and a first beat that is rarely at tick 0 (song 001's is 40 ticks
late), so bar and position tokens made from the file describe an arbitrary grid. Each song also
has beat annotations; :func:`beat_grid_score` rewrites the song on them:

* beat ``k`` of the annotation lands exactly on tick ``(k + pad) * ticks_per_beat``; every event
  (notes, pedals, controls, key signatures) is mapped through the beat times piecewise-linearly,
  so notes keep their order, an onset on a beat lands on the grid, and a length in beats is kept;
  before the first and after the last beat the first / last beat spacing is extended;
* a bar line at every annotated downbeat, each bar's metre its number of beats (``n/4``, or
  ``3n/8`` for a compound song whose beat is a dotted quarter); beats before the first downbeat
  (a pickup) end a full bar of the song's usual metre, so only the bar lines before the first
  annotated downbeat are not annotated ones;
* tempo from the beat spacing, one value per bar (its length in seconds over its beats). Rule: a
  tempo event at the first bar, then one at any bar whose tempo differs from the last one written
  by more than ``tempo_tolerance`` (4 %: a tempo token of the REMI tokenizer is 5-8 % wide at
  80-140 BPM), so a steady song gets one tempo, not one per beat of jitter.

``beat_midi.txt`` has one row per beat: time (s), a mark every measure of POP909's index (its
``num_beats_per_measure``, 2 or 3 beats) and a mark every second one::

    0.0553 1.0 1.0
    0.7220 0.0 0.0
    1.3887 1.0 0.0

Measured on the 879 songs here, the third column is mostly 4 beats apart (850 songs: 4/4 bars)
or 6 (29 songs), and in 28 of those 29 the second column splits the 6 into 3 + 3 (the index says
3 beats a measure): those songs are in 3/4 and their bars are the second column's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import symusic

from ..errors import MIDIError
from ..music.timing import seconds_to_tick, ticks_to_seconds

TEMPO_TOLERANCE = 0.04  # relative tempo change that earns a new tempo event (see the module docstring)
DEFAULT_BEATS_PER_BAR = 4  # a song with fewer than two downbeats


@dataclass(frozen=True)
class BeatTrack:
    """Annotated beats of one song.

    times:     float64 seconds, shape ``(n_beats,)``, strictly increasing (n_beats >= 2)
    downbeats: int64 indices into ``times`` of the beats that start a bar, shape ``(n_bars,)``, increasing
    """

    times: np.ndarray
    downbeats: np.ndarray

    @property
    def beats_per_bar(self) -> int:
        """The usual bar: the most common number of beats between downbeats (ties: the fewer)."""
        gaps = np.diff(self.downbeats)
        return int(np.bincount(gaps).argmax()) if len(gaps) else DEFAULT_BEATS_PER_BAR


def _modal_gap(marks: np.ndarray) -> int:
    gaps = np.diff(np.flatnonzero(marks))
    return int(np.bincount(gaps).argmax()) if len(gaps) else 0


def parse_pop909_beats(text: str, name: str = "beat_midi.txt") -> BeatTrack:
    """Rows ``time measure_mark bar_mark`` -> :class:`BeatTrack` (bars chosen as in the module
    docstring). Raises :class:`MIDIError` naming ``name`` for rows that are not numbers, fewer
    than two beats, times that do not increase, or no downbeat."""
    rows = []
    for i, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        try:
            rows.append([float(x) for x in parts[:3]] + [0.0] * (3 - len(parts[:3])))
        except ValueError:
            raise MIDIError(f"{name}: line {i} is not 'time mark mark' numbers") from None
    a = np.asarray(rows, dtype=np.float64).reshape(-1, 3)
    if len(a) < 2:
        raise MIDIError(f"{name}: fewer than 2 beats")
    if not np.all(np.diff(a[:, 0]) > 0):
        raise MIDIError(f"{name}: beat times do not increase")
    measure, bar = a[:, 1] > 0.5, a[:, 2] > 0.5
    marks = measure if _modal_gap(bar) == 6 and _modal_gap(measure) == 3 else bar
    if not marks.any():
        raise MIDIError(f"{name}: no downbeat")
    return BeatTrack(a[:, 0].copy(), np.flatnonzero(marks).astype(np.int64))


def read_pop909_beats(path: str | os.PathLike) -> BeatTrack:
    """:func:`parse_pop909_beats` of a file; raises :class:`MIDIError` if it is missing."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise MIDIError(f"{p}: no such file (the song's beat annotations)") from None
    except OSError as e:
        raise MIDIError(f"{p}: cannot read ({e.strerror})") from None
    return parse_pop909_beats(text, str(p))


class BeatMap:
    """Seconds <-> beat positions of a :class:`BeatTrack`, linear between beats and extended
    beyond them with the first / last beat spacing."""

    def __init__(self, beats: BeatTrack):
        self.times = beats.times
        self.first, self.last = beats.times[1] - beats.times[0], beats.times[-1] - beats.times[-2]

    def position(self, seconds: np.ndarray) -> np.ndarray:
        """Beats since beat 0 (float64, shape kept)."""
        s = np.asarray(seconds, dtype=np.float64)
        t, n = self.times, len(self.times)
        out = np.interp(s, t, np.arange(n, dtype=np.float64))
        out = np.where(s < t[0], (s - t[0]) / self.first, out)
        return np.where(s > t[-1], n - 1 + (s - t[-1]) / self.last, out)

    def seconds_per_beat(self, k: np.ndarray) -> np.ndarray:
        """Spacing (s) of beat ``k`` to ``k + 1`` for integer positions ``k`` (any, clipped to the annotation)."""
        iv = np.diff(self.times)
        return iv[np.clip(np.asarray(k, dtype=np.int64), 0, len(iv) - 1)]


def grid_bars(beats: BeatTrack, pad: int, end_beat: float) -> list[tuple[int, int]]:
    """``(first beat position, beats)`` of every bar from position 0 past ``end_beat``: full bars
    of the usual metre before the first downbeat (its position ``downbeats[0] + pad`` is a multiple
    of it), a bar from each downbeat to the next, then usual bars to the end."""
    b = beats.beats_per_bar
    starts = [int(d) + pad for d in beats.downbeats]
    bars = [(s, b) for s in range(0, starts[0], b)]
    bars += [(s, e - s) for s, e in zip(starts, starts[1:])]
    s = starts[-1]
    while True:
        bars.append((s, b))
        s += b
        if s > end_beat:
            return bars


def beat_grid_score(score: symusic.Score, beats: BeatTrack, *, compound: bool = False,
                    tempo_tolerance: float = TEMPO_TOLERANCE) -> symusic.Score:
    """``score`` rewritten on the grid of ``beats`` (module docstring); a new tick Score at the same
    ticks per quarter.

    compound: the annotated beat is a dotted quarter (POP909's ``num_quavers_per_beat == 3``):
              a beat spans 1.5 quarters and an n-beat bar is ``3n/8``; else a quarter and ``n/4``.
    Raises :class:`MIDIError` for a score without notes.
    """
    if score.note_num() == 0:
        raise MIDIError("no notes to put on the beat grid")
    tpq = score.ticks_per_quarter
    tpb = tpq * 3 // 2 if compound else tpq  # ticks per beat in the output
    bmap, b = BeatMap(beats), beats.beats_per_bar
    first_tick = min(t.start() for t in score.tracks if not t.empty())  # Score.start() counts tempos at 0
    start_s = float(ticks_to_seconds(score, np.array([first_tick]))[0])
    end_tick = max(score.end(), 1)
    pad = int(-beats.downbeats[0]) % b
    earliest = float(bmap.position(start_s)) + pad
    if earliest < 0:
        pad += b * int(np.ceil(-earliest / b))
    # anchors: every annotated beat, plus the score's first and last tick by extension
    orig = np.array([seconds_to_tick(score, float(t)) for t in beats.times], dtype=np.int64)
    new = (np.arange(len(orig), dtype=np.int64) + pad) * tpb
    keep = np.concatenate([[True], np.diff(orig) > 0])  # two beats on one tick: keep the first
    orig, new = orig[keep], new[keep]
    zero_s, hi_s = ticks_to_seconds(score, np.array([0, end_tick + 1]))
    lo = 0 if float(bmap.position(zero_s)) + pad >= 0 else first_tick  # tick 0 too if it maps to >= 0
    hi = end_tick + 1
    if lo < orig[0]:
        lo_s = float(ticks_to_seconds(score, np.array([lo]))[0])
        orig = np.concatenate([[lo], orig])
        new = np.concatenate([[max(0, int(round((float(bmap.position(lo_s)) + pad) * tpb)))], new])
    if hi > orig[-1]:
        orig = np.concatenate([orig, [hi]])
        new = np.concatenate([new, [int(round((float(bmap.position(hi_s)) + pad) * tpb))]])
    out = score.adjust_time(orig.tolist(), new.tolist())
    out.tempos.clear()
    out.time_signatures.clear()
    _write_bars(out, beats, bmap, pad, tpb, compound, tempo_tolerance)
    out.sort()
    return out


def _write_bars(out: symusic.Score, beats: BeatTrack, bmap: BeatMap, pad: int, tpb: int,
                compound: bool, tolerance: float) -> None:
    """Time signatures at metre changes and tempos at meaningful tempo changes, bar by bar."""
    quarters_per_beat = tpb / out.ticks_per_quarter
    current_ts, current_qpm = None, None
    for s, n in grid_bars(beats, pad, out.end() / tpb):
        ts = (3 * n, 8) if compound else (n, 4)
        if ts != current_ts:
            out.time_signatures.append(symusic.TimeSignature(s * tpb, *ts))
            current_ts = ts
        spb = float(bmap.seconds_per_beat(np.arange(s - pad, s - pad + n)).mean())
        qpm = 60.0 * quarters_per_beat / spb
        if current_qpm is None or abs(qpm / current_qpm - 1.0) > tolerance:
            out.tempos.append(symusic.Tempo(s * tpb, qpm))
            current_qpm = qpm
