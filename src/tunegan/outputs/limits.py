"""Bounded work for rendering, shared by every writer: output paths checked before any work, the
music limited by what it holds (not by what the file claims), atomic writes, external programs
under a time limit.

Limits (each one that changes the music adds a one-line warning):

* a note longer than :data:`MAX_NOTE_S` (30 s) is cut to 30 s;
* a silence (no note of any track sounding) longer than :data:`MAX_GAP_S` (10 s), including one
  before the first note, is shortened to about 10 s by taking out whole bars, so bar lines stay put;
* the music is cut after ``max_minutes`` (default 20) or before note :data:`MAX_NOTES` + 1,
  whichever comes first.

Writers in :mod:`.audio`, :mod:`.pianoroll` and :mod:`.sheet` apply these limits when called
alone (their ``max_minutes`` argument); they report warnings through ``on_warning`` or, without
one, as Python warnings of class :class:`RenderWarning`.
"""


from __future__ import annotations

import math
import os
import secrets
import signal
import subprocess
import tempfile
import threading
import warnings
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import symusic

from ..errors import MIDIError, MusicOptionError
from ..music import as_score

MAX_MINUTES = 20.0   # default length limit of a render, minutes
MAX_NOTE_S = 30.0    # notes are cut to this length, seconds
MAX_GAP_S = 10.0     # silences are shortened to about this length, seconds
MAX_NOTES = 50_000   # at most this many notes are rendered (all tracks together)
MAX_MINUTES_CAP = 24 * 60.0  # max_minutes itself must be below a day
DEFAULT_US_PER_QUARTER = 500_000  # 120 bpm, the MIDI default before the first tempo event
SUFFIXES = {  # output kind -> file suffixes it can write
    "midi": (".mid", ".midi"),
    "json": (".json",),
    "markdown": (".md", ".markdown", ".txt"),
    "wav": (".wav",),
    "png": (".png", ".pdf", ".svg"),  # the piano-roll picture
    "musicxml": (".musicxml", ".xml", ".mxl"),
    "sheet": (".png", ".pdf", ".svg"),  # MuseScore pages
}

Warn = Callable[[str], None]


class RenderWarning(UserWarning):
    """The music was changed to keep the work bounded (cut, shortened, moved into range)."""


def warner(on_warning: Warn | None) -> Warn:
    """``on_warning`` itself, or a function that issues a :class:`RenderWarning`."""
    if on_warning is not None:
        return on_warning
    return lambda text: warnings.warn(text, RenderWarning, stacklevel=3)


def check_output(path: str | os.PathLike, kind: str) -> Path:
    """``path`` as a :class:`Path` when a ``kind`` output (``wav``, ``png``, ``musicxml``, ``sheet``) can go there.

    Raises :class:`MusicOptionError` (one line) for a folder, a suffix the format cannot write, a parent
    that is a file, or a place that cannot be written to. Nothing is created.
    """
    if kind not in SUFFIXES:
        raise MusicOptionError(f"output kind '{kind}' is unknown: use one of {', '.join(SUFFIXES)}")
    p = Path(path).expanduser()
    allowed = SUFFIXES[kind]
    if p.is_dir():
        raise MusicOptionError(f"{kind} output '{path}' is a folder: give a file name ending in {'/'.join(allowed)}")
    if p.suffix.lower() not in allowed:
        raise MusicOptionError(f"{kind} output '{path}': use a file name ending in {', '.join(allowed)}")
    folder = p.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise MusicOptionError(f"{kind} output '{path}': '{folder}' is a file, not a folder")
    if p.exists() and not os.access(p, os.W_OK):
        raise MusicOptionError(f"{kind} output '{path}' exists and cannot be overwritten")
    try:  # os.access is not enough (root, read-only file systems): try for real
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".tunegan-check-"):
            pass
    except OSError as e:
        raise MusicOptionError(f"{kind} output '{path}': cannot write in '{folder}' ({e.strerror or e})") from None
    return p


