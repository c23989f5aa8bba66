"""benchmarks/check_realism.py with one generation rule changed for the run, for rules tried and
dropped on validation (docs/results.md, "Session of 2026-12-03 (eighth)"):

    python main/docs/results/check_realism_variant.py VARIANT [check_realism.py arguments]
    python main/docs/results/check_realism_variant.py VARIANT check_style_repeats.py [its arguments]

* ``key-first``: the key drawn from the style's prior alone (the smallest move), then the move up
  or down whichever lands the sample's mean pitch nearer the style's register (instead of drawing
  key and move together, :func:`tunegan.priors.key_shift`);
* ``denser``: every note density drawn for a sample one bin denser (low -> mid, mid -> high);
* ``denser-classical``: the same for classical samples only;
* ``voices4``: no pitch that is not sounding starts while four notes sound (the four voices of a
  chorale), as a factor of 1e-4 on top of the guard's (a sounding pitch keeps the guard's re-strike
  factor);
* ``no-key-move``: a finished sample stays in the key the network wrote it in;
* ``hold-tempo``: no ``Tempo`` token is sampled, so every sample keeps its opening's tempo;
* ``joint-opening``: tempo and metre drawn together, as one of the style's train openings
  (``--data``'s train split), instead of each from its own count; the density asked is drawn again
  for the pace of that tempo;
* ``chorale-guidance-G``, ``classical-guidance-G`` (G = 0.5, 0.75, 1.25, 1.5): that style's samples at classifier-free guidance G;
* ``chorale-twice``: ``--style chorale`` puts the chorale keyword in two slots, as JSB's labels
  (genre chorale, form chorale) put it in every chorale the network learned from;
* ``no-guard`` / ``no-repeats``: sampling without the harmony guard / without the repeat memory
  (``harmony=False`` / ``repeats=False``, as ``--no-harmony`` / ``--no-repeats``);
* ``sir-N`` (N = 2..16): of N candidates, one drawn with probability proportional to exp(its
  critic logit), the critic's estimate of p_real / p_generated (sampling-importance resampling, the
  soft form of discriminator rejection sampling and of residual energy-based models);
* ``best-of-N`` (N = 2..16): every sample is the one of N candidates the checkpoint's critic finds
  most real, as ``generate --candidates N`` chooses (candidate j of sample i uses seed
  ``seed + i + n * j``, so candidate 0 is the plain sample).
"""

import runpy
import sys
from pathlib import Path

import numpy as np

import tunegan.harmony.batch as batch
import tunegan.priors as priors


def key_first():
    plain = priors.key_shift

    def shift(prior, found, u, register=None):
        got = plain(prior, found, u)
        reg = prior.get("register") or {}
        if got is None or register is None or not reg or got[0] == 0:
            return got
        s, k = got
        alt = s + 12 if s < 0 else s - 12
        return min((s, alt), key=lambda x: abs(register + x - reg["mean"])), k
    priors.key_shift = shift


def denser():
    plain, up = priors.density_table, {"low": "mid", "mid": "high", "high": "high"}

    def table(prior, pace):
        out = {}
        for k, n in plain(prior, pace).items():
            out[up[k]] = out.get(up[k], 0) + n
        return out
    priors.density_table = table


def denser_for(style: str = "classical"):
    """``denser-classical``: the density drawn for a sample of that style one bin denser (low ->
    mid, mid -> high), every other style as shipped."""
    from dataclasses import replace

    import tunegan.generation as generation

    plain, up = generation.plan_opening, {"low": "mid", "mid": "high", "high": "high"}

    def plan(model, options, seed, n_notes=0):
        o = plain(model, options, seed, n_notes)
        return replace(o, density=up[o.density]) if style in options.style and o.density in up else o
    generation.plan_opening = plan


def voices4(voices=4):
    plain = batch.Guards._pitch_multipliers

    def limited(self, rows):
        m = plain(self, rows)
        sound = self.ends[rows] > self.now[rows, None]
        waiting = np.flatnonzero(self.pending[rows] >= 0)
        sound[waiting, self.pending[rows][waiting]] = True
        full = sound.sum(1) >= voices
        if not full.any():
            return m
        m = np.ones(sound.shape) if m is None else m
        return np.where(full[:, None] & ~sound, m * 1e-4, m)
    batch.Guards._pitch_multipliers = limited


def no_key_move():
    priors.key_shift = lambda prior, found, u, register=None: None


def hold_tempo():
    import tunegan.generation as generation

    plain = generation.build_constraints

    def held(model, options):
        c = plain(model, options)
        ids = list(model.tokenizer.tokens_of_kind("Tempo"))
        if ids:
            c.bias[ids] = float("-inf")
        return c
    generation.build_constraints = held


def joint_opening():
    from dataclasses import replace

    import tunegan.generation as generation
    from tunegan.attributes import pace_of
    from tunegan.data.dataset import TokenCache
    from tunegan.evaluation.genre_classifier import piece_genres
    from tunegan.music import parse_time_signature

    cache = TokenCache(sys.argv[sys.argv.index("--data") + 1])
    train, genres = cache.split("train"), piece_genres(cache, "train")
    kinds = priors._kinds(cache.tokenizer)
    pairs: dict = {}
    for k in range(len(train)):
        f = priors.piece_facts(np.asarray(train.piece(k)), kinds, cache.tokenizer.vocab_size)
        if f["tempo"] is not None and f["time_signature"]:
            pairs.setdefault(genres[k], []).append((float(f["tempo"]), f["time_signature"]))
    plain = generation.plan_opening

    def joint(model, options, seed, n_notes=0):
        o = plain(model, options, seed, n_notes)
        style = next((w for w in options.style if w in pairs), None)
        if style is None or options.tempo is not None or options.time_signature is not None:
            return o
        rng = np.random.default_rng([seed, 99])
        tempo, metre = pairs[style][int(rng.integers(len(pairs[style])))]
        density = o.density
        if "density" in o.drawn:
            prior = priors.choose_prior(model.meta["priors"], list(options.style))[1]
            density = priors.draw(priors.density_table(prior, pace_of(tempo)), rng)
        return replace(o, tempo=tempo, time_signature=parse_time_signature(metre), density=density)
    generation.plan_opening = joint


