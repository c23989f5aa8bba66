"""A genre classifier on real music: the judge of :mod:`tunegan.evaluation.style`.

Real crops of ``length`` tokens are cut from every genre's pieces in a token cache (round-robin:
first each piece's opening, then crops at random bar lines), decoded and described by
:func:`style_features`. A multinomial logistic regression (:func:`fit_softmax`, numpy) per
:data:`FEATURE_SETS` entry is fitted on *train* crops, its L2 strength chosen on *validation*
crops, and its accuracy reported once on crops of the evaluation split. A classifier only hears
what its features describe.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import symusic

from ..data.dataset import SplitData, TokenCache
from ..data.labels import CORPUS_GENRE, mood_from_music, music_features
from ..music import extract_notes
from ..music.timing import mean_tempo
from ..errors import DataError
from .musical import piece_features
from .twosample import wilson_interval

L2_GRID = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)  # L2 strengths tried (on the mean log-loss), chosen on validation
METERS = (2, 3, 4, 6)  # numerators of the first time signature, one-hot (others: all zero)
_HISTS = ("pitch_class_hist", "pitch_interval_hist", "ioi_hist", "note_length_hist")
_SCALARS = ("pitch_count", "note_count", "pitch_range", "ioi_mean", "pitch_interval_mean", "pitch_entropy",
            "pitch_class_entropy", "scale_consistency", "polyphony", "polyphony_rate", "empty_beat_rate",
            "empty_measure_rate", "groove_consistency")
FEATURE_NAMES = tuple(
    [f"pc_{i}" for i in range(12)] + [f"interval_{i - 12:+d}" for i in range(25)] + [f"ioi_{i}" for i in range(12)]
    + [f"note_length_{i}" for i in range(12)] + list(_SCALARS)
    + ["pitch_mean", "pitch_std", "velocity_mean", "velocity_std", "log_tempo", "log_notes_per_second",
       "mode_margin"] + [f"meter_{m}" for m in METERS])
#: Feature sets a classifier is fitted on: everything, and the notes alone (no velocity, tempo or
#: metre, which a model could copy from its tokens without changing the notes).
FEATURE_SETS = {"all": FEATURE_NAMES,
                "notes": tuple(f for f in FEATURE_NAMES if not f.startswith(("velocity", "log_", "meter_")))}


# --- features -------------------------------------------------------------------------------


def style_features(score: symusic.Score) -> np.ndarray:
    """Feature vector of one decoded crop, float64 ``(len(FEATURE_NAMES),)``; NaN where undefined."""
    f, mf = piece_features(score), music_features(score)
    notes = [t.notes.numpy() for t in score.tracks if not t.is_drum and len(t.notes)]
    pitch, vel = ((np.concatenate([a[k] for a in notes]).astype(float) if notes else np.empty(0))
                  for k in ("pitch", "velocity"))
    ts = sorted(score.time_signatures, key=lambda t: t.time)
    num, on = (int(ts[0].numerator) if ts else 4), len(pitch) > 0
    extra = [pitch.mean(), pitch.std(), vel.mean(), vel.std()] if on else [math.nan] * 4
    extra += [math.log(max(mean_tempo(score), 1.0)), math.log(max(mf.density, 0.05)) if on else math.nan,
              mf.mode_margin if on else math.nan]
    return np.concatenate([*(f[h] for h in _HISTS), [f[s] for s in _SCALARS], extra,
                           [float(num == m) for m in METERS]]).astype(np.float64)


def _tempo_table(tokenizer) -> dict[int, float]:
    """Token id -> bpm of the tokenizer's ``Tempo_x`` tokens (empty for tokenizers without them)."""
    return {i: float(v) for i, v in tokenizer.tokens_of_kind("Tempo").items()}


def decode_crop(tokenizer, tokens: np.ndarray, context: np.ndarray, tempos: dict[int, float]) -> symusic.Score:
    """Decode a crop; without a tempo token of its own it gets the last tempo (``tempos``: token id
    -> bpm) of ``context``, the tokens of its piece before it: that is the tempo it plays at."""
    from ..music import set_tempo

    score = tokenizer.decode(tokens)
    if tempos and not np.isin(tokens, list(tempos)).any():
        hits = np.flatnonzero(np.isin(context, list(tempos)))
        if len(hits):
            score = set_tempo(score, tempos[int(context[hits[-1]])])
    return score


