"""MusPy metrics and Yang & Lerch features against values worked out by hand on tiny scores."""

import math

import numpy as np
import pytest
import symusic

from tunegan.evaluation import musical as M


def make_score(notes, *, tpq=4, ts=(4, 4), drums=()):
    """Score from (start, duration, pitch) tuples in ticks; ``drums`` go on a drum track."""
    score = symusic.Score(tpq)
    if ts is not None:
        score.time_signatures.append(symusic.TimeSignature(0, *ts))
    for name, items, is_drum in (("piano", notes, False), ("drums", drums, True)):
        if not items:
            continue
        track = symusic.Track(name, 0, is_drum)
        for start, dur, pitch in items:
            track.notes.append(symusic.Note(start, dur, pitch, 80))
        score.tracks.append(track)
    return score


# tpq 4, 4/4 (16-tick measures). Sounding: [0,4) C4+E4, [4,6) G4, [8,16) C5, [32,36) C#4.
TINY = [(0, 4, 60), (0, 4, 64), (4, 2, 67), (8, 8, 72), (32, 4, 61)]


@pytest.fixture
def tiny():
    return make_score(TINY)


def test_pitch_counts_and_range(tiny):
    assert M.pitch_range(tiny) == 12
    assert M.n_pitches_used(tiny) == 5
    assert M.n_pitch_classes_used(tiny) == 4  # C, C#, E, G


def test_entropies(tiny):
    assert M.pitch_entropy(tiny) == pytest.approx(math.log2(5))
    # pitch classes C:2, C#:1, E:1, G:1 of 5
    expected = -(0.4 * math.log2(0.4) + 3 * 0.2 * math.log2(0.2))
    assert M.pitch_class_entropy(tiny) == pytest.approx(expected)


def test_scale_consistency(tiny):
    # C major holds C, C, E, G but not C#: 4 of 5; no major/minor scale holds C, C#, E and G
    assert M.scale_consistency(tiny) == pytest.approx(0.8)
    assert M.scale_consistency(make_score([(0, 4, p) for p in (60, 62, 64, 65, 67, 69, 71)])) == 1.0


def test_polyphony(tiny):
    # pitch-ticks 2*4 + 2 + 8 + 4 = 22 over 18 sounding ticks; 4 of 36 ticks have 2 pitches
    assert M.polyphony(tiny) == pytest.approx(22 / 18)
    assert M.polyphony_rate(tiny) == pytest.approx(4 / 36)
    assert M.polyphony_rate(tiny, threshold=1) == pytest.approx(18 / 36)


def test_overlapping_notes_of_one_pitch_count_once():
    s = make_score([(0, 8, 60), (4, 8, 60)])
    assert M.polyphony(s) == 1.0
    assert M.polyphony_rate(s) == 0.0


def test_polyphony_matches_a_tick_piano_roll():
    rng = np.random.default_rng(3)
    notes = [(int(rng.integers(0, 60)), int(rng.integers(1, 12)), int(rng.integers(58, 66))) for _ in range(25)]
    s = make_score(notes)
    roll = np.zeros((max(a + d for a, d, _ in notes), 128), bool)
    for a, d, p in notes:
        roll[a:a + d, p] = True
    count = roll.sum(1)
    assert M.polyphony(s) == pytest.approx(roll.sum() / np.count_nonzero(count))
    assert M.polyphony_rate(s, 3) == pytest.approx(np.mean(count >= 3))


def test_empty_beats_and_measures(tiny):
    # 9 beats (ceil(36 / 4)); beats 0, 1, 2, 3 and 8 sound
    assert M.empty_beat_rate(tiny) == pytest.approx(4 / 9)
    # 3 measures of 16 ticks; the middle one is silent
    assert M.empty_measure_rate(tiny) == pytest.approx(1 / 3)


def test_note_ending_on_a_beat_does_not_fill_the_next_beat():
    assert M.empty_beat_rate(make_score([(0, 4, 60)])) == 0.0
    assert M.empty_beat_rate(make_score([(0, 4, 60), (8, 4, 60)])) == pytest.approx(1 / 3)


def test_groove_consistency(tiny):
    # onset patterns: measure 0 {0, 4, 8}, measure 1 {}, measure 2 {0}: Hamming 3 + 1 over 2*16
    assert M.groove_consistency(tiny) == pytest.approx(1 - 4 / 32)
    assert M.groove_consistency(tiny, steps_per_beat=4) == pytest.approx(1 - 4 / 32)
    repeated = make_score([(0, 2, 60), (8, 2, 62), (16, 2, 60), (24, 2, 62)])
    assert M.groove_consistency(repeated) == 1.0
    assert math.isnan(M.groove_consistency(make_score([(0, 4, 60)])))


