"""The fitted guard a checkpoint ships (:class:`HarmonyGuard`): per style, its factors and tables,
read and checked from ``meta.json``."""

from __future__ import annotations

from dataclasses import dataclass, field

from .bins import ANY_STYLE, KINDS, N_DEGREES, N_INTERVALS, N_PAIRS, N_TAILS

MAX_INTERVAL_FACTOR = 4.0  # the largest a checkpoint may store


@dataclass(frozen=True)
class StyleGuard:
    """One style's guard as sampling reads it (:meth:`HarmonyGuard.for_style`): the factors per kind
    of :data:`KINDS`, the span, and the tables (None: that table is off)."""

    factors: tuple[float, ...]
    span: int | None = None
    intervals: tuple[float, ...] | None = None
    degrees: tuple[float, ...] | None = None
    gaps: tuple[float, ...] | None = None
    register: tuple[float, ...] | None = None
    keep_pitch_mass: bool = False
    tails: tuple[float, ...] | None = None
    durations: tuple[float, ...] | None = None
    span_draws: tuple[int, ...] | None = None
    pairs: tuple[float, ...] | None = None

    @property
    def acts(self) -> bool:
        """Whether any factor is not 1 (else sampling needs no guard)."""
        tables = (self.intervals, self.degrees, self.gaps, self.register, self.tails, self.durations, self.pairs)
        return min(self.factors) < 1 or any(x != 1 for t in tables for x in t or ())