# --- real crops -----------------------------------------------------------------------------


def piece_genres(cache: TokenCache, split: str) -> np.ndarray:
    """Genre of every piece of a split (its ``genre`` label, else its corpus's), '' if unknown."""
    return np.array([lab.get("genre") or CORPUS_GENRE.get(lab.get("corpus"), "") or ""
                     for lab in cache.piece_labels(split)], dtype=object)


def crop_starts(data: SplitData, pieces: np.ndarray, n: int, length: int, *, tokenizer,
                rng: np.random.Generator) -> list[tuple[int, int]]:
    """``n`` (piece, stream start) crops of ``length`` tokens from ``pieces`` (BOS left out): first
    every piece's opening, in shuffled order, then starts at random bar lines. Pieces shorter than
    ``length + 1`` tokens are not used. Raises :class:`DataError` if none is long enough."""
    lens = np.diff(data.offsets)[pieces]
    ok = pieces[lens >= length + 1]
    if len(ok) == 0:
        raise DataError(f"no piece has {length} tokens for a crop (longest: {int(lens.max()) if len(lens) else 0})")
    order = rng.permutation(ok)
    is_bar = tokenizer.is_bar if tokenizer.has_bars else None
    out = []
    for i in range(n):
        k = int(order[i % len(order)])
        a, b = int(data.offsets[k]) + 1, int(data.offsets[k + 1])
        s = a
        if i >= len(order) and b - length > a:
            s = int(rng.integers(a, b - length + 1))
            if is_bar is not None:
                bars = np.flatnonzero(is_bar(np.asarray(data.tokens[s:b - length + 1])))
                s = s + int(bars[0]) if len(bars) else a
        out.append((k, s))
    return out


def real_crop_features(cache: TokenCache, split: str, genres: Sequence[str], n_per_genre: int, length: int,
                       *, seed: int = 0, with_mood: bool = False, with_notes: bool = False) -> dict:
    """``{"x": (n, d), "y": (n,) genre index, "moods": [(crop mood, piece mood)]}`` for a split;
    ``with_notes``: also ``"notes"``, each crop's ``NOTE_DTYPE`` array (for two-sample tests)."""
    data, tok = cache.split(split), cache.tokenizer
    g_of = piece_genres(cache, split)
    labels = cache.piece_labels(split) if with_mood else None
    tempos = _tempo_table(tok)
    rng = np.random.default_rng([seed, zlib.crc32(split.encode())])
    xs, ys, moods, notes = [], [], [], []
    for gi, g in enumerate(genres):
        pieces = np.flatnonzero(g_of == g)
        if len(pieces) == 0:
            raise DataError(f"{cache.root}: no '{g}' piece in the {split} split")
        for k, s in crop_starts(data, pieces, n_per_genre, length, tokenizer=tok, rng=rng):
            tokens = np.asarray(data.tokens[s:s + length], dtype=np.int64)
            ctx = np.asarray(data.tokens[int(data.offsets[k]):s], dtype=np.int64)
            score = decode_crop(tok, tokens, ctx, tempos)
            xs.append(style_features(score))
            ys.append(gi)
            if with_mood and labels[k].get("mood"):
                moods.append((mood_from_music(score)["mood"], labels[k]["mood"]))
            if with_notes:
                notes.append(extract_notes(score))
    out = {"x": np.vstack(xs), "y": np.asarray(ys), "moods": moods}
    return out | ({"notes": notes} if with_notes else {})


# --- the classifier -------------------------------------------------------------------------


