"""Do style and mood keywords work? A genre classifier trained on real music judges generated samples.

1. **Classifiers** (:mod:`tunegan.evaluation.genre_classifier`): fitted on real *train* crops of
   every genre, L2 chosen on *validation* crops, accuracy reported once on the evaluation split.
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
from collections.abc import Callable, Sequence

import numpy as np
import symusic

from ..checkpoint import Checkpoint
from ..conditioning import keyword_ids
from ..music.mood import MOODS, mood_signs
from ..data.dataset import TokenCache
from ..data.labels import mood_from_music
from ..errors import DataError, MusicOptionError
from ..music import extract_notes
from .musical import semitone_clash_share
from .suite import two_sample
from .genre_classifier import (FEATURE_NAMES, FEATURE_SETS, L2_GRID, accuracy_table, fit_classifier, piece_genres,
                               real_crop_features, share_ci, style_features)

#: Features whose means are shown per genre, real beside generated (readable without a classifier).
PROFILE = ("velocity_mean", "velocity_std", "log_tempo", "log_notes_per_second", "polyphony", "scale_consistency",
           "pitch_class_entropy", "meter_4")


# --- generated samples ------------------------------------------------------------------------


def generate_scores(ckpt: Checkpoint, n: int, length: int, *, style=None, mood=None, guidance: float = 1.0,
                    temperature: float = 1.0, seed: int = 0, key: str | None = None,
                    top_p: float = 1.0) -> list[symusic.Score]:
    """``n`` pieces of ``length`` tokens from BOS through :func:`tunegan.generation.sample_tokens`,
    the path ``tunegan generate`` takes, openings drawn from the style's priors included (no keywords = the model's unconditional path; ``key``: only
    notes of that key's scale, as ``--key``). Sample ``i`` uses seed ``seed + i``, so every request
    shares its random numbers with the others (common random numbers)."""
    from ..generation import GenerationOptions, sample_pieces

    tok = ckpt.tokenizer
    words = [style] if isinstance(style, str) else list(style or [])
    options = GenerationOptions(length=length, temperature=temperature, top_p=top_p, key=key, style=tuple(words),
                                mood=mood, guidance=guidance)
    # opening, primer and sampling exactly as tunegan generate does them (each length-token piece
    # counts the opening tokens it was primed with, as a user's piece does)
    pieces = sample_pieces(ckpt, options, [int(seed) + i for i in range(n)])
    return [tok.decode(np.concatenate([prime[1:], new])) for prime, new, _ in pieces]


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
        want_v, want_a = mood_signs(target)
        out |= share_ci(sum(r["mood"] == target for r in rows), len(rows))
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
    from ..data.registry import open_source
    from ..errors import TokenizerMismatchError
    from .data import cache_root

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
                 top_p: float = 1.0, genres: Sequence[str] | None = None, moods: Sequence[str] | None = None,
                 train_crops: int = 300, eval_crops: int = 100, l2_grid: Sequence[float] = L2_GRID,
                 mood_by_genre: bool = False, key: str | None = None, device: str | None = "auto",
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
    device: where the generator runs (``auto``, ``cpu``, ``cuda``, ``mps``).
    """
    from ..checkpoint import load_checkpoint

    say = log or (lambda msg: None)
    t0 = time.perf_counter()
    ckpt = load_checkpoint(checkpoint, with_discriminator=False, device=device)
    keyword_ids(ckpt)  # a model trained without keywords: a one-line error
    for w in [*(genres or []), *(moods or [])]:
        keyword_ids(ckpt, style=w)  # an unknown word: a one-line error naming the closest known ones
    from ..generation import GenerationOptions, build_constraints

    build_constraints(ckpt, GenerationOptions(key=key))  # a bad key: a one-line error before any work
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
    te = real_crop_features(cache, split, have, eval_crops, length, seed=seed, with_mood=True, with_notes=True)
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
                     "seed": seed, "temperature": temperature, "top_p": top_p, "train_crops": train_crops, "eval_crops": eval_crops},
        "classifiers": classifiers, "mood_ceiling": share_ci(sum(ceiling), len(ceiling)),
        # per mood label: how often real crops of pieces with that label are heard with that mood
        "mood_ceiling_by_mood": {m: share_ci(sum(c == p for c, p in te["moods"] if p == m),
                                           sum(p == m for _, p in te["moods"])) for m in MOODS},
        "runs": [],
        "real_profile": {g: _profile(te["x"][te["y"] == i]) for i, g in enumerate(have)},
        "real_clash": {g: semitone_clash_share([nt for nt, y in zip(te["notes"], te["y"]) if y == i])
                       for i, g in enumerate(have)},
    }
    say("classifier accuracy on " + split + ": " + ", ".join(f"{k} {v['test']['share']:.3f}"
                                                           for k, v in classifiers.items()))
    n, kw = samples_per_keyword, dict(temperature=temperature, top_p=top_p, seed=seed, key=key)

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
            # realism by style: a fresh classifier tells these samples from real test crops of that genre
            gen_notes = [extract_notes(sc) for sc in scores]
            real_notes = [nt for nt, y in zip(te["notes"], te["y"]) if y == have.index(g)]
            folds = min(5, len(real_notes), len(gen_notes))
            ts = two_sample(real_notes, gen_notes, seed=seed, folds=folds) if folds >= 2 else \
                {"accuracy": math.nan, "ci_low": math.nan, "ci_high": math.nan, "n": len(real_notes) + len(gen_notes)}
            run.setdefault("two_sample", {})[g] = {k: ts[k] for k in ("accuracy", "ci_low", "ci_high", "n")}
            run.setdefault("clash", {})[g] = semitone_clash_share(gen_notes)
            for k, c in counts.items():
                run["style"][k][g] = share_ci(int(c[have.index(g)]), n)
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


def _pct1(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}%"


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
             f"temperature {s['temperature']}" + (f", top-p {s['top_p']}" if s.get("top_p", 1.0) < 1 else "") + (f", every note in {s['key']}" if s.get("key") else "") + ".",
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
        f"{k}: L2 {c['l2']:g} ({', '.join(f'{float(l):g}: {_pct(a)}' for l, a in c['validation_accuracy'].items())})"
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
    if runs and runs[0].get("two_sample"):
        lines += ["", "Realism by style: two-sample accuracy of a fresh classifier telling the samples from real "
                  f"{split} crops of the same genre (50% = indistinguishable), and the share of simultaneous note "
                  "pairs a semitone apart within the octave (harmonic clashes), real beside generated:", "",
                  "| style | " + " | ".join(f"two-sample g={r['guidance']:g}" for r in runs) + " | real clashes | "
                  + " | ".join(f"clashes g={r['guidance']:g}" for r in runs) + " |",
                  "|---" * (2 * len(runs) + 2) + "|"]
        for g in styles:
            cells = [f"{_pct(r['two_sample'][g]['accuracy'])} ({_pct(r['two_sample'][g]['ci_low'])}–"
                     f"{_pct(r['two_sample'][g]['ci_high'])})" for r in runs]
            lines.append(f"| {g} | " + " | ".join(cells) + f" | {_pct1(report['real_clash'][g])} | "
                         + " | ".join(_pct1(r["clash"][g]) for r in runs) + " |")
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
