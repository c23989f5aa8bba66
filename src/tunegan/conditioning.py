"""Style and mood keywords: the vocabulary a conditional model knows, and keyword ids.

Keywords come from per-piece labels written by ``prepare`` (see :mod:`tunegan.data.labels`):
genre (classical, pop, folk, chorale, game), era (baroque, classical era ...), form (jig, reel,
waltz, chorale ...), meter ("3/4") and mood (upbeat, calm, tense, melancholy). Each piece gets up
to :data:`MAX_KEYWORDS` ids (0 = none). A keyword is kept when at least ``min_count`` training
pieces carry it. In training, keywords are dropped at random (each with probability
``keyword_dropout``, all of them with probability ``uncond_prob``), so a model answers any subset,
including none, which is what classifier-free guidance at sampling time needs.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter

import numpy as np
import torch

from .attributes import ATTRIBUTE_KEYWORDS, ATTRIBUTES
from .errors import MusicOptionError
from .music.keys import mode_margin
from .music.mood import MOODS, mood_word

CATEGORIES = ("genre", "era", "form", "meter", "mood")
#: Keyword slots per crop: one per category, then the measured attributes (:mod:`tunegan.attributes`).
MAX_KEYWORDS = len(CATEGORIES) + len(ATTRIBUTES)


def _norm(word) -> str:
    return re.sub(r"\s+", " ", str(word).strip().lower())


def piece_keywords(labels: dict) -> list[tuple[str, str]]:
    """``[(category, keyword), ...]`` of one piece's labels, each keyword once (under the first
    category that gives it: JSB's chorales are genre and form "chorale", one piece of "chorale"
    for the vocabulary's counts and the priors, one keyword for training)."""
    out, seen = [], set()
    for cat in CATEGORIES:
        v = labels.get(cat)
        if v is None or v == "":
            continue
        w = _norm(v)
        if cat == "era" and w == "classical":
            w = "classical era"  # keep apart from the genre "classical" (MAESTRO's piano music)
        if w not in seen:
            seen.add(w)
            out.append((cat, w))
    return out


def build_vocabulary(train_labels: list[dict], min_count: int = 5, *, attributes: bool = False) -> dict:
    """``{"keywords": [...], "categories": [...], "counts": [...]}`` from the train pieces' labels;
    with ``attributes`` the attribute keywords (``mode:minor``...) follow, category ``attribute``
    (counted on every piece: they are measured per crop)."""
    counts: Counter = Counter()
    cat_of = {}
    for lab in train_labels:
        for cat, w in piece_keywords(lab):
            counts[w] += 1
            cat_of.setdefault(w, cat)
    kws = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (CATEGORIES.index(cat_of[w]), w))
    out = {"keywords": kws, "categories": [cat_of[w] for w in kws], "counts": [counts[w] for w in kws]}
    if attributes:
        out = {"keywords": kws + ATTRIBUTE_KEYWORDS, "categories": out["categories"] + ["attribute"] * len(ATTRIBUTE_KEYWORDS),
               "counts": out["counts"] + [len(train_labels)] * len(ATTRIBUTE_KEYWORDS)}
    return out


def keyword_table(labels: list[dict], vocab: dict) -> np.ndarray:
    """int64 ``(n_pieces, MAX_KEYWORDS)``: ids (1-based into ``vocab["keywords"]``) per piece, 0-padded."""
    index = {w: i + 1 for i, w in enumerate(vocab["keywords"])}
    out = np.zeros((len(labels), MAX_KEYWORDS), dtype=np.int64)
    for r, lab in enumerate(labels):
        ids = [index[w] for _, w in piece_keywords(lab) if w in index][:len(CATEGORIES)]
        out[r, :len(ids)] = ids
    return out


def drop_keywords(ids: np.ndarray, rng: np.random.Generator, keyword_dropout: float, uncond_prob: float) -> np.ndarray:
    """Training-time dropout of a piece's keyword ids (``(MAX_KEYWORDS,)``)."""
    if rng.random() < uncond_prob:
        return np.zeros_like(ids)
    keep = rng.random(ids.shape) >= keyword_dropout
    return np.where(keep, ids, 0)


def split_words(text: str | list[str] | None) -> list[str]:
    if text is None:
        return []
    items = text if isinstance(text, (list, tuple)) else re.split(r"[,;]+", text)
    return [_norm(w) for w in items if _norm(w)]


