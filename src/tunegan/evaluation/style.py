"""Do style and mood keywords work? A genre classifier trained on real music judges generated samples.

1. **Classifiers.** Real crops of ``length`` tokens are cut from every genre's pieces in a token
   cache (round-robin: first each piece's opening, then crops at random bar lines), decoded and
   described by :func:`style_features`. A multinomial logistic regression (:func:`fit_softmax`,
   numpy) per :data:`FEATURE_SETS` entry is fitted on *train* crops, its L2 strength chosen on
   *validation* crops, and its accuracy reported once on crops of the evaluation split.
2. **Style keywords.** For every genre keyword, ``n`` samples of ``length`` tokens are generated
   with ``style=genre`` at each guidance strength and classified: the share heard as the requested
   genre, the confusion matrix, and the genres heard in samples *without* keywords.
3. **Mood keywords.** ``n`` samples per mood word are scored with
   :func:`~tunegan.data.labels.mood_from_music` beside samples without keywords, and beside the
   agreement of real crops' rule-based mood with their piece's label (the ceiling).

Every request is sampled as one batch from the same seed (common random numbers), so requests
differ only by their keywords. A classifier only hears what its features describe.
"""

from __future__ import annotations

import math
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import symusic
import torch

from ..checkpoint import Checkpoint
from ..conditioning import MOODS, keyword_ids
from ..data.dataset import SplitData, TokenCache
from ..data.labels import CORPUS_GENRE, mood_from_music, music_features, score_tempo
from ..errors import DataError, MusicOptionError
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
#: Features whose means are shown per genre, real beside generated (readable without a classifier).
PROFILE = ("velocity_mean", "velocity_std", "log_tempo", "log_notes_per_second", "polyphony", "scale_consistency",
           "pitch_class_entropy", "meter_4")
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
    extra += [math.log(max(score_tempo(score), 1.0)), math.log(max(mf.density, 0.05)) if on else math.nan,
              mf.mode_margin if on else math.nan]
    return np.concatenate([*(f[h] for h in _HISTS), [f[s] for s in _SCALARS], extra,
                           [float(num == m) for m in METERS]]).astype(np.float64)


def _tempo_table(tokenizer) -> dict[int, float]:
    """Token id -> bpm of the tokenizer's ``Tempo_x`` tokens (empty for tokenizers without them)."""
    names = {i: tokenizer.describe(i) for i in range(tokenizer.vocab_size)}
    return {i: float(n[6:]) for i, n in names.items() if n.startswith("Tempo_")}


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
    is_bar = getattr(tokenizer, "is_bar", None)
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
                       *, seed: int = 0, with_mood: bool = False) -> dict:
    """``{"x": (n, d), "y": (n,) genre index, "moods": [(crop mood, piece mood)]}`` for a split."""
    data, tok = cache.split(split), cache.tokenizer
    g_of = piece_genres(cache, split)
    labels = cache.piece_labels(split) if with_mood else None
    tempos = _tempo_table(tok)
    rng = np.random.default_rng([seed, zlib.crc32(split.encode())])
    xs, ys, moods = [], [], []
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
    return {"x": np.vstack(xs), "y": np.asarray(ys), "moods": moods}


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


def _share(k: int, n: int) -> dict:
    lo, hi = wilson_interval(int(k), int(n))
    return {"n": int(n), "hits": int(k), "share": int(k) / n if n else math.nan, "ci_low": lo, "ci_high": hi}


def accuracy_table(clf: StyleClassifier, data: dict) -> dict:
    """Held-out accuracy overall, per genre (with 95% Wilson intervals) and the confusion matrix."""
    m = np.zeros((len(clf.genres),) * 2, np.int64)  # rows: true genre, columns: predicted
    np.add.at(m, (data["y"], clf.predict(data["x"])), 1)
    per = {g: _share(m[i, i], m[i].sum()) for i, g in enumerate(clf.genres)}
    return {**_share(int(np.trace(m)), int(m.sum())), "per_genre": per, "confusion": m.tolist(),
            "balanced_accuracy": float(np.mean([v["share"] for v in per.values()]))}


# --- generated samples ------------------------------------------------------------------------


