"""Preference fine-tuning: the critic's ranking taught to the generator by DPO."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from test_critic import critic_run  # noqa: F401  (a fixture: a tiny generator with a trained critic)
from tunegan import api
from tunegan.config import TrainConfig
from tunegan.errors import ConfigError
from tunegan.training.prefer import dpo_loss, pick_pairs, sequence_logprobs


def test_the_preference_loss_has_the_right_sign_on_a_hand_made_pair():
    ref_c, ref_r = torch.tensor([-10.0]), torch.tensor([-10.0])
    # the policy likes the chosen one more than the reference does: a positive margin, a loss below log 2
    good, m_good = dpo_loss(torch.tensor([-8.0]), torch.tensor([-12.0]), ref_c, ref_r, beta=0.5)
    bad, m_bad = dpo_loss(torch.tensor([-12.0]), torch.tensor([-8.0]), ref_c, ref_r, beta=0.5)
    same, _ = dpo_loss(ref_c, ref_r, ref_c, ref_r, beta=0.5)
    assert m_good.item() == pytest.approx(0.5 * 4) and m_bad.item() == pytest.approx(-0.5 * 4)
    assert good.item() < same.item() < bad.item() and same.item() == pytest.approx(np.log(2))
    assert good.item() == pytest.approx(-np.log(1 / (1 + np.exp(-2.0))))
    # its gradient raises the chosen sequence's likelihood and lowers the rejected one's
    pc, pr = torch.tensor([-10.0], requires_grad=True), torch.tensor([-10.0], requires_grad=True)
    dpo_loss(pc, pr, ref_c, ref_r, beta=0.5)[0].backward()
    assert pc.grad.item() < 0 < pr.grad.item()


def test_sequence_logprobs_count_only_the_sampled_tokens(critic_run):  # noqa: F811
    gen, _, _ = critic_run
    g = gen.generator.eval()
    seq = np.array([1, 5, 9, 13, 20, 4])
    with torch.no_grad():
        logits, _ = g(torch.as_tensor(seq[None, :-1]))
        lp = torch.log_softmax(logits[0], -1)[torch.arange(5), torch.as_tensor(seq[1:])]
        got = sequence_logprobs(g, [seq, seq[:4]], [3, 1], torch.zeros(2, 1, dtype=torch.long), 0, "cpu")
    assert got[0].item() == pytest.approx(lp[2:].sum().item(), abs=1e-5)  # tokens 3.. were sampled
    assert got[1].item() == pytest.approx(lp[:3].sum().item(), abs=1e-5)  # padding of the shorter one ignored


def test_pairs_are_top_against_bottom_within_a_genre_without_copies():
    scores = np.array([5.0, 1.0, 3.0, 9.0, 0.0, 8.0, 7.0, 2.0])
    genres = ["pop", "pop", "pop", "pop", "folk", "folk", "folk", "folk"]
    rng = np.random.default_rng(0)
    pairs = pick_pairs(scores, genres, 0.25, rng)
    assert sorted(pairs) == [(3, 1), (5, 4)]
    assert pick_pairs(scores, genres, 0.25, rng, copies=lambda i: i == 3) == [(5, 4)]  # a copying best is dropped


def test_prefer_mode_needs_a_starting_model():
    with pytest.raises(ConfigError, match="init_from must be the generator to start from in prefer mode"):
        TrainConfig(mode="prefer")
    with pytest.raises(ConfigError, match="prefer_share"):
        TrainConfig(mode="prefer", init_from="default", prefer_share=0.7)


def test_a_preference_round_on_a_tiny_corpus_runs_end_to_end(critic_run, tiny_cache, tmp_path):  # noqa: F811
    gen, critic_out, _ = critic_run
    out = tmp_path / "prefer"
    m = api.train(tiny_cache, out, overrides={"mode": "prefer", "init_from": str(critic_out), "prefer_rounds": 2,
                                              "prefer_samples": 24, "prefer_share": 0.25, "prefer_epochs": 2,
                                              "prefer_critic_epochs": 2, "prefer_mle": 0.5, "critic_fakes": 32,
                                              "critic_val": 16, "batch_size": 8, "lr": 1e-3, "d_lr": 1e-3,
                                              "threads": 1, "device": "cpu", "seed": 3}, quiet=True)
    assert m["rounds"] == 2
    log = json.loads((out / "prefer_log.json").read_text())
    assert [r["round"] for r in log["rounds"]] == [1, 2]
    for r in log["rounds"]:
        assert r["pairs"] >= 1 and r["score_chosen"] > r["score_rejected"]
        assert r["margin_last"] > 0  # the policy moved towards the critic's choices
    tuned = api.load_model(out, device="cpu")
    assert tuned.meta["prefer"]["rounds"][-1]["val_nll"] == pytest.approx(m["best_val_nll"])
    from tunegan.training.critic import load_critic

    _, info = load_critic(out)
    assert info["accuracy"] == m["critic"]["accuracy"]  # a critic refreshed against the tuned generator
    before = gen.generator.state_dict()
    assert any(not torch.equal(v, before[k]) for k, v in tuned.generator.state_dict().items())
    # the tuned checkpoint generates, and ranks with its refreshed critic
    [song] = api.generate(checkpoint=out, length=20, candidates=2, seed=1, device="cpu")
    assert song.options["critic_score"] is not None


def test_the_command_line_runs_prefer_mode_and_says_what_changed(critic_run, tiny_cache, tmp_path):  # noqa: F811
    from typer.testing import CliRunner

    from tunegan.cli import app

    _, critic_out, _ = critic_run
    r = CliRunner().invoke(app, ["train", "--mode", "prefer", "--init-from", str(critic_out), "-d", str(tiny_cache),
                                 "-o", str(tmp_path / "p"), "--batch-size", "8", "--threads", "1", "--device", "cpu",
                                 "--set", "prefer_rounds=1", "--set", "prefer_samples=16", "--set", "prefer_share=0.25",
                                 "--set", "prefer_critic_epochs=1", "--set", "critic_fakes=16", "--set", "critic_val=8"])
    assert r.exit_code == 0, r.output
    assert "done: 1 preference rounds; validation NLL" in r.output and "refreshed critic" in r.output