def keyword_ids(model, *, style=None, mood=None, attributes: dict | None = None) -> torch.Tensor:
    """Keyword ids ``(MAX_KEYWORDS,)`` for a checkpoint; an unknown word gets an error naming the
    closest known ones. ``model`` is a :class:`~tunegan.checkpoint.Checkpoint`. ``attributes``
    (``{"mode": "minor"}``) go to the attribute slots of a model trained with them."""
    vocab = model.meta.get("conditions") or {}
    known = list(vocab.get("keywords", []))
    if not known:
        raise MusicOptionError("this model was trained without style or mood keywords; pick a keyword model "
                               "(see 'tunegan styles') or leave --style/--mood out")
    words = split_words(style) + split_words(mood)
    ids, attr_ids = [], []
    from .attributes import keyword

    for name, value in (attributes or {}).items():
        if keyword(name, value) not in known:
            raise MusicOptionError(f"this model was trained without attributes such as {name}; leave --{name} out "
                                   "or pick a model trained with --set attributes=true")
        attr_ids.append(known.index(keyword(name, value)) + 1)
    for w in words:
        w2 = w
        if w2 not in known:
            close = difflib.get_close_matches(w2, known, n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else f"; known: {', '.join(known)}"
            raise MusicOptionError(f"unknown style or mood keyword '{w}'{hint}")
        ids.append(known.index(w2) + 1)
    if len(ids) > len(CATEGORIES):
        raise MusicOptionError(f"at most {len(CATEGORIES)} keywords at once (received {len(ids)})")
    out = torch.zeros(MAX_KEYWORDS, dtype=torch.long)
    out[:len(ids)] = torch.tensor(ids, dtype=torch.long)
    out[len(CATEGORIES):len(CATEGORIES) + len(attr_ids)] = torch.tensor(attr_ids, dtype=torch.long)
    return out


def describe_vocabulary(vocab: dict) -> list[dict]:
    """Rows ``{keyword, category, pieces}`` for ``tunegan styles``."""
    return [{"keyword": w, "category": c, "pieces": n}
            for w, c, n in zip(vocab.get("keywords", []), vocab.get("categories", []), vocab.get("counts", []))]


def corpus_weights(corpora: list[str], tokens: np.ndarray, power: float, *,
                   moods: list | None = None, mood_power: float = 1.0) -> tuple[np.ndarray, dict]:
    """Per-piece sampling weights so corpus c is drawn with probability proportional to
    ``tokens_c ** power`` (1 = by size, 0 = every corpus equally). With ``moods`` (one per piece,
    None allowed), within each corpus mood m is drawn in proportion to ``tokens_cm ** mood_power``
    (1 = by size, 0 = every mood of the corpus equally often). Returns (weights, corpus shares)."""
    corpora = np.asarray(corpora)
    tokens = np.asarray(tokens, dtype=np.float64)
    names = sorted(set(corpora.tolist()))
    size = {c: float(tokens[corpora == c].sum()) for c in names}
    target = {c: size[c] ** power for c in names}
    z = sum(target.values())
    shares = {c: target[c] / z for c in names}
    groups = corpora if moods is None else np.array([f"{c}\0{m}" for c, m in zip(corpora.tolist(), moods)])
    gsize = {g: float(tokens[groups == g].sum()) for g in set(groups.tolist())}
    within = {}
    for c in names:
        gs = [g for g in gsize if g.split("\0")[0] == c]
        t = {g: gsize[g] ** (mood_power if moods is not None else 1.0) for g in gs}
        within.update({g: t[g] / sum(t.values()) for g in gs})
    # CropDataset draws pieces proportional to length * weight, so weight = group share / group size
    w = np.array([shares[c] * within[g] / gsize[g] for c, g in zip(corpora.tolist(), groups.tolist())],
                 dtype=np.float64)
    return w * len(w), shares


def label_shares(labels: list, tokens: np.ndarray, weights: np.ndarray) -> dict:
    """Share of training crops whose piece carries each label value, under ``weights``."""
    p = np.asarray(tokens, dtype=np.float64) * weights
    p = p / p.sum()
    out: dict = {}
    for lab, q in zip(labels, p):
        key = "none" if lab is None else str(lab)
        out[key] = out.get(key, 0.0) + float(q)
    return {k: round(v, 4) for k, v in sorted(out.items())}


class CropMood:
    """Relabels a training crop's mood keyword from the crop itself (``TrainConfig.crop_moods``).

    A piece's mood is estimated once for the whole piece, so a crop of a minor piece can be a
    major passage and still be trained as "tense". Here the crop's valence (major or minor) comes
    from its own notes: the Krumhansl-Kessler key correlations of its pitch-class counts, the rule
    the piece labels use. Its arousal stays the piece's (tempo and density change less within a
    piece). Human mood labels (``mood_source == "human"``) and crops with fewer than
    ``min_notes`` notes keep the piece's mood.
    """

    def __init__(self, vocab: dict, labels: list[dict], token_pitches: np.ndarray, min_notes: int = 8):
        self._word = mood_word
        index = {w: i + 1 for i, w in enumerate(vocab["keywords"])}
        self.mood_ids = {m: index[m] for m in MOODS if m in index}
        self.is_mood = np.zeros(len(vocab["keywords"]) + 1, dtype=bool)
        self.is_mood[list(self.mood_ids.values())] = True
        self.arousal = np.array([lab.get("arousal") if lab.get("arousal") is not None and lab.get("mood_source") != "human"
                                 else np.nan for lab in labels], dtype=np.float64)
        self.pitches, self.min_notes = np.asarray(token_pitches), min_notes

    def valence(self, window: np.ndarray) -> float | None:
        """Best major minus best minor key correlation of the crop's notes (None: too few notes)."""
        p = self.pitches[np.asarray(window, dtype=np.int64)]
        p = p[p >= 0]
        if len(p) < self.min_notes:
            return None
        return mode_margin(np.bincount(p % 12, minlength=12).astype(np.float64))

    def __call__(self, window: np.ndarray, piece: int, ids: np.ndarray) -> np.ndarray:
        a = self.arousal[piece]
        at = np.flatnonzero(self.is_mood[ids])
        if np.isnan(a) or len(at) == 0:
            return ids
        v = self.valence(window)
        if v is None:
            return ids
        out = ids.copy()
        out[at[0]] = self.mood_ids.get(self._word(v, a), ids[at[0]])
        return out
