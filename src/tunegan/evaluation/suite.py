"""The sample-based half of ``tunegan evaluate``: one checkpoint, one held-out split.

:func:`run_suite` makes the evaluation samples (:mod:`.samples`) and measures

* **musical statistics** — Yang & Lerch's features and MusPy's metrics per piece
  (:func:`~.musical.piece_features`) of generated vs real continuations, compared as sets
  (:func:`~.distribution.compare_sets`: overlapping area OA, 1 = like the data; KL; means);
* **novelty** — how much of each sample is copied, maybe transposed, from the *train* split
  (:class:`~.novelty.NoveltyIndex`): longest copied run in notes, and the share of its
  ``ngram``-note windows found in training. The real continuations get the same numbers, as
  the reference for what held-out music shares with the training set by chance;
* a **classifier two-sample test** — cross-validated accuracy of a logistic regression telling
  real from generated continuations (:func:`~.twosample.classifier_two_sample_test`; 0.5 =
  indistinguishable by its features), with a 95% interval and a permutation p-value;
* a **quality–diversity sweep** over sampling settings: quality = two-sample accuracy of the
  primed samples (lower is better, down to 0.5), diversity = :func:`diversity` (share of
  distinct 4-note interval patterns among ``diversity_draws`` drawn from all samples; higher
  = more varied). Points are ready for :func:`~.plots.plot_quality_diversity`.

The novelty index of a cache's train split is built once and saved next to the cache as
``novelty-train-<cache key>.npy`` (or under ``$TUNEGAN_CACHE/novelty/`` if the cache folder is
read-only). Pitch sequences come straight from the tokens for the pitch tokenizer and from
decoded notes for the others.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import symusic

from ..checkpoint import Checkpoint
from ..data.dataset import SplitData, TokenCache
from ..errors import ConfigError, DataError
from ..music import extract_notes
from ..tokenizers import PitchTokenizer, Tokenizer
from .data import cache_root
from .distribution import compare_sets
from .musical import piece_features
from .novelty import _OFFSET, NoveltyIndex, interval_sequence, pitch_sequence
from .samples import (
    DEFAULT_LENGTH,
    DEFAULT_PRIMER,
    EvalSamples,
    RealCrops,
    Samples,
    generate_samples,
    make_samples,
    score_pitches,
)
from .twosample import classifier_two_sample_test, crop_features

#: (temperature, top_p) points of the default sweep; top_p None = no nucleus cut.
DEFAULT_SWEEP = ((0.7, None), (0.85, None), (1.0, None), (1.15, None), (1.0, 0.9))
REFERENCE = "held-out data"  # name of the real continuations in novelty/diversity results

Log = Callable[[str], None]


@dataclass(frozen=True)
class SuiteConfig:
    """Settings of :func:`run_suite`; validated on construction."""

    samples: int = 200               # samples per generated set (primed and unconditioned), and real crops
    length: int = DEFAULT_LENGTH     # tokens per sample and per real continuation
    primer_len: int = DEFAULT_PRIMER  # held-out tokens each primed sample continues
    temperature: float = 1.0         # sampling settings of the main sets
    top_k: int = 0
    top_p: float = 1.0
    sweep: tuple = DEFAULT_SWEEP     # (temperature, top_p or None) points; () = no sweep
    ngram: int = 8                   # novelty: window length in notes for the n-gram share
    diversity_n: int = 4             # diversity: notes per pattern (n - 1 intervals)
    diversity_draws: int = 2000      # diversity: patterns drawn from all samples of a set
    folds: int = 5                   # two-sample test: cross-validation folds
    permutations: int = 100          # two-sample test: label shuffles for a permutation p (main sets)
    batch_size: int = 200            # samples generated at once
    seed: int = 0                    # crops, sampling and the two-sample test all derive from it

    def __post_init__(self):
        def check(name, ok, expected):
            if not ok:
                raise ConfigError(f"SuiteConfig.{name} must be {expected} (received {getattr(self, name)!r})")

        check("samples", 2 * self.folds <= self.samples <= 10000, f"within {2 * self.folds} and 10000")
        check("length", 8 <= self.length <= 20000, "within 8 and 20000 tokens")
        check("primer_len", 1 <= self.primer_len <= 20000, "within 1 and 20000 tokens")
        check("temperature", 0 < self.temperature <= 10, "within 0 (excluded) and 10")
        check("top_p", 0 < self.top_p <= 1, "within 0 (excluded) and 1")
        check("top_k", self.top_k >= 0, ">= 0")
        check("ngram", self.ngram >= 2, ">= 2 notes")
        check("diversity_n", self.diversity_n >= 2, ">= 2 notes")
        check("folds", self.folds >= 2, ">= 2")
        check("permutations", self.permutations >= 0, ">= 0")
        for t, p in self.sweep:
            if not (0 < float(t) <= 10 and (p is None or 0 < float(p) <= 1)):
                raise ConfigError(f"SuiteConfig.sweep point ({t}, {p}) needs 0 < temperature <= 10 and 0 < top_p <= 1")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["sweep"] = [list(p) for p in self.sweep]
        return d


# --- novelty -----------------------------------------------------------------------------


def piece_pitch_sequences(data: SplitData, tokenizer: Tokenizer) -> Iterator[np.ndarray]:
    """Melodic pitch sequence (int16) of every piece of a split, in order.

    The pitch tokenizer's tokens already are that sequence (token + 20); other tokenizers
    are decoded to notes first.
    """
    direct = isinstance(tokenizer, PitchTokenizer)
    table = tokenizer.token_pitches()
    for i in range(len(data)):
        tokens = data.piece(i)
        if direct:
            p = table[tokens]
            yield p[p >= 0].astype(np.int16)
        else:
            yield pitch_sequence(extract_notes(tokenizer.decode(tokens)))


def _index_paths(cache: TokenCache, split: str) -> list[Path]:
    key = str(cache.manifest.get("key", "nokey"))[:16]
    name = f"novelty-{split}-{key}.npy"
    return [cache.root / name, cache_root() / "novelty" / name]


def novelty_index(cache: TokenCache, split: str = "train", *,
                  log: Log | None = None) -> tuple[NoveltyIndex, Path | None]:
    """The novelty index of a cache's split, loaded if saved before, else built and saved.

    Returns the index and where it is saved (None if no folder was writable).
    """
    paths = _index_paths(cache, split)
    for p in paths:
        if p.is_file():
            try:
                return NoveltyIndex.load(p, mmap=True), p
            except DataError:
                pass  # a damaged file: rebuild over it
    data = cache.split(split)
    if data.n_tokens == 0:
        raise DataError(f"{cache.root}: the {split} split is empty, so novelty cannot be measured")
    if log:
        log(f"building the novelty index of the {split} split ({len(data)} pieces; saved for next time)")
    index = NoveltyIndex.build(piece_pitch_sequences(data, cache.tokenizer))
    for p in paths:
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            tmp = p.with_name(p.name + f".{os.getpid()}.tmp")
            with open(tmp, "wb") as f:
                np.save(f, np.stack([index.text, index.sa]))
            os.replace(tmp, p)
            return index, p
        except OSError:
            continue
    return index, None


def matching_statistics(index: NoveltyIndex, pitches: np.ndarray, *, block: int = 32) -> np.ndarray:
    """The same numbers as :meth:`NoveltyIndex.matching_statistics`, for all positions at once.

    Each suffix of the sample's interval sequence is binary-searched in the suffix array in
    lockstep with the others (numpy), comparing ``block`` symbols at a time; its longest match
    is the longer common prefix with the two suffixes around its insertion point. Shape
    ``(n-1,)``, int64, in intervals. Memory is ``O(n * block)``.
    """
    q = interval_sequence(pitches).astype(np.int64) + _OFFSET
    m, n = len(q), len(index.sa)
    if m == 0 or n == 0:
        return np.zeros(m, np.int64)
    text, sa = index.text, np.asarray(index.sa, np.int64)

    def block_at(lo: int, rows: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Symbols ``lo .. lo+block`` of the sample from each row's position (-1 past its end) and
        of the training text from ``starts`` (-2 past its end): a sequence sorts before its
        extensions, and the two never match past an end."""
        j = np.arange(lo, min(m, lo + block))[None, :]
        qi, ti = rows[:, None] + j, starts[:, None] + j
        return (np.where(qi < m, q[np.minimum(qi, m - 1)], -1),
                np.where(ti < n, np.asarray(text[np.minimum(ti, n - 1)], np.int64), -2))

    def query_first(rows: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """Whether each row's suffix sorts at or before the training suffix at ``starts``."""
        out = np.ones(len(rows), bool)  # equal over all m symbols: at or before
        todo = np.arange(len(rows))
        for lo in range(0, m, block):
            qb, tb = block_at(lo, rows[todo], starts[todo])
            diff = qb != tb
            has = diff.any(axis=1)
            r, c = np.flatnonzero(has), diff[has].argmax(axis=1)
            out[todo[has]] = qb[r, c] < tb[r, c]
            todo = todo[~has]
            if len(todo) == 0:
                break
        return out

    def common_prefix(rows: np.ndarray, starts: np.ndarray) -> np.ndarray:
        length = np.zeros(len(rows), np.int64)
        todo = np.arange(len(rows))
        for lo in range(0, m, block):
            qb, tb = block_at(lo, rows[todo], starts[todo])
            run = np.cumprod(qb == tb, axis=1).sum(axis=1)
            length[todo] += run
            todo = todo[run == qb.shape[1]]
            if len(todo) == 0:
                break
        return length

    lo, hi = np.zeros(m, np.int64), np.full(m, n, np.int64)
    while True:  # lower bound of every suffix of the sample, all at once
        act = np.flatnonzero(lo < hi)
        if len(act) == 0:
            break
        mid = (lo[act] + hi[act]) // 2
        first = query_first(act, sa[mid])
        hi[act[first]] = mid[first]
        lo[act[~first]] = mid[~first] + 1
    best = np.zeros(m, np.int64)
    for nb in (lo - 1, lo):  # the suffixes either side of the insertion point
        rows = np.flatnonzero((nb >= 0) & (nb < n))
        if len(rows):
            best[rows] = np.maximum(best[rows], common_prefix(rows, sa[nb[rows]]))
    return best


def novelty_summary(index: NoveltyIndex, pitch_seqs: Sequence[np.ndarray], *, ngram: int = 8) -> dict:
    """Copying statistics of a set of pitch sequences against ``index``.

    ``longest_run``: per sample, the longest run of notes found (maybe transposed) in training;
    ``median_run``/``mean_run``/``max_run`` summarise it; ``ngram_share``: mean share of
    ``ngram``-note windows found in training (samples shorter than ``ngram`` left out; NaN if
    all are); ``n``: samples.
    """
    runs, shares = [], []
    for p in pitch_seqs:
        ms = matching_statistics(index, p)  # once per sample; both numbers derive from it
        runs.append(int(ms.max()) + 1 if len(ms) else (1 if len(p) else 0))
        windows = len(ms) - (ngram - 1) + 1
        shares.append(float(np.mean(ms[:windows] >= ngram - 1)) if windows >= 1 else math.nan)
    r = np.asarray(runs, float)
    s = np.asarray(shares, float)
    ok = ~np.isnan(s)
    return {"median_run": float(np.median(r)) if len(r) else math.nan,
            "mean_run": float(r.mean()) if len(r) else math.nan,
            "max_run": int(r.max()) if len(r) else 0,
            "ngram": ngram, "ngram_share": float(s[ok].mean()) if ok.any() else math.nan,
            "n": len(runs), "longest_run": [int(x) for x in runs]}


# --- musical statistics, two-sample test, diversity -------------------------------------


def score_features(scores: Sequence[symusic.Score]) -> list[dict]:
    """:func:`~.musical.piece_features` of every score."""
    return [piece_features(s) for s in scores]


def _constant(values: Sequence) -> bool:
    """Whether every value (scalar or histogram; NaNs ignored) is the same."""
    m = np.array([np.atleast_1d(np.asarray(v, float)) for v in values])
    m = m[~np.isnan(m).any(axis=1)]
    return bool(len(m) == 0 or np.ptp(m, axis=0).max() < 1e-12)


def two_sample(real_notes: Sequence[np.ndarray], gen_notes: Sequence[np.ndarray], *, folds: int = 5,
               permutations: int = 0, seed: int = 0) -> dict:
    """Classifier two-sample test on note arrays (``NOTE_DTYPE``, seconds) via :func:`crop_features`."""
    xr = np.vstack([crop_features(n) for n in real_notes])
    xg = np.vstack([crop_features(n) for n in gen_notes])
    return classifier_two_sample_test(xr, xg, folds=folds, permutations=permutations, seed=seed)


def diversity(pitch_seqs: Sequence[np.ndarray], *, n: int = 4, draws: int = 2000, seed: int = 0) -> float:
    """Share (0..1) of distinct patterns among ``draws`` ``n``-note interval patterns drawn at random
    (without replacement) from all the samples' windows; fewer windows are all used. NaN if none.

    Drawing a fixed number keeps the value comparable between sets with different note counts
    (e.g. tokenizers); a set that repeats itself, within or across samples, scores low.
    """
    grams = []
    for p in pitch_seqs:
        iv = np.diff(np.asarray(p, np.int64))
        if len(iv) >= n - 1:
            grams.append(np.lib.stride_tricks.sliding_window_view(iv, n - 1))
    if not grams:
        return math.nan
    allg = np.concatenate(grams)
    if len(allg) > draws:
        allg = allg[np.random.default_rng(seed).choice(len(allg), draws, replace=False)]
    return float(len(np.unique(allg, axis=0)) / len(allg))


# --- the suite ---------------------------------------------------------------------------


def _sweep_point(model: str, temperature: float, top_p: float | None, ts: dict, div: float) -> dict:
    return {"model": model, "temperature": float(temperature), "top_p": top_p, "quality": ts["accuracy"],
            "ci_low": ts["ci_low"], "ci_high": ts["ci_high"], "diversity": div}


def quality_diversity_sweep(ckpt: Checkpoint, real: RealCrops, config: SuiteConfig, *, model: str,
                            real_notes: Sequence[np.ndarray] | None = None, reuse: Samples | None = None,
                            log: Log | None = None) -> list[dict]:
    """One point per ``config.sweep`` setting: primed samples at that setting vs the real crops.

    ``quality`` is the two-sample accuracy (0.5 = indistinguishable), ``diversity`` is
    :func:`diversity`. ``reuse`` is a primed set already sampled with the same seed, used for
    its own setting instead of sampling again.
    """
    real_notes = real_notes if real_notes is not None else [extract_notes(s) for s in real.scores]
    points = []
    for t, p in config.sweep:
        top_p = 1.0 if p is None else float(p)
        same = reuse is not None and reuse.settings.get("temperature") == t and reuse.settings.get("top_p") == top_p \
            and not reuse.settings.get("top_k")
        if same:
            s = reuse
        else:
            if log:
                log(f"  sweep: temperature {t:g}" + (f", top-p {top_p:g}" if p is not None else ""))
            s = generate_samples(ckpt, real.primers, real.tokens.shape[1], temperature=float(t), top_p=top_p,
                                 seed=config.seed, batch_size=config.batch_size)
        notes = [extract_notes(sc) for sc in s.scores]
        ts = two_sample(real_notes, notes, folds=config.folds, seed=config.seed)
        div = diversity([pitch_sequence(n) for n in notes], n=config.diversity_n, draws=config.diversity_draws,
                        seed=config.seed)
        points.append(_sweep_point(model, t, p, ts, div))
    return points


def run_suite(ckpt: Checkpoint, cache: TokenCache, split: str = "test", config: SuiteConfig | None = None, *,
              model: str = "generator", log: Log | None = None) -> tuple[dict, EvalSamples]:
    """Samples, musical statistics, novelty, two-sample tests and the sweep (see module docstring).

    Returns the samples (:class:`~.samples.EvalSamples`) and a dict: ``config``, ``n`` (real
    crops), ``musical`` ({set: {feature: {oa, kl, mean_real, mean_gen, diff, n_real, n_gen, constant}}};
    ``constant``: the feature has one value in every piece, real and generated, e.g. rhythm
    under the pitch tokenizer, so its OA of 1 says nothing),
    ``novelty`` ({set: :func:`novelty_summary`} plus ``index``), ``two_sample`` ({set: test
    result}), ``diversity`` ({set: float}), ``sweep`` (points) and ``seconds`` per stage. Sets
    are ``primed`` and ``unconditioned`` (and ``held-out data`` for novelty and diversity).
    """
    config = config or SuiteConfig()
    say = log or (lambda msg: None)
    secs: dict[str, float] = {}
    t = time.perf_counter()

    def lap(name):
        nonlocal t
        now = time.perf_counter()
        secs[name] = round(now - t, 2)
        t = now

    held_out = cache.split(split)
    if len(held_out) == 0:
        raise DataError(f"{cache.root}: the '{split}' split has no pieces to draw samples from")
    say(f"sampling {config.samples} primed and {config.samples} unconditioned continuations of {config.length} tokens")
    ev = make_samples(ckpt, held_out, n=config.samples, length=config.length, primer_len=config.primer_len,
                      temperature=config.temperature, top_k=config.top_k, top_p=config.top_p, seed=config.seed,
                      batch_size=config.batch_size)
    sets = {"primed": ev.primed, "unconditioned": ev.unconditioned}
    lap("sampling")

    say("musical statistics")
    real_feats = score_features(ev.real.scores)
    musical = {}
    for name, s in sets.items():
        gen_feats = score_features(s.scores)
        musical[name] = compare_sets(real_feats, gen_feats)
        for feature, row in musical[name].items():  # same value in every piece of both sets: OA says nothing
            row["constant"] = _constant([f[feature] for f in real_feats + gen_feats])
    lap("musical")

    say("novelty against the train split")
    index, index_path = novelty_index(cache, "train", log=say)
    lap("novelty_index")
    pitches = {REFERENCE: [score_pitches(s) for s in ev.real.scores]}
    pitches.update({name: [score_pitches(sc) for sc in s.scores] for name, s in sets.items()})
    novelty = {name: novelty_summary(index, seqs, ngram=config.ngram) for name, seqs in pitches.items()}
    novelty["index"] = {"path": str(index_path) if index_path else None, "pieces": index.n_pieces,
                        "intervals": index.n_intervals}
    div = {name: diversity(seqs, n=config.diversity_n, draws=config.diversity_draws, seed=config.seed)
           for name, seqs in pitches.items()}
    lap("novelty")

    say("classifier two-sample tests")
    real_notes = [extract_notes(s) for s in ev.real.scores]
    two = {name: two_sample(real_notes, [extract_notes(sc) for sc in s.scores], folds=config.folds,
                            permutations=config.permutations, seed=config.seed) for name, s in sets.items()}
    lap("two_sample")

    points = []
    if config.sweep:
        say(f"quality-diversity sweep over {len(config.sweep)} sampling settings")
        points = quality_diversity_sweep(ckpt, ev.real, config, model=model, real_notes=real_notes, reuse=ev.primed,
                                         log=say)
    lap("sweep")
    return {"config": config.to_dict(), "n": len(ev.real), "musical": musical, "novelty": novelty,
            "two_sample": two, "diversity": div, "sweep": points, "seconds": secs}, ev
