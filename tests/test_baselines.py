import numpy as np

from tunegan.evaluation.baselines import NGram, RepeatPrevious, fit_baselines


def test_bigram_learns_a_cycle_and_unigram_does_not():
    s = np.tile(np.arange(1, 9), 500)
    pos = np.arange(2, len(s))
    bi = NGram(9, 2, ignore=0).fit(s, s[:400]).score(s, pos).summary(s[pos])
    uni = NGram(9, 1, ignore=0).fit(s).score(s, pos).summary(s[pos])
    assert bi["top1"] == 1.0 and bi["nll"] < 0.2
    assert uni["top1"] < 0.2 and abs(uni["nll"] - np.log(8)) < 0.01


def test_trigram_needs_two_tokens_of_context():
    # the token after 5 depends on the one before it: 1 5 2 ... 3 5 4 ...
    s = np.tile([1, 5, 2, 3, 5, 4], 400)
    pos = np.arange(2, len(s))
    tri = NGram(6, 3, ignore=0).fit(s, s[:300]).score(s, pos).summary(s[pos])
    bi = NGram(6, 2, ignore=0).fit(s, s[:300]).score(s, pos).summary(s[pos])
    assert tri["top1"] == 1.0 and bi["top1"] < 0.9
    assert tri["nll"] < bi["nll"]


def test_repeat_previous_and_probabilities_sum_to_one():
    s = np.repeat(np.arange(1, 6), 4)[None].repeat(50, 0).reshape(-1)
    rep = RepeatPrevious(6, ignore=0).fit(s)
    pos = np.arange(2, len(s))
    out = rep.score(s, pos)
    assert (out.top5[:, 0] == s[pos - 1]).all()
    assert abs(rep.r - 0.75) < 0.01
    for name, model in fit_baselines(s, s[:100], 6, 0).items():
        sc = model.score(s, pos)
        assert np.isfinite(sc.logp).all() and (sc.logp <= 0).all(), name


def test_nll_per_note_on_a_hand_computed_case():
    """Total NLL over the notes the targets hold: tokens that hold no note still cost nats."""
    import math

    from tunegan.evaluation.baselines import Scores

    # targets: a bar token (0 notes), a pitch token (1 note), a merged token holding 2 notes
    counts = np.array([0, 0, 1, 2])
    targets = np.array([1, 2, 3])
    logp = np.log(np.array([0.5, 0.25, 0.125]))
    s = Scores(logp, np.tile(targets[:, None], (1, 5))).summary(targets, counts)
    assert s["notes"] == 3
    assert math.isclose(s["nll_per_note"], (math.log(2) + math.log(4) + math.log(8)) / 3)
    assert math.isclose(s["nll"], (math.log(2) + math.log(4) + math.log(8)) / 3)  # per token: 3 tokens here too
    assert "nll_per_note" not in Scores(logp, np.zeros((3, 5), int)).summary(targets)


def test_note_counts_of_the_tokenizers():
    from tunegan.tokenizers import get_tokenizer

    remi = get_tokenizer("remi")
    counts = remi.note_counts()
    names = [remi.describe(i) for i in range(remi.vocab_size)]
    assert all((c == 1) == n.startswith("Pitch_") for c, n in zip(counts, names))
    assert get_tokenizer("pitch").note_counts()[1:].tolist() == [1] * 88
