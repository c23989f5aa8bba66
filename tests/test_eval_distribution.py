"""Yang & Lerch set comparison (overlapping area, KL) and the evaluation figures."""

import math

import numpy as np
import pytest
import symusic

from tunegan.evaluation import distribution as D
from tunegan.evaluation.musical import piece_features
from tunegan.evaluation.plots import plot_feature_distributions, plot_quality_diversity

trapezoid = getattr(np, "trapezoid", None) or np.trapz  # numpy < 2 calls it trapz


def test_distances():
    np.testing.assert_allclose(D.intra_set_distances([0.0, 1.0, 3.0]), [1, 3, 2])
    np.testing.assert_allclose(D.inter_set_distances([0.0, 1.0], [3.0]), [3, 2])
    hists = [np.array([1.0, 0.0]), np.array([0.0, 1.0])]
    np.testing.assert_allclose(D.intra_set_distances(hists), [math.sqrt(2)])


def test_kde_matches_direct_sum_and_integrates_to_one():
    rng = np.random.default_rng(0)
    x = rng.normal(size=300)
    grid = np.linspace(-6, 6, 1024)
    bw = D.scott_bandwidth(x)
    p = D.kde_on_grid(x, grid, bw)
    direct = np.exp(-0.5 * ((grid[:, None] - x[None]) / bw) ** 2).sum(1)
    direct /= trapezoid(direct, grid)
    np.testing.assert_allclose(p, direct, atol=1e-4)
    assert trapezoid(p, grid) == pytest.approx(1.0)


def test_overlap_and_kl():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=800), rng.normal(size=800)
    oa, kl = D.overlap_and_kl(a, b)
    assert oa > 0.9 and kl < 0.05
    oa, kl = D.overlap_and_kl(a, b + 4)
    assert oa < 0.1 and kl > 2
    assert D.overlap_and_kl(np.zeros(5), np.zeros(5)) == pytest.approx((1.0, 0.0))  # no spread
    assert all(math.isnan(v) for v in D.overlap_and_kl([], [1.0]))


def test_identical_sets_overlap_and_shifted_sets_do_not():
    rng = np.random.default_rng(2)
    real = [float(v) for v in rng.normal(size=60)]
    same = D.compare_feature(real, real)
    assert same["oa"] > 0.9 and same["diff"] == 0.0
    fresh = D.compare_feature(real, [float(v) for v in rng.normal(size=60)])
    assert fresh["oa"] > 0.8
    shifted = D.compare_feature(real, [v + 5 for v in real])
    assert shifted["oa"] < 0.15 and shifted["diff"] == pytest.approx(5.0)
    assert shifted["n_real"] == 60 and shifted["n_gen"] == 60


def test_histogram_features_use_euclidean_distance():
    rng = np.random.default_rng(3)
    real = [rng.dirichlet(np.ones(12) * 5) for _ in range(40)]
    peaked = [rng.dirichlet(np.r_[np.ones(11), 60.0]) for _ in range(40)]
    assert D.compare_feature(real, real)["oa"] > 0.9
    res = D.compare_feature(real, peaked)
    assert res["oa"] < 0.3
    assert res["mean_real"].shape == (12,)
    assert res["diff"] == pytest.approx(np.linalg.norm(res["mean_gen"] - res["mean_real"]))


def test_nan_values_are_left_out_and_tiny_sets_give_nan():
    res = D.compare_feature([1.0, 2.0, math.nan, 3.0], [2.0, math.nan])
    assert res["n_real"] == 3 and res["n_gen"] == 1 and res["mean_gen"] == 2.0
    one = D.compare_feature([1.0], [2.0])
    assert math.isnan(one["oa"]) and math.isnan(one["kl"])


def _score(rng, step):
    score = symusic.Score(480)
    track = symusic.Track("p", 0, False)
    pitch, t = 60, 0
    for _ in range(24):
        pitch = int(np.clip(pitch + rng.integers(-step, step + 1), 30, 100))
        track.notes.append(symusic.Note(t, 240, pitch, 80))
        t += 240
    score.tracks.append(track)
    return score


def test_compare_sets_on_piece_features():
    rng = np.random.default_rng(4)
    real = [piece_features(_score(rng, 2)) for _ in range(12)]
    gen = [piece_features(_score(rng, 12)) for _ in range(12)]
    out = D.compare_sets(real, gen)
    assert set(out) == set(real[0])
    assert out["pitch_interval_mean"]["oa"] < 0.3  # leaps vs steps
    assert out["pitch_interval_mean"]["diff"] > 3
    assert out["ioi_mean"]["oa"] == pytest.approx(1.0)  # same rhythm in both sets
    assert D.compare_sets(real, []) == {}


def test_plots_write_files(tmp_path):
    pts = [{"model": m, "temperature": t, "top_p": p, "quality": q + t, "diversity": t * 2}
           for m, p, q in (("lstm", None, 0.1), ("gan", 0.9, 0.3)) for t in (0.8, 1.0, 1.2)]
    pts.append({"model": "gan", "temperature": 2.0, "top_p": 0.9, "quality": math.nan, "diversity": 1.0})
    path = plot_quality_diversity(pts, tmp_path / "qd.png")
    assert path.stat().st_size > 1000
    with pytest.raises(ValueError, match="lacks quality"):
        plot_quality_diversity([{"model": "x", "temperature": 1, "top_p": None, "diversity": 1}], tmp_path / "x.png")
    comp = {"pitch_range": {"oa": 0.8}, "ioi_mean": {"oa": math.nan}}
    assert plot_feature_distributions(comp, tmp_path / "fd.svg").stat().st_size > 1000
    per_model = {"lstm": comp, "gan": {"pitch_range": {"oa": 0.4}}}
    assert plot_feature_distributions(per_model, tmp_path / "sub" / "fd.png").is_file()
