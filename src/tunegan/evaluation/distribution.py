"""Yang & Lerch (2018)'s set-level comparison of a real and a generated set of pieces.

For one feature (a scalar or a histogram per piece):

1. *intra-set* distances: between every pair of distinct real pieces;
2. *inter-set* distances: between every real piece and every generated piece;
3. a Gaussian kernel density estimate (KDE, Scott's bandwidth) of each distance set;
4. the **overlapping area** (OA, 0..1: 1 = the generated set sits among the real
   pieces as the real pieces sit among themselves) and the **KL divergence**
   ``KL(intra || inter)`` in nats (0 = same), both integrated on one shared grid.

Distances are absolute differences for scalars and Euclidean distances for
histograms. The plain difference of means is reported next to them. Pieces whose
value is NaN (a feature undefined for them, e.g. the interval mean of a one-note
piece) are left out of that feature. The KDE is evaluated by binning the distances
on a fine grid and convolving with the Gaussian kernel, so a million distances
cost no more than a thousand; no sampling, so results are deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

GRID_POINTS = 1024  # points of the grid on which both densities are evaluated
KL_FLOOR = 1e-10  # densities are floored at this share of their peak inside the KL log ratio
_trapz = getattr(np, "trapezoid", None) or np.trapz  # numpy 2 renamed trapz


def _as_matrix(values: Sequence[float | np.ndarray]) -> np.ndarray:
    """Stack per-piece values into shape (n, d), dropping pieces with any NaN."""
    if len(values) == 0:
        return np.empty((0, 1))
    m = np.array([np.atleast_1d(np.asarray(v, dtype=float)) for v in values])
    return m[~np.isnan(m).any(axis=1)]


def _pairwise(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances between rows of ``a`` (n, d) and ``b`` (m, d), shape (n, m)."""
    out = np.empty((len(a), len(b)))
    chunk = max(1, (1 << 22) // max(1, len(b) * a.shape[1]))  # ~32 MB of differences at a time
    for i in range(0, len(a), chunk):
        d = a[i:i + chunk, None, :] - b[None, :, :]
        out[i:i + chunk] = np.sqrt((d * d).sum(-1))
    return out


def intra_set_distances(values: Sequence[float | np.ndarray]) -> np.ndarray:
    """Distances between every unordered pair of distinct pieces, shape (n*(n-1)/2,)."""
    m = _as_matrix(values)
    iu = np.triu_indices(len(m), k=1)
    return _pairwise(m, m)[iu]


def inter_set_distances(a: Sequence[float | np.ndarray], b: Sequence[float | np.ndarray]) -> np.ndarray:
    """Distances between every piece of ``a`` and every piece of ``b``, shape (n_a*n_b,)."""
    return _pairwise(_as_matrix(a), _as_matrix(b)).ravel()


def scott_bandwidth(samples: np.ndarray) -> float:
    """Scott's rule ``std * n**(-1/5)`` (as ``scipy.stats.gaussian_kde``); 0 for < 2 samples."""
    x = np.asarray(samples, float)
    return float(x.std(ddof=1) * len(x) ** (-0.2)) if len(x) > 1 else 0.0


def kde_on_grid(samples: np.ndarray, grid: np.ndarray, bandwidth: float) -> np.ndarray:
    """Gaussian KDE of 1-D ``samples`` on an evenly spaced ``grid``, integrating to 1 on it.

    Samples are linearly binned onto the grid points, then convolved with the kernel.
    """
    x = np.asarray(samples, float)
    step = grid[1] - grid[0]
    pos = np.clip((x - grid[0]) / step, 0, len(grid) - 1)
    lo = np.minimum(np.floor(pos).astype(np.int64), len(grid) - 2)
    frac = pos - lo
    weights = np.bincount(lo, 1 - frac, minlength=len(grid)) + np.bincount(lo + 1, frac, minlength=len(grid))
    half = min(len(grid) - 1, int(math.ceil(5 * bandwidth / step)))
    offsets = np.arange(-half, half + 1) * step
    kernel = np.exp(-0.5 * (offsets / bandwidth) ** 2)
    dens = np.convolve(weights, kernel)[half:half + len(grid)]
    area = _trapz(dens, grid)
    return dens / area if area > 0 else dens


def _shared_grid(a: np.ndarray, b: np.ndarray, points: int) -> tuple[np.ndarray, float, float]:
    """Grid covering both sample sets plus 4 bandwidths, and each set's bandwidth."""
    lo, hi = min(a.min(), b.min()), max(a.max(), b.max())
    scale = max(hi - lo, abs(hi), 1e-12)
    floor = scale * 1e-3  # a set with no spread still gets a narrow bump
    bw_a, bw_b = max(scott_bandwidth(a), floor), max(scott_bandwidth(b), floor)
    pad = 4 * max(bw_a, bw_b)
    grid = np.linspace(lo - pad, hi + pad, points)
    step = grid[1] - grid[0]
    return grid, max(bw_a, step), max(bw_b, step)


def overlap_and_kl(a: np.ndarray, b: np.ndarray, points: int = GRID_POINTS) -> tuple[float, float]:
    """Overlapping area (0..1) and ``KL(p_a || p_b)`` (nats) of the KDEs of ``a`` and ``b``.

    NaN for both when either sample set is empty.
    """
    a, b = np.asarray(a, float).ravel(), np.asarray(b, float).ravel()
    if len(a) == 0 or len(b) == 0:
        return math.nan, math.nan
    grid, bw_a, bw_b = _shared_grid(a, b, points)
    pa, pb = kde_on_grid(a, grid, bw_a), kde_on_grid(b, grid, bw_b)
    oa = float(np.clip(_trapz(np.minimum(pa, pb), grid), 0.0, 1.0))
    qa = np.maximum(pa, KL_FLOOR * pa.max())
    qb = np.maximum(pb, KL_FLOOR * pb.max())
    kl = float(max(_trapz(pa * np.log(qa / qb), grid), 0.0))
    return oa, kl


def compare_feature(real: Sequence[float | np.ndarray], gen: Sequence[float | np.ndarray]) -> dict[str, float | np.ndarray]:
    """Compare one feature's per-piece values between a real and a generated set.

    Returns ``oa`` (0..1), ``kl`` (nats), ``mean_real`` and ``mean_gen`` (float for a scalar
    feature, np.ndarray for a histogram), ``diff`` (``mean_gen - mean_real`` for scalars,
    the Euclidean distance between the mean histograms for histograms), and ``n_real``,
    ``n_gen`` (pieces used, NaN values left out). OA and KL need >= 2 real pieces and >= 1
    generated piece, else they are NaN.
    """
    r, g = _as_matrix(real), _as_matrix(gen)
    scalar = r.shape[1] == 1 and g.shape[1] == 1
    mean_r = r.mean(axis=0) if len(r) else np.full(r.shape[1], np.nan)
    mean_g = g.mean(axis=0) if len(g) else np.full(g.shape[1], np.nan)
    if len(r) >= 2 and len(g) >= 1:
        oa, kl = overlap_and_kl(intra_set_distances(r), inter_set_distances(r, g))
    else:
        oa, kl = math.nan, math.nan
    if scalar:
        mr, mg = float(mean_r[0]), float(mean_g[0])
        diff = mg - mr
    else:
        mr, mg = mean_r, mean_g
        diff = float(np.sqrt(((mean_g - mean_r) ** 2).sum()))
    return {"oa": oa, "kl": kl, "mean_real": mr, "mean_gen": mg, "diff": diff,
            "n_real": int(len(r)), "n_gen": int(len(g))}


def compare_sets(real_feats: Sequence[dict], gen_feats: Sequence[dict]) -> dict[str, dict]:
    """Compare every feature present in both sets (``piece_features`` dicts) with :func:`compare_feature`.

    Returns ``{feature: {oa, kl, mean_real, mean_gen, diff, n_real, n_gen}}`` in the order
    the features appear in the first real piece's dict.
    """
    if not real_feats or not gen_feats:
        return {}
    names = [k for k in real_feats[0] if all(k in f for f in real_feats) and all(k in f for f in gen_feats)]
    return {k: compare_feature([f[k] for f in real_feats], [f[k] for f in gen_feats]) for k in names}
