"""Attributes measured on crops, the mood table, and attribute keywords at generation."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import make_melody
from tunegan.attributes import (ATTRIBUTE_KEYWORDS, CropAttributes, MOOD_ATTRIBUTES, density_of, pace_of, wanted)
from tunegan.errors import MusicOptionError
from tunegan.tokenizers import get_tokenizer


@pytest.fixture(scope="module")
def remi():
    return get_tokenizer("remi")


def crop(remi, pitches, *, tempo, step):
    return remi.encode(make_melody(pitches, tempo=tempo, step=step))


def test_mode_density_and_pace_of_crops(remi):
    vocab = {"keywords": ["folk", *ATTRIBUTE_KEYWORDS]}
    attrs = CropAttributes(vocab, remi, np.array([100.0]))
    a_minor = [57, 59, 60, 62, 64, 65, 68, 69] * 6  # harmonic minor, one note per quarter at 60 BPM
    m = attrs.measure(crop(remi, a_minor, tempo=60, step=1.0), 0)
    assert m == {"mode": "minor", "density": "low", "pace": "slow"}
    busy = [60, 64, 67, 72, 67, 64] * 12  # C major arpeggios in sixteenths at 160 BPM
    m = attrs.measure(crop(remi, busy, tempo=160, step=60 / 160 / 4), 0)
    assert m == {"mode": "major", "density": "high", "pace": "fast"}


def test_attributes_go_to_their_slots_and_keep_the_piece_keywords(remi):
    from tunegan.conditioning import CATEGORIES, MAX_KEYWORDS

    vocab = {"keywords": ["folk", *ATTRIBUTE_KEYWORDS]}
    attrs = CropAttributes(vocab, remi, np.array([100.0]))
    ids = np.zeros(MAX_KEYWORDS, dtype=np.int64)
    ids[0] = 1
    out = attrs(crop(remi, [60, 62, 64, 65, 67, 69, 71, 72] * 4, tempo=140, step=0.25), 0, ids)
    assert out[0] == 1 and ids[len(CATEGORIES):].sum() == 0
    words = [vocab["keywords"][i - 1] for i in out[len(CATEGORIES):] if i]
    assert "mode:major" in words and "pace:fast" in words


def test_bins_and_the_mood_table():
    assert (pace_of(60), pace_of(100), pace_of(150)) == ("slow", "mid", "fast")
    assert (density_of(1), density_of(3), density_of(6)) == ("low", "mid", "high")
    assert wanted("melancholy") == MOOD_ATTRIBUTES["melancholy"] == {"mode": "minor", "density": "low", "pace": "slow"}
    assert wanted("melancholy", mode="major", tempo=150) == {"mode": "major", "density": "low", "pace": "fast"}


def test_attribute_options_are_checked():
    from tunegan.generation import GenerationOptions

    assert GenerationOptions(mode="Minor").mode == "minor"
    with pytest.raises(MusicOptionError, match="density 'very' is not one of low, mid, high"):
        GenerationOptions(density="very")


def test_a_model_without_attributes_refuses_them(tmp_path):
    from test_generation import random_checkpoint
    from tunegan.generation import GenerationOptions, build_constraints

    ck = random_checkpoint(tmp_path, "remi")
    ck.meta["conditions"] = {"keywords": ["folk"], "categories": ["genre"], "counts": [9]}
    with pytest.raises(MusicOptionError, match="trained without attributes"):
        build_constraints(ck, GenerationOptions(mode="minor"))
    assert build_constraints(ck, GenerationOptions(style="folk", mood=None)).cond[0] == 1


def test_training_with_attributes_learns_the_keywords(tmp_path):
    from conftest import tiny_generator_config, tiny_train_config, write_corpus
    from tunegan.data.prepare import prepare
    from tunegan.data.sources import MidiFolder
    from tunegan.training.trainer import Trainer

    prepare([MidiFolder(str(write_corpus(tmp_path / "midi", n_files=12)))], get_tokenizer("remi"), tmp_path / "c",
            workers=1, labels=True)
    t = Trainer(tiny_train_config(mode="mle", crops=32, conditional=True, attributes=True, min_keyword_count=1,
                                  epochs=1, steps_per_epoch=2, seq_len=64), tmp_path / "c", tmp_path / "r",
                generator_config=tiny_generator_config(vocab_size=316), quiet=True)
    assert set(ATTRIBUTE_KEYWORDS) <= set(t.extra_meta["conditions"]["keywords"])
    x, y, cond = t.train_ds[0]
    assert cond.shape[0] == 8
    t.fit()
    from tunegan import api

    [song] = api.generate(checkpoint=tmp_path / "r", mood=None, mode="minor", pace="slow", length=32, seed=0, device="cpu")
    assert len(song.tokens) >= 32