@contextmanager
def writing(path: str | os.PathLike) -> Iterator[Path]:
    """A hidden file name next to ``path`` (same suffix) to write to; it becomes ``path`` when the block
    ends without error and is removed otherwise, so no half-written output is ever left.

    Parent folders are made. An ``OSError`` becomes a one-line :class:`MusicOptionError`.
    """
    dest = Path(path).expanduser()
    part = dest.with_name(f".{dest.stem}.{secrets.token_hex(4)}.part{dest.suffix}")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        yield part
        os.replace(part, dest)
    except OSError as e:
        raise MusicOptionError(f"cannot write '{dest}' ({e.strerror or e})") from None
    finally:
        with suppress(OSError):
            part.unlink(missing_ok=True)


def check_max_minutes(max_minutes: float | None) -> None:
    """Raise :class:`MusicOptionError` unless ``max_minutes`` is None or in (0, one day)."""
    if max_minutes is None:
        return
    if not (isinstance(max_minutes, (int, float)) and 0 < max_minutes < MAX_MINUTES_CAP):
        raise MusicOptionError(f"max_minutes must be a number above 0 and below {MAX_MINUTES_CAP:g} (received {max_minutes!r})")


def load_score(source: symusic.Score | str | os.PathLike | bytes) -> tuple[symusic.Score, str]:
    """``(tick-based Score, display name)`` like :func:`tunegan.music.as_score`, refusing 0 ticks per quarter."""
    score, name = as_score(source)
    if score.ticks_per_quarter <= 0:
        raise MIDIError(f"{name}: the header gives 0 ticks per quarter note, so the file has no timing")
    return score, name


def bounded_score(source, max_minutes: float | None, on_warning: Warn | None = None) -> tuple[symusic.Score, str]:
    """:func:`load_score` then, unless ``max_minutes`` is None, :func:`limit_score` (warnings to ``on_warning``)."""
    score, name = load_score(source)
    if max_minutes is None:
        return score, name
    score, notes = limit_score(score, max_minutes, name=name)
    warn = warner(on_warning)
    for text in notes:
        warn(text)
    return score, name


# ---- limits --------------------------------------------------------------------------------------

class TempoMap:
    """Piecewise-linear ticks <-> seconds of a tick-based score (the last tempo event on a tick wins)."""

    def __init__(self, score: symusic.Score):
        events = sorted(((t.time, t.mspq) for t in score.tempos), key=lambda e: e[0])  # stable: file order kept
        last = {}
        for time, mspq in events:
            last[int(time)] = max(0, int(mspq))
        if 0 not in last:
            last[0] = DEFAULT_US_PER_QUARTER
        self.ticks = np.array(sorted(last), np.int64)                                     # shape (k,)
        self.sec_per_tick = np.array([last[t] for t in self.ticks], np.float64) / 1e6 / score.ticks_per_quarter
        self.secs = np.concatenate([[0.0], np.cumsum(np.diff(self.ticks) * self.sec_per_tick[:-1])])

    def seconds(self, ticks) -> np.ndarray:
        """Seconds (float64) at tick positions; shape kept."""
        t = np.asarray(ticks, np.float64)
        i = np.clip(np.searchsorted(self.ticks, t, side="right") - 1, 0, len(self.ticks) - 1)
        return self.secs[i] + (t - self.ticks[i]) * self.sec_per_tick[i]

    def tick_at(self, seconds: float) -> int:
        """The first tick at or after ``seconds``."""
        i = int(np.clip(np.searchsorted(self.secs, seconds, side="right") - 1, 0, len(self.ticks) - 1))
        spt = self.sec_per_tick[i]
        if spt <= 0:
            return int(self.ticks[i])
        return int(self.ticks[i] + math.ceil((seconds - self.secs[i]) / spt - 1e-9))


def clean_tempos(score: symusic.Score) -> None:
    """Keep one tempo per tick (the last one in the file, as MIDI players do), sorted; in place."""
    tm = TempoMap(score)
    score.tempos.clear()
    for t, spt in zip(tm.ticks, tm.sec_per_tick):
        score.tempos.append(symusic.Tempo(int(t), mspq=int(round(spt * 1e6 * score.ticks_per_quarter))))


