"""Classifier two-sample test: can a fresh classifier tell real crops from generated ones?

Each crop becomes a feature vector (:func:`crop_features`); an L2-regularised
logistic regression (numpy, Newton's method) is trained and scored with stratified
k-fold cross-validation, so every crop is predicted exactly once by a model that
never saw it. The report is the held-out accuracy with a 95% Wilson confidence
interval and a one-sided exact binomial p-value against chance.

Accuracy 0.5 means the classifier cannot tell the sets apart (the generated crops
are indistinguishable *by these features*); 1.0 means they are trivially told
apart. The larger set is randomly cut down to the size of the smaller one first,
so chance is exactly 0.5. Everything random is drawn from the ``seed`` given.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

INTERVAL_CLIP = 12  # signed intervals beyond ±12 semitones share the end bins
Z95 = 1.959963984540054  # two-sided 95% normal quantile


def _ngram_distinct_share(iv: np.ndarray, n: int) -> float:
    """Distinct interval n-grams over all interval n-grams (1 = no repetition); 1 if none."""
    if len(iv) < n:
        return 1.0
    grams = np.lib.stride_tricks.sliding_window_view(iv, n)
    return len(np.unique(grams, axis=0)) / len(grams)


def crop_features(crop: np.ndarray) -> np.ndarray:
    """Feature vector of one crop, float64.

    ``crop`` is either a 1-D array of pitches in melodic order, or a ``NOTE_DTYPE``
    array (``pitch``, ``start``, ``end`` in seconds; re-sorted by onset, ties by pitch).
    Features, in order: pitch-class histogram (12), signed interval histogram (25,
    −12..+12), pitch mean / std / range (semitones), share of repeated pitches, distinct
    share of interval 2-, 3- and 4-grams; for note arrays also the mean, std and median
    of the inter-onset intervals between distinct onsets (seconds), the share of notes
    starting with another (chords), and mean and std of note lengths (seconds).
    Empty crops give zeros.
    """
    crop = np.asarray(crop)
    structured = crop.dtype.names is not None
    if structured:
        order = np.lexsort((crop["pitch"], crop["start"]))
        crop = crop[order]
        pitches = crop["pitch"].astype(np.int64)
    else:
        pitches = np.asarray(crop, dtype=np.int64).ravel()
    pch = np.bincount(pitches % 12, minlength=12).astype(float)
    iv = np.diff(pitches)
    ivh = np.bincount(np.clip(iv, -INTERVAL_CLIP, INTERVAL_CLIP) + INTERVAL_CLIP,
                      minlength=2 * INTERVAL_CLIP + 1).astype(float)
    feats = [
        pch / max(pch.sum(), 1.0),
        ivh / max(ivh.sum(), 1.0),
        [pitches.mean() if len(pitches) else 0.0,
         pitches.std() if len(pitches) else 0.0,
         float(np.ptp(pitches)) if len(pitches) else 0.0,
         float(np.mean(iv == 0)) if len(iv) else 0.0,
         _ngram_distinct_share(iv, 2), _ngram_distinct_share(iv, 3), _ngram_distinct_share(iv, 4)],
    ]
    if structured:
        onsets = np.unique(crop["start"])
        ioi = np.diff(onsets)
        lengths = crop["end"] - crop["start"]
        feats.append([
            ioi.mean() if len(ioi) else 0.0, ioi.std() if len(ioi) else 0.0,
            float(np.median(ioi)) if len(ioi) else 0.0,
            1.0 - len(onsets) / len(crop) if len(crop) else 0.0,
            lengths.mean() if len(crop) else 0.0, lengths.std() if len(crop) else 0.0,
        ])
    return np.concatenate([np.asarray(f, float) for f in feats])


def _as_features(crops: Sequence | np.ndarray, what: str) -> np.ndarray:
    """A (n, d) matrix from a 2-D feature array, a list of crops, or a list of feature dicts."""
    if isinstance(crops, np.ndarray) and crops.dtype.names is None and crops.ndim == 2:
        return crops.astype(float)
    rows = []
    for c in crops:
        if isinstance(c, dict):  # e.g. musical.piece_features: flatten in key order
            rows.append(np.concatenate([np.atleast_1d(np.asarray(c[k], float)) for k in sorted(c)]))
        else:
            rows.append(crop_features(np.asarray(c)))
    if not rows:
        return np.empty((0, 0))
    sizes = {len(r) for r in rows}
    if len(sizes) > 1:
        raise ValueError(f"{what} crops give feature vectors of different lengths {sorted(sizes)}: mix of kinds?")
    return np.vstack(rows)


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, max_iter: int = 50) -> np.ndarray:
    """L2 logistic regression by Newton's method; returns weights (d+1,), bias last.

    Minimises ``sum(log-loss) + l2/2 * ||w||^2`` (bias not penalised); ``y`` is 0/1.
    """
    xb = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(xb.shape[1])
    reg = np.full(xb.shape[1], float(l2))
    reg[-1] = 1e-8
    for _ in range(max_iter):
        p = 1.0 / (1.0 + np.exp(-np.clip(xb @ w, -30, 30)))
        grad = xb.T @ (p - y) + reg * w
        hess = (xb * (p * (1 - p))[:, None]).T @ xb + np.diag(reg)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def predict_logistic(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Probability of class 1 for each row of ``x`` (n, d) under weights from :func:`fit_logistic`."""
    return 1.0 / (1.0 + np.exp(-np.clip(x @ w[:-1] + w[-1], -30, 30)))


