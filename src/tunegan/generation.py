"""The one generation path: validated options -> sampling constraints -> tokens, for a batch of primes.

Everything that samples music calls :func:`sample_pieces` or :func:`sample_tokens`: ``tunegan
generate``, the studio, and the evaluation commands, so what is measured is what users get. The
options and the constraints they set (the tokens that may never be sampled, a key's scale mask,
the metre, keywords and guidance) are built in :mod:`tunegan.generation_options`; here are the
stop rule (tokens, bars or seconds), the batched sampling and the primer; how each sample opens
(drawn from its style's priors) and the key and mode it ends in are in
:mod:`tunegan.generation_opening`.

Asking for something the model's representation cannot do is an error, never ignored: ``key``
needs pitch tokens, ``time_signature`` on a bar-based model needs bar tokens.

Randomness: row ``i`` of a batch draws its noise from its own generator seeded with
``seeds[i]``, so a sample is the same whether it is made alone or with others.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import symusic
import torch

from .errors import MusicOptionError, TuneganError
# the options live in generation_options; callers may import them from here (MAX_SEED is only re-exported)
from .generation_options import (DEFAULT_LENGTH, MAX_SEED, MAX_TOKENS, GenerationOptions,  # noqa: F401
                                 build_constraints, check_seed, for_model)
# how a sample opens and the key and mode it ends in live in generation_opening; re-exported here
from .generation_opening import (Opening, asked_mode, finish, plan_opening, sample_key,  # noqa: F401
                                 to_asked_mode, to_drawn_key, to_style_mode)
from .sampling import TokenStream

CHUNK = 64              # tokens sampled between two checks of the stop rule


def _budget(options: GenerationOptions) -> int:
    if options.length is not None:
        return options.length
    return MAX_TOKENS if (options.bars is not None or options.seconds is not None) else DEFAULT_LENGTH


def target_seconds(tok, options: GenerationOptions) -> float | None:
    """Seconds the result is cut at: ``seconds``, or ``bars`` for a representation without bar
    tokens (bars x beats at the asked tempo, 120 BPM by default); None otherwise."""
    if options.seconds is not None:
        return float(options.seconds)
    if options.bars is not None and not tok.has_bars:
        num, den = options.time_signature or (4, 4)
        return options.bars * num * (4 / den) * 60.0 / (options.tempo or 120.0)
    return None


def _length_s(tok, tokens: np.ndarray, tempo: float | None) -> float:
    from .music import extract_notes, set_tempo

    score = tok.decode(tokens)
    notes = extract_notes(score if tempo is None else set_tempo(score, tempo))
    return float(notes["end"].max()) if len(notes) else 0.0


def _stop_at(tok, prime: np.ndarray, new: np.ndarray, options: GenerationOptions, target_s: float | None) -> int | None:
    """How many of ``new`` to keep once the stop rule is met (None: keep sampling)."""
    if options.bars is not None and tok.has_bars and options.seconds is None:
        starts = np.flatnonzero(tok.is_bar(np.concatenate([prime, new])))
        if len(starts) > options.bars:  # cut before the bar that would be bar number bars + 1
            return max(0, int(starts[options.bars]) - len(prime))
        return None
    if target_s is not None and _length_s(tok, np.concatenate([prime, new]), options.tempo) >= target_s:
        return len(new)  # the score itself is cut at the target seconds afterwards
    return None


@torch.no_grad()
def sample_tokens(model, primes: np.ndarray, options: GenerationOptions, seeds: Sequence[int] | int, *,
                  batch_size: int = 256) -> list[np.ndarray]:
    """Continue every row of ``primes`` (int64 ``(n, P)``, P >= 1, each starting with BOS).

    Returns ``n`` int64 arrays of new tokens (primer not included), each cut by the stop rule
    (``length``, ``bars`` or ``seconds`` of ``options``). ``seeds``: one per row, or one int for
    row ``i`` to use ``seed + i``. Runs on the device of ``model.generator``.
    """
    primes = np.atleast_2d(np.asarray(primes, dtype=np.int64))
    n = len(primes)
    seeds = [check_seed(seeds) + i for i in range(n)] if np.isscalar(seeds) else [check_seed(s) for s in seeds]
    if len(seeds) != n:
        raise MusicOptionError(f"{n} primes need {n} seeds (received {len(seeds)})")
    return sample_groups(model, [(primes, options, seeds)], batch_size=batch_size)[0]


@torch.no_grad()
def sample_groups(model, jobs: Sequence[tuple[np.ndarray, GenerationOptions, Sequence[int]]], *,
                  batch_size: int = 256) -> list[list[np.ndarray]]:
    """Several :func:`sample_tokens` calls as one batch: ``jobs`` is a list of ``(primes (n, P),
    options, seeds)``; returns each job's list of new tokens. Jobs may differ in prime length,
    keywords, key, metre and stop rule; those with the same sampling controls (temperature,
    top-k, top-p, guidance) share every sampling step (each primed on its own, then one
    :meth:`~tunegan.sampling.TokenStream.merge`d stream with per-row masks and forced tokens).
    Row r of a job draws with its own seed's generator, so it gets what it would get alone."""
    tok, V = model.tokenizer, model.tokenizer.vocab_size
    specs = []
    for primes, options, seeds in jobs:
        c = build_constraints(model, options)
        target_s = target_seconds(tok, options)
        specs.append((np.atleast_2d(np.asarray(primes, np.int64)), options, list(seeds), c, _budget(options), target_s,
                      options.bars is not None or target_s is not None))
    out: list[list] = [[None] * len(sp[0]) for sp in specs]
    controls: dict = {}
    for j, (_, o, _, c, *_) in enumerate(specs):
        controls.setdefault((o.temperature, o.top_k, o.top_p, c.guidance if c.cond is not None else 1.0), []).append(j)
    for (temperature, top_k, top_p, guidance), js in controls.items():
        rows = [(j, r) for j in js for r in range(len(specs[j][0]))]
        for lo in range(0, len(rows), batch_size):
            chunk = rows[lo:lo + batch_size]
            parts: dict = {}
            for j, r in chunk:
                parts.setdefault(j, []).append(r)
            streams = []
            for j, rs in parts.items():
                primes, _, _, c, *_ = specs[j]
                cond = None if c.cond is None else c.cond.unsqueeze(0).repeat(len(rs), 1)
                streams.append(TokenStream(model.generator, torch.from_numpy(primes[rs]), cond=cond, guidance=guidance,
                                           repeats=c.repeats, guard=c.guard,
                                           guard_seeds=[check_seed(specs[j][2][r]) for r in rs]))
            stream = TokenStream.merge(streams)
            order = [(j, r) for j, rs in parts.items() for r in rs]
            allowed = torch.cat([specs[j][3].allowed.expand(len(rs), V) for j, rs in parts.items()])
            force = [specs[j][3].force for j, _ in order]
            kw = dict(temperature=temperature, top_k=top_k, top_p=top_p, allowed_mask=allowed,
                      rng=[torch.Generator().manual_seed(check_seed(specs[j][2][r])) for j, r in order],
                      force=force if any(force) else None)
            budgets = [specs[j][4] for j, _ in order]
            if not any(specs[j][6] for j in parts) and len(set(budgets)) == 1:
                new = stream.take(budgets[0], **kw).numpy()
                for k, (j, r) in enumerate(order):
                    out[j][r] = new[k]
                continue
            # chunk by chunk until every row has its stop; rows that are done leave the batch
            made = [[] for _ in order]
            keep, left, active = [None] * len(order), max(budgets), list(range(len(order)))
            while left > 0 and active:
                chunk = stream.take(min(CHUNK, left), **kw).numpy()
                left -= chunk.shape[1]
                for a, k in enumerate(active):
                    made[k].append(chunk[a])
                    j, r = order[k]
                    primes, options, _, _, budget, target_s, checks = specs[j]
                    new = np.concatenate(made[k])
                    if checks:
                        keep[k] = _stop_at(tok, primes[r, 1:], new[:budget], options, target_s)
                    if keep[k] is None and len(new) >= budget:
                        keep[k] = budget
                still = [a for a, k in enumerate(active) if keep[k] is None]
                if len(still) < len(active) and still:
                    stream = stream.select(still)
                    kw = _rows_of(kw, still)
                active = [active[a] for a in still]
            for k, (j, r) in enumerate(order):
                new = np.concatenate(made[k]) if made[k] else np.zeros(0, np.int64)
                out[j][r] = new[:keep[k]] if keep[k] is not None else new[:budgets[k]]
    return out


