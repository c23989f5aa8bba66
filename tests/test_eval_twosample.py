"""Classifier two-sample test: chance on one distribution, near 1 on two different ones."""

import math

import numpy as np
import pytest

from tunegan.evaluation import twosample as T
from tunegan.midi import NOTE_DTYPE


def walk(rng, n, step):
    return 60 + np.cumsum(rng.integers(-step, step + 1, n))


def test_same_distribution_is_indistinguishable():
    rng = np.random.default_rng(0)
    real = [walk(rng, 64, 3) for _ in range(120)]
    gen = [walk(rng, 64, 3) for _ in range(120)]
    res = T.classifier_two_sample_test(real, gen, folds=5, seed=0)
    assert res["ci_low"] <= 0.5 <= res["ci_high"]
    assert abs(res["accuracy"] - 0.5) < 0.1
    assert res["n"] == 240 and res["folds"] == 5 and len(res["fold_accuracies"]) == 5
    assert math.isnan(res["permutation_p"])


def test_different_distributions_are_told_apart():
    rng = np.random.default_rng(1)
    real = [walk(rng, 64, 2) for _ in range(80)]
    gen = [walk(rng, 64, 9) for _ in range(100)]  # leaps; larger set is cut to 80
    res = T.classifier_two_sample_test(real, gen, seed=0, permutations=19)
    assert res["accuracy"] > 0.95 and res["ci_low"] > 0.9
    assert res["n"] == 160 and res["p_value"] < 1e-10
    assert res["permutation_p"] == pytest.approx(1 / 20)


def test_feature_matrices_and_determinism():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(60, 5)), rng.normal(size=(60, 5)) + [3, 0, 0, 0, 0]
    r1 = T.classifier_two_sample_test(a, b, seed=7)
    r2 = T.classifier_two_sample_test(a, b, seed=np.random.default_rng(7))
    assert r1 == r2
    assert r1["accuracy"] > 0.9


def test_note_array_crops_add_timing_features():
    def crop(rng, ioi):
        n = 32
        start = np.cumsum(np.full(n, ioi))
        notes = np.zeros(n, dtype=NOTE_DTYPE)
        notes["pitch"] = walk(rng, n, 3)
        notes["velocity"] = 80
        notes["start"], notes["end"] = start, start + ioi * 0.9
        return notes

    rng = np.random.default_rng(3)
    f = T.crop_features(crop(rng, 0.25))
    assert f.shape == (12 + 25 + 7 + 6,) and T.crop_features(walk(rng, 32, 3)).shape == (44,)
    res = T.classifier_two_sample_test([crop(rng, 0.25) for _ in range(40)],
                                       [crop(rng, 0.5) for _ in range(40)], seed=0)
    assert res["accuracy"] > 0.95  # same pitches, different tempo


def test_feature_dicts_are_flattened():
    real = [{"h": np.array([0.5, 0.5]), "x": 1.0 + 0.1 * i} for i in range(10)]
    gen = [{"h": np.array([0.5, 0.5]), "x": 5.0 + 0.1 * i} for i in range(10)]
    assert T.classifier_two_sample_test(real, gen, seed=0)["accuracy"] == 1.0


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="at least 5 crops"):
        T.classifier_two_sample_test(np.zeros((3, 2)), np.zeros((10, 2)))
    with pytest.raises(ValueError, match="differ in length"):
        T.classifier_two_sample_test(np.zeros((10, 2)), np.zeros((10, 3)))
    with pytest.raises(ValueError, match="folds must be"):
        T.classifier_two_sample_test(np.zeros((10, 2)), np.zeros((10, 2)), folds=1)


def test_wilson_interval_and_binomial_p():
    lo, hi = T.wilson_interval(50, 100)
    assert lo == pytest.approx(0.4038, abs=1e-4) and hi == pytest.approx(0.5962, abs=1e-4)
    assert T.wilson_interval(10, 10)[1] == pytest.approx(1.0)
    assert T.binomial_p_value(10, 10) == pytest.approx(1 / 1024)
    assert T.binomial_p_value(5, 10) == pytest.approx(638 / 1024)
    assert T.binomial_p_value(0, 10) == pytest.approx(1.0)


def test_logistic_regression_separates_a_line():
    x = np.linspace(-2, 2, 40)[:, None]  # no point at 0
    y = (x[:, 0] > 0).astype(float)
    w = T.fit_logistic(x, y, l2=0.1)
    assert w[0] > 0 and abs(w[1]) < 1e-6  # symmetric data: no bias
    np.testing.assert_array_equal(T.predict_logistic(w, x) >= 0.5, y == 1)
