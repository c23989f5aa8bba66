"""Fitting the guard: per style, real music's shares against the model's own samples
(:func:`fit_guard`), and what export fits last (:func:`fit_guard_and_boost`). The module's
settings (``FIT_*``, :data:`SPAN_QUANTILE`, :data:`INTERVAL_CAP`, :data:`KEEP_PITCH_MASS`) are read
when a fit runs."""

from __future__ import annotations

import numpy as np

from .bins import ANY_STYLE, KINDS, N_DEGREES, N_INTERVALS, N_SPACING, N_STEPS, N_TAILS
from .clock import guard_tables, start_counts
from .guard import HarmonyGuard

FIT_SAMPLES = 32  # samples per style each of the guard fit's sampling passes makes (fit_guard's default)
FIT_SEED = 0  # the seed of the fit's real pieces and samples (fit_guard's default)
SPAN_QUANTILE = 75  # the compass a style's notes keep to: this percentile of its real openings' compass
MIN_STEPS = 8  # an interval bin the guard's samples made fewer times than this keeps the factor 1
INTERVAL_CAP = 1.0  # the largest interval factor fitted (above 1: bins the samples make too rarely are lifted)
FIT_DEGREES = True  # whether fit_guard fits degree factors (beside the intervals)
FIT_GAPS = False  # and gap factors (tried: no gain on validation, docs/results.md)
FIT_REGISTER = False  # and register factors
FIT_TAILS = False  # and tail factors on the Bar token (a bar's empty tail)
FIT_DURATIONS = False  # and a factor per Duration token
FIT_PAIRS = False  # and a factor per pair of melodic intervals, on samples the intervals and degrees shape
DRAW_SPANS = False  # whether each piece draws its span from the style's real compasses (span_draws)
SPAN_DRAW_QUANTILES = tuple(range(5, 100, 10))  # the compasses stored to draw from: these percentiles
KEEP_PITCH_MASS = False  # whether fitted guards move probability between pitches only (HarmonyGuard.keep_pitch_mass)


def interval_factors(real, made, parts=((0, N_SPACING), (N_SPACING, N_INTERVALS))) -> tuple[float, ...]:
    """Per bin of :func:`interval_bins`: ``min(1, real share / sampled share)``, shares taken
    within the spacing bins and within the step bins (``parts``); 1 where the samples made fewer
    than :data:`MIN_STEPS`. With ``parts=DEGREE_PARTS``, the same for :func:`degree_bins`
    (shares within the major keys and within the minor ones)."""
    real, made = np.asarray(real, np.float64), np.asarray(made, np.float64)
    out = np.ones(len(real))
    for part in (slice(a, b) for a, b in parts):
        r, m = real[part], made[part]
        if r.sum() == 0 or m.sum() == 0:
            continue
        share_r, share_m = r / r.sum(), m / m.sum()
        with np.errstate(divide="ignore", invalid="ignore"):
            f = np.where(m >= MIN_STEPS, np.minimum(INTERVAL_CAP, share_r / share_m), 1.0)
        out[part] = f
    return tuple(round(float(x), 4) for x in out)


DEGREE_PARTS = ((0, 12), (12, N_DEGREES))