def _rows_of(kw: dict, rows: list[int]) -> dict:
    """:meth:`TokenStream.take` arguments for the batch of ``rows`` only (per-row masks, seeds' generators
    and forced tokens)."""
    out = dict(kw)
    if kw.get("allowed_mask") is not None and kw["allowed_mask"].dim() == 2:
        out["allowed_mask"] = kw["allowed_mask"][rows]
    for name in ("rng", "force"):
        if isinstance(kw.get(name), (list, tuple)):
            out[name] = [kw[name][r] for r in rows]
    return out


def _batched_cadence(options: GenerationOptions, primes, rows, model) -> bool:
    """A piece that only closes on a cadence (no form, no loop) is sampled as one batch up to its
    last bar; the starting music must leave at least that bar and one more to sample."""
    return (options.form is None and not options.loop and options.ending != "none" and options.bars >= 2
            and max(model.tokenizer.count_bars(primes[i][1:]) for i in rows) < options.bars - 1)


MAX_PRIME_TOKENS = 512  # tokens of a primer file's opening that are continued


def prime_tokens(model, *, seed_notes=None, primer=None, tempo: float | None = None,
                 time_signature=None, velocities=None, max_tokens: int = MAX_PRIME_TOKENS) -> np.ndarray:
    """BOS followed by the tokens of the starting notes or of the primer's opening; with neither,
    a bar-based model's opening (bar, metre, tempo) when tempo or time signature is given."""
    tok = model.tokenizer
    body = np.zeros(0, dtype=np.int64)
    if seed_notes is not None and primer is not None:
        raise MusicOptionError("give either starting notes or a primer MIDI file, not both")
    if seed_notes is None and primer is None and tok.has_bars and (tempo is not None or time_signature is not None):
        body = tok.opening_tokens(tempo, time_signature)
    if seed_notes is not None:
        from .music import parse_notes, seed_score

        pitches = parse_notes(seed_notes)
        body = tok.encode(seed_score(pitches, tempo=tempo or 120.0, time_signature=time_signature or (4, 4),
                                     velocity=list(velocities) if velocities else 80))
    elif primer is not None:
        from .data.openings import for_bar_tokens
        from .midi import read_midi, require_pitched_notes

        score = primer if isinstance(primer, symusic.Score) else read_midi(primer)
        name = primer if not isinstance(primer, symusic.Score) else "primer"
        require_pitched_notes(score, str(name))
        try:
            # the rule prepare applies to training pieces: metres without a token rewritten as
            # metres with one (8/4 as two bars of 4/4), the opening at tick 0
            body = tok.encode(for_bar_tokens(score, tok))
        except TuneganError as e:
            raise type(e)(f"{name}: {e}") from None
        body = body[:max_tokens]
    return np.concatenate([[tok.bos_id], body]).astype(np.int64)


