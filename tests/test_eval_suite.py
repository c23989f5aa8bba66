"""Evaluation samples and the sample-based suite on a tiny corpus and a tiny random model."""

import math

import numpy as np
import pytest
import torch

from conftest import tiny_discriminator_config, tiny_generator_config, tiny_train_config
from tunegan.data.dataset import TokenCache
from tunegan.errors import ConfigError, DataError
from tunegan.evaluation import samples as S
from tunegan.evaluation import suite as U


def small_config(**kw):
    base = dict(samples=12, length=24, primer_len=8, sweep=((1.0, None), (1.5, None)), permutations=0, seed=0)
    base.update(kw)
    return U.SuiteConfig(**base)


@pytest.fixture
def ckpt(tmp_path):
    from tunegan.checkpoint import load_checkpoint, save_checkpoint
    from tunegan.models import LSTMGenerator, PatchDiscriminator
    from tunegan.tokenizers import get_tokenizer

    torch.manual_seed(0)
    save_checkpoint(tmp_path / "run", step=1, generator=LSTMGenerator(tiny_generator_config()),
                    discriminator=PatchDiscriminator(tiny_discriminator_config()), tokenizer=get_tokenizer("pitch"),
                    meta={"train_config": tiny_train_config().to_dict()}, best=True)
    return load_checkpoint(tmp_path / "run")


@pytest.fixture
def cache(tiny_cache):
    return TokenCache(tiny_cache)


def test_crops_are_openings_first_then_distinct_and_inside_pieces(cache):
    test = cache.split("test")
    pieces, starts = S.choose_crops(test, 3 * len(test), 8, 24, seed=1)
    first = pieces[:len(test)]
    assert sorted(first.tolist()) == list(range(len(test)))            # every piece once ...
    assert (starts[:len(test)] == test.offsets[first]).all()           # ... from its opening (BOS)
    assert ((starts + 32) <= test.offsets[pieces + 1]).all()            # crops stay inside their piece
    again = S.choose_crops(test, 3 * len(test), 8, 24, seed=1)
    assert (again[1] == starts).all()                                   # seeded


def test_too_long_crops_are_a_one_line_data_error(cache):
    with pytest.raises(DataError, match="ask for shorter samples") as e:
        S.choose_crops(cache.split("test"), 5, 64, 1000)
    assert "\n" not in str(e.value)


def test_samples_have_fixed_length_and_are_reproducible(ckpt, cache):
    ev = S.make_samples(ckpt, cache.split("test"), n=6, length=20, primer_len=8, seed=3)
    assert ev.real.tokens.shape == ev.primed.tokens.shape == ev.unconditioned.tokens.shape == (6, 20)
    assert ev.real.primers.shape == (6, 8) and ev.unconditioned.primers.shape == (6, 1)
    assert len(ev.primed.scores) == len(ev.real.scores) == 6
    assert not np.isin(ev.primed.tokens, [ckpt.tokenizer.pad_id, ckpt.tokenizer.bos_id]).any()
    # the real continuation decodes to exactly its own notes (pitch tokenizer: one note per token)
    assert (S.score_pitches(ev.real.scores[0]) == ev.real.tokens[0] + 20).all()
    again = S.make_samples(ckpt, cache.split("test"), n=6, length=20, primer_len=8, seed=3)
    assert (again.primed.tokens == ev.primed.tokens).all()


def test_continuation_score_drops_the_primer_and_starts_at_zero():
    from tunegan.tokenizers import get_tokenizer

    tok = get_tokenizer("pitch")
    s = S.continuation_score(tok, np.array([0, 40, 42]), np.array([45, 47]))
    notes = s.tracks[0].notes
    assert [n.pitch for n in notes] == [65, 67] and notes[0].time == 0
    empty = S.continuation_score(tok, np.array([0, 40]), np.array([0, 0]))
    assert sum(len(t.notes) for t in empty.tracks) == 0


def test_novelty_index_is_built_once_and_cached(cache, tmp_path, monkeypatch):
    monkeypatch.setenv("TUNEGAN_CACHE", str(tmp_path / "tc"))
    index, path = U.novelty_index(cache)
    assert path is not None and path.is_file() and path.parent == cache.root
    assert cache.manifest["key"][:16] in path.name
    assert index.n_pieces == len(cache.split("train"))
    again, path2 = U.novelty_index(cache)
    assert path2 == path and (np.asarray(again.text) == index.text).all()