def fit_guard(ckpt, cache, *, split: str = "train", samples: int | None = None, length: int = 512, seed: int | None = None,
              max_pieces: int = 400, intervals: bool = True, degrees: bool | None = None) -> HarmonyGuard | None:
    """Per genre and for any style, per kind of :data:`KINDS`: ``min(1, real share / sampled
    share)`` of the note starts of that kind, real from up to ``max_pieces`` pieces of ``split``, sampled from
    ``samples`` pieces of ``length`` tokens the checkpoint makes for the genre (without a guard:
    what the model does on its own). The report also holds, per genre, the share of those
    samples in a minor key (``sampled_minor``, by the prior they drew their opening from: what
    :func:`tunegan.generation.to_style_mode` corrects). With ``intervals``, the interval factors
    (:func:`interval_factors`) too, from as many samples made with the kinds' factors, and with
    ``degrees`` (default :data:`FIT_DEGREES`) the degree factors from the same samples. None for a
    tokenizer without note timing."""
    from ..evaluation.genre_classifier import piece_genres
    from ..evaluation.style import model_keywords
    from ..generation import GenerationOptions, sample_key, sample_pieces

    tables = guard_tables(ckpt.tokenizer)
    if tables is None:
        return None
    samples = FIT_SAMPLES if samples is None else int(samples)
    seed = FIT_SEED if seed is None else int(seed)
    data, genres = cache.split(split), piece_genres(cache, split)
    keywords = set(model_keywords(ckpt, "genre"))
    rng = np.random.default_rng([seed, 41])
    factors, spans, steps, degs, gaps, regs, tails, durs, draws, pairs = {}, {}, {}, {}, {}, {}, {}, {}, {}, {}
    degrees = FIT_DEGREES if degrees is None else degrees
    report = {"split": split, "samples": samples, "length": length, "genres": {}, "sampled_minor": {}}
    pitch_of = ckpt.tokenizer.token_pitches()
    bare = _with_harmony(ckpt, None, modes=False)  # what the model does on its own
    for g in [*sorted(set(genres.tolist()) & keywords), ANY_STYLE]:
        idx = np.flatnonzero(genres == g) if g else np.arange(len(genres))
        if not len(idx):
            continue
        idx = rng.choice(idx, min(max_pieces, len(idx)), replace=False)
        real = start_counts(tables, (data.piece(int(i)) for i in idx))
        # the compass of the style's openings, as long as the samples; notes beyond it counted there
        heads = [data.piece(int(i))[:length] for i in idx]
        compass = [int(q.max() - q.min()) for h in heads if len(q := pitch_of[h][pitch_of[h] >= 0])]
        span = spans[g] = int(np.percentile(compass, SPAN_QUANTILE)) if compass else None
        if DRAW_SPANS and compass:
            draws[g] = tuple(max(1, int(round(x))) for x in np.percentile(compass, SPAN_DRAW_QUANTILES))
        in_heads = start_counts(tables, heads, span)
        real["beyond_span"], real["starts_heads"] = in_heads["beyond_span"], in_heads["starts"]
        opts = GenerationOptions(length=length, style=(g,) if g else ())
        pieces = sample_pieces(bare, opts, [seed + i for i in range(samples)])
        made = start_counts(tables, (np.concatenate([p[1:], t]) for p, t, _ in pieces), span)
        keys = [k for _, t, _ in pieces if (k := sample_key(ckpt.tokenizer, t)) is not None]
        if keys and pieces[0][2].prior is not None:
            report["sampled_minor"][pieces[0][2].prior] = round(float(np.mean([k.endswith("minor") for k in keys])), 4)
        row, f = {"real": {}, "samples": {}}, []
        for k in KINDS:
            r = real[k] / max(real["starts_heads" if k == "beyond_span" else "starts"], 1)
            s = made[k] / max(made["starts"], 1)
            row["real"][k], row["samples"][k] = round(r, 5), round(s, 5)
            f.append(round(min(1.0, r / s), 4) if s > 0 else 1.0)
        factors[g] = tuple(f)
        report["genres"][g or "any"] = row | {"factors": list(f), "span": span} | (
            {"span_draws": list(draws[g])} if g in draws else {})
        if intervals:  # fitted on samples the kinds above already shape, so no kind is counted twice
            kinds_only = HarmonyGuard({g: factors[g]}, {}, {g: span} if span else {},
                                      keep_pitch_mass=KEEP_PITCH_MASS).to_dict()
            shaped = sample_pieces(_with_harmony(ckpt, kinds_only, modes=False), opts,
                                   [seed + samples + i for i in range(samples)])
            made_s = start_counts(tables, (np.concatenate([p[1:], t]) for p, t, _ in shaped), span)
            made_iv = made_s["intervals"]
            steps[g] = interval_factors(real["intervals"], made_iv)
            report["genres"][g or "any"] |= {"intervals": {"real": real["intervals"], "samples": made_iv,
                                                           "factors": list(steps[g])}}
            if degrees:
                degs[g] = tuple(min(1.0, x) for x in interval_factors(real["degrees"], made_s["degrees"], DEGREE_PARTS))
                report["genres"][g or "any"] |= {"degrees": {"real": real["degrees"], "samples": made_s["degrees"],
                                                             "factors": list(degs[g])}}
            # the tables kept off by default, each on the same samples: (setting, key, its dict, parts)
            for on, key, store, parts in ((FIT_GAPS, "gaps", gaps, ((1, tables.n_gaps),)),
                                          (FIT_TAILS, "tails", tails, ((0, N_TAILS),)),
                                          (FIT_DURATIONS, "durations", durs, ((0, len(real["durations"])),)),
                                          (FIT_REGISTER, "register", regs, ((0, len(real["register"])),))):
                if on:
                    store[g] = tuple(min(1.0, x) for x in interval_factors(real[key], made_s[key], parts))
                    report["genres"][g or "any"] |= {key: {"real": real[key], "samples": made_s[key],
                                                           "factors": list(store[g])}}
            if FIT_PAIRS:  # on samples the intervals and degrees shape too, each row of pairs on its own
                shaping = HarmonyGuard({g: factors[g]}, {}, {g: span} if span else {}, {g: steps[g]},
                                       KEEP_PITCH_MASS, {g: degs[g]} if g in degs else {}).to_dict()
                paired = sample_pieces(_with_harmony(ckpt, shaping, modes=False), opts,
                                       [seed + 2 * samples + i for i in range(samples)])
                made_p = start_counts(tables, (np.concatenate([p[1:], t]) for p, t, _ in paired), span)["pairs"]
                rows = tuple((r * N_STEPS, (r + 1) * N_STEPS) for r in range(N_STEPS))
                pairs[g] = tuple(min(1.0, x) for x in interval_factors(real["pairs"], made_p, rows))
                report["genres"][g or "any"] |= {"pairs": {"real": real["pairs"], "samples": made_p,
                                                           "factors": list(pairs[g])}}
    return HarmonyGuard(factors, report, {g: v for g, v in spans.items() if v}, steps, KEEP_PITCH_MASS, degs, gaps,
                        regs, tails, durs, draws, pairs)