def opened_options(model, options: GenerationOptions, opening: Opening) -> GenerationOptions:
    """The options one sample is made with once its opening is planned: its metre held or left
    free, and (attribute models) the pace its drawn tempo implies. ``options`` as :func:`for_model`
    gives them."""
    from dataclasses import replace

    from .attributes import knows_attributes, pace_of

    pace, density = options.pace, options.density
    if knows_attributes(model) and pace is None and opening.tempo is not None:
        pace = pace_of(opening.tempo)
    if knows_attributes(model) and density is None and "density" in opening.drawn:
        density = opening.density
    return replace(options, time_signature=opening.time_signature if opening.hold else None, pace=pace,
                   density=density)


def sample_pieces(model, options: GenerationOptions, seeds: Sequence[int], *, seed_notes=None,
                  primer=None, select=None) -> list[tuple[np.ndarray, np.ndarray, Opening]]:
    """Whole pieces as users get them: for each seed, ``(prime, new tokens, opening)``.

    Each sample opens as asked or as its style opens (:func:`plan_opening`); the starting notes
    (or the primer's opening, or nothing) are primed; all samples are made as one batch where
    their options allow (:func:`sample_groups`). ``prime`` starts with BOS.

    ``select``: a function given every sample's tokens (primer first, no BOS; in seed order)
    that returns the indices of those to keep (e.g. the best candidates by a critic). A piece
    that closes on a cadence is judged on its music before the cadence bar, and only the kept
    ones are closed; the result holds the kept pieces, in the order returned.
    """
    from dataclasses import replace

    options = for_model(model, options)
    n_notes = 0
    if seed_notes is not None:
        from .music import parse_notes

        n_notes = len(parse_notes(seed_notes))
    held = options.time_signature is not None
    openings = [plan_opening(model, options, s, n_notes) if primer is None else
                Opening(options.tempo, options.time_signature, held) for s in seeds]
    primes = [prime_tokens(model, seed_notes=seed_notes, primer=primer, tempo=o.tempo, time_signature=o.time_signature,
                           velocities=o.velocities) for o in openings]
    if options.bars is not None and model.tokenizer.has_bars:
        held_bars = max(model.tokenizer.count_bars(p[1:]) for p in primes)
        if held_bars >= options.bars:
            raise MusicOptionError(f"the starting music already holds {held_bars} bars; ask for more than that "
                                   f"with --bars, or give --length")
        if options.form is not None and held_bars > options.phrase_bars:
            raise MusicOptionError(f"the starting music holds {held_bars} bars, more than a phrase of the form "
                                   f"({options.phrase_bars} bars): give a shorter primer or a larger --phrase-bars")
    groups: dict = {}
    for i, (o, p) in enumerate(zip(openings, primes)):
        own = opened_options(model, options, o)
        groups.setdefault((len(p), own.time_signature, own.pace, own.density), []).append(i)
    new: list = [None] * len(seeds)
    jobs, plain, cadenced = [], [], []  # every group that can is sampled in one batch (sample_groups)
    for (_, metre, pace, density), rows in groups.items():
        opts = replace(options, time_signature=metre, pace=pace, density=density)  # = opened_options
        job = (np.stack([primes[i] for i in rows]), opts, [seeds[i] for i in rows])
        if options.structured and model.tokenizer.has_bars:
            if _batched_cadence(options, primes, rows, model):  # bars 1 .. N-1 in one batch, then each cadence
                cadenced.append((len(jobs), rows, opts))
                jobs.append((job[0], replace(opts, bars=options.bars - 1, ending="none"), job[2]))
            else:
                from .form import sample_structured

                c = build_constraints(model, opts)
                for i in rows:
                    new[i] = sample_structured(model, primes[i], opts, check_seed(seeds[i]), c, max_tokens=MAX_TOKENS)
            continue
        plain.append((len(jobs), rows))
        jobs.append(job)
    got = sample_groups(model, jobs) if jobs else []
    for j, rows in plain:
        for i, add in zip(rows, got[j]):
            new[i] = add
    for j, rows, _ in cadenced:
        for i, add in zip(rows, got[j]):
            new[i] = add
    chosen = list(range(len(seeds))) if select is None else \
        [int(k) for k in select([np.concatenate([p[1:], a]) for p, a in zip(primes, new)])]
    wanted = set(chosen)
    for _, rows, opts in cadenced:
        from .form import close_batch

        rows = [i for i in rows if i in wanted]
        if rows:
            for i, add in zip(rows, close_batch(model, [primes[i] for i in rows], [new[i] for i in rows], opts,
                                                [seeds[i] for i in rows], build_constraints(model, opts))):
                new[i] = add
    return [(primes[i], *finish(model, openings[i], new[i])) for i in chosen]
