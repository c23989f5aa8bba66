"""How a sample opens and the key and mode it ends in, for :mod:`tunegan.generation`.

:func:`plan_opening` draws, with the sample's seed, whatever the user left open from the
checkpoint's priors for the asked style (:mod:`tunegan.priors`): tempo, metre, the loudness of
starting notes, the note density asked of the network, and the uniform numbers that later pick
the finished sample's key and mode. :func:`finish` then writes the finished sample in the asked
mode or its style's share of modes, and moves it to its style's key in its style's register.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .generation_options import GenerationOptions, check_seed


@dataclass(frozen=True)
class Opening:
    """How one sample opens. ``tempo``/``time_signature``: asked, or drawn from the style's prior
    (``drawn`` says which); ``hold``: the metre stays fixed through the piece; ``velocities``:
    loudness for each starting note (the style's typical loudness), or None; ``key_draw``: the
    uniform number that picks the finished sample's key from the style's prior (None: its key
    stays as sampled); ``key``: the key it was moved to; ``mode``: the mode asked (``--mode``,
    or the one a mood implies) that the finished sample is written in (:func:`to_asked_mode`),
    ``mode_changed``: whether it had to be moved into it; ``mode_draw``: the uniform number that
    decides whether a finished sample of the mode the network makes too often for the style moves
    to the other one (:func:`to_style_mode`); ``density``: the note density the network
    is asked for, drawn from the style's prior for the opening's pace (``drawn`` then holds
    ``"density"``), or None; ``sampled_key``, ``sampled_register``: the key and mean pitch the
    finished sample had before its move to ``key`` (its key by key finding and the mean pitch of
    its first :data:`tunegan.priors.DENSITY_CROP` tokens; what export fits the key weights on,
    :func:`tunegan.priors.fit_key_weights`), set whenever a key is drawn, moved or not."""

    tempo: float | None
    time_signature: tuple[int, int] | None
    hold: bool
    velocities: tuple[int, ...] | None = None
    prior: str | None = None
    drawn: tuple[str, ...] = ()
    key_draw: float | None = None
    key: str | None = None
    mode: str | None = None
    mode_changed: bool = False
    mode_draw: float | None = None
    density: str | None = None
    sampled_key: str | None = None
    sampled_register: float | None = None


def plan_opening(model, options: GenerationOptions, seed: int, n_notes: int = 0) -> Opening:
    """The opening of the sample made with ``seed``: what the user asked, the rest drawn (with the
    seed) from the checkpoint's priors for the asked style (:mod:`tunegan.priors`); without
    priors, just what was asked. With ``n_notes`` starting notes, a loudness for each."""
    from .music import parse_time_signature
    from .priors import choose_prior, density_table, draw, holds_metre

    priors = model.meta.get("priors") or {}
    vocab = model.meta.get("conditions") or {}
    chosen = choose_prior(priors, [*options.style, *([options.mood] if options.mood else [])],
                          dict(zip(vocab.get("keywords", []), vocab.get("categories", []))))
    held = options.time_signature is not None
    if chosen is None or not model.tokenizer.has_bars:
        return Opening(options.tempo, options.time_signature, held, mode=asked_mode(model, options) if not n_notes else None)
    name, prior = chosen
    rng = np.random.default_rng([check_seed(seed), 7])  # its own stream: sampling noise stays as it was
    tempo, ts, drawn = options.tempo, options.time_signature, []
    if tempo is None and (t := draw(prior.get("tempo") or {}, rng)) is not None:
        tempo, drawn = float(t), drawn + ["tempo"]
    if ts is None and (m := draw(prior.get("time_signature") or {}, rng)) is not None:
        ts, drawn = parse_time_signature(m), drawn + ["time_signature"]
    vel = None
    if n_notes and prior.get("velocity"):
        vel = tuple(int(draw(prior["velocity"], rng)) for _ in range(n_notes))
    key_draw, mode_draw, mode = None, None, asked_mode(model, options) if not n_notes else None
    if options.key is None and not n_notes and prior.get("key") and hasattr(model.tokenizer, "transposed"):
        key_draw = float(rng.random())
        if mode is None and hasattr(model.tokenizer, "repitched"):
            mode_draw = float(rng.random())
    density = None
    if _may_draw_density(model, options) and prior.get("density"):
        from .attributes import pace_of

        pace = options.pace or (pace_of(tempo) if tempo is not None else None)
        if (density := draw(density_table(prior, pace), rng)) is not None:
            drawn.append("density")
    return Opening(tempo, ts, held or (ts is not None and holds_metre(prior)), vel, name, tuple(drawn), key_draw,
                   mode=mode, mode_draw=mode_draw, density=density)


def _may_draw_density(model, options: GenerationOptions) -> bool:
    """A density is drawn for a model conditioned on attributes when neither the user nor a mood set one."""
    from .attributes import MOOD_ATTRIBUTES, knows_attributes

    return (options.density is None and "density" not in MOOD_ATTRIBUTES.get(options.mood or "", {})
            and knows_attributes(model))


def asked_mode(model, options: GenerationOptions) -> str | None:
    """``major``/``minor`` when the user set ``mode``, or a mood that implies one, for a model with
    pitch tokens that can be moved (REMI) and no ``key`` given (the key's scale decides); else None."""
    from .attributes import MOOD_ATTRIBUTES

    if options.key is not None or not hasattr(model.tokenizer, "repitched"):
        return None
    return options.mode or MOOD_ATTRIBUTES.get(options.mood or "", {}).get("mode")


def sample_key(tok, new: np.ndarray) -> str | None:
    """The key of sampled tokens as the mood rule hears it (Krumhansl-Schmuckler on the
    duration-weighted pitch classes, :func:`tunegan.data.labels.mode_and_key`); None without notes."""
    from .data.labels import mode_and_key
    from .music.keys import key_label

    score = tok.decode(np.asarray(new, np.int64))
    if not any(len(t.notes) for t in score.tracks):
        return None
    k = mode_and_key(score)
    return key_label(k.tonic, k.mode)


def to_asked_mode(model, opening: Opening, new: np.ndarray) -> tuple[np.ndarray, Opening]:
    """A finished sample written in the mode its opening asks for: when its key (Krumhansl-
    Schmuckler) is in the other mode, the notes move to the parallel key's scale
    (:func:`tunegan.music.keys.parallel_mode_map`). The network alone does not reliably choose
    the mode from the word (docs/results.md); this keeps the promise of ``--mode`` and of moods."""
    from dataclasses import replace

    from .music.keys import parse_key

    if opening.mode is None:
        return new, opening
    tok = model.tokenizer
    found = sample_key(tok, new)
    if found is None or found.endswith(opening.mode):
        return new, opening
    moved = _in_mode(tok, new, parse_key(found)[0], opening.mode)
    return (new, opening) if moved is None else (moved, replace(opening, mode_changed=True))


def _in_mode(tok, new: np.ndarray, tonic: int, mode: str) -> np.ndarray | None:
    """``new`` moved to the scale of ``mode`` on ``tonic`` (:func:`tunegan.music.keys.parallel_mode_map`);
    when key finding still hears the other mode in the result (a short piece may then sound in
    the relative key), the move on each next tonic a fifth away is tried, and the first that
    sounds in ``mode`` is kept (else the first move)."""
    from .music.keys import parallel_mode_map

    first = None
    for t in (tonic, (tonic + 7) % 12, (tonic + 5) % 12):
        moved = tok.repitched(new, parallel_mode_map(t, mode))
        if moved is None:
            continue
        first = moved if first is None else first
        if (sample_key(tok, moved) or "").endswith(mode):
            return moved
    return first


def to_style_mode(model, opening: Opening, new: np.ndarray) -> tuple[np.ndarray, Opening]:
    """A finished sample, when no mode was asked, in the other mode as often as it takes for the
    style's samples to be minor as often as its pieces are, and no more
    (:func:`tunegan.priors.mode_move`, from the network's own minor share in ``meta["modes"]``)."""
    from dataclasses import replace

    from .music.keys import parse_key
    from .priors import mode_move, for_prior

    # the network's own minor share, measured per style; a genre-with-keyword prior takes its genre's
    sampled = for_prior((model.meta.get("modes") or {}).get("sampled_minor") or {}, opening.prior)
    if opening.mode is not None or opening.mode_draw is None or sampled is None:
        return new, opening
    tok = model.tokenizer
    found = sample_key(tok, new)
    if found is None:
        return new, opening
    target = mode_move(model.meta["priors"][opening.prior], float(sampled), found.split()[-1], opening.mode_draw)
    if target is None:
        return new, opening
    moved = _in_mode(tok, new, parse_key(found)[0], target)
    if moved is None:
        return new, opening
    return moved, replace(opening, mode=target, mode_changed=True, drawn=(*opening.drawn, "mode"))


def to_drawn_key(model, opening: Opening, new: np.ndarray) -> tuple[np.ndarray, Opening]:
    """A finished sample moved to the key its opening draws from the style's prior, with the move
    that keeps it in the style's register when the prior has one (:func:`tunegan.priors.key_shift`,
    with the style's key weights from ``meta["keys"]`` when export fitted them; an octave the
    other way if the move leaves the range)."""
    from dataclasses import replace

    from .priors import DENSITY_CROP, key_shift, register_of, for_prior

    if opening.key_draw is None:
        return new, opening
    tok = model.tokenizer
    register = register_of(new[:DENSITY_CROP], tok.token_pitches()) if tok.has_pitches else None
    found = sample_key(tok, new)
    opening = replace(opening, sampled_key=found, sampled_register=register)
    weights = for_prior((model.meta.get("keys") or {}).get("weights") or {}, opening.prior)
    got = key_shift(model.meta["priors"][opening.prior], found, opening.key_draw, register, weights)
    if got is None:
        return new, opening
    shift, key = got
    for s in (shift, shift - 12 if shift > 0 else shift + 12):
        if (moved := tok.transposed(new, s)) is not None:
            return moved, replace(opening, key=key, drawn=(*opening.drawn, "key"))
    return new, opening


def finish(model, opening: Opening, new: np.ndarray) -> tuple[np.ndarray, Opening]:
    """A sampled piece in the asked mode (:func:`to_asked_mode`) or, with none asked, in the
    style's share of modes (:func:`to_style_mode`), then in its style's key (:func:`to_drawn_key`):
    ``(new tokens, opening)``."""
    new, opening = to_asked_mode(model, opening, new)
    new, opening = to_style_mode(model, opening, new)
    return to_drawn_key(model, opening, new)
