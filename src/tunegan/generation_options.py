"""What to sample, and what may be sampled: :class:`GenerationOptions` (validated on construction,
one-line :class:`~tunegan.errors.MusicOptionError`), the defaults a model adds to them
(:func:`for_model`), and the :class:`Constraints` they set on sampling (:func:`build_constraints`):
the tokens that may never be sampled (padding, BOS), a key's scale mask, the metre constraints (a
forced time signature after every bar line, and no ``Position`` past the end of a bar), keyword
ids and guidance. :mod:`tunegan.generation` samples with them."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from .config import ConfigBase
from .errors import MusicOptionError

MAX_TOKENS = 20_000     # a hard cap on any one sample
DEFAULT_LENGTH = 256    # tokens, when neither length, bars nor seconds is given
MAX_SEED = 2**63 - 1


def _finite(name: str, value: float, lo: float, hi: float, *, lo_open: bool = False) -> None:
    ok = isinstance(value, (int, float)) and math.isfinite(value) and (lo < value if lo_open else lo <= value) \
        and value <= hi
    if not ok:
        lo_text = f"{lo:g} (excluded)" if lo_open else f"{lo:g}"
        raise MusicOptionError(f"{name} must be within {lo_text} and {hi:g} (received {value})")


@dataclass(frozen=True)
class GenerationOptions(ConfigBase):
    """How to sample. Validated on construction (one-line :class:`MusicOptionError`).

    length:          tokens to sample (default 256, or up to 20,000 until ``bars``/``seconds``).
    bars / seconds:  stop once the music (primer included) is this long; the result is cut there.
    temperature, top_k, top_p: see :mod:`tunegan.sampling`.
    key:             e.g. ``"A harmonic minor"``: new notes keep to that scale.
    tempo:           BPM the result is written at (also how ``seconds`` and ``bars`` are measured).
    time_signature:  ``(4, 4)`` or ``"3/4"``: written into the result and held in bar-based models.
    style, mood, guidance: keywords of a conditional model; guidance > 1 = a stronger style.
    mode, density, pace: attributes of a model trained with them (:mod:`tunegan.attributes`):
                     major/minor, low/mid/high, slow/mid/fast; a mood sets the ones left open.
    form:            letters, one per phrase (``"AABA"``, ``"verse-chorus"``; :mod:`tunegan.form`):
                     a returning letter replays its phrase; ``phrase_bars`` bars each (default
                     ``bars / phrases``, else 8 for folk and 4 otherwise).
    variation:       0..1: how many notes of a returning phrase the model re-samples (0 = exact).
    ending:          ``"cadence"`` (the default when the length is in bars: the last bar is the
                     tonic chord, held) or ``"none"`` (stop where the length runs out).
    loop:            the last bar leads back into the first; the result is an exact number of bars.
    repeats:         mix in what followed the same music earlier in the piece, as much as the model's
                     fitted weights say, and let whole bars come back as often as in the style's
                     music (without a form or loop; :mod:`tunegan.repetition`); False = the network alone.
    harmony:         no key struck again while it sounds, and semitone clashes as rare as in the
                     style's music, as the model's fitted guard says (:mod:`tunegan.harmony`).
    hold_tempo:      no ``Tempo`` token is sampled, so the music keeps the tempo it opens with,
                     drawn from the style's prior (always so when ``tempo`` is given).
    """

    length: int | None = None
    bars: int | None = None
    seconds: float | None = None
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    key: str | None = None
    tempo: float | None = None
    time_signature: tuple[int, int] | None = None
    style: tuple[str, ...] = ()
    mood: str | None = None
    mode: str | None = None
    density: str | None = None
    pace: str | None = None
    guidance: float = 1.0
    form: str | None = None
    phrase_bars: int | None = None
    variation: float = 0.0
    ending: str | None = None
    loop: bool = False
    repeats: bool = True
    harmony: bool = True
    hold_tempo: bool = False

    def __post_init__(self):
        from .conditioning import split_words
        from .music import parse_key, parse_tempo, parse_time_signature

        _finite("temperature", self.temperature, 0, 10)
        _finite("top-p", self.top_p, 0, 1, lo_open=True)
        _finite("guidance", self.guidance, 0, 20)
        if not isinstance(self.top_k, int) or self.top_k < 0:
            raise MusicOptionError(f"top-k must be an integer >= 0 (received {self.top_k})")
        if self.length is not None and (not isinstance(self.length, int) or not 1 <= self.length <= MAX_TOKENS):
            raise MusicOptionError(f"length must be within 1 and {MAX_TOKENS} tokens (received {self.length})")
        if self.bars is not None and (not isinstance(self.bars, int) or not 1 <= self.bars <= 256):
            raise MusicOptionError(f"bars must be within 1 and 256 (received {self.bars})")
        if self.seconds is not None:
            _finite("seconds", self.seconds, 0, 600, lo_open=True)
        if self.key is not None:
            parse_key(self.key)
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731  (frozen: normalise once)
        if self.tempo is not None:
            set_("tempo", parse_tempo(self.tempo))
        if self.time_signature is not None:
            set_("time_signature", parse_time_signature(self.time_signature))
        set_("style", tuple(split_words(self.style if not isinstance(self.style, tuple) else list(self.style))))
        if self.mood is not None:
            if not isinstance(self.mood, str):
                raise MusicOptionError(f"mood must be a word like calm (received {self.mood!r})")
            set_("mood", " ".join(self.mood.lower().split()) or None)
        if self.bars is not None and self.seconds is not None:
            raise MusicOptionError("give either bars or seconds for the length, not both")
        from .attributes import check_attribute

        for name in ("mode", "density", "pace"):
            set_(name, check_attribute(name, getattr(self, name)))
        if self.guidance != 1.0 and not self.keywords:
            raise MusicOptionError("guidance strengthens a style or mood: give --style or --mood with it")
        from .form import check_options

        check_options(self, set_)

    @property
    def structured(self) -> bool:
        """Made bar by bar with :mod:`tunegan.form` (form, loop or a closing cadence)."""
        return self.bars is not None and (self.form is not None or self.loop or self.ending != "none")

    @property
    def keywords(self) -> bool:
        return bool(self.style or self.mood or self.mode or self.density or self.pace)

    @property
    def tempo_held(self) -> bool:
        """No ``Tempo`` token may be sampled: a tempo was given, or ``hold_tempo`` asked."""
        return self.hold_tempo or self.tempo is not None


def for_model(model, options: GenerationOptions) -> GenerationOptions:
    """``options`` completed for ``model``: a bar-based model's length in bars (from the form, or
    8 bars when no length is given), the phrase length by style. Form, loop and a cadence ask
    for bar tokens (one-line error otherwise)."""
    from dataclasses import replace

    from .form import DEFAULT_BARS, default_phrase_bars

    tok = model.tokenizer
    if not tok.has_bars:
        for asked, name in ((options.form, "--form"), (options.loop, "--loop"), (options.ending == "cadence", "--ending cadence")):
            if asked:
                tok.require("bars", name)
        return options
    if options.form is not None and options.bars is None:
        size = options.phrase_bars or default_phrase_bars(options.style)
        return replace(options, bars=len(options.form) * size, phrase_bars=size)
    if options.bars is None and options.length is None and options.seconds is None:
        return replace(options, bars=DEFAULT_BARS)
    return options


def check_seed(seed) -> int:
    """A seed as an int within 0..2**63-1 (one-line :class:`MusicOptionError` otherwise)."""
    if isinstance(seed, float) and seed.is_integer():
        seed = int(seed)
    try:
        value = int(str(seed).strip()) if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) else int(seed)
    except ValueError:
        raise MusicOptionError(f"seed must be a whole number (received {seed!r})") from None
    if not 0 <= value <= MAX_SEED:
        raise MusicOptionError(f"seed must be within 0 and 2**63-1 (received {seed})")
    return value


@dataclass
class Constraints:
    """What sampling must respect: ``bias`` float ``(vocab,)`` (0, or -inf for never), ``force``
    ``{previous id: next id}``, keyword ids ``cond`` (``(MAX_KEYWORDS,)`` or None) and guidance."""

    bias: torch.Tensor
    force: dict[int, int] = field(default_factory=dict)
    cond: torch.Tensor | None = None
    guidance: float = 1.0
    repeats: tuple | None = None  # (RepeatModel, weights per matched order, bar recall chances or None), or None
    guard: tuple | None = None    # (GuardTables, tunegan.harmony.StyleGuard), or None

    @property
    def allowed(self) -> torch.Tensor:
        return torch.isfinite(self.bias)


def build_constraints(model, options: GenerationOptions) -> Constraints:
    """The constraints of ``options`` for a loaded :class:`~tunegan.checkpoint.Checkpoint`."""
    from .conditioning import keyword_ids
    from .music import parse_key, scale_pitch_classes

    tok = model.tokenizer
    bias = torch.zeros(tok.vocab_size)
    bias[sorted({tok.pad_id, tok.bos_id})] = float("-inf")
    if options.key:
        tok.require("pitches", "--key")
        pitches = tok.token_pitches()
        allowed = (pitches < 0) | np.isin(pitches % 12, sorted(scale_pitch_classes(*parse_key(options.key))))
        bias[torch.from_numpy(~allowed)] = float("-inf")
    force: dict[int, int] = tok.forced_tokens(options.time_signature) if tok.has_bars else {}
    if tok.own_metre and not tok.has_bars and (options.time_signature is not None or options.bars is not None):
        raise MusicOptionError(f"'{tok.name}' tokens cannot hold a metre or count bars (a token may span a bar "
                               "line): leave --time-signature and --bars out, use --seconds or --length")
    if options.time_signature is not None and tok.has_bars:
        if not tok.metre_supported(options.time_signature):
            n, d = options.time_signature
            raise MusicOptionError(f"time signature {n}/{d} has no token in this model; use one of "
                                   f"{', '.join(tok.config.time_signatures)}")
        bias[torch.as_tensor(tok.metre_tokens(), dtype=torch.long)] = float("-inf")  # the held one is forced
        bias[torch.as_tensor(tok.positions_beyond(options.time_signature), dtype=torch.long)] = float("-inf")
    if options.tempo_held:  # the network may not change the tempo asked (or drawn, with hold_tempo)
        ids = tok.tokens_with_kind("Tempo")
        if len(ids):
            bias[torch.as_tensor(ids, dtype=torch.long)] = float("-inf")
    cond = None
    if options.keywords:
        from .attributes import knows_attributes, wanted

        asked = {k: v for k, v in (("mode", options.mode), ("density", options.density), ("pace", options.pace)) if v}
        attrs = wanted(options.mood, tempo=options.tempo, **asked) if knows_attributes(model) else asked
        cond = keyword_ids(model, style=list(options.style), mood=options.mood, attributes=attrs)
    repeats = None
    if options.repeats and (rm := getattr(model, "repeats", None)) is not None:
        w = rm.sampling_weights(options.style)
        # bars come back as in the style's music, unless a form or a loop says which return
        chances = rm.recall.for_styles(options.style) if rm.recall is not None and options.form is None \
            and not options.loop else None
        if any(w) or chances is not None:
            repeats = (rm, w, chances)
    guard = None
    if options.harmony and (hg := getattr(model, "harmony", None)) is not None:
        from .harmony import guard_tables

        tables, style_guard = guard_tables(tok), hg.for_style(options.style)
        if tables is not None and style_guard.acts:
            guard = (tables, style_guard)
    return Constraints(bias, force, cond, options.guidance, repeats, guard)
