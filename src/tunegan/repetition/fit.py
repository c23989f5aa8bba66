"""Fitting the piece memory to a checkpoint and a cache: its weights by likelihood on validation,
its bar recall on train, and the boost sampling gives it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .memory import ANY_STYLE, ORDERS, RepeatModel, mixed_logp, split_cache_stats
from .recall import fit_recall

WEIGHT_GRID = np.concatenate([np.linspace(0.0, 0.9, 91), np.linspace(0.905, 0.995, 19)])
BOOST_GRID = (1.0, 1.5, 2.0, 2.5, 3.0)
DISTINCT_4GRAM = 43  # the index of ``distinct_4gram`` in :func:`tunegan.evaluation.twosample.crop_features`


def fit_weights(logp_model: np.ndarray, order: np.ndarray, prob: np.ndarray, n_orders: int) -> tuple[float, ...]:
    """Per matched order, the weight on :data:`WEIGHT_GRID` that maximises the likelihood of the true tokens."""
    p_model = np.exp(logp_model)
    out = []
    for i in range(n_orders):
        m = order == i
        if not m.any():
            out.append(0.0)
            continue
        a, c = p_model[m][:, None], prob[m][:, None]
        ll = np.log((1.0 - WEIGHT_GRID) * a + WEIGHT_GRID * c).sum(0)
        out.append(round(float(WEIGHT_GRID[int(np.argmax(ll))]), 4))
    return tuple(out)


def fit_repeats(ckpt, cache, *, split: str = "validation", seq_len: int | None = None,
                orders: Sequence[int] = ORDERS, min_tokens: int = 20_000,
                recall_split: str | None = "train", boost_samples: int = 32) -> tuple[RepeatModel, dict]:
    """Weights fitted on ``split`` of a labelled cache (the checkpoint's tokenizer) -> ``(model,
    report)``: one set for any style (every piece, the unconditioned network's predictions) and one
    per genre label with at least ``min_tokens`` targets. The network is scored as ``tunegan
    evaluate`` scores it (windows of ``seq_len``, default the span it trained on); the cache sees the
    whole piece before each target. ``report``: NLL per note on ``split`` per genre, the network
    alone and mixed. How often bars come back (:func:`fit_recall`) is counted on ``recall_split``
    (None: not at all), and the boost sampling gives the memory is fitted on ``split`` with
    ``boost_samples`` samples per genre (:func:`fit_boost`; 0: none). A split too short for one window raises :class:`~tunegan.errors.DataError`."""
    from ..errors import DataError
    from ..evaluation.likelihood import model_scores

    tc = ckpt.meta.get("train_config") or {}
    seq_len = int(seq_len or int(tc.get("seq_len", 64)) * int(tc.get("tbptt_chunks", 1)))
    data = cache.split(split)
    if data.n_tokens <= seq_len:
        raise DataError(f"{cache.root}: the {split} split has {data.n_tokens} tokens, too few to fit how much the "
                        f"music repeats (windows of {seq_len})")
    scores, targets, positions = model_scores(ckpt, data, seq_len)
    base = RepeatModel.for_tokenizer(ckpt.tokenizer, orders)
    piece, order, prob = split_cache_stats(base, data, positions)
    labels = cache.piece_labels(split)
    genre = np.array([(labels[int(k)] or {}).get("genre") or "" for k in piece])
    notes = ckpt.tokenizer.note_counts()[targets]
    weights = {ANY_STYLE: fit_weights(scores.logp, order, prob, len(orders))}
    for g in sorted(set(genre.tolist()) - {""}):
        m = genre == g
        if m.sum() >= min_tokens:
            weights[g] = fit_weights(scores.logp[m], order[m], prob[m], len(orders))
    recall = fit_recall(ckpt.tokenizer, cache.split(recall_split), cache.piece_labels(recall_split)) \
        if recall_split is not None and recall_split in cache.manifest["counts"] else None
    model = RepeatModel(base.orders, base.wildcard, weights, recall)
    report = {"split": split, "weights": {s: list(w) for s, w in weights.items()}, "per_genre": {}}
    if recall is not None:
        report["recall"] = {"split": recall_split, "start": recall.to_dict()["start"], "cont": recall.to_dict()["cont"]}
    if boost_samples:
        found, report["boost"] = fit_boost(ckpt, model, cache, split=split, samples=boost_samples)
        model = RepeatModel(model.orders, model.wildcard, model.weights, model.recall, found)
    for g in [ANY_STYLE, *sorted(set(genre.tolist()) - {""})]:
        m = genre == g if g else np.ones(len(genre), bool)
        n = int(notes[m].sum())
        if n:
            report["per_genre"][g or "all"] = {
                "notes": n, "matched": float(np.mean(order[m] >= 0)),
                "nll_per_note": float(-scores.logp[m].sum() / n),
                "nll_per_note_repeats": float(-mixed_logp(scores.logp[m], order[m], prob[m],
                                                          model.weights_for([g] if g else [])).sum() / n)}
    return model, report



def with_repeats(ckpt, model: RepeatModel):
    """A shallow copy of a loaded checkpoint whose piece memory is ``model`` (the network is shared)."""
    from copy import copy

    out = copy(ckpt)
    out.meta = {**ckpt.meta, "repeats": model.to_dict()}
    return out


def self_repetition(notes) -> float:
    """Share of distinct 4-note interval patterns within one piece's notes (onset order, ties by
    pitch; the two-sample test's ``distinct_4gram`` feature): low = the piece returns to its motifs."""
    from ..evaluation.twosample import crop_features

    return float(crop_features(notes)[DISTINCT_4GRAM])


def fit_boost(ckpt, model: RepeatModel, cache, *, split: str = "validation", samples: int = 32, length: int = 512,
              grid: Sequence[float] = BOOST_GRID, seed: int = 0) -> tuple[dict[str, float], dict]:
    """Per genre (and for any style), the boost on ``grid`` whose samples return to their motifs as
    often as real ``split`` music of the genre: ``samples`` pieces of ``length`` tokens each way
    (the crops and samples ``tunegan style-eval`` compares), the mean :func:`self_repetition` of
    the samples closest to that of the real crops (the smaller boost on a tie). Genres without a
    keyword in the checkpoint or without pieces in ``split`` keep no boost. Returns ``(boost,
    report)``; ``report`` has every grid point's mean beside the real one."""
    from ..errors import DataError
    from ..evaluation.genre_classifier import piece_genres, real_crop_features
    from ..evaluation.style import generate_scores, model_keywords
    from ..music import extract_notes

    have = [g for g in sorted(set(piece_genres(cache, split).tolist())) if g]
    genres = [g for g in model_keywords(ckpt, "genre") if g in have and g in model.weights]
    if not genres:
        return {}, {"split": split, "genres": {}}
    try:
        real = real_crop_features(cache, split, genres, samples, length, seed=seed, with_notes=True)
    except DataError as e:
        return {}, {"split": split, "skipped": str(e)}
    boost, report = {}, {"split": split, "samples": samples, "length": length, "genres": {}}
    for gi, g in enumerate([*genres, ANY_STYLE]):
        crops = [n for n, y in zip(real["notes"], real["y"]) if gi == len(genres) or y == gi]
        want = float(np.mean([self_repetition(n) for n in crops if len(n) > 4]))
        got = {}
        for k in grid:
            trial = RepeatModel(model.orders, model.wildcard, model.weights, model.recall, {g: float(k)})
            scores = generate_scores(with_repeats(ckpt, trial), samples, length, style=g or None, seed=seed)
            vals = [self_repetition(n) for n in map(extract_notes, scores) if len(n) > 4]
            got[float(k)] = float(np.mean(vals)) if vals else float("nan")
        best = min(got, key=lambda k: (abs(got[k] - want) if got[k] == got[k] else np.inf, k))
        boost[g] = best
        report["genres"][g or "any"] = {"real": round(want, 4), "samples": {str(k): round(v, 4) for k, v in got.items()},
                                       "boost": best}
    return boost, report
