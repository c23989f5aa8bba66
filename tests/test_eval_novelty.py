"""Transposition-invariant copy detection with the suffix-array novelty index."""

import math

import numpy as np
import pytest

from tunegan.errors import DataError
from tunegan.evaluation.novelty import NoveltyIndex, interval_sequence, pitch_sequence, suffix_array
from tunegan.midi import NOTE_DTYPE


def walk(rng, n):
    """A random melody: steps of -7..7 semitones, wrapped into MIDI 40..89."""
    return (40 + (20 + np.cumsum(rng.integers(-7, 8, n))) % 50).astype(np.int16)


@pytest.fixture(scope="module")
def training():
    rng = np.random.default_rng(0)
    return [walk(rng, int(rng.integers(150, 400))) for _ in range(30)]


@pytest.fixture(scope="module")
def index(training):
    return NoveltyIndex.build(training)


def test_suffix_array_matches_sorting():
    rng = np.random.default_rng(1)
    for _ in range(30):
        x = rng.integers(0, 3, int(rng.integers(1, 50)))
        expected = sorted(range(len(x)), key=lambda i: list(x[i:]))
        assert suffix_array(x).tolist() == expected


def test_pitch_sequence_orders_by_onset_then_pitch():
    notes = np.array([(67, 80, 1.0, 2.0), (64, 80, 0.0, 1.0), (60, 80, 0.0, 1.0)], dtype=NOTE_DTYPE)
    assert pitch_sequence(notes).tolist() == [60, 64, 67]
    assert interval_sequence([60, 64, 67]).tolist() == [4, 3]


def test_transposed_copy_is_caught(index, training):
    copied = training[3][50:130] + 5  # 80 notes, up a fourth
    assert index.longest_copied_run(copied) == 80
    assert index.ngram_overlap(copied, n=8) == 1.0


def test_partial_copy_reports_the_copied_run(index, training):
    rng = np.random.default_rng(2)
    sample = np.concatenate([walk(rng, 40), training[7][10:60] - 3, walk(rng, 40)])
    assert 50 <= index.longest_copied_run(sample) <= 53  # a note or two may happen to extend it
    assert 0.2 < index.ngram_overlap(sample) < 0.6


def test_random_sample_has_short_runs(index):
    sample = walk(np.random.default_rng(3), 200)
    assert index.longest_copied_run(sample) <= 7  # chance matches of a few notes
    assert index.ngram_overlap(sample, n=8) < 0.05


def test_matches_never_cross_two_pieces():
    idx = NoveltyIndex.build([np.array([60, 62, 64]), np.array([65, 67])])
    assert idx.longest_copied_run([60, 62, 64, 65, 67]) == 3  # 64 -> 65 joins two pieces
    assert idx.n_pieces == 2 and idx.n_intervals == 3


def test_matching_statistics_match_brute_force(training):
    small = [p[:40] for p in training[:5]]
    idx = NoveltyIndex.build(small)
    ivs = [interval_sequence(p).tolist() for p in small]
    rng = np.random.default_rng(4)
    sample = np.concatenate([walk(rng, 10), small[2][5:25], walk(rng, 10)])
    q = interval_sequence(sample).tolist()

    def occurs(pat):
        return any(iv[j:j + len(pat)] == pat for iv in ivs for j in range(len(iv) - len(pat) + 1))

    expected = []
    for i in range(len(q)):
        k = 0
        while i + k < len(q) and occurs(q[i:i + k + 1]):
            k += 1
        expected.append(k)
    assert idx.matching_statistics(sample).tolist() == expected


def test_short_and_empty_samples(index):
    assert index.longest_copied_run([]) == 0
    assert index.longest_copied_run([60]) == 1
    assert math.isnan(index.ngram_overlap([60, 62, 64], n=8))
    with pytest.raises(ValueError, match="n must be"):
        index.ngram_overlap([60, 62], n=1)


def test_save_and_load_round_trip(index, training, tmp_path):
    path = index.save(tmp_path / "novelty.npy")
    for mmap in (False, True):
        loaded = NoveltyIndex.load(path, mmap=mmap)
        np.testing.assert_array_equal(loaded.sa, index.sa)
        assert loaded.longest_copied_run(training[0][:30] + 2) == 30


def test_load_rejects_missing_and_foreign_files(tmp_path):
    with pytest.raises(DataError, match="no novelty index"):
        NoveltyIndex.load(tmp_path / "missing.npy")
    np.save(tmp_path / "other.npy", np.zeros((3, 4)))
    with pytest.raises(DataError, match="not a novelty index"):
        NoveltyIndex.load(tmp_path / "other.npy")
