"""Key weights: samples end in each key of their style as often as its pieces are in it."""

import json

import numpy as np
import pytest

from tunegan.priors import fit_key_weights, key_chances, key_miss, key_shift

# a style of three major keys, its register narrow: a sample can reach few keys in register
PRIOR = {"key": {"C major": 2, "D major": 1, "F major": 1, "A minor": 1}, "register": {"mean": 60.0, "std": 1.5}}


def _marginal(prior, seen, weights=None):
    total = {}
    for f, r in seen:
        for k, p in key_chances(prior, f, r, weights).items():
            total[k] = total.get(k, 0.0) + p
    n = sum(total.values())
    return {k: v / n for k, v in total.items()}


def test_key_chances_are_the_draw_of_key_shift():
    us = np.linspace(0, 1, 2000, endpoint=False)
    for register in (None, 58.0, 61.5):
        chances = key_chances(PRIOR, "D major", register)
        assert sum(chances.values()) == pytest.approx(1.0) and "A minor" not in chances
        drawn = [key_shift(PRIOR, "D major", u, register)[1] for u in us]
        for k, p in chances.items():
            assert np.mean([d == k for d in drawn]) == pytest.approx(p, abs=0.002)
    assert key_chances(PRIOR, "E minor", 60.0) == {"A minor": 1.0}
    assert key_chances({"key": {"A minor": 1}}, "C major") == {}  # no key of its mode: no move


def test_weights_multiply_the_counts():
    plain = {"key": {"D major": 1, "G major": 1}}
    assert key_shift(plain, "C major", 0.6) == (-5, "G major")
    assert key_shift(plain, "C major", 0.6, weights={"D major": 3.0}) == (2, "D major")  # 3 : 1
    assert key_chances(plain, "C major", weights={"D major": 3.0}) == pytest.approx({"D major": 0.75, "G major": 0.25})


def test_fitted_weights_end_samples_in_the_prior_keys():
    # every sample is in C major a little below the register: unweighted, the draw favours the
    # keys a small move up reaches (C#, D) over F, whatever the prior says
    rng = np.random.default_rng(0)
    seen = [("C major", float(r)) for r in rng.normal(58.5, 1.0, 300)]
    want = {"C major": 0.5, "D major": 0.25, "F major": 0.25}
    before = _marginal(PRIOR, seen)
    assert max(abs(before[k] - want[k]) for k in want) > 0.1
    w = fit_key_weights(PRIOR, seen)
    after = _marginal(PRIOR, seen, w)
    assert after == pytest.approx(want, abs=0.01)
    assert w["A minor"] == 1.0  # no minor sample: its keys keep their counts
    assert np.prod([w[k] for k in want]) == pytest.approx(1.0, rel=1e-3)  # within a mode, geometric mean 1
    assert key_miss(PRIOR, seen, list(want)) == pytest.approx(0.5 * sum(abs(before[k] - want[k]) for k in want))
    assert key_miss(PRIOR, seen, list(want), w) < 0.01
    # too few samples of a mode to fit: weights stay 1
    assert set(fit_key_weights(PRIOR, seen[:20], min_samples=50).values()) == {1.0}


def _fake_pieces(priors_of_ask, rng):
    """A stand-in for sample_pieces: openings whose sampled key and register fit_keys reads."""
    from tunegan.generation_opening import Opening

    def sample_pieces(model, options, seeds):
        word = options.style[0] if options.style else options.mood
        prior = priors_of_ask.get(word, "all")
        bias = 58.5 if prior == "chorale" else 60.0  # chorale's samples sit low: the draw favours keys up
        return [(None, None, Opening(None, None, False, prior=prior, key_draw=0.5,
                                     sampled_key="C major" if i % 4 else "A minor",
                                     sampled_register=float(rng.normal(bias, 1.0)))) for i, _ in enumerate(seeds)]
    return sample_pieces


