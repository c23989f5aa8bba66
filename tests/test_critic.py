"""The critic: trained post hoc against a frozen generator, and used to rank candidates."""

from __future__ import annotations

import numpy as np
import pytest

from test_generation import random_checkpoint
from tunegan import api
from tunegan.config import TrainConfig
from tunegan.errors import CheckpointError, ConfigError, MusicOptionError
from tunegan.training.critic import calibration, load_critic, score_tokens


@pytest.fixture
def critic_run(tmp_path, tiny_cache):
    gen = random_checkpoint(tmp_path / "gen", "pitch", seed=1)
    out = tmp_path / "critic"
    m = api.train(tiny_cache, out, overrides={"mode": "critic", "init_from": str(gen.path), "epochs": 4,
                                              "seq_len": 16, "batch_size": 16, "lr": 0.01, "threads": 1,
                                              "device": "cpu", "critic_fakes": 64, "critic_val": 32,
                                              "critic_patience": 4}, discriminator={"channels": 16}, quiet=True)
    return gen, out, m


def test_critic_training_lowers_its_loss_and_is_saved_with_its_accuracy(critic_run):
    gen, out, m = critic_run
    import json

    history = json.loads((out / "critic_log.json").read_text())
    assert len(history) == 4 and history[-1]["loss"] < history[0]["loss"]
    critic, info = load_critic(out)
    assert info["accuracy"] == m["critic"]["accuracy"] > 0.6  # random weights are easy to tell from scales
    assert {"ece", "brier", "epoch", "seq_len"} <= set(info)
    assert critic.config.num_layers == 3 and critic.config.dilation == 2  # deeper than the paper's by default
    # the generator is the one criticised, unchanged
    same = api.load_model(out, device="cpu").generator.state_dict()
    assert all((v == gen.generator.state_dict()[k]).all() for k, v in same.items())


def test_ranking_returns_the_highest_scoring_candidate(critic_run):
    _, out, _ = critic_run
    models = api.ModelCache("cpu")
    [best] = api.generate(checkpoint=out, length=24, candidates=4, seed=10, models=models, device="cpu")
    alone = [api.generate(checkpoint=out, length=24, seed=10 + j, models=models, device="cpu")[0] for j in range(4)]
    critic, info = models.critic(out)
    tok = models.get(out).tokenizer
    scores = score_tokens(critic, info["seq_len"], tok.vocab_size, [a.tokens for a in alone], tok.pad_id)
    j = int(np.argmax(scores))
    assert best.seed == 10 + j and list(best.tokens) == list(alone[j].tokens)
    assert best.options["critic_score"] == pytest.approx(scores[j], abs=1e-5)


def test_batched_scores_equal_scores_one_by_one(critic_run):
    _, out, _ = critic_run
    critic, info = load_critic(out)
    rng = np.random.default_rng(0)
    pieces = [rng.integers(2, 89, n) for n in (10, 16, 40, 71)]
    together = score_tokens(critic, info["seq_len"], 89, pieces)
    alone = [score_tokens(critic, info["seq_len"], 89, [p])[0] for p in pieces]
    assert together == pytest.approx(alone, abs=1e-5)


def test_calibration_on_a_hand_made_case():
    c = calibration(np.array([0.9, 0.8, 0.3, 0.6]), np.array([True, True, False, False]))
    assert c["accuracy"] == 0.75
    assert c["brier"] == pytest.approx((0.01 + 0.04 + 0.09 + 0.36) / 4)
    # bins of the predicted class's probability: 0.9 (right), 0.8 (right), 0.7 (right), 0.6 (wrong)
    assert c["ece"] == pytest.approx(0.25 * (0.1 + 0.2 + 0.3 + 0.6))


def test_critic_mode_needs_a_generator_and_candidates_need_a_critic(tmp_path):
    with pytest.raises(ConfigError, match="init_from"):
        TrainConfig(mode="critic")
    gen = random_checkpoint(tmp_path / "gen", "pitch")
    with pytest.raises(CheckpointError, match="no trained critic; make one with 'tunegan train --mode critic"):
        api.generate(checkpoint=gen.path, length=8, candidates=2, device="cpu")
    with pytest.raises(MusicOptionError, match="candidates must be within 1 and 64"):
        api.generate(checkpoint=gen.path, length=8, candidates=0, device="cpu")


def test_the_studio_polish_switch_ranks_by_the_critic(critic_run, tmp_path):
    from tunegan.studio import handlers as H

    _, out, _ = critic_run
    assert H.to_generate_kwargs(H.Settings(polish=True))["candidates"] == H.POLISH_CANDIDATES
    assert "candidates" not in H.to_generate_kwargs(H.Settings())
    r = H.make_music(H.Settings(length_unit="seconds", seconds=4, polish=True, seed=2, sheet_music=False),
                     checkpoint=out, out_dir=tmp_path / "studio")
    assert r.midi.exists() and r.settings["polish"] is True


