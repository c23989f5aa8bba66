"""Style priors: how the training pieces of each keyword open (tempo, metre), how loud they play,
which keys they are in, and whether their metre changes inside a piece. Stored in a checkpoint (``meta.json``:
``priors``); generation draws from them when the user leaves tempo or time signature open.

With two keywords, a genre and another (a mood, a form, a metre), the pieces of that genre that
carry the other keyword have a prior of their own (``"pop+melancholy"``), so a melancholy pop
song opens as melancholy pop songs do rather than as the melancholy pieces of every genre
(Nottingham's jigs and Bach's chorales among them). It is stored when at least
:data:`MIN_PIECES` pieces carry both and they are not simply all of either keyword's pieces.

Only for bar-based representations (``tokenizer.has_bars``): the opening is read from a piece's
first ``TimeSig_*`` and ``Tempo_*`` tokens, loudness from its ``Velocity_*`` tokens.

The metre rule: a style holds its metre through a piece unless its training pieces really change
metre: unless, on average over its pieces, at least :data:`METRE_CHANGE_SHARE` of a piece's bars
are in another metre than the piece's most common one (``off_metre_share``). A pop song with one
two-beat bar in a hundred keeps 4/4; a score whose metre changes every few bars may change.
``metre_change_share`` (pieces with two or more metres at all) is reported beside it.

Density: how many notes per quarter the style's music plays at each pace (``{"slow": {"high": n,
...}}``, from up to :data:`DENSITY_CROPS` crops of each piece, as training measures its density
attribute). A model conditioned on attributes is asked for a density drawn from the row of its
opening's pace, unless the user set one or a mood implies one: left to itself the network played
classical music too sparsely for its tempo (``benchmarks/check_realism.py``: onsets 0.33 s apart on
average against 0.19 s in ASAP's crops).

Keys: each training piece's key (Krumhansl-Schmuckler on its pitch-class counts, as written, not
transposed). The generator learned every key (training transposes crops), so generation draws a
key of the sample's own mode from its style's prior and transposes the finished sample to it
(:func:`key_shift`): folk tunes come out in D, G and A as fiddle tunes are, chorales in the keys
Bach wrote in. Never with a key the user gave, nor with starting notes or a primer.

Register: the mean pitch of each training piece's opening (its first :data:`DENSITY_CROP` tokens),
as ``{"mean", "std"}`` per style. Real music keeps its register whatever its key (Bach's four
voices sit where voices sit, in G major as in B-flat), but a move to a drawn key shifts the whole
sample by up to six semitones: the chorales' mean pitch spread 4.0 semitones from sample to sample
after the move against 1.6 in Bach's (2.1 before it). So the key and the octave of the move are
drawn together (:func:`key_shift`): every key of the prior, reached by any of four moves an
octave apart, weighs its count times the normal density of the style's register at the sample's
mean pitch after that move. Every key has as many moves, so a wide register leaves the keys to
their counts, and a sample far from its style's register is moved back towards it, by more than
an octave if need be, as often as the register says. The sample's mean pitch is read on its first
:data:`DENSITY_CROP` tokens, as the prior's is.
Drawn so, the keys a sample can reach in register weigh in beside the counts; export fits a factor
per key (``meta["keys"]``, :func:`fit_keys`) where that takes a style's samples away from its keys.

Modes: left to itself the network made 28% of folk samples minor (``meta["modes"]``) against
12.5% of Nottingham's tunes, and their F and B-flat gave them away (``benchmarks/check_realism.py``). Its
mode keyword hardly changes that. So export measures the network's own minor share per style
(``meta["modes"]``, :func:`tunegan.harmony.fit_guard`), and when no ``--mode`` or mood is asked a
finished sample moves to the parallel key of the other mode with the probability that brings the
style's minor share to its pieces' and changes no more samples than that (:func:`mode_move`):
a style whose samples are minor as often as its pieces are keeps every sample as it is. (Asking
the network for a drawn mode and writing every sample in it moved far more samples, and made pop
and chorale clash more.)
"""

from __future__ import annotations

from collections import Counter

import numpy as np

