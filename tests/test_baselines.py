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