def limit_score(score: symusic.Score, max_minutes: float = MAX_MINUTES, *, name: str = "<score>") -> tuple[symusic.Score, list[str]]:
    """A bounded copy of a tick-based ``score`` and one-line warnings saying what changed.

    Over-long notes are cut, long silences shortened and the end cut (see the module docstring).
    Tempo events are cleaned (:func:`clean_tempos`) so every engine reads the same timing.
    """
    check_max_minutes(max_minutes)
    out = score.copy()
    clean_tempos(out)
    tm = TempoMap(out)
    said = []
    long_n, longest = _cut_long_notes(out, tm)
    if long_n:
        said.append(f"{name}: {long_n} note{'s' * (long_n > 1)} longer than {MAX_NOTE_S:g} s cut to {MAX_NOTE_S:g} s"
                    f" (the longest lasted {_duration(longest)})")
    gap_n, widest = _shorten_silences(out, tm)
    if gap_n:
        out.sort(inplace=True)
        clean_tempos(out)
        tm = TempoMap(out)
        said.append(f"{name}: {gap_n} silence{'s' * (gap_n > 1)} longer than {MAX_GAP_S:g} s shortened to about"
                    f" {MAX_GAP_S:g} s (the longest lasted {_duration(widest)})")
    text = _cut_end(out, tm, max_minutes)
    if text:
        said.append(f"{name}: {text}")
    return out, said


def _note_arrays(score: symusic.Score) -> tuple[np.ndarray, np.ndarray]:
    """Onset and end ticks (int64, shape ``(n_notes,)``) of every note of every track."""
    rows = [t.notes.numpy() for t in score.tracks if len(t.notes)]
    if not rows:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    on = np.concatenate([r["time"] for r in rows]).astype(np.int64)
    return on, on + np.concatenate([r["duration"] for r in rows]).astype(np.int64)


def _cut_long_notes(score: symusic.Score, tm: TempoMap) -> tuple[int, float]:
    """Cut notes longer than MAX_NOTE_S in place; ``(how many, longest in seconds)``."""
    count, longest = 0, 0.0
    for track in score.tracks:
        if not len(track.notes):
            continue
        a = track.notes.numpy()
        on, dur = a["time"].astype(np.int64), a["duration"].astype(np.int64)
        start_s, end_s = tm.seconds(on), tm.seconds(on + dur)
        long = (end_s - start_s) > MAX_NOTE_S
        if not long.any():
            continue
        count += int(long.sum())
        longest = max(longest, float((end_s - start_s)[long].max()))
        new_end = np.array([tm.tick_at(s + MAX_NOTE_S) for s in start_s[long]], np.int64)
        dur[long] = np.maximum(1, new_end - on[long])
        track.notes = symusic.Note.from_numpy(time=a["time"], duration=dur.astype(a["duration"].dtype),
                                              pitch=a["pitch"], velocity=a["velocity"])
    return count, longest


def _shorten_silences(score: symusic.Score, tm: TempoMap) -> tuple[int, float]:
    """Take whole bars out of silences longer than MAX_GAP_S, in place; ``(how many, longest in seconds)``."""
    on, end = _note_arrays(score)
    if len(on) == 0:
        return 0, 0.0
    order = np.argsort(on, kind="stable")
    on, end = on[order], np.maximum.accumulate(end[order])  # end: the last tick anything sounds up to here
    gap_from = np.concatenate([[0], end[:-1]])  # silence before each onset, from the end of everything before
    gap_s = tm.seconds(on) - tm.seconds(gap_from)
    old, new, count, widest, removed = [0], [0], 0, 0.0, 0
    for i in np.nonzero(gap_s > MAX_GAP_S)[0]:
        keep_to = _next_bar_line(score, tm.tick_at(float(tm.seconds(gap_from[i])) + MAX_GAP_S))
        bar = _bar_ticks(score, keep_to)
        cut = (int(on[i]) - keep_to) // bar * bar
        if cut <= 0:
            continue
        count, widest = count + 1, max(widest, float(gap_s[i]))
        old += [keep_to, keep_to + cut]
        new += [keep_to - removed, keep_to - removed]
        removed += cut
    if count == 0:
        return 0, 0.0
    last = _last_event_tick(score) + 1
    old.append(max(last, old[-1] + 1))
    new.append(old[-1] - removed)
    score.adjust_time(old, new, inplace=True)
    return count, widest


