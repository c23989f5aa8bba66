"""Explain: note table and plain-words summary."""

import json

import pytest
import symusic

from tunegan.errors import MIDIError
from tunegan.explain import duration_name, dynamic_mark, explain, format_text

TPQ = 480


def _score(notes, ts=(4, 4), tempo=90.0):
    """``notes`` as (onset quarters, length quarters, pitch, velocity)."""
    s = symusic.Score(TPQ)
    s.tempos.append(symusic.Tempo(0, tempo))
    s.time_signatures.append(symusic.TimeSignature(0, *ts))
    t = symusic.Track("p", 0, False)
    for on, length, p, v in notes:
        t.notes.append(symusic.Note(int(round(on * TPQ)), int(round(length * TPQ)), p, v))
    s.tracks.append(t)
    return s


C_MAJOR = [60, 62, 64, 65, 67, 69, 71, 72, 71, 69, 67, 65, 64, 62, 60]


def test_c_major_scale_in_three_four():
    notes = [(i, 1, p, 80) for i, p in enumerate(C_MAJOR)]
    notes[-1] = (14, 0.75, 60, 100)
    notes.append((14.75, 0.25, 62, 30))
    expl = explain(_score(notes, ts=(3, 4)))
    s = expl.summary
    assert s.key == "C major" and s.key_confidence > 0.8
    assert (s.time_signature, s.tempo_bpm, s.n_bars) == ("3/4", 90.0, 5)
    assert (s.lowest, s.highest, s.span_semitones) == ("C4 (60)", "C5 (72)", 12)
    assert s.step_share == 1.0
    rows = expl.notes
    assert [r.position for r in rows[:5]] == ["1:1", "1:2", "1:3", "2:1", "2:2"]
    assert rows[2].name == "E4 (64)" and rows[0].duration == "quarter" and rows[0].dynamic == "mf"
    assert (rows[-2].position, rows[-2].duration, rows[-2].dynamic) == ("5:3", "dotted eighth", "f")
    assert (rows[-1].position, rows[-1].duration, rows[-1].dynamic) == ("5:3.75", "sixteenth", "pp")
    json.dumps(expl.to_dict())
    text = format_text(expl)
    assert "Key: C major" in text and "5:3.75" in text and "dotted eighth" in text


def test_note_values_and_dynamics():
    assert [duration_name(q) for q in (4, 3, 2, 1.5, 1, 0.75, 0.5, 1 / 3, 0.25, 0.45, 2 / 3)] == [
        "whole", "dotted half", "half", "dotted quarter", "quarter", "dotted eighth", "eighth",
        "eighth triplet", "sixteenth", "eighth", "quarter triplet"]
    assert [dynamic_mark(v) for v in (1, 20, 45, 64, 80, 100, 115, 127)] == ["ppp", "ppp", "p", "mp", "mf", "f", "ff", "fff"]


def test_six_eight_counts_eighth_beats_and_finds_motifs():
    motif = [60, 64, 62, 67]
    notes = [(k * 3 + i * 0.5, 0.5, p + 2 * (k % 2), 70) for k in range(4) for i, p in enumerate(motif + [55, 55])]
    expl = explain(_score(notes, ts=(6, 8)))
    assert [r.position for r in expl.notes[:7]] == ["1:1", "1:2", "1:3", "1:4", "1:5", "1:6", "2:1"]
    assert expl.notes[0].duration == "eighth"
    top = expl.summary.motifs[0]
    assert top.count >= 3 and top.intervals[:3] == [4, -2, 5]


def test_minor_key_is_found():
    a_minor = [57, 59, 60, 62, 64, 65, 68, 69, 64, 60, 57, 64, 69]
    s = explain(_score([(i, 1, p, 80) for i, p in enumerate(a_minor)])).summary
    assert s.key == "A minor"


def test_empty_and_non_midi_give_named_errors(tmp_path):
    empty = tmp_path / "empty.mid"
    _score([]).dump_midi(str(empty))
    with pytest.raises(MIDIError, match=r"empty\.mid: no notes"):
        explain(empty)
    text = tmp_path / "song.mid"
    text.write_text("la la la")
    with pytest.raises(MIDIError, match="not a MIDI file") as e:
        explain(text)
    assert "\n" not in str(e.value)


def test_bars_follow_metre_changes_as_the_bar_grid_counts_them():
    """3/4, then 2/4 from bar 3, then a 6/8 written mid-bar (it starts at the next bar line)."""
    import numpy as np

    from tunegan.music import bar_grid

    s = _score([(k, 1, 60 + k % 5, 80) for k in range(16)], ts=(3, 4))
    s.time_signatures.append(symusic.TimeSignature(6 * TPQ, 2, 4))
    s.time_signatures.append(symusic.TimeSignature(7 * TPQ, 6, 8))
    ticks = np.arange(16) * TPQ
    grid = bar_grid(s, int(ticks[-1]))
    b = np.searchsorted(grid.bars, ticks, side="right") - 1
    expected = [f"{i + 1}:{1 + (t - grid.bars[i]) / grid.beat_ticks[i]:g}" for i, t in zip(b, ticks)]
    assert [r.position for r in explain(s).notes] == expected
    assert expected[6:12] == ["3:1", "3:2", "4:1", "4:3", "4:5", "5:1"]