def wilson_interval(correct: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion ``correct / n``; (nan, nan) for n = 0."""
    if n <= 0:
        return math.nan, math.nan
    p = correct / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def binomial_p_value(correct: int, n: int) -> float:
    """One-sided exact p-value ``P(X >= correct)`` for ``X ~ Binomial(n, 0.5)``."""
    if n <= 0:
        return math.nan
    logfact = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, n + 1)))])
    k = np.arange(correct, n + 1)
    logpmf = logfact[n] - logfact[k] - logfact[n - k] - n * math.log(2)
    if len(logpmf) == 0:
        return 0.0
    top = logpmf.max()
    return float(min(1.0, math.exp(top) * np.exp(logpmf - top).sum()))


def _cross_validate(x: np.ndarray, y: np.ndarray, fold_of: np.ndarray, folds: int, l2: float):
    """Held-out correctness per row (bool, shape (n,)) and per-fold accuracies."""
    correct = np.zeros(len(x), bool)
    fold_acc = []
    for f in range(folds):
        test, train = fold_of == f, fold_of != f
        mu = np.nanmean(x[train], axis=0)
        mu = np.where(np.isnan(mu), 0.0, mu)
        sd = np.nanstd(x[train], axis=0)
        sd = np.where(~(sd > 1e-12), 1.0, sd)
        z = np.nan_to_num((x - mu) / sd, nan=0.0)
        w = fit_logistic(z[train], y[train], l2=l2)
        pred = predict_logistic(w, z[test]) >= 0.5
        correct[test] = pred == (y[test] == 1)
        fold_acc.append(float(correct[test].mean()))
    return correct, fold_acc


def classifier_two_sample_test(
    real: Sequence | np.ndarray,
    generated: Sequence | np.ndarray,
    *,
    folds: int = 5,
    l2: float = 1.0,
    permutations: int = 0,
    seed: int | np.random.Generator = 0,
) -> dict[str, float | int | list[float]]:
    """Cross-validated accuracy of a logistic regression telling ``real`` from ``generated``.

    Each of ``real`` / ``generated`` is a 2-D array of feature vectors (n, d), or a list of
    crops (pitch arrays or ``NOTE_DTYPE`` arrays, see :func:`crop_features`), or a list of
    feature dicts (e.g. ``piece_features``; histograms flattened, keys in sorted order).
    Features are standardised with each training fold's mean and std; NaNs become the
    fold mean.

    Returns ``accuracy`` (0..1; 0.5 = indistinguishable), ``ci_low``/``ci_high`` (95% Wilson),
    ``p_value`` (one-sided binomial vs 0.5), ``permutation_p`` (NaN unless ``permutations``),
    ``permutations``, ``n`` (crops scored: twice the smaller set), ``n_correct``, ``folds``,
    ``fold_accuracies``.

    The Wilson interval and binomial p-value treat the ``n`` held-out predictions as
    independent; cross-validated predictions are not (folds share training data), so
    they are somewhat optimistic: under the null the accuracy spreads about 1.4x wider
    than binomial in our checks. For a claim of "distinguishable", pass
    ``permutations=200`` or so: the test is rerun with shuffled labels (same folds) and
    ``permutation_p = (1 + #(shuffled accuracy >= observed)) / (1 + permutations)``. Raises ``ValueError`` if either set has
    fewer than ``folds`` crops.
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    xr, xg = _as_features(real, "real"), _as_features(generated, "generated")
    if folds < 2:
        raise ValueError(f"folds must be >= 2 (received {folds})")
    n_each = min(len(xr), len(xg))
    if n_each < folds:
        raise ValueError(f"need at least {folds} crops in each set for {folds} folds "
                         f"(received {len(xr)} real, {len(xg)} generated)")
    if xr.shape[1] != xg.shape[1]:
        raise ValueError(f"real and generated feature vectors differ in length ({xr.shape[1]} vs {xg.shape[1]})")
    xr = xr[rng.permutation(len(xr))[:n_each]]
    xg = xg[rng.permutation(len(xg))[:n_each]]
    x = np.vstack([xr, xg])
    y = np.concatenate([np.ones(n_each), np.zeros(n_each)])
    fold_of = np.concatenate([rng.permutation(np.arange(n_each) % folds) for _ in range(2)])
    correct, fold_acc = _cross_validate(x, y, fold_of, folds, l2)
    n_correct = int(correct.sum())
    beats = 0
    for _ in range(permutations):
        yp = rng.permutation(y)
        beats += int(_cross_validate(x, yp, fold_of, folds, l2)[0].sum() >= n_correct)
    n, k = len(x), n_correct
    lo, hi = wilson_interval(k, n)
    perm_p = (1 + beats) / (1 + permutations) if permutations else math.nan
    return {"accuracy": k / n, "ci_low": lo, "ci_high": hi, "p_value": binomial_p_value(k, n),
            "permutation_p": perm_p, "permutations": permutations,
            "n": n, "n_correct": k, "folds": folds, "fold_accuracies": fold_acc}