def test_novelty_catches_a_copied_training_crop(cache):
    index, _ = U.novelty_index(cache)
    train = list(U.piece_pitch_sequences(cache.split("train"), cache.tokenizer))
    copied = train[0][10:60] + 3  # 50 notes of a training piece, transposed
    rng = np.random.default_rng(0)
    random = 60 + np.cumsum(rng.choice([-11, -6, 5, 10], 50))  # leaps the scales and arpeggios never make
    res = U.novelty_summary(index, [copied, random], ngram=8)
    assert res["longest_run"][0] == 50 and res["max_run"] == 50
    assert res["longest_run"][1] < 8
    assert res["n"] == 2 and 0.4 < res["ngram_share"] < 0.6  # 1.0 for the copy, ~0 for the random walk


def test_diversity_is_low_for_repetition_and_nan_without_notes():
    rng = np.random.default_rng(0)
    varied = [60 + np.cumsum(rng.integers(-5, 6, 100)) for _ in range(10)]
    repeated = [np.tile([60, 62, 64, 65], 25) for _ in range(10)]
    assert U.diversity(varied) > 0.5 > 0.1 > U.diversity(repeated)
    assert math.isnan(U.diversity([np.array([60, 62])]))


def test_suite_config_names_the_bad_value():
    with pytest.raises(ConfigError, match=r"temperature .* \(received 0\)"):
        small_config(temperature=0)
    with pytest.raises(ConfigError, match="samples"):
        small_config(samples=3)


def test_run_suite_reports_every_part(ckpt, cache):
    res, ev = U.run_suite(ckpt, cache, "test", small_config())
    assert set(res) >= {"config", "n", "musical", "novelty", "two_sample", "diversity", "sweep", "seconds"}
    for name in ("primed", "unconditioned"):
        r = res["two_sample"][name]
        assert 0 <= r["ci_low"] <= r["accuracy"] <= r["ci_high"] <= 1 and r["n"] == 24
        assert "pitch_class_hist" in res["musical"][name]
        assert res["musical"][name]["ioi_hist"]["constant"]  # the pitch tokenizer has no rhythm
    assert set(res["novelty"]) == {"held-out data", "primed", "unconditioned", "index"}
    assert [(p["temperature"], p["top_p"]) for p in res["sweep"]] == [(1.0, None), (1.5, None)]
    assert res["sweep"][0]["quality"] == res["two_sample"]["primed"]["accuracy"]  # T=1 reuses the main set
    assert all(0 <= p["diversity"] <= 1 and p["model"] == "generator" for p in res["sweep"])


def test_a_model_that_copies_training_music_is_caught(ckpt, cache, monkeypatch):
    train = cache.split("train")

    def copy_training(ckpt, primers, length, **kw):  # a "model" that replays training crops
        return np.stack([train.piece(i % len(train))[1:1 + length] for i in range(len(primers))])

    monkeypatch.setattr(S, "generate_tokens", copy_training)
    res, _ = U.run_suite(ckpt, cache, "test", small_config(sweep=()))
    for name in ("primed", "unconditioned"):
        assert res["novelty"][name]["median_run"] == 24 and res["novelty"][name]["ngram_share"] == 1.0
    assert res["sweep"] == []


def test_vectorised_matching_statistics_equal_the_reference():
    from tunegan.evaluation.novelty import NoveltyIndex

    rng = np.random.default_rng(4)
    train = [40 + np.cumsum(rng.integers(-3, 4, int(rng.integers(5, 150)))) for _ in range(20)]
    index = NoveltyIndex.build(train)
    queries = [np.array([], int), np.array([60]), np.full(30, 60), 50 + np.cumsum(rng.integers(-3, 4, 60)),
               np.concatenate([train[2][5:70] - 4, [1, 99], train[7][:40]])]
    for q in queries:
        for block in (1, 7, 32):
            assert (U.matching_statistics(index, q, block=block) == index.matching_statistics(q)).all()
