"""Songs put on their annotated beat grid: small excerpts made in code (POP909's beat_midi.txt layout)."""

from __future__ import annotations

import numpy as np
import pytest
import symusic

from tunegan.data.beatgrid import BeatTrack, beat_grid_score, parse_pop909_beats
from tunegan.errors import MIDIError
from tunegan.music import bar_grid, tick_notes

TPQ = 480
FILE_QPM = 120.0  # the MIDI file's own (arbitrary) grid: 960 ticks a second


def beat_text(times, bar_every: int, first_downbeat: int = 0, measure_every: int | None = None) -> str:
    """beat_midi.txt rows: a bar mark every ``bar_every`` beats from ``first_downbeat``."""
    measure_every = measure_every or bar_every
    rows = []
    for k, t in enumerate(times):
        rel = k - first_downbeat
        rows.append(f"{t:.6f} {float(rel % measure_every == 0)} {float(rel % bar_every == 0)}")
    return "\n".join(rows) + "\n"


def song(notes_s, *, qpm: float = FILE_QPM) -> symusic.Score:
    """A two-track score from ``[(start_s, dur_s, pitch), ...]`` on the file's own grid."""
    score = symusic.Score(TPQ)
    score.tempos.append(symusic.Tempo(0, qpm))
    score.time_signatures.append(symusic.TimeSignature(0, 2, 4))  # what POP909 files declare
    tps = TPQ * qpm / 60.0
    for name, part in (("MELODY", notes_s[::2]), ("PIANO", notes_s[1::2])):
        tr = symusic.Track(name, 0, False)
        tr.notes = symusic.Note.from_numpy(
            time=np.array([round(s * tps) for s, _, _ in part], np.int32),
            duration=np.array([round(d * tps) for _, d, _ in part], np.int32),
            pitch=np.array([p for _, _, p in part], np.int8), velocity=np.full(len(part), 80, np.int8))
        score.tracks.append(tr)
    return score


def bar_ticks(score: symusic.Score) -> np.ndarray:
    return bar_grid(score, score.end()).bars


def test_bar_lines_fall_on_annotated_downbeats():
    times = 0.1 + 0.6 * np.arange(22)  # 100 BPM beats, the first 0.1 s into the file
    beats = parse_pop909_beats(beat_text(times, 4, first_downbeat=1))  # one pickup beat
    notes = [(times[k], 0.3, 60 + k % 12) for k in range(22)]
    out = beat_grid_score(song(notes), beats)
    assert [(t.numerator, t.denominator) for t in out.time_signatures] == [(4, 4)]
    pad = 3  # the pickup beat ends a full 4/4 bar
    downbeat_ticks = set(((beats.downbeats + pad) * TPQ).tolist())
    bars = bar_ticks(out)
    assert bars[0] == 0 and bars[1] == (1 + pad) * TPQ
    assert set(bars[1:].tolist()) <= downbeat_ticks | {int(bars[-1])}  # the last bar runs past the annotation
    assert all(b in set(bars.tolist()) for b in downbeat_ticks)
    onsets = tick_notes(out)["time"]
    assert np.array_equal(onsets, (np.arange(22) + pad) * TPQ)  # an onset on a beat lands on the grid


def test_an_irregular_bar_gets_its_own_metre_and_bar_lines_stay_on_downbeats():
    times = 0.5 * np.arange(14)
    text = beat_text(times, 4).splitlines()
    marks = [0, 4, 6, 10]  # a 2-beat bar between two 4/4 bars
    text = [f"{t:.6f} 0.0 {float(k in marks)}" for k, t in enumerate(times)]
    beats = parse_pop909_beats("\n".join(text))
    out = beat_grid_score(song([(t, 0.2, 64) for t in times]), beats)
    ts = [(t.time, t.numerator, t.denominator) for t in out.time_signatures]
    assert ts == [(0, 4, 4), (4 * TPQ, 2, 4), (6 * TPQ, 4, 4)]
    assert bar_ticks(out)[:4].tolist() == [m * TPQ for m in marks]