METRE_CHANGE_SHARE = 0.1   # a style whose bars are off its main metre this often may change it in generation
MIN_PIECES = 5             # a keyword needs this many training pieces for a prior of its own
PAIR = "+"                 # joins a genre and another keyword in a prior's name: "pop+melancholy"
DEFINING = ("form", "meter")  # keyword categories whose prior comes first (they set how a piece opens)
OPENING_TOKENS = 32        # tokens of a piece searched for its opening tempo and metre
DENSITY_CROP = 512         # tokens of each crop whose note density the prior counts
DENSITY_CROPS = 8          # crops per piece at most (evenly spread)
MIN_REGISTER_STD = 1.0     # semitones: the narrowest register a style's prior keeps (a few identical pieces)
REGISTER_OCTAVES = (-2, -1, 0, 1)  # a key d semitones up (0..11) is reached by d + 12 j: these j, as many for every key
KEY_FIT_ROUNDS = 60        # rounds of iterative proportional fitting of the key weights
KEY_WEIGHT_CAP = 8.0       # no key's count is scaled by more than this, or less than its inverse
KEY_FIT_MIN = 100          # samples of a mode needed to fit its keys' weights (fewer: the fit would follow noise)
KEY_FIT_SAMPLES = 1024     # samples per style: the key weights are fitted on one half and kept where the other half says so
KEY_FIT_SEED = 7_000_000   # far from the seeds evaluations use
KEY_FIT_MIN_GAIN = 0.01    # a mode's weights are kept when they bring the held-out half this much nearer the prior (total variation)


def pair_name(genre: str, word: str) -> str:
    """The name of the prior of a genre's pieces that carry ``word`` too."""
    return f"{genre}{PAIR}{word}"


def _kinds(tokenizer) -> tuple:
    """Token id -> metre text, -> tempo (bpm), -> velocity, from the tokenizer's token names, and
    the pitch each token starts (-1: none; None without pitches)."""
    return (tokenizer.tokens_of_kind("TimeSig"), {i: float(v) for i, v in tokenizer.tokens_of_kind("Tempo").items()},
            {i: int(v) for i, v in tokenizer.tokens_of_kind("Velocity").items()},
            tokenizer.token_pitches() if tokenizer.has_pitches else None)


def _pitches(tokens: np.ndarray, pitch_of: np.ndarray) -> np.ndarray:
    """The MIDI pitches of the notes ``tokens`` start (each pitch token one note)."""
    tokens = np.asarray(tokens, np.int64)
    p = pitch_of[tokens[(tokens >= 0) & (tokens < len(pitch_of))]]
    return p[p >= 0]


def piece_key(tokens: np.ndarray, pitch_of: np.ndarray) -> str | None:
    """The key of a piece's tokens (``"D major"``), or None without notes."""
    from .music.keys import find_key, key_label, pitch_class_histogram

    p = _pitches(tokens, pitch_of)
    if len(p) == 0:
        return None
    k = find_key(pitch_class_histogram(p))
    return key_label(k.tonic, k.mode)


def register_of(tokens: np.ndarray, pitch_of: np.ndarray) -> float | None:
    """The mean MIDI pitch of the notes ``tokens`` start, None without notes."""
    p = _pitches(tokens, pitch_of)
    return float(p.mean()) if len(p) else None