@torch.no_grad()
def generate_scores(ckpt: Checkpoint, n: int, length: int, *, style=None, mood=None, guidance: float = 1.0,
                    temperature: float = 1.0, seed: int = 0, key: str | None = None) -> list[symusic.Score]:
    """``n`` pieces of ``length`` tokens from BOS, sampled as one batch as ``tunegan.generate`` would
    (padding and BOS never sampled; no keywords = the model's unconditional path; ``key``: only
    notes of that key's scale, as ``tunegan generate --key``)."""
    from ..api import _scale_mask
    from ..sampling import TokenStream

    tok = ckpt.tokenizer
    cond = keyword_ids(ckpt, style=style, mood=mood).unsqueeze(0).repeat(n, 1) if (style or mood) else None
    prime = torch.full((n, 1), tok.bos_id, dtype=torch.long)
    stream = TokenStream(ckpt.generator, prime, cond=cond, guidance=guidance)
    tokens = stream.take(length, temperature=temperature, forbid=sorted({tok.pad_id, tok.bos_id}),
                         allowed_mask=_scale_mask(ckpt, key), rng=torch.Generator().manual_seed(int(seed))).numpy()
    return [tok.decode(t) for t in tokens]


def _profile(x: np.ndarray) -> dict:
    """Means of the :data:`PROFILE` features over feature rows ``(n, d)``."""
    cols = {f: x[:, FEATURE_NAMES.index(f)] for f in PROFILE}
    return {f: float(c[~np.isnan(c)].mean()) if (~np.isnan(c)).any() else math.nan for f, c in cols.items()}


def _mood_summary(scores: list[symusic.Score], target: str | None) -> dict:
    rows = [mood_from_music(s) for s in scores]
    v, a = np.array([r["valence"] for r in rows]), np.array([r["arousal"] for r in rows])
    out = {"distribution": {m: float(np.mean([r["mood"] == m for r in rows])) for m in MOODS},
           "valence_mean": float(v.mean()), "arousal_mean": float(a.mean())}
    if target is not None:
        want_v = target in ("upbeat", "calm")
        want_a = target in ("upbeat", "tense")
        out |= _share(sum(r["mood"] == target for r in rows), len(rows))
        out["valence_agree"] = float(np.mean((v >= 0) == want_v))
        out["arousal_agree"] = float(np.mean((a >= 0) == want_a))
    return out


def model_keywords(ckpt: Checkpoint, category: str) -> list[str]:
    """The keywords of one category (``genre``, ``mood``...) a checkpoint was trained with."""
    vocab = ckpt.conditions
    return [w for w, c in zip(vocab.get("keywords", []), vocab.get("categories", [])) if c == category]


# --- the report -----------------------------------------------------------------------------


def open_labelled_data(data, ckpt: Checkpoint) -> TokenCache:
    """A cache with genre labels: a prepared cache folder, or source specs/objects prepared now
    (with labels) under ``$TUNEGAN_CACHE``. The tokenizer must be the checkpoint's."""
    import hashlib
    from pathlib import Path

    from ..data.prepare import MANIFEST, prepare
    from ..data.sources import open_source
    from ..errors import TokenizerMismatchError
    from .report import cache_root

    items = list(data) if isinstance(data, (list, tuple)) else [data]
    if len(items) == 1 and isinstance(items[0], (str, Path)) and (Path(items[0]) / MANIFEST).exists():
        cache = TokenCache(items[0])
        if cache.tokenizer.state() != ckpt.tokenizer.state():
            raise TokenizerMismatchError(f"{items[0]} was tokenized with '{cache.tokenizer.name}' "
                                         f"{cache.tokenizer.config}, the checkpoint uses '{ckpt.tokenizer.name}' "
                                         f"{ckpt.tokenizer.config}; pass the MIDI sources instead")
        return cache
    srcs = [open_source(str(s)) if isinstance(s, (str, Path)) else s for s in items]
    key = hashlib.sha1("|".join([*(str(s.spec()) for s in srcs), ckpt.tokenizer.fingerprint()]).encode())
    out = cache_root() / "caches" / f"style-{key.hexdigest()[:16]}"
    prepare(srcs, ckpt.tokenizer, out, labels=True)
    return TokenCache(out)