def test_notes_keep_order_and_relative_lengths():
    times = 0.23 + 0.75 * np.arange(12)  # 80 BPM on a file grid of 120
    beats = parse_pop909_beats(beat_text(times, 4))
    rng = np.random.default_rng(0)
    notes = []
    for k in range(10):
        for frac, dur_beats in ((0.0, 1.0), (0.5, 0.25), (0.75, 2.5)):
            notes.append((times[k] + frac * 0.75, dur_beats * 0.75, int(rng.integers(40, 90))))
    src = song(notes)
    out = beat_grid_score(src, beats)
    a, b = tick_notes(src), tick_notes(out)
    assert np.array_equal(a["pitch"], b["pitch"])  # same order
    assert np.all(np.diff(b["time"]) >= 0)
    expect = np.array([d for _, d, _ in sorted(notes, key=lambda n: (n[0], n[2]))]) / 0.75 * TPQ
    assert np.allclose(b["duration"], expect, atol=2)  # lengths in beats kept (within rounding)
    on_beat = np.isclose(b["time"] % TPQ, 0)
    assert on_beat.sum() == 10 and np.array_equal(b["time"][on_beat], np.arange(10) * TPQ)


@pytest.mark.parametrize("layout", ["bars of 3", "pairs of 3/4 bars"])
def test_three_four_is_detected(layout):
    times = 0.4 * np.arange(25)
    text = beat_text(times, 3) if layout == "bars of 3" else beat_text(times, 6, measure_every=3)
    beats = parse_pop909_beats(text)
    assert beats.beats_per_bar == 3
    out = beat_grid_score(song([(t, 0.2, 67) for t in times]), beats)
    assert [(t.numerator, t.denominator) for t in out.time_signatures] == [(3, 4)]
    assert np.array_equal(bar_ticks(out)[:8], np.arange(8) * 3 * TPQ)


def test_tempo_from_beat_spacing_with_events_only_where_it_changes():
    spacing = np.r_[np.full(16, 0.5), np.full(16, 0.6)]  # 120 BPM for 4 bars, then 100 BPM
    spacing = spacing * (1 + 0.01 * np.sin(np.arange(32)))  # +-1 % jitter writes no event
    times = np.r_[0.0, np.cumsum(spacing)]
    beats = parse_pop909_beats(beat_text(times, 4))
    out = beat_grid_score(song([(t, 0.2, 60) for t in times[:-1]]), beats)
    assert [t.time for t in out.tempos] == [0, 16 * TPQ]
    assert [t.qpm for t in out.tempos] == pytest.approx([120, 100], abs=1.5)


def test_compound_beats_make_twelve_eight():
    times = 0.9 * np.arange(17)  # dotted-quarter beats at 66.7 per minute = 100 quarters a minute
    beats = parse_pop909_beats(beat_text(times, 4))
    out = beat_grid_score(song([(t, 0.3, 62) for t in times]), beats, compound=True)
    assert [(t.numerator, t.denominator) for t in out.time_signatures] == [(12, 8)]
    assert round(out.tempos[0].qpm) == 100
    assert np.array_equal(tick_notes(out)["time"], np.arange(17) * TPQ * 3 // 2)


def test_bad_beat_files_raise_one_line_errors():
    with pytest.raises(MIDIError, match="fewer than 2 beats"):
        parse_pop909_beats("0.0 1.0 1.0\n")
    with pytest.raises(MIDIError, match="line 2"):
        parse_pop909_beats("0.0 1.0 1.0\nzero 0 0\n")
    with pytest.raises(MIDIError, match="do not increase"):
        parse_pop909_beats("0.0 1.0 1.0\n0.0 0.0 0.0\n")
    with pytest.raises(MIDIError, match="no downbeat"):
        parse_pop909_beats("0.0 0 0\n0.5 0 0\n")
    with pytest.raises(MIDIError, match="no notes"):
        beat_grid_score(symusic.Score(TPQ), BeatTrack(np.array([0.0, 0.5]), np.array([0])))