@dataclass(frozen=True)
class HarmonyGuard:
    """Per style (``""``: any style), the factors on the probability of a pitch that would
    re-strike, clash, clash wide, re-attack, step in unison or lie beyond the style's span
    (:data:`KINDS`); ``spans``: per style, the compass in semitones that ``beyond_span`` keeps
    to (a style without one has no such kind); ``intervals``: per style, a factor per bin of
    :func:`interval_bins` (how far each note lies from the note before it in melodic order);
    ``fit``: what they were fitted from. With ``keep_pitch_mass`` the factors move probability
    between pitches only: sampling scales the guarded pitches back to the chance the network gave
    a note starting at all (the factors were fitted per note start), so the guard changes which
    notes start, not how many. ``degrees``: per style, a factor per bin of :func:`degree_bins`
    (a note's scale degree in the key the piece sounds in so far); ``gaps``: per style, a factor per
    bin of :func:`gap_bins` on the Position token that opens the next onset; ``register``: per
    style, a factor per band of :func:`register_bins` (how high or low a note lies); ``tails``: per
    style, a factor per bin of :func:`tail_bins` on the Bar token (how much of a bar it leaves
    without an onset), kept with the Position tokens within their mass; ``durations``: per style,
    a factor per Duration token (how long a note lasts), kept within the Duration tokens' mass;
    ``span_draws``: per style, compasses of its real openings (evenly spaced quantiles) from which
    each piece draws its own span with its seed (:func:`draw_span`), instead of the one ``span``;
    ``pairs``: per style, a factor per bin of :func:`pair_bins` (a melodic interval after the one
    before it)."""

    factors: dict[str, tuple[float, ...]] = field(default_factory=dict)
    fit: dict = field(default_factory=dict)
    spans: dict[str, int] = field(default_factory=dict)
    intervals: dict[str, tuple[float, ...]] = field(default_factory=dict)
    keep_pitch_mass: bool = False
    degrees: dict[str, tuple[float, ...]] = field(default_factory=dict)
    gaps: dict[str, tuple[float, ...]] = field(default_factory=dict)
    register: dict[str, tuple[float, ...]] = field(default_factory=dict)
    tails: dict[str, tuple[float, ...]] = field(default_factory=dict)
    durations: dict[str, tuple[float, ...]] = field(default_factory=dict)
    span_draws: dict[str, tuple[int, ...]] = field(default_factory=dict)
    pairs: dict[str, tuple[float, ...]] = field(default_factory=dict)

    def __post_init__(self):  # fewer factors than kinds (an older guard): the rest are 1
        object.__setattr__(self, "factors", {s: tuple(f) + (1.0,) * (len(KINDS) - len(f)) for s, f in self.factors.items()})

    def for_styles(self, styles) -> tuple[float, ...]:
        for s in styles or ():
            if s in self.factors:
                return self.factors[s]
        return self.factors.get(ANY_STYLE, (1.0,) * len(KINDS))

    def for_style(self, styles) -> StyleGuard:
        """Everything the guard asks of sampling for a request with ``styles`` (the style
        :meth:`for_styles` takes its factors from)."""
        return StyleGuard(self.for_styles(styles), self.span_for(styles), self.intervals_for(styles),
                          self.degrees_for(styles), self.gaps_for(styles), self.register_for(styles),
                          self.keep_pitch_mass, self._of(self.tails, styles), self._of(self.durations, styles),
                          self._of(self.span_draws, styles), self._of(self.pairs, styles))

    def _of(self, table: dict, styles):
        """``table``'s entry for the style :meth:`for_styles` takes its factors from (None: none)."""
        for s in styles or ():
            if s in self.factors:
                return table.get(s)
        return table.get(ANY_STYLE)

    def span_for(self, styles) -> int | None:
        """The span of the style :meth:`for_styles` takes its factors from (None: none)."""
        return self._of(self.spans, styles)

    def intervals_for(self, styles) -> tuple[float, ...] | None:
        """The interval factors of the style :meth:`for_styles` takes its factors from (None: none)."""
        return self._of(self.intervals, styles)

    def degrees_for(self, styles) -> tuple[float, ...] | None:
        """The degree factors of the style :meth:`for_styles` takes its factors from (None: none)."""
        return self._of(self.degrees, styles)

    def gaps_for(self, styles) -> tuple[float, ...] | None:
        """The gap factors of the style :meth:`for_styles` takes its factors from (None: none)."""
        return self._of(self.gaps, styles)

    def register_for(self, styles) -> tuple[float, ...] | None:
        """The register factors of the style :meth:`for_styles` takes its factors from (None: none)."""
        return self._of(self.register, styles)

    def to_dict(self) -> dict:
        return {"factors": {s: list(f) for s, f in self.factors.items()}, "fit": self.fit,
                **({"spans": dict(self.spans)} if self.spans else {}),
                **({"intervals": {s: list(f) for s, f in self.intervals.items()}} if self.intervals else {}),
                **({"keep_pitch_mass": True} if self.keep_pitch_mass else {}),
                **({"degrees": {s: list(f) for s, f in self.degrees.items()}} if self.degrees else {}),
                **({"gaps": {s: list(f) for s, f in self.gaps.items()}} if self.gaps else {}),
                **({"register": {s: list(f) for s, f in self.register.items()}} if self.register else {}),
                **({"tails": {s: list(f) for s, f in self.tails.items()}} if self.tails else {}),
                **({"durations": {s: list(f) for s, f in self.durations.items()}} if self.durations else {}),
                **({"span_draws": {s: list(f) for s, f in self.span_draws.items()}} if self.span_draws else {}),
                **({"pairs": {s: list(f) for s, f in self.pairs.items()}} if self.pairs else {})}

    @classmethod
    def from_dict(cls, d: dict) -> HarmonyGuard:
        from ..errors import CheckpointError

        try:
            factors = {str(s): tuple(float(x) for x in f) for s, f in d["factors"].items()}
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise CheckpointError(f"meta.json 'harmony' is malformed ({e})") from None
        if any(not 2 <= len(f) <= len(KINDS) for f in factors.values()):
            raise CheckpointError(f"meta.json 'harmony' is malformed (each style needs 2 to {len(KINDS)} factors)")
        factors = {s: f + (1.0,) * (len(KINDS) - len(f)) for s, f in factors.items()}  # older guards: fewer kinds
        if any(not (0 <= x <= 1) for f in factors.values() for x in f):
            raise CheckpointError("meta.json 'harmony' factors must lie within 0 and 1")
        try:
            spans = {str(s): int(v) for s, v in (d.get("spans") or {}).items()}
        except (TypeError, ValueError, AttributeError) as e:
            raise CheckpointError(f"meta.json 'harmony' spans are malformed ({e})") from None
        if any(v <= 0 for v in spans.values()):
            raise CheckpointError("meta.json 'harmony' spans must be positive semitones")
        intervals = _style_factors(d, "intervals", N_INTERVALS, MAX_INTERVAL_FACTOR)
        degrees = _style_factors(d, "degrees", N_DEGREES, MAX_INTERVAL_FACTOR)
        gaps = _style_factors(d, "gaps")
        register = _style_factors(d, "register")
        tails = _style_factors(d, "tails", N_TAILS)
        durations = _style_factors(d, "durations")
        try:
            draws = {str(s): tuple(int(x) for x in f) for s, f in (d.get("span_draws") or {}).items()}
        except (TypeError, ValueError, AttributeError) as e:
            raise CheckpointError(f"meta.json 'harmony' span_draws are malformed ({e})") from None
        if any(not f or min(f) <= 0 for f in draws.values()):
            raise CheckpointError("meta.json 'harmony' span_draws must be lists of positive semitones")
        return cls(factors, d.get("fit") or {}, spans, intervals, bool(d.get("keep_pitch_mass", False)), degrees, gaps,
                   register, tails, durations, draws, _style_factors(d, "pairs", N_PAIRS))


def _style_factors(d: dict, key: str, length: int | None = None, top: float = 1.0) -> dict[str, tuple[float, ...]]:
    """``d[key]`` (per style, a list of factors) read and checked: ``length`` factors each (None: 2
    or more), within 0 and ``top``. Raises :class:`~tunegan.errors.CheckpointError` otherwise."""
    from ..errors import CheckpointError

    plural = not key.endswith("r")  # "register" is one
    try:
        out = {str(s): tuple(float(x) for x in f) for s, f in (d.get(key) or {}).items()}
    except (TypeError, ValueError, AttributeError) as e:
        raise CheckpointError(f"meta.json 'harmony' {key} {'are' if plural else 'is'} malformed ({e})") from None
    if any((len(f) != length if length else len(f) < 2) or not all(0 <= x <= top for x in f) for f in out.values()):
        raise CheckpointError(f"meta.json 'harmony' {key} need{'' if plural else 's'} {length or '2 or more'} "
                              f"factors within 0 and {top:g} per style")
    return out