def fit_guard_and_boost(ckpt, cache, repeats_cache=None) -> dict:
    """What a checkpoint ships for sampling, fitted last: the guard (:func:`fit_guard` on ``cache``)
    and the network's own minor share per style (``modes``, from the same samples), then, when the
    checkpoint's piece memory has a boost and ``repeats_cache`` is given, the boost again on
    samples the guard and the mode rule shape (what users get). ``ckpt.meta`` must already hold
    the priors and repeats it ships with. Returns the ``meta.json`` entries fitted (``harmony``,
    ``modes``, ``repeats``); empty for a tokenizer without note timing."""
    from ..repetition import RepeatModel, fit_boost

    guard = fit_guard(ckpt, cache)
    if guard is None:
        return {}
    out = {"harmony": guard.to_dict() | {"fitted_on": str(cache.root)}}
    if guard.fit.get("sampled_minor"):
        out["modes"] = {"sampled_minor": guard.fit["sampled_minor"], "samples": guard.fit["samples"],
                        "length": guard.fit["length"]}
    rm, old = ckpt.repeats, ckpt.meta.get("repeats") or {}
    if repeats_cache is None or rm is None or not rm.boost:
        return out
    boost, report = fit_boost(_with_harmony(ckpt, out["harmony"], out.get("modes")), rm, repeats_cache)
    model = RepeatModel(rm.orders, rm.wildcard, rm.weights, rm.recall, boost)
    return out | {"repeats": {**old, **model.to_dict(), "fit": {**(old.get("fit") or {}), "boost": report}}}


def _with_harmony(ckpt, harmony: dict | None, modes: dict | bool | None = True):
    """A shallow copy of a loaded checkpoint with ``meta["harmony"]`` set (None: no guard) and
    ``meta["modes"]`` kept (True), set (a dict) or dropped (False/None: samples keep the network's
    own modes); the network is shared."""
    from copy import copy

    out = copy(ckpt)
    keep = {k: v for k, v in ckpt.meta.items() if k != "harmony" and (k != "modes" or modes is True)}
    out.meta = keep | ({"harmony": harmony} if harmony else {}) | (
        {"modes": modes} if isinstance(modes, dict) else {})
    return out