def style_report(checkpoint, data, *, split: str = "test", samples_per_keyword: int = 50, length: int = 512,
                 guidance: Sequence[float] = (1.0, 2.0), seed: int = 0, temperature: float = 1.0,
                 genres: Sequence[str] | None = None, moods: Sequence[str] | None = None,
                 train_crops: int = 300, eval_crops: int = 100, l2_grid: Sequence[float] = L2_GRID,
                 mood_by_genre: bool = False, key: str | None = None,
                 log: Callable[[str], None] | None = None) -> dict:
    """The whole check (module docstring) as a JSON-ready dict.

    checkpoint: a conditional checkpoint or run folder (``None`` = the shipped model).
    data: a prepared cache folder, or sources (``"pop909:PATH"``, folders...) with genre labels.
    split: where the classifiers' accuracy and the mood ceiling are measured (never tuned on).
    genres / moods: keywords to test (default: every genre the model and the data share, every
    mood word the model knows); an unknown keyword raises :class:`MusicOptionError`.
    train_crops / eval_crops: real crops per genre for fitting / for validation and ``split``.
    One classifier per :data:`FEATURE_SETS` entry judges the same samples.
    mood_by_genre: also ask for every mood together with every genre ("pop, melancholy"), each
    judged against the samples of that genre alone, the way a user combines the two.
    key: every sample (with and without keywords) keeps to this key's scale (``--key``).
    """
    from ..api import load_model

    say = log or (lambda msg: None)
    t0 = time.perf_counter()
    ckpt = load_model(checkpoint)
    keyword_ids(ckpt)  # a model trained without keywords: a one-line error
    for w in [*(genres or []), *(moods or [])]:
        keyword_ids(ckpt, style=w)  # an unknown word: a one-line error naming the closest known ones
    from ..api import _scale_mask

    _scale_mask(ckpt, key)  # a bad key: a one-line error before any work
    if not 1 <= samples_per_keyword <= 10000:
        raise MusicOptionError(f"samples per keyword must be within 1 and 10000 (received {samples_per_keyword})")
    cache = open_labelled_data(data, ckpt)
    have = [g for g in sorted(set(piece_genres(cache, "train"))) if g]
    if len(have) < 2:
        raise DataError(f"{cache.root}: need pieces of at least two genres (found {have or 'none'})")
    known = model_keywords(ckpt, "genre")
    genres = list(genres) if genres else [g for g in known if g in have]
    if missing := [g for g in genres if g not in have]:
        raise DataError(f"{cache.root}: no music of genre {', '.join(missing)} to train the classifier on")
    moods = list(moods) if moods is not None else [m for m in model_keywords(ckpt, "mood") if m in MOODS]

    say(f"classifier: {len(have)} genres, {train_crops} train crops each")
    tr = real_crop_features(cache, "train", have, train_crops, length, seed=seed)
    va = real_crop_features(cache, "validation", have, eval_crops, length, seed=seed)
    te = real_crop_features(cache, split, have, eval_crops, length, seed=seed, with_mood=True)
    clfs, classifiers = {}, {}
    for name, feats in FEATURE_SETS.items():
        clfs[name], val = fit_classifier(tr, va, have, l2_grid, feats)
        classifiers[name] = {"n_features": len(feats), "l2": clfs[name].l2, "validation_accuracy": val,
                             "test": accuracy_table(clfs[name], te)}
    ceiling = [c == p for c, p in te["moods"]]
    report = {
        "checkpoint": {"path": str(ckpt.path), "step": ckpt.meta.get("step"), "epoch": ckpt.meta.get("epoch"),
                       "genres": known, "moods": model_keywords(ckpt, "mood")},
        "data": {"cache": str(cache.root), "split": split, "genres": have},
        "settings": {"samples_per_keyword": samples_per_keyword, "length": length, "guidance": list(guidance), "key": key,
                     "seed": seed, "temperature": temperature, "train_crops": train_crops, "eval_crops": eval_crops},
        "classifiers": classifiers, "mood_ceiling": _share(sum(ceiling), len(ceiling)),
        # per mood label: how often real crops of pieces with that label are heard with that mood
        "mood_ceiling_by_mood": {m: _share(sum(c == p for c, p in te["moods"] if p == m),
                                           sum(p == m for _, p in te["moods"])) for m in MOODS},
        "runs": [],
        "real_profile": {g: _profile(te["x"][te["y"] == i]) for i, g in enumerate(have)},
    }
    say("classifier accuracy on " + split + ": " + ", ".join(f"{k} {v['test']['share']:.3f}"
                                                           for k, v in classifiers.items()))
    n, kw = samples_per_keyword, dict(temperature=temperature, seed=seed, key=key)

    def judge(scores):
        x = np.vstack([style_features(s) for s in scores])
        return {k: np.bincount(c.predict(x), minlength=len(have)) for k, c in clfs.items()}, _profile(x)

    uncond = generate_scores(ckpt, n, length, **kw)
    counts, profile = judge(uncond)
    report["unconditioned"] = {"genres": {k: dict(zip(have, (v / n).tolist())) for k, v in counts.items()},
                               "profile": profile, "mood": _mood_summary(uncond, None)}
    for g_strength in guidance:
        run = {"guidance": float(g_strength), "style": {k: {} for k in clfs}, "confusion": {k: [] for k in clfs},
               "profile": {}, "mood": {}}
        for g in genres:
            say(f"guidance {g_strength}: style={g}")
            scores = generate_scores(ckpt, n, length, style=g, guidance=g_strength, **kw)
            counts, run["profile"][g] = judge(scores)
            for k, c in counts.items():
                run["style"][k][g] = _share(int(c[have.index(g)]), n)
                run["confusion"][k].append(c.tolist())
            if mood_by_genre and moods:
                row = run.setdefault("mood_by_genre", {})[g] = {"none": _mood_summary(scores, None)}
                for m in moods:
                    say(f"guidance {g_strength}: style={g}, mood={m}")
                    both = generate_scores(ckpt, n, length, style=g, mood=m, guidance=g_strength, **kw)
                    row[m] = _mood_summary(both, m)
                    row[m]["genre_kept"] = float(judge(both)[0]["all"][have.index(g)] / n)
        run["mean_share"] = {k: float(np.mean([v["share"] for v in run["style"][k].values()])) if genres else math.nan
                             for k in clfs}
        for m in moods:
            say(f"guidance {g_strength}: mood={m}")
            run["mood"][m] = _mood_summary(generate_scores(ckpt, n, length, mood=m, guidance=g_strength, **kw), m)
        report["runs"].append(run)
    report["seconds"] = round(time.perf_counter() - t0, 1)
    return report