def test_fit_keys_keeps_weights_the_held_out_half_confirms(monkeypatch):
    import tunegan.evaluation.style as style
    import tunegan.generation as generation
    from tunegan.priors import fit_keys

    prior = {"key": {"C major": 2, "D major": 1, "F major": 1, "A minor": 1}, "register": {"mean": 60.0, "std": 1.5}}
    wide = {"key": {"C major": 1, "A minor": 1}, "register": {"mean": 60.0, "std": 1.5}}
    ck = type("Ck", (), {})()
    ck.meta = {"priors": {"chorale": prior, "all": wide}}
    monkeypatch.setattr(style, "model_keywords", lambda c, cat: ["chorale"] if cat == "genre" else ["calm"])
    # "calm" has no prior of its own: its samples fall back to "all" and must not be fitted as "all"
    monkeypatch.setattr(generation, "sample_pieces", _fake_pieces({"chorale": "chorale"}, np.random.default_rng(1)))
    got = fit_keys(ck, samples=800)
    assert set(got["fit"]) == {"chorale", "all"} and list(got["weights"]) == ["chorale"]
    row = got["fit"]["chorale"]["major"]
    assert row["kept"] and row["total_variation"]["held_out"]["after"] < row["total_variation"]["held_out"]["before"] - 0.05
    assert row["samples"] == {"fit": 300, "held_out": 300}
    # "all": one key a mode, nothing to fix; the minor mode has one key too
    assert all(r["kept"] is False for r in got["fit"]["all"].values())
    assert got["weights"]["chorale"]["A minor"] == 1.0


def test_export_fits_and_generation_uses_the_key_weights(dmajor_run, tmp_path, monkeypatch):
    import tunegan.priors as priors
    from tunegan import api
    from tunegan.checkpoint import load_checkpoint

    _, shipped, _ = dmajor_run
    monkeypatch.setattr(priors, "KEY_FIT_SAMPLES", 12)
    monkeypatch.setattr(priors, "KEY_FIT_MIN", 1)
    monkeypatch.setattr(priors, "KEY_FIT_MIN_GAIN", -1.0)  # keep whatever is fitted: the plumbing is tested here
    out = api.export(shipped, tmp_path / "keyed", fit_keys=True)
    keys = json.loads((out / "meta.json").read_text())["keys"]
    assert keys["samples"] == 12 and keys["weights"]
    name = api.generate(checkpoint=out, bars=2, samples=1, seed=3, device="cpu")[0].options["opening"]["prior"]
    weights = keys["weights"][name]
    assert set(weights) == {k for k, n in load_checkpoint(out).meta["priors"][name]["key"].items() if n > 0}
    # generation passes the stored weights to the draw, for the prior the sample opened with
    passed, plain = [], priors.key_shift

    def spy(prior, found, u, register=None, weights=None):
        passed.append(weights)
        return plain(prior, found, u, register, weights)

    monkeypatch.setattr(priors, "key_shift", spy)
    api.generate(checkpoint=out, bars=2, samples=2, seed=3, device="cpu")
    assert passed == [weights, weights]
    passed.clear()
    api.generate(checkpoint=shipped, bars=2, samples=1, seed=3, device="cpu")
    assert passed == [None]  # a checkpoint without fitted weights draws by the counts alone
    # new priors without a refit drop the weights fitted for the old ones
    dropped = api.export(out, tmp_path / "repriored", priors_from=dmajor_run[0])
    assert not load_checkpoint(dropped).meta.get("keys")


def test_bad_key_weights_are_refused_on_load(dmajor_run, tmp_path):
    import shutil

    from tunegan.checkpoint import load_checkpoint
    from tunegan.errors import CheckpointError
    from tunegan.priors import for_prior

    bad = tmp_path / "bad"
    shutil.copytree(dmajor_run[1], bad)
    meta = json.loads((bad / "meta.json").read_text())
    for weights in ({"all": {"D major": 0.0}}, {"all": {"D major": "x"}}, ["D major"]):
        (bad / "meta.json").write_text(json.dumps(meta | {"keys": {"weights": weights}}))
        with pytest.raises(CheckpointError, match="'keys' weights must map each prior to positive factors"):
            load_checkpoint(bad)
    assert for_prior({"pop": 1, "pop+calm": 2}, "pop+calm") == 2 and for_prior({"pop": 1}, "pop+calm") == 1
    assert for_prior({"pop": 1}, "folk+calm") is None