def test_measure_length_follows_time_signature():
    assert M.measure_ticks(make_score(TINY, tpq=480, ts=(3, 4))) == 1440
    assert M.measure_ticks(make_score(TINY, tpq=480, ts=(6, 8))) == 1440
    assert M.measure_ticks(make_score(TINY, tpq=480, ts=None)) == 1920
    gap = [(0, 4, 60), (24, 4, 62)]  # at tpq 4: 3/4 measures [0,12) [12,24) [24,36); 4/4 [0,16) [16,32)
    assert M.empty_measure_rate(make_score(gap, ts=(3, 4))) == pytest.approx(1 / 3)
    assert M.empty_measure_rate(make_score(gap, ts=(4, 4))) == 0.0


def test_drums_are_left_out_of_pitch_metrics_but_fill_beats():
    s = make_score([(0, 4, 60)], drums=[(4, 4, 36)])
    assert M.pitch_range(s) == 0 and M.n_pitches_used(s) == 1
    assert M.empty_beat_rate(s) == 0.0


def test_empty_score_gives_zero_or_nan():
    s = make_score([])
    assert M.pitch_range(s) == 0 and M.n_pitches_used(s) == 0
    for f in (M.pitch_entropy, M.scale_consistency, M.polyphony, M.polyphony_rate, M.empty_beat_rate):
        assert math.isnan(f(s))
    feats = M.piece_features(s)
    assert feats["note_count"] == 0 and feats["pitch_class_hist"].shape == (12,)
    assert feats["pitch_class_hist"].sum() == 0


def test_yang_lerch_histograms(tiny):
    pch = np.zeros(12)
    pch[[0, 1, 4, 7]] = [0.4, 0.2, 0.2, 0.2]
    np.testing.assert_allclose(M.pitch_class_histogram(tiny), pch)
    # melodic order 60, 64, 67, 72, 61 -> intervals +4, +3, +5, -11; bin i is i - 12 semitones
    np.testing.assert_array_equal(M.pitch_intervals(tiny), [4, 3, 5, -11])
    ivh = np.zeros(25)
    ivh[[16, 15, 17, 1]] = 0.25
    np.testing.assert_allclose(M.pitch_interval_histogram(tiny), ivh)
    # distinct onsets 0, 4, 8, 32 ticks -> 1, 1, 6 beats: two in [1, 1.5), one in [4, inf)
    np.testing.assert_allclose(M.inter_onset_intervals(tiny), [1, 1, 6])
    ioih = np.zeros(12)
    ioih[[7, 11]] = [2 / 3, 1 / 3]
    np.testing.assert_allclose(M.ioi_histogram(tiny), ioih)
    # lengths 1, 1, 0.5, 2, 1 beats -> quarter x3, 8th, half
    nlh = np.zeros(12)
    nlh[[1, 2, 3]] = [0.2, 0.6, 0.2]
    np.testing.assert_allclose(M.note_length_histogram(tiny), nlh)


def test_note_length_classes_pick_nearest():
    s = make_score([(0, 6, 60), (8, 5, 62), (16, 1, 64)])  # 1.5, 1.25, 0.25 beats at tpq 4
    nlh = M.note_length_histogram(s)
    names = [n for n, _ in M.NOTE_LENGTH_CLASSES]
    assert nlh[names.index("dotted quarter")] == pytest.approx(1 / 3)
    assert nlh[names.index("quarter triplet")] == 0  # 1.25 is nearer 4/3 (half triplet)
    assert nlh[names.index("half triplet")] == pytest.approx(1 / 3)
    assert nlh[names.index("16th")] == pytest.approx(1 / 3)


def test_piece_features(tiny):
    f = M.piece_features(tiny)
    assert f["pitch_count"] == 5 and f["note_count"] == 5 and f["pitch_range"] == 12
    assert f["ioi_mean"] == pytest.approx(8 / 3)
    assert f["pitch_interval_mean"] == pytest.approx(23 / 4)
    assert f["polyphony"] == pytest.approx(22 / 18)
    for k in ("pitch_class_hist", "pitch_interval_hist", "ioi_hist", "note_length_hist"):
        assert f[k].sum() == pytest.approx(1.0)


def test_seconds_score_is_converted_to_ticks():
    s = make_score(TINY, tpq=480)
    assert M.pitch_range(s.to("second")) == 12
    assert M.polyphony(s.to("second")) == pytest.approx(22 / 18, rel=1e-3)


def test_semitone_clash_share_counts_simultaneous_minor_seconds():
    from tunegan.evaluation.musical import semitone_clash_share
    from tunegan.midi import NOTE_DTYPE

    def notes(rows):
        a = np.zeros(len(rows), NOTE_DTYPE)
        for i, (p, s, e) in enumerate(rows):
            a[i] = (p, 80, s, e)
        return a

    chord = notes([(60, 0, 1), (64, 0, 1), (67, 0, 1)])        # C major: 3 pairs, no clash
    clash = notes([(60, 0, 2), (61, 1, 2)])                     # C held, C# enters: 1 pair, a clash
    melody = notes([(60, 0, 1), (61, 1, 2)])                    # one after the other: no pair
    assert semitone_clash_share([chord, clash, melody]) == 1 / 4
    assert np.isnan(semitone_clash_share([melody]))