def fit_softmax(x: np.ndarray, y: np.ndarray, n_classes: int, l2: float = 1e-2, max_iter: int = 30) -> np.ndarray:
    """Multinomial logistic regression by Newton's method -> weights ``(d + 1, K)``, bias row last.

    Minimises the mean log-loss plus ``l2 / 2 * ||W||^2`` (bias barely penalised); ``y`` holds
    class indices ``0..K-1``."""
    n, K = len(x), int(n_classes)
    xb = np.hstack([x, np.ones((n, 1))])
    d = xb.shape[1]
    onehot = np.eye(K)[y]
    reg = np.full(d, float(l2))
    reg[-1] = 1e-6
    w = np.zeros((d, K))
    for _ in range(max_iter):
        z = xb @ w
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        grad = xb.T @ (p - onehot) / n + reg[:, None] * w
        hess = np.empty((d, K, d, K))
        for k in range(K):
            for j in range(k, K):
                s = p[:, k] * ((k == j) - p[:, j]) / n
                block = (xb * s[:, None]).T @ xb
                hess[:, k, :, j] = block
                hess[:, j, :, k] = block.T
        hess = hess.reshape(d * K, d * K) + np.diag(np.repeat(reg, K))
        step = np.linalg.solve(hess, grad.ravel()).reshape(d, K)
        w -= step
        if np.abs(step).max() < 1e-7:
            break
    return w


@dataclass
class StyleClassifier:
    """A fitted genre classifier over ``columns`` of :func:`style_features` rows: standardisation
    (``mean``, ``scale``) and ``weights`` ``(len(columns) + 1, K)``, bias row last."""

    genres: list[str]
    columns: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    l2: float

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities ``(n, K)`` for full feature rows ``(n, len(FEATURE_NAMES))``."""
        z = np.nan_to_num((np.atleast_2d(x)[:, self.columns] - self.mean) / self.scale, nan=0.0)
        z = z @ self.weights[:-1] + self.weights[-1]
        p = np.exp(z - z.max(1, keepdims=True))
        return p / p.sum(1, keepdims=True)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Class index per row, int ``(n,)``."""
        return self.predict_proba(x).argmax(1)


def fit_classifier(train: dict, validation: dict, genres: Sequence[str], l2_grid: Sequence[float] = L2_GRID,
                   features: Sequence[str] = FEATURE_NAMES) -> tuple[StyleClassifier, dict]:
    """Fit on the ``features`` columns of ``train`` for each L2 strength; keep the best on
    ``validation`` (ties: the stronger L2). Returns the classifier and ``{l2: validation accuracy}``."""
    cols = np.array([FEATURE_NAMES.index(f) for f in features])
    x, y = train["x"][:, cols], train["y"]
    mean, sd = np.nan_to_num(np.nanmean(x, 0)), np.nanstd(x, 0)
    sd = np.where(sd > 1e-12, sd, 1.0)  # constant (or all-NaN) columns are left unscaled
    z = np.nan_to_num((x - mean) / sd, nan=0.0)
    best, scores = None, {}
    for l2 in sorted(l2_grid, reverse=True):
        clf = StyleClassifier(list(genres), cols, mean, sd, fit_softmax(z, y, len(genres), l2), float(l2))
        scores[float(l2)] = float(np.mean(clf.predict(validation["x"]) == validation["y"]))
        if best is None or scores[float(l2)] > scores[best.l2]:
            best = clf
    return best, dict(sorted(scores.items()))


def share_ci(k: int, n: int) -> dict:
    """``k`` of ``n`` as a share with its 95% Wilson interval (JSON-ready)."""
    lo, hi = wilson_interval(int(k), int(n))
    return {"n": int(n), "hits": int(k), "share": int(k) / n if n else math.nan, "ci_low": lo, "ci_high": hi}


def accuracy_table(clf: StyleClassifier, data: dict) -> dict:
    """Held-out accuracy overall, per genre (with 95% Wilson intervals) and the confusion matrix."""
    m = np.zeros((len(clf.genres),) * 2, np.int64)  # rows: true genre, columns: predicted
    np.add.at(m, (data["y"], clf.predict(data["x"])), 1)
    per = {g: share_ci(m[i, i], m[i].sum()) for i, g in enumerate(clf.genres)}
    return {**share_ci(int(np.trace(m)), int(m.sum())), "per_genre": per, "confusion": m.tolist(),
            "balanced_accuracy": float(np.mean([v["share"] for v in per.values()]))}