def test_evaluate_reports_the_critic(critic_run, tiny_cache):
    from tunegan.evaluation.report import format_markdown

    _, out, m = critic_run
    rep = api.evaluate(out, tiny_cache, split="test", suite=False, context=16, max_windows=4, threads=1, device="cpu")
    assert rep["critic"]["accuracy"] == m["critic"]["accuracy"] and "history" not in rep["critic"]
    assert "Critic (`train --mode critic`" in format_markdown(rep)


def test_scoring_token_ids_equals_scoring_their_one_hot_vectors(critic_run):
    _, out, _ = critic_run
    critic, _ = load_critic(out)
    assert_ids_score_as_one_hots(critic)


def assert_ids_score_as_one_hots(critic):
    """Token ids score as their one-hot vectors, and a row padded past its length as that row alone."""
    import torch

    x = torch.randint(0, 89, (3, 40))
    onehot = torch.nn.functional.one_hot(x, 89).float()
    assert torch.allclose(critic(onehot), critic.forward_tokens(x), atol=1e-5)
    short = critic.forward_tokens(x, lengths=torch.tensor([40, 25, 9]))
    assert torch.allclose(short, torch.stack([critic(onehot[i, :n]) for i, n in enumerate((40, 25, 9))]).squeeze(1),
                          atol=1e-5)


def test_a_critic_with_spread_pooling_scores_ids_as_one_hots_and_sees_what_a_mean_cannot():
    """pooling="mean_std": the same equalities as mean pooling (ids = one-hots, a padded row =
    that row alone), and a spread that is zero for a piece of one repeated token and not for a
    piece that alternates two."""
    import torch

    from tunegan.config import DiscriminatorConfig
    from tunegan.models import PatchDiscriminator

    torch.manual_seed(0)
    critic = PatchDiscriminator(DiscriminatorConfig(vocab_size=89, channels=16, num_layers=3, dilation=2,
                                                    pooling="mean_std"))
    assert_ids_score_as_one_hots(critic)
    flat = PatchDiscriminator(DiscriminatorConfig(vocab_size=89, channels=8, kernel_size=1, pooling="mean_std"))
    same = flat._pool(flat.conv(torch.nn.functional.one_hot(torch.full((1, 40), 3), 89).float().transpose(1, 2)))
    mixed = flat._pool(flat.conv(torch.nn.functional.one_hot(torch.tensor([[3, 7] * 20]), 89).float().transpose(1, 2)))
    assert same.shape == (1, 16) and same[0, 8:].max() < 1e-2 < mixed[0, 8:].max()
    with pytest.raises(ConfigError, match="pooling"):
        DiscriminatorConfig(pooling="max")


def test_candidates_are_judged_before_their_cadence_and_only_the_best_is_closed(critic_run):
    """select: a bar-based piece's candidates are ranked on bars 1..N-1; the kept one then gets its
    cadence and is the same piece as that seed made alone."""
    from tunegan.generation import GenerationOptions, sample_pieces

    gen = random_checkpoint(critic_run[1].parent / "remi", "remi", seed=4)
    opts = GenerationOptions(bars=3)
    seen = []

    def pick_last(pool):
        seen.extend(pool)
        return [len(pool) - 1]

    [(prime, new, _)] = sample_pieces(gen, opts, [5, 6, 7], select=pick_last)
    [(prime1, alone, _)] = sample_pieces(gen, opts, [7])
    assert list(new) == list(alone)
    bars = gen.tokenizer.count_bars(seen[-1])
    assert bars <= 2  # judged without its last bar


def test_a_critic_can_go_on_from_another_checkpoints_critic(critic_run, tiny_cache, tmp_path):
    gen, out, m = critic_run
    more = tmp_path / "more"
    common = {"mode": "critic", "init_from": str(gen.path), "epochs": 1, "seq_len": 16, "batch_size": 16,
              "lr": 1e-9, "threads": 1, "device": "cpu", "critic_fakes": 64, "critic_val": 32}
    m2 = api.train(tiny_cache, more, overrides=common | {"critic_from": str(out)}, discriminator={"channels": 16},
                   quiet=True)
    # at a negligible learning rate it scores about as the critic it started from
    assert abs(m2["critic"]["accuracy"] - m["critic"]["accuracy"]) <= 0.15
    with pytest.raises(CheckpointError, match="shape differs"):
        api.train(tiny_cache, tmp_path / "bad", overrides=common | {"critic_from": str(out)},
                  discriminator={"channels": 8}, quiet=True)


def test_real_windows_start_in_the_opening_or_anywhere():
    """critic_real_from: real windows start within a piece's first seq_len tokens by default, and
    anywhere in it with "anywhere" (the evaluation's real crops are mostly inside long pieces)."""
    import numpy as np

    from tunegan.training.critic import _windows

    piece = np.r_[1, np.arange(2, 2002)]  # BOS, then token t at position t - 2
    starts = [int(w[0]) - 2 for w in _windows([piece] * 400, 50, np.random.default_rng(0), 1)]
    assert max(starts) <= 50
    far = [int(w[0]) - 2 for w in _windows([piece] * 400, 50, np.random.default_rng(0), 1, anywhere=True)]
    assert max(far) > 1500 and min(far) >= 0 and max(far) <= 2000 - 50
    with pytest.raises(ConfigError, match="critic_real_from"):
        TrainConfig(critic_real_from="middle")
