"""Velocity augmentation: one random shift of every velocity token of a crop, within range."""

from __future__ import annotations

import numpy as np
import pytest
import symusic

from tunegan.config import TrainConfig
from tunegan.data.dataset import CropDataset, TokenCache, WindowDataset, augment_kwargs
from tunegan.data.prepare import prepare
from tunegan.data.sources import MidiFolder
from tunegan.errors import ConfigError
from tunegan.tokenizers import get_tokenizer
from tunegan.tokenizers.performance import VEL0, VOCAB_SIZE, PerformanceConfig, PerformanceTokenizer
from tunegan.tokenizers.pitch import PitchTokenizer


def loud_and_soft(velocities=(20, 60, 100, 120)) -> symusic.Score:
    score = symusic.Score(480)
    score.tempos.append(symusic.Tempo(0, 100.0))
    score.time_signatures.append(symusic.TimeSignature(0, 3, 4))
    track = symusic.Track("piano", 0, False)
    n = 24
    track.notes = symusic.Note.from_numpy(
        time=np.arange(n, dtype=np.int32) * 240, duration=np.full(n, 240, np.int32),
        pitch=(55 + np.arange(n) % 13).astype(np.int8),
        velocity=np.resize(np.asarray(velocities, np.int8), n))
    score.tracks.append(track)
    return score


def velocity_mask(tok, tokens):
    if isinstance(tok, PerformanceTokenizer):
        return tokens >= VEL0
    return np.array([tok.describe(t).startswith("Velocity_") for t in tokens])


@pytest.mark.parametrize("name", ["remi", "performance"])
def test_velocity_shift_moves_only_velocity_tokens_within_range(name):
    tok = get_tokenizer("remi") if name == "remi" else PerformanceTokenizer(PerformanceConfig(sustain=False))
    tokens = tok.encode(loud_and_soft((30, 60, 90, 100)))  # two bins or more from either end
    vel = velocity_mask(tok, tokens)
    assert vel.sum() >= 4
    n_bins = 16 if name == "remi" else VOCAB_SIZE - VEL0
    shifts = set()
    for seed in range(40):
        out = tok.augment(tokens, np.random.default_rng(seed), velocity_shift=2)
        assert np.array_equal(out[~vel], tokens[~vel])  # nothing else moves
        assert np.all(velocity_mask(tok, out) == vel)  # velocities stay velocities
        d = np.unique(out[vel] - tokens[vel])
        assert len(d) == 1 and abs(int(d[0])) <= 2  # one shift for the whole crop
        shifts.add(int(d[0]))
    assert shifts == {-2, -1, 0, 1, 2}
    # a crop already at the loudest bin can only get softer
    top = tok.augment(tokens, np.random.default_rng(0), velocity_shift=n_bins)
    assert np.all(velocity_mask(tok, top) == vel)


def test_remi_velocity_shift_keeps_the_extremes_in_range():
    tok = get_tokenizer("remi", num_velocities=4)
    tokens = tok.encode(loud_and_soft((1, 127)))  # the lowest and the highest bin: no shift fits
    for seed in range(10):
        assert np.array_equal(tok.augment(tokens, np.random.default_rng(seed), velocity_shift=3), tokens)


def test_augment_kwargs_leave_velocity_out_for_pitch_tokens():
    assert augment_kwargs(PitchTokenizer(), max_transpose=3, velocity_shift=2) == {"max_transpose": 3}
    assert augment_kwargs(get_tokenizer("remi"), velocity_shift=2) == {"velocity_shift": 2}
    assert augment_kwargs(None, max_transpose=3) == {}


def test_crops_and_windows_shift_velocities(tmp_path):
    folder = tmp_path / "midi"
    folder.mkdir()
    for i in range(4):
        loud_and_soft().dump_midi(str(folder / f"p{i}.mid"))
    tok = get_tokenizer("remi")
    prepare([MidiFolder(str(folder))], tok, tmp_path / "cache", workers=1, labels=False)
    train = TokenCache(tmp_path / "cache").split("train")
    plain = CropDataset(train, 32, n_crops=8, tokenizer=tok, seed=1)
    loud = CropDataset(train, 32, n_crops=8, tokenizer=tok, seed=1, velocity_shift=2)
    changed = 0
    for i in range(8):
        a, b = plain[i][0].numpy(), loud[i][0].numpy()
        vel = velocity_mask(tok, a)
        assert np.array_equal(a[~vel], b[~vel])
        changed += not np.array_equal(a, b)
    assert changed > 0
    w0, w1 = WindowDataset(train, 32), WindowDataset(train, 32, tokenizer=tok, velocity_shift=2, seed=3)
    assert any(not np.array_equal(w0[i][0].numpy(), w1[i][0].numpy()) for i in range(len(w0)))


def test_train_config_validates_velocity_shift():
    assert TrainConfig().velocity_shift == 2 and TrainConfig(velocity_shift=0).velocity_shift == 0
    with pytest.raises(ConfigError, match="velocity_shift"):
        TrainConfig(velocity_shift=-1)
    with pytest.raises(ConfigError, match="velocity_shift"):
        TrainConfig(velocity_shift=1.5)