def _bar_ticks(score: symusic.Score, tick: int) -> int:
    """Length in ticks of a bar of the time signature in force at ``tick`` (4/4 if none)."""
    num, den = 4, 4
    for ts in sorted(score.time_signatures, key=lambda t: t.time):
        if ts.time > tick:
            break
        num, den = ts.numerator, ts.denominator
    return max(1, int(round(score.ticks_per_quarter * 4 * max(1, num) / max(1, den))))


def _next_bar_line(score: symusic.Score, tick: int) -> int:
    """The first bar line at or after ``tick``, counting bars from the last time-signature change before it."""
    start = max([ts.time for ts in score.time_signatures if ts.time <= tick], default=0)
    bar = _bar_ticks(score, tick)
    return int(start + -(-(tick - start) // bar) * bar)


def _last_event_tick(score: symusic.Score) -> int:
    """The largest time of any event in ``score`` (notes' and pedals' ends included)."""
    times = [score.end()]
    for lst in (score.tempos, score.time_signatures, score.key_signatures, score.markers):
        if len(lst):
            times.append(int(lst.numpy()["time"].max()))
    return int(max(times))


def _cut_end(score: symusic.Score, tm: TempoMap, max_minutes: float) -> str:
    """Cut ``score`` in place after ``max_minutes`` or MAX_NOTES notes; the warning text, or ``""``."""
    on, end = _note_arrays(score)
    if len(on) == 0:
        return ""
    length_s = float(tm.seconds(end.max()))
    stop = tm.tick_at(max_minutes * 60.0) if length_s > max_minutes * 60.0 else None
    text = f"the music lasts {_duration(length_s)}; only the first {max_minutes:g} minutes are rendered (raise max_minutes for more)"
    if len(on) > MAX_NOTES:
        nth = int(np.sort(on)[MAX_NOTES])
        if stop is None or nth < stop:
            stop = nth
            text = (f"{len(on)} notes; only the first {_duration(float(tm.seconds(nth)))} ({MAX_NOTES} notes)"
                    f" are rendered")
    if stop is None:
        return ""
    score.clip(0, stop, clip_end=False, inplace=True)
    for track in score.tracks:
        if len(track.notes):
            a = track.notes.numpy()
            dur = np.minimum(a["duration"].astype(np.int64), stop - a["time"].astype(np.int64))
            track.notes = symusic.Note.from_numpy(time=a["time"], duration=np.maximum(1, dur).astype(a["duration"].dtype),
                                                  pitch=a["pitch"], velocity=a["velocity"])
    return text


def _duration(seconds: float) -> str:
    """``"42 s"``, ``"12.5 min"`` or ``"155 h"``."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.3g} h"


def run_program(cmd: list[str], *, timeout: float, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``cmd`` in its own process group, text output captured; raises ``subprocess.TimeoutExpired``.

    On a timeout, an error or Ctrl-C the whole group is killed before the exception goes on.
    """
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except BaseException:
        with suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL) if hasattr(os, "killpg") else proc.kill()
        proc.communicate()
        raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


# ---- all outputs at once -------------------------------------------------------------------------

@contextmanager
def terminate_as_interrupt():
    """While inside, SIGTERM raises KeyboardInterrupt (main thread only), so temporary files are removed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    try:
        previous = signal.signal(signal.SIGTERM, _raise)
    except (ValueError, OSError):  # not allowed here (embedded interpreter): carry on without it
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