def crop_densities(tokens: np.ndarray, piece: int, attributes) -> list[tuple[str, str]]:
    """``(pace, density)`` of up to :data:`DENSITY_CROPS` crops of :data:`DENSITY_CROP` tokens of one
    piece, as training measures them (:class:`~tunegan.attributes.CropAttributes`); crops where
    either is unmeasurable are left out."""
    n = max(1, min(DENSITY_CROPS, len(tokens) // DENSITY_CROP))
    out = []
    for start in np.linspace(0, max(0, len(tokens) - DENSITY_CROP), n).astype(int):
        m = attributes.measure(tokens[start:start + DENSITY_CROP], piece)
        if "pace" in m and "density" in m:
            out.append((m["pace"], m["density"]))
    return out


def piece_facts(tokens: np.ndarray, kinds, vocab_size: int) -> dict:
    """Opening metre and tempo, number of metres used, velocity counts, key and register of one piece's tokens."""
    ts, tempo, vel = kinds[:3]
    pitch_of = kinds[3] if len(kinds) > 3 else None
    head = tokens[:OPENING_TOKENS].tolist()
    first_ts = next((ts[t] for t in head if t in ts), None)
    first_tempo = next((tempo[t] for t in head if t in tempo), None)
    counts = np.bincount(tokens, minlength=vocab_size)
    per_metre = [int(counts[t]) for t in ts if counts[t]]
    off = 1.0 - max(per_metre) / sum(per_metre) if per_metre else 0.0  # a TimeSig token opens every bar
    vels = Counter({vel[t]: int(counts[t]) for t in vel if counts[t]})
    return {"time_signature": first_ts, "tempo": first_tempo, "metres": len(per_metre), "off_metre": off,
            "velocities": vels, "key": piece_key(tokens, pitch_of) if pitch_of is not None else None,
            "register": register_of(tokens[:DENSITY_CROP], pitch_of) if pitch_of is not None else None}


def _summary(facts: list[dict]) -> dict:
    vel: Counter = Counter()
    dens: dict[str, Counter] = {}
    for f in facts:
        vel.update(f["velocities"])
        for pace, d in f.get("densities", ()):
            dens.setdefault(pace, Counter())[d] += 1
    reg = [f["register"] for f in facts if f.get("register") is not None]
    register = ({"mean": round(float(np.mean(reg)), 3),
                 "std": round(max(MIN_REGISTER_STD, float(np.std(reg))), 3)} if reg else {})
    return {"pieces": len(facts),
            "time_signature": dict(Counter(f["time_signature"] for f in facts if f["time_signature"])),
            "tempo": dict(Counter(f"{f['tempo']:g}" for f in facts if f["tempo"] is not None)),
            "metre_change_share": round(float(np.mean([f["metres"] > 1 for f in facts])) if facts else 0.0, 4),
            "off_metre_share": round(float(np.mean([f["off_metre"] for f in facts])) if facts else 0.0, 4),
            "velocity": {str(k): v for k, v in sorted(vel.items())},
            "key": dict(Counter(f["key"] for f in facts if f.get("key"))),
            "register": register,
            "density": {p: dict(sorted(c.items())) for p, c in sorted(dens.items())}}


def opening_priors(cache, vocab: dict | None = None) -> dict:
    """``{"all": prior, keyword: prior...}`` over the train split of a bar-based cache, where a prior
    is ``{pieces, time_signature: {"3/4": n}, tempo: {"90.5": n}, metre_change_share, velocity:
    {"79": n}}``. ``vocab``: the keyword vocabulary (keywords from each piece's labels); without it
    only ``"all"``. Empty dict for a representation without bars."""
    from .conditioning import piece_keywords

    tok = cache.tokenizer
    if not tok.has_bars:
        return {}
    train = cache.split("train")
    kinds = _kinds(tok)
    facts = [piece_facts(train.piece(i), kinds, tok.vocab_size) for i in range(len(train))]
    if tok.has_pitches:
        from .attributes import CropAttributes, piece_mean_tempos

        attrs = CropAttributes({"keywords": []}, tok, piece_mean_tempos(train, tok))
        for i, f in enumerate(facts):
            f["densities"] = crop_densities(train.piece(i), i, attrs)
    out = {"all": _summary(facts)}
    if vocab:
        known = set(vocab.get("keywords", []))
        by_kw: dict[str, list[dict]] = {}
        for f, labels in zip(facts, cache.piece_labels("train")):
            for _, w in piece_keywords(labels):
                if w in known:
                    by_kw.setdefault(w, []).append(f)
        out.update({w: _summary(fs) for w, fs in sorted(by_kw.items()) if len(fs) >= MIN_PIECES})
        # a genre with another keyword ("pop+melancholy"): the pieces that carry both, where they are
        # enough and differ from either word's own pieces (all chorales are baroque: no "chorale+baroque");
        # with a form or metre also when they are all of the genre's ("chorale+4/4"), since such a word's
        # own prior comes first in choose_prior and would otherwise stand for every genre in that metre
        by_pair: dict[tuple[str, str], list[dict]] = {}
        defining: set[str] = set()
        for f, labels in zip(facts, cache.piece_labels("train")):
            words = [(c, w) for c, w in piece_keywords(labels) if w in known]
            defining.update(w for c, w in words if c in DEFINING)
            for g in (w for c, w in words if c == "genre"):
                for w in (w for c, w in words if c != "genre"):
                    by_pair.setdefault((g, w), []).append(f)
        for (g, w), fs in sorted(by_pair.items()):
            if len(fs) >= MIN_PIECES and len(fs) < len(by_kw[w]) and (len(fs) < len(by_kw[g]) or w in defining):
                out[pair_name(g, w)] = _summary(fs)
    return out



def choose_prior(priors: dict, words: list[str], categories: dict[str, str] | None = None) -> tuple[str, dict] | None:
    """The most specific prior for ``words``, else ``"all"``; None when the checkpoint has no priors.

    A form or a metre sets how a piece opens more than anything else asked with it, so a prior of
    a form or metre word comes first: a genre's pieces in it (``"pop+3/4"``) when they are fewer
    than the genre's, else the word's own (``"jig"``) unless a genre asked has its own pieces in it
    (all chorales are in 4/4: ``"chorale, 4/4"`` keeps to chorales). Then the pieces of a genre
    that carry another of the words (``"pop+melancholy"``: melancholy pop, not the melancholy music
    of every genre); then the keyword with the fewest training pieces ("waltz" over "folk"). Within
    each, the prior with the fewest pieces. ``categories``: each keyword's category
    (``model.conditions``); without it no word counts as a form or metre."""
    if not priors:
        return None
    defining = {w for w in words if (categories or {}).get(w) in DEFINING}
    have = []
    for a in words:
        for b in words:
            if a != b and (n := pair_name(a, b)) in priors:
                more = a not in priors or priors[n]["pieces"] < priors[a]["pieces"]
                have.append((1 if b not in defining else 0 if more else 2, priors[n]["pieces"], n))
        if a in priors:
            own = a in defining and not any(pair_name(g, a) in priors for g in words)
            have.append((0 if own else 2, priors[a]["pieces"], a))
    name = min(have)[2] if have else "all"
    return name, priors[name]


def density_table(prior: dict, pace: str | None) -> dict[str, int]:
    """The ``{density: count}`` row of ``prior`` for ``pace`` (all paces pooled when it is None or
    has no row)."""
    rows = prior.get("density") or {}
    if pace in rows:
        return rows[pace]
    out: Counter = Counter()
    for row in rows.values():
        out.update(row)
    return dict(out)


def minor_share(prior: dict) -> float | None:
    """Share of a prior's pieces in a minor key, None without keys."""
    keys = prior.get("key") or {}
    total = sum(keys.values())
    return sum(n for k, n in keys.items() if k.endswith("minor")) / total if total else None


def mode_move(prior: dict, sampled_minor: float, found: str, u: float) -> str | None:
    """The mode a finished sample in mode ``found`` moves to (None: it stays), by the uniform ``u``,
    when the model's samples are minor ``sampled_minor`` of the time and the prior's pieces
    :func:`minor_share`: the least moving that makes the two shares equal (a minor sample moves to
    major with probability ``(q - r) / q`` when ``q > r``; a major one to minor with ``(r - q) /
    (1 - q)`` when ``q < r``)."""
    r, q = minor_share(prior), float(sampled_minor)
    if r is None:
        return None
    if found == "minor" and q > r and u < (q - r) / q:
        return "major"
    if found == "major" and q < r and u < (r - q) / (1 - q):
        return "minor"
    return None


def draw(table: dict[str, int], rng: np.random.Generator) -> str | None:
    """One key of a ``{value: count}`` table, drawn in proportion to its count."""
    if not table:
        return None
    keys = list(table)
    p = np.array([table[k] for k in keys], dtype=np.float64)
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


def holds_metre(prior: dict) -> bool:
    """The metre rule (module docstring)."""
    return float(prior.get("off_metre_share", prior.get("metre_change_share", 0.0))) < METRE_CHANGE_SHARE


def _pick(weights, u: float) -> int:
    """The index the uniform ``u`` draws from ``weights`` (an inverse CDF)."""
    c = np.cumsum(np.asarray(weights, dtype=np.float64))
    return min(int(np.searchsorted(c, u * c[-1], side="right")), len(c) - 1)


def _key_moves(prior: dict, found: str | None, register: float | None, weights: dict | None):
    """``(keys, moves, w)`` of :func:`key_shift`: the prior's keys of ``found``'s mode, the moves
    ``(key index, semitones)`` that reach them, and each move's (unnormalised) weight; None when
    there is no key to move to."""
    from .music.keys import parse_key

    table = {k: n for k, n in (prior.get("key") or {}).items() if found and k.endswith(found.split()[-1]) and n > 0}
    if not found or not table:
        return None
    keys = sorted(table)
    count = [float(table[k]) * float((weights or {}).get(k, 1.0)) for k in keys]
    home = parse_key(found)[0]
    ups = [(parse_key(k)[0] - home) % 12 for k in keys]
    reg = prior.get("register") or {}
    if register is None or not reg:
        return keys, [(i, up - 12 if up > 5 else up) for i, up in enumerate(ups)], np.array(count)
    mean, std = float(reg["mean"]), max(float(reg["std"]), MIN_REGISTER_STD)
    moves = [(i, up + 12 * j) for i, up in enumerate(ups) for j in REGISTER_OCTAVES]
    z = (register + np.array([s for _, s in moves], np.float64) - mean) / std
    logw = np.log([count[i] for i, _ in moves]) - 0.5 * z * z
    w = np.exp(logw - logw.max())
    return keys, moves, np.where(w < 1e-9, 0.0, w)  # over 6.4 register widths away: never


def key_shift(prior: dict, found: str | None, u: float, register: float | None = None,
              weights: dict | None = None) -> tuple[int, str] | None:
    """``(semitones, key)`` that move a finished sample in key ``found`` (``"C major"``) to a key of
    its mode drawn (by the uniform ``u``) from ``prior["key"]``. Without a ``register`` (the sample's
    mean pitch) or a prior ``"register"``: the key by its count, reached by the smallest move,
    -6..+5. With both: the key and the move are drawn together among every key of the prior and
    every move that reaches it within two octaves down and one up (:data:`REGISTER_OCTAVES`, so
    four moves a key), each weighing the key's count times the normal density of the style's
    register at the sample's mean pitch after the move (the module docstring). ``weights``
    (``{key: factor}``, :func:`fit_key_weights`) multiply the counts. None when the prior has no
    key of that mode or the sample has no key (no notes)."""
    got = _key_moves(prior, found, register, weights)
    if got is None:
        return None
    keys, moves, w = got
    i, shift = moves[_pick(w, u)]
    return shift, keys[i]


def key_chances(prior: dict, found: str | None, register: float | None = None,
                weights: dict | None = None) -> dict[str, float]:
    """The probability of each key :func:`key_shift` moves such a sample to (over its uniform
    number); empty when it would not move it."""
    got = _key_moves(prior, found, register, weights)
    if got is None:
        return {}
    keys, moves, w = got
    out = np.zeros(len(keys))
    np.add.at(out, [i for i, _ in moves], w)
    return {k: float(x) for k, x in zip(keys, out / out.sum())}


def mode_keys(prior: dict, mode: str) -> list[str]:
    """The keys of ``mode`` (``major``/``minor``) the prior counts pieces in."""
    return [k for k, n in (prior.get("key") or {}).items() if k.endswith(mode) and n > 0]


def key_miss(prior: dict, seen, keys, weights: dict | None = None) -> float:
    """Total variation between the prior's shares of ``keys`` (one mode's) and the keys
    :func:`key_shift` ends the samples ``seen`` in (expected over its uniform number)."""
    total = sum(prior["key"][k] for k in keys)
    got = dict.fromkeys(keys, 0.0)
    for f, r in seen:
        for k, p in key_chances(prior, f, r, weights).items():
            got[k] = got.get(k, 0.0) + p / len(seen)
    return 0.5 * sum(abs(got.get(k, 0.0) - prior["key"][k] / total) for k in keys)


def fit_key_weights(prior: dict, seen, *, rounds: int = KEY_FIT_ROUNDS, cap: float = KEY_WEIGHT_CAP,
                    min_samples: int = KEY_FIT_MIN) -> dict[str, float]:
    """Factors on the prior's key counts that make :func:`key_shift` end the samples ``seen``
    (``(found key, register)`` of each finished sample before its move) in each key of their mode
    as often as the prior's pieces are in it (iterative proportional fitting on
    :func:`key_chances`; within a mode the factors keep a geometric mean of 1, each within
    ``[1/cap, cap]``). The draw weighs a key by its count and by how near the move leaves the
    sample to the style's register, so without them the keys a sample can reach in register, not
    the prior, set how often each key comes out: the network's minor chorales moved to D minor
    more often, and to A minor and G minor less often, than Bach wrote in them. Keys of a mode
    fewer than ``min_samples`` samples are in keep factor 1."""
    weights = {k: 1.0 for k, n in (prior.get("key") or {}).items() if n > 0}
    for mode in ("major", "minor"):
        obs = [(f, r) for f, r in seen if f and f.endswith(mode)]
        keys = mode_keys(prior, mode)
        if len(obs) < max(1, min_samples) or not keys:
            continue
        total = sum(prior["key"][k] for k in keys)
        target = {k: prior["key"][k] / total * len(obs) for k in keys}
        for _ in range(rounds):
            got: Counter = Counter()
            for f, r in obs:
                got.update(key_chances(prior, f, r, weights))
            logs = {k: np.log(weights[k] * (target[k] / got[k] if got[k] > 0 else cap)) for k in keys}
            centre = float(np.mean(list(logs.values())))
            for k in keys:
                weights[k] = float(np.clip(np.exp(logs[k] - centre), 1.0 / cap, cap))
    return {k: round(w, 4) for k, w in sorted(weights.items())}


def for_prior(table: dict, name: str | None):
    """``table``'s entry for the prior ``name``; a genre-with-keyword prior (``"pop+melancholy"``)
    takes its genre's when it has none of its own (as for the minor share and the key weights)."""
    return table.get(name, table.get(str(name).split(PAIR)[0]))


def check_key_weights(keys: dict) -> None:
    """Raise :class:`~tunegan.errors.CheckpointError` unless ``meta["keys"]["weights"]`` holds,
    per prior, positive finite factors by key."""
    from .errors import CheckpointError

    table = (keys.get("weights") or {}) if isinstance(keys, dict) else None
    try:
        bad = not isinstance(table, dict) or any(
            not (np.isfinite(float(x)) and float(x) > 0) for w in table.values() for x in w.values())
    except (TypeError, ValueError, AttributeError):
        bad = True
    if bad:
        raise CheckpointError("'keys' weights must map each prior to positive factors by key")


def fit_keys(ckpt, *, samples: int | None = None, length: int = 512, seed: int = KEY_FIT_SEED,
             say=None) -> dict:
    """``meta["keys"]`` for a checkpoint as it ships (its priors, guard, modes and memory in
    ``ckpt.meta``): per style prior, the key weights (:func:`fit_key_weights`) for the samples it
    makes for each genre, each mood and no keyword (``samples`` pieces of ``length`` tokens each,
    :data:`KEY_FIT_SAMPLES`). They are fitted on the first half of the samples, and a mode's
    weights are kept only when they bring the second half's keys at least
    :data:`KEY_FIT_MIN_GAIN` nearer the prior's (total variation, :func:`key_miss`): a miss of a
    few hundredths is the samples' own noise, and weights fitted to it move other samples further
    from the prior, not nearer. The report holds both halves' misses before and after. A style
    without a prior of its own (one that falls back to another's) is left out; empty for a model
    whose samples do not move key."""
    from .evaluation.style import model_keywords
    from .generation import GenerationOptions, sample_pieces

    samples = KEY_FIT_SAMPLES if samples is None else int(samples)
    priors = ckpt.meta.get("priors") or {}
    asks = [{"style": (g,)} for g in model_keywords(ckpt, "genre")] + [{"mood": m} for m in model_keywords(ckpt, "mood")]
    weights, report = {}, {}
    for ask in [*asks, {}]:
        word = ask["style"][0] if "style" in ask else ask.get("mood")
        pieces = sample_pieces(ckpt, GenerationOptions(length=length, **ask), [seed + i for i in range(samples)])
        ops = [o for _, _, o in pieces if o.key_draw is not None and o.sampled_key is not None]
        if not ops or ops[0].prior not in priors or (word is not None and ops[0].prior != word) or ops[0].prior in report:
            continue
        name, prior = ops[0].prior, priors[ops[0].prior]
        seen = [(o.sampled_key, o.sampled_register) for o in ops]
        fit, held = seen[: len(seen) // 2], seen[len(seen) // 2:]
        w = fit_key_weights(prior, fit, min_samples=KEY_FIT_MIN)
        row = {}
        for mode in ("major", "minor"):
            keys = mode_keys(prior, mode)
            halves = {h: [x for x in obs if x[0].endswith(mode)] for h, obs in (("fit", fit), ("held_out", held))}
            if not keys or not all(halves.values()):
                continue
            miss = {h: {"before": round(key_miss(prior, o, keys), 4), "after": round(key_miss(prior, o, keys, w), 4)}
                    for h, o in halves.items()}
            kept = miss["held_out"]["before"] - miss["held_out"]["after"] >= KEY_FIT_MIN_GAIN
            if not kept:
                w = {k: (1.0 if k in keys else x) for k, x in w.items()}
            row[mode] = {"samples": {h: len(o) for h, o in halves.items()}, "total_variation": miss, "kept": kept}
        report[name] = row
        if any(x != 1.0 for x in w.values()):  # a style whose samples already keep to its keys stores none
            weights[name] = w
        if say:
            say(f"keys of {name or 'any style'}: " + "; ".join(
                f"{m} held out {r['total_variation']['held_out']['before']:.3f} -> "
                f"{r['total_variation']['held_out']['after']:.3f} ({'kept' if r['kept'] else 'not kept'})"
                for m, r in row.items()))
    if not report:
        return {}
    return {"weights": weights, "samples": samples, "length": length, "seed": seed, "fit": report}