def _pct(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.0f}%"


def _ci(v: dict) -> str:
    return f"{_pct(v['share'])} ({_pct(v['ci_low'])}–{_pct(v['ci_high'])})"


def _matrix(rows: list[list[int]], row_names: list[str], col_names: list[str], corner: str) -> list[str]:
    out = [f"| {corner} | " + " | ".join(col_names) + " |", "|---" * (len(col_names) + 1) + "|"]
    return out + [f"| {r} | " + " | ".join(str(v) for v in row) + " |" for r, row in zip(row_names, rows)]


def format_markdown(report: dict) -> str:
    """The report as Markdown: classifier accuracy, keyword recognition, confusion matrices, moods."""
    s, ck, split, have = report["settings"], report["checkpoint"], report["data"]["split"], report["data"]["genres"]
    runs, cls = report["runs"], report["classifiers"]
    lines = ["# Do style and mood keywords work?", "",
             f"Checkpoint `{ck['path']}` (step {ck['step']}); data `{report['data']['cache']}`. "
             f"{s['samples_per_keyword']} samples of {s['length']} tokens per keyword, seed {s['seed']}, "
             f"temperature {s['temperature']}" + (f", every note in {s['key']}" if s.get("key") else "") + ".",
             "", "## Genre classifiers on real music", "",
             f"Multinomial logistic regression on musical features of {s['length']}-token crops "
             f"({s['train_crops']} train crops per genre; L2 chosen on {s['eval_crops']} validation crops per genre). "
             "`all`: every feature; `notes`: without velocity, tempo and metre. "
             f"Accuracy on the {split} split, 95% Wilson intervals:", "",
             "| genre | " + " | ".join(cls) + " |", "|---" * (len(cls) + 1) + "|"]
    for g in [*have, None]:
        cells = [_ci(c["test"]["per_genre"][g] if g else c["test"]) for c in cls.values()]
        lines.append(f"| {g or '**all genres**'} | " + " | ".join(cells) + " |")
    lines += ["", "L2 / validation accuracy: " + "; ".join(
        f"{k}: L2 {c['l2']:g} ({', '.join(f'{l:g}: {_pct(a)}' for l, a in c['validation_accuracy'].items())})"
        for k, c in cls.items()), ""]
    for k, c in cls.items():
        lines += [f"Confusion, `{k}` (rows: true genre, columns: predicted):", ""]
        lines += _matrix(c["test"]["confusion"], have, have, "true \\ predicted") + [""]
    lines += ["## Style keywords: share of samples heard as the requested genre", "",
              "| style | " + " | ".join(f"g={r['guidance']:g} `{k}`" for r in runs for k in cls)
              + " | " + " | ".join(f"no keyword `{k}`" for k in cls) + " |",
              "|---" * (len(runs) * len(cls) + len(cls) + 1) + "|"]
    styles = list(runs[0]["style"][next(iter(cls))]) if runs else []
    for g in styles:
        lines.append(f"| {g} | " + " | ".join(_ci(r["style"][k][g]) for r in runs for k in cls) + " | "
                     + " | ".join(_pct(report["unconditioned"]["genres"][k][g]) for k in cls) + " |")
    if styles:
        lines.append("| **mean** | " + " | ".join(f"**{_pct(r['mean_share'][k])}**" for r in runs for k in cls)
                     + " |" * (len(cls) + 1))
    for r in runs if styles else []:
        for k in cls:
            lines += ["", f"Confusion at guidance {r['guidance']:g}, `{k}` (rows: requested, columns: heard as):", ""]
            lines += _matrix(r["confusion"][k], styles, have, "requested \\ heard")
    heard = report["unconditioned"]["genres"]
    lines += ["", "Samples without keywords are heard as: " + "; ".join(
        f"`{k}` " + ", ".join(f"{g} {_pct(v)}" for g, v in d.items()) for k, d in heard.items()) + ".", ""]
    lines += [f"Feature means, real {split} crops beside samples (`log_` features in natural-log units):", "",
              "| music | " + " | ".join(PROFILE) + " |", "|---" * (len(PROFILE) + 1) + "|"]
    rows = [(f"real {g}", p) for g, p in report["real_profile"].items()]
    rows += [(f"style={g}, g={r['guidance']:g}", r["profile"][g]) for g in styles for r in runs]
    rows.append(("no keyword", report["unconditioned"]["profile"]))
    lines += [f"| {name} | " + " | ".join(f"{p[f]:.2f}" for f in PROFILE) + " |" for name, p in rows] + [""]
    moods = list(runs[0]["mood"]) if runs else []
    if moods:
        u, mc = report["unconditioned"]["mood"], report["mood_ceiling"]
        lines += ["## Mood keywords", "",
                  "Agree: share of samples whose rule-based mood (`mood_from_music`) is the requested one; valence / "
                  "arousal agree: share with the requested sign. Baseline: share of samples without keywords that "
                  f"have that mood. Ceiling: real {split} crops agree with their piece's mood label "
                  f"{_pct(mc['share'])} of the time (n = {mc['n']}).", "",
                  "| mood | guidance | agree | valence agree | arousal agree | mean valence | mean arousal "
                  "| baseline | ceiling (real crops with this label) |", "|---|---|---|---|---|---|---|---|---|"]
        by_mood = report.get("mood_ceiling_by_mood", {})
        for m in moods:
            cm = by_mood.get(m)
            ceil = f"{_pct(cm['share'])} (n = {cm['n']})" if cm and cm["n"] else "n/a"
            for r in runs:
                v = r["mood"][m]
                lines.append(f"| {m} | {r['guidance']:g} | {_ci(v)} | {_pct(v['valence_agree'])} | "
                             f"{_pct(v['arousal_agree'])} | {v['valence_mean']:+.2f} | {v['arousal_mean']:+.2f} | "
                             f"{_pct(u['distribution'][m])} | {ceil} |")
        lines += ["", f"Without keywords: mean valence {u['valence_mean']:+.2f}, "
                  f"mean arousal {u['arousal_mean']:+.2f}.", ""]
        for r in runs:
            if not r.get("mood_by_genre"):
                continue
            lines += [f"### Mood with a genre, guidance {r['guidance']:g}", "",
                      "Each genre asked with each mood (\"pop, melancholy\"). Agree: share of samples with the "
                      "requested mood; baseline: share of that mood among the samples of the genre alone; "
                      "genre kept: share still heard as the genre (`all` classifier).", "",
                      "| genre | mood | agree | baseline | valence agree | arousal agree | genre kept |",
                      "|---|---|---|---|---|---|---|"]
            for g, row in r["mood_by_genre"].items():
                for m in moods:
                    v = row[m]
                    lines.append(f"| {g} | {m} | {_ci(v)} | {_pct(row['none']['distribution'][m])} | "
                                 f"{_pct(v['valence_agree'])} | {_pct(v['arousal_agree'])} | "
                                 f"{_pct(v['genre_kept'])} |")
            mean = np.mean([row[m]["share"] for row in r["mood_by_genre"].values() for m in moods])
            base = np.mean([row["none"]["distribution"][m] for row in r["mood_by_genre"].values() for m in moods])
            lines += [f"| **mean** | | **{_pct(mean)}** | {_pct(base)} | | | |", ""]
    lines.append(f"_{report['seconds']} s._")
    return "\n".join(lines) + "\n"