def best_of(n_candidates: int, soft: bool = False):
    import tunegan.evaluation.style as style_eval
    from tunegan.checkpoint import load_critic
    from tunegan.generation import GenerationOptions, sample_pieces
    from tunegan.training.critic import score_tokens

    critics: dict = {}

    def generate_scores(ckpt, n, length, *, style=None, mood=None, guidance=1.0, temperature=1.0, seed=0, key=None,
                        top_p=1.0):
        if str(ckpt.path) not in critics:
            critics[str(ckpt.path)] = load_critic(ckpt.path)
        critic, info = critics[str(ckpt.path)]
        tok = ckpt.tokenizer
        words = [style] if isinstance(style, str) else list(style or [])
        options = GenerationOptions(length=length, temperature=temperature, top_p=top_p, key=key, style=tuple(words),
                                    mood=mood, guidance=guidance)

        def best(tokens):  # sample i's candidates are i, i + n, ...
            scores = score_tokens(critic, int(info["seq_len"]), tok.vocab_size, tokens, tok.pad_id)
            if soft:  # importance resampling: candidate j with probability exp(logit_j) / sum, the critic's density ratio
                out = []
                for i in range(n):
                    z = np.array([scores[i + n * j] for j in range(n_candidates)])
                    w = np.exp(z - z.max())
                    u = np.random.default_rng([int(seed), i, 29]).random()
                    out.append(i + n * int(min(np.searchsorted(np.cumsum(w / w.sum()), u), n_candidates - 1)))
                return out
            return [i + n * max(range(n_candidates), key=lambda j: (scores[i + n * j], -j)) for i in range(n)]
        seeds = [int(seed) + i + n * j for j in range(n_candidates) for i in range(n)]
        pieces = sample_pieces(ckpt, options, seeds, select=best)
        return [tok.decode(np.concatenate([prime[1:], new])) for prime, new, _ in pieces]
    style_eval.generate_scores = generate_scores


def doubled(words=("chorale",)):
    """``chorale-twice``: a style word that JSB's labels give twice (genre and form) gets its id in
    two slots, as every chorale the network trained on had them when no dropout took one."""
    import tunegan.conditioning as conditioning

    plain = conditioning.keyword_ids

    def ids(model, *, style=None, mood=None, attributes=None):
        out = plain(model, style=style, mood=mood, attributes=attributes)
        known = list((model.meta.get("conditions") or {}).get("keywords", []))
        for w in conditioning.split_words(style):
            if w in words and w in known:
                free = [i for i in range(len(conditioning.CATEGORIES)) if out[i] == 0]
                if free:
                    out[free[0]] = known.index(w) + 1
        return out
    conditioning.keyword_ids = ids


def style_guidance(strength: float, style: str = "chorale"):
    """``chorale-guidance-G``: samples asked for that style alone are made at classifier-free
    guidance G instead of style-eval's (1: the conditional model; below 1 it leans towards the
    unconditioned one, above 1 away from it); every other ask as shipped."""
    import tunegan.evaluation.style as style_eval

    plain = style_eval.generate_scores

    def generate_scores(ckpt, n, length, *, style=None, guidance=1.0, **kw):
        return plain(ckpt, n, length, style=style, guidance=strength if style == style_name else guidance, **kw)
    style_name = style
    style_eval.generate_scores = generate_scores


def without(option: str):
    from dataclasses import replace

    import tunegan.generation as generation

    plain = generation.build_constraints
    generation.build_constraints = lambda model, options: plain(model, replace(options, **{option: False}))


VARIANTS = {"key-first": key_first, "denser": denser, "denser-classical": denser_for, "voices4": voices4, "no-key-move": no_key_move,
            "hold-tempo": hold_tempo, "joint-opening": joint_opening,
            "chorale-twice": doubled,
            **{f"{st}-guidance-{g}": (lambda g=g, st=st: style_guidance(float(g), st)) for st in ("chorale", "classical")
               for g in ("0.5", "0.75", "1.25", "1.5")}, "no-guard": lambda: without("harmony"), "no-repeats": lambda: without("repeats"),
            **{f"best-of-{k}": (lambda k=k: best_of(k)) for k in range(2, 17)},
            **{f"sir-{k}": (lambda k=k: best_of(k, soft=True)) for k in range(2, 17)}}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in VARIANTS:
        raise SystemExit(f"usage: {sys.argv[0]} {{{','.join(VARIANTS)}}} [SCRIPT.py] [the benchmark's arguments]")
    VARIANTS[sys.argv[1]]()
    bench = Path(__file__).resolve().parents[2] / "benchmarks"
    sys.path.insert(0, str(bench))
    # the benchmark run with the variant in place: check_realism.py, or another one named first
    script, rest = ((sys.argv[2], sys.argv[3:]) if len(sys.argv) > 2 and sys.argv[2].endswith(".py")
                    else ("check_realism.py", sys.argv[2:]))
    sys.argv = [script, *rest]
    runpy.run_path(str(bench / script), run_name="__main__")
