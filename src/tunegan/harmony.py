"""Keys a pianist can strike: no key struck again while it still sounds, and few semitone clashes.

A bar-based (REMI) stream says when each note starts and how long it lasts, so while sampling we
know which keys are sounding at the current position (:class:`NoteClock`). Three kinds of note
start give samples away against real music of most styles:

* a **re-strike**: a pitch starts while the same pitch still sounds. A piano cannot do that (the
  key must come up first), and a MIDI player cuts one of the two notes short. Real JSB and
  Nottingham music never does it and ASAP scores almost never (0.5% of note starts); POP909 does
  (5%: its melody, bridge and piano tracks are merged into one stream).
* a **semitone clash**: a pitch starts a semitone from a note that sounds (the evaluation's
  :func:`~tunegan.evaluation.musical.semitone_clash_share`). Samples made 2-5 times as many as real
  music of their style.
* a **wide clash**: pitch classes a semitone apart, an octave or more away (a major seventh, a minor
  ninth...). Chorale samples stacked major sevenths in their chords 7-9 times as often as Bach
  (``benchmarks/check_realism.py``: ``interval_+11``).
* a **re-attack**: a pitch starts just as a note of the same pitch ends. JSB's chorales never do it
  (their piano rolls merge a held voice's repeated notes into one), and their samples did it at
  0.9% of melodic steps (``interval_+0``: the chorales' most telling feature). Other styles repeat
  notes freely, so their factor stays near 1.
* a **unison step**: the lowest note of a new onset is the highest note of the onset before it
  (in melodic order, :func:`~tunegan.evaluation.musical.melodic_order`, a step of 0: REMI writes
  an onset's pitches from the lowest up). Classical samples did it at 3.5% of their steps
  against 0.9% in ASAP's scores, whose repeated notes come in repeated chords
  (``interval_+0``, classical's most telling feature once the other kinds were guarded).
* a note **beyond the span**: it would stretch the piece's compass (its highest note less its
  lowest) past the style's ``span``, the 90th percentile of the compass of its real pieces'
  first ``length`` tokens. The samples' compass was as wide as real music's in its middle 90%
  but had a longer tail of stray low and high notes (``pitch_range``, a telling feature of
  chorale, classical and pop: chorale samples 36.8 semitones on average against 33.2).

Beside these kinds, and fitted the same way on samples the kinds already shape:

* **intervals** (:func:`interval_bins`): how far a note lies above its onset's highest note, or
  steps from the onset before, in the two-sample test's melodic order (chorale samples leapt
  sevenths and tenths too often);
* **scale degrees** (:func:`degree_bins`) in the key the piece sounds in so far
  (:func:`running_keys`, from its :data:`MIN_KEY_NOTES`-th note on): left alone, major samples
  used the flat third and seventh far more than their style.

Two more tables can be fitted and stored but were not kept (no gain on validation,
docs/results.md): **gaps** between onsets on the Position tokens (:data:`FIT_GAPS`) and
**register** bands of absolute pitch (:data:`FIT_REGISTER`).

:class:`HarmonyGuard` scales the probability of such pitches, per style, by how often real music
of the style does it against how often the model's samples do (:func:`fit_guard`: ``real /
sampled``, at most 1, counted with the same clock): a style that never re-strikes gets 0, a style
that clashes a third as often as the samples gets about 1/3. Shares are per note start. The guard
scales the network's probabilities before the piece memory is mixed in, so a bar the piece
played before may come back as it was. It only acts when sampling; likelihoods are the network's
(and the piece memory's).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

__all__ = ["ANY_STYLE", "KINDS", "HarmonyGuard", "NoteClock", "Guards", "guard_tables", "start_counts", "fit_guard",
           "fit_guard_and_boost"]

ANY_STYLE = ""  # the factors used when no genre keyword is asked (or for a genre without its own)
KINDS = ("restrike", "clash", "wide_clash", "reattack", "unison_step", "beyond_span")
SPAN_QUANTILE = 75  # the compass a style's notes keep to: this percentile of its real openings' compass
WIDE = np.array([d for k in range(1, 8) for d in (12 * k - 1, 12 * k + 1)])  # 11, 13, 23, 25... semitones
WIDE_SET = frozenset(WIDE.tolist())
STEP_CLIP = 12  # steps beyond an octave share the end bins (as the two-sample test's interval histogram)
N_SPACING = STEP_CLIP + 1      # within an onset: 0..12 semitones above the onset's highest note so far
N_STEPS = 2 * STEP_CLIP + 1    # at a new onset: -12..+12 from the highest note of the onset before
N_INTERVALS = N_SPACING + N_STEPS
MIN_STEPS = 8  # an interval bin the guard's samples made fewer times than this keeps the factor 1
INTERVAL_CAP = 1.0  # the largest interval factor fitted (above 1: bins the samples make too rarely are lifted)
MAX_INTERVAL_FACTOR = 4.0  # the largest a checkpoint may store
N_DEGREES = 24  # a note's scale degree (0..11 above the tonic) in a major key, then in a minor one
MIN_KEY_NOTES = 8  # notes a piece needs before its running key is trusted (degree factors act from then on)
FIT_DEGREES = True  # whether fit_guard fits degree factors (beside the intervals)
FIT_GAPS = False  # and gap factors (tried: no gain on validation, docs/results.md)
FIT_REGISTER = False  # and register factors
BAND = 3  # semitones per band of register_bins
KEEP_PITCH_MASS = False  # whether fitted guards move probability between pitches only (HarmonyGuard.keep_pitch_mass)


def running_keys(hist: np.ndarray) -> np.ndarray:
    """The key each row of pitch-class weights ``(batch, 12)`` sounds in, by the Krumhansl-Kessler
    profiles (:func:`tunegan.music.keys.key_correlations`): index 0..11 a major key on that tonic,
    12..23 a minor one; -1 for a row without notes. Ties go to the lower index."""
    from .music.keys import _PROFILE_NORMS, _PROFILES

    h = np.atleast_2d(np.asarray(hist, np.float64))
    h = h - h.mean(1, keepdims=True)
    r = (h @ _PROFILES.T) / _PROFILE_NORMS
    return np.where(np.abs(h).sum(1) > 0, r.argmax(1), -1)


def degree_bins(pc, key) -> np.ndarray:
    """Bins of :data:`N_DEGREES` for pitch classes ``pc`` in keys ``key`` (:func:`running_keys`;
    broadcast): the degree above the tonic, plus 12 in a minor key; -1 where ``key`` is -1."""
    pc, key = np.asarray(pc, np.int64), np.asarray(key, np.int64)
    return np.where(key >= 0, (key // 12) * 12 + (pc - key % 12) % 12, -1)


def gap_bins(gap, n_gaps: int) -> np.ndarray:
    """Bins of ``n_gaps`` (:attr:`GuardTables.n_gaps`) for the positions from one onset to the
    next: ``gap`` itself, the last bin for a bar or more; -1 for none (0 or less)."""
    gap = np.asarray(gap, np.int64)
    return np.where(gap >= 1, np.minimum(gap, n_gaps - 1), -1)


def register_bins(pitch_index, n: int) -> np.ndarray:
    """Bands of :data:`BAND` semitones of the Pitch tokens (by index from the lowest): the bin of
    each; ``n`` pitches make ``ceil(n / BAND)`` bands."""
    return np.minimum(np.asarray(pitch_index, np.int64) // BAND, (n - 1) // BAND)


def fitted_to(factors, n: int) -> np.ndarray:
    """Factors for ``n`` bins from a stored list of another length (a tokenizer with another
    grid): cut, or the last one repeated."""
    f = np.asarray(factors, np.float64)
    return f[:n] if len(f) >= n else np.concatenate([f, np.full(n - len(f), f[-1] if len(f) else 1.0)])


def interval_bins(d: np.ndarray, same_onset) -> np.ndarray:
    """Bins of :data:`N_INTERVALS` for notes ``d`` semitones from the reference note (the
    highest note of the onset being written when ``same_onset``, else of the onset before):
    spacing bins 0..12 within an onset, step bins after them; -1 for a note at or below the
    reference within an onset (REMI writes an onset's pitches from the lowest up)."""
    d = np.asarray(d, np.int64)
    same = np.broadcast_to(np.asarray(same_onset, bool), d.shape)
    return np.where(same, np.where(d > 0, np.minimum(d, STEP_CLIP), -1),
                    N_SPACING + np.clip(d, -STEP_CLIP, STEP_CLIP) + STEP_CLIP)


@dataclass(frozen=True)
class GuardTables:
    """What a REMI vocabulary says about time: per token id its kind and value, in *positions*
    (MidiTok's finest grid: 1/``res`` of the time signature's beat)."""

    kind: np.ndarray      # int8: 0 other, 1 bar, 2 position, 3 pitch, 4 duration, 5 time signature, 6 velocity
    value: np.ndarray     # int64: position index, MIDI pitch, duration in positions, positions per bar
    pitch_ids: np.ndarray  # ids of the Pitch tokens, by pitch (pitch_low..pitch_high)
    pitch_low: int
    bar_positions: int    # positions in a bar before any time signature (4/4)
    position_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # ids of the Position tokens

    @property
    def n_gaps(self) -> int:
        """Bins of :func:`gap_bins`: a gap of 1 position up to a 4/4 bar (longer gaps share the last)."""
        return self.bar_positions + 1


OTHER, BAR, POSITION, PITCH, DURATION, METRE, VELOCITY = range(7)


def guard_tables(tok) -> GuardTables | None:
    """The tables of a tokenizer with bars, positions, pitches and durations (REMI), else None
    (made once per tokenizer object)."""
    if "_guard_tables" not in vars(tok):
        tok._guard_tables = _tables(tok)
    return tok._guard_tables


def _tables(tok) -> GuardTables | None:
    if not (getattr(tok, "has_bars", False) and getattr(tok, "has_pitches", False) and hasattr(tok, "miditok")):
        return None
    res = max(tok.miditok.config.beat_res.values())
    V = tok.vocab_size
    kind, value = np.zeros(V, np.int8), np.zeros(V, np.int64)
    for i in range(V):
        name = tok.describe(i)
        head, _, rest = name.partition("_")
        if head == "Bar":
            kind[i] = BAR
        elif head == "Position":
            kind[i], value[i] = POSITION, int(rest)
        elif head == "Pitch":
            kind[i], value[i] = PITCH, int(rest)
        elif head == "Duration":
            beats, sub, r = (int(x) for x in rest.split("."))
            kind[i], value[i] = DURATION, beats * res + sub * res // r
        elif head == "Velocity":
            kind[i] = VELOCITY
        elif head == "TimeSig":
            num, _den = (int(x) for x in rest.split("/"))
            kind[i], value[i] = METRE, num * res
    if not (kind == DURATION).any():
        return None
    pitch_ids = np.flatnonzero(kind == PITCH)
    pitch_ids = pitch_ids[np.argsort(value[pitch_ids])]
    return GuardTables(kind, value, pitch_ids, int(value[pitch_ids[0]]), 4 * res, np.flatnonzero(kind == POSITION))


class NoteClock:
    """One piece's place in time and the notes sounding there, token by token.

    ``now``: the current position (bars before it counted with their metre). Sounding at ``now``:
    notes that started before it and end after it, notes already started at ``now`` (a chord being
    written), and the note whose ``Duration`` has not come yet. :meth:`push` returns, for the
    token that completes a note (its ``Duration``), whether the note re-strikes a sounding pitch,
    clashes (a semitone from a sounding one), clashes wide (a semitone in pitch class, an octave
    or more away), re-attacks (its pitch's last note ends where it starts) where it starts, and
    makes a unison step (it opens an onset on the pitch the onset before ended on) and lies beyond
    ``span`` (semitones; None: no span) from the piece's lowest or highest note so far; None for
    other tokens. ``step`` is then the note's bin of :func:`interval_bins` (-1: none), and
    ``intervals`` (:data:`N_INTERVALS` factors, or None) scale each pitch by its bin."""

    __slots__ = ("t", "bar_start", "bar_len", "now", "ends", "pending", "hit", "seen_bar", "onset", "top",
                 "span", "lo", "hi", "_factors", "intervals", "step", "degrees", "degree", "pch", "notes", "gaps", "gap", "register", "last_pitch")

    def __init__(self, tables: GuardTables, span: int | None = None, intervals=None, degrees=None, gaps=None,
                 register=None):
        self.t = tables
        n = len(tables.pitch_ids)
        self.register = None if register is None else fitted_to(register, (n - 1) // BAND + 1)[register_bins(np.arange(n), n)]
        self.gaps = None if gaps is None else fitted_to(gaps, tables.n_gaps)
        self.gap = self.last_pitch = -1
        self.span = span
        self.intervals = None if intervals is None else np.asarray(intervals, np.float64)
        self.degrees = None if degrees is None else np.asarray(degrees, np.float64)
        self.step = self.degree = -1
        self.pch, self.notes = np.zeros(12), 0  # the piece's pitch classes weighted by duration, and its notes
        self.lo, self.hi = 10 ** 6, -1  # the piece's lowest and highest pitch so far
        self.bar_start, self.bar_len, self.now = 0, tables.bar_positions, 0
        self.ends: dict[int, int] = {}  # pitch -> end position of its latest note
        self.pending: int | None = None  # the pitch whose Duration token has not come yet
        self.hit = (False,) * len(KINDS)  # whether the pending pitch re-strikes, clashes, clashes wide, re-attacks
        self.seen_bar = False
        self.onset, self.top = -1, -1  # the latest onset's position and its highest pitch (-1: none yet)
        self._factors = None  # (factors, multipliers) until the clock moves

    def sounding(self) -> set[int]:
        now = self.now
        out = {p for p, e in self.ends.items() if e > now}
        if self.pending is not None:
            out.add(self.pending)
        return out

    def ended(self) -> set[int]:
        """Pitches whose latest note ends exactly now."""
        now = self.now
        return {p for p, e in self.ends.items() if e == now}

    def push(self, token: int) -> tuple[bool, ...] | None:
        k, v = int(self.t.kind[token]), int(self.t.value[token])
        if k == BAR or k == POSITION or k == PITCH or k == DURATION:
            self._factors = None
        if k == BAR:
            if self.seen_bar:
                self.bar_start += self.bar_len
            self.seen_bar, self.now = True, self.bar_start
        elif k == METRE:
            self.bar_len = v
        elif k == POSITION:
            self.now = self.bar_start + v
        elif k == PITCH:
            self.pending = None  # a pitch left without its duration is no note (MidiTok drops it)
            sound = self.sounding()
            self.pending, self.hit = v, (v in sound, (v - 1) in sound or (v + 1) in sound,
                                         any(abs(v - p) in WIDE_SET for p in sound),
                                         v not in sound and self.ends.get(v) == self.now,
                                         self.onset != self.now and v == self.top,
                                         self.span is not None and self.hi >= 0 and
                                         (v - self.lo > self.span or self.hi - v > self.span))
            self.step = int(interval_bins(v - self.top, self.onset == self.now)) if self.top >= 0 else -1
            self.degree = int(degree_bins(v % 12, self.key())) if self.notes >= MIN_KEY_NOTES else -1
            self.gap = int(gap_bins(self.now - self.onset, self.t.n_gaps)) if self.onset >= 0 else -1
        elif k == DURATION and self.pending is not None:
            p = self.last_pitch = self.pending
            self.ends[p] = max(self.now + v, self.ends.get(p, 0))  # overlaps: the later end
            self.top = p if self.onset != self.now else max(self.top, p)
            self.onset, self.pending = self.now, None
            self.lo, self.hi = min(self.lo, p), max(self.hi, p)
            self.pch[p % 12] += v
            self.notes += 1
            return self.hit
        return None

    def position_factors(self) -> np.ndarray | None:
        """Multipliers ``(n positions,)`` for the Position tokens (in :attr:`GuardTables.position_ids`
        order) by the gap from the latest onset each would open (:func:`gap_bins`), or None."""
        g = self.gaps
        if g is None or self.onset < 0 or (g == 1).all():
            return None
        bins = gap_bins(self.bar_start + self.t.value[self.t.position_ids] - self.onset, self.t.n_gaps)
        return np.where(bins >= 0, g[np.maximum(bins, 0)], 1.0)

    def key(self) -> int:
        """The key the piece sounds in so far (:func:`running_keys`)."""
        return int(running_keys(self.pch)[0])

    def factors(self, factors: tuple[float, ...]) -> np.ndarray | None:
        """Multipliers ``(n pitches,)`` for the Pitch tokens (by pitch) from one factor per kind of
        :data:`KINDS`, or None when all are 1."""
        if self._factors is not None and self._factors[0] == factors:
            return self._factors[1]
        f = self._make(*factors)
        self._factors = (factors, f)
        return f

    def _make(self, *factors: float) -> np.ndarray | None:
        f = self._make_kinds(*factors)
        pitch = np.arange(len(self.t.pitch_ids)) + self.t.pitch_low
        iv, dg = self.intervals, self.degrees
        if iv is not None and self.top >= 0 and (iv != 1).any():
            bins = interval_bins(pitch - self.top, self.onset == self.now)
            g = np.where(bins >= 0, iv[np.maximum(bins, 0)], 1.0)
            f = g if f is None else f * g
        if dg is not None and self.notes >= MIN_KEY_NOTES and (dg != 1).any():
            g = dg[degree_bins(pitch % 12, self.key())]
            f = g if f is None else f * g
        if self.register is not None and (self.register != 1).any():
            f = self.register if f is None else f * self.register
        return f

    def _make_kinds(self, restrike: float, clash: float, wide: float = 1.0, reattack: float = 1.0,
                    unison: float = 1.0, beyond: float = 1.0) -> np.ndarray | None:
        sound = self.sounding()
        ended = self.ended() - sound if reattack < 1 else set()
        n = len(self.t.pitch_ids)
        step = self.top - self.t.pitch_low if unison < 1 and self.onset != self.now and self.top >= 0 else -1
        far_off = beyond < 1 and self.span is not None and self.hi >= 0
        if (not sound and not ended and not 0 <= step < n and not far_off) or \
                min(restrike, clash, wide, reattack, unison, beyond) >= 1:
            return None
        f = np.ones(n)
        if ended:
            e = np.fromiter(ended, np.int64, len(ended)) - self.t.pitch_low
            f[e[(e >= 0) & (e < n)]] *= reattack
        if 0 <= step < n:
            f[step] *= unison
        if far_off:
            pitch = np.arange(n) + self.t.pitch_low
            f[(pitch - self.lo > self.span) | (self.hi - pitch > self.span)] *= beyond
        if sound:
            idx = np.fromiter(sound, np.int64, len(sound)) - self.t.pitch_low
            idx = idx[(idx >= 0) & (idx < n)]
            near, far = _neighbours(n)
            f[near[idx].any(0)] *= clash  # once per kind, however many sounding notes it clashes with
            f[far[idx].any(0)] *= wide
            f[idx] = restrike
        return f


@lru_cache(maxsize=4)
def _neighbours(n: int) -> tuple[np.ndarray, np.ndarray]:
    """``(n, n)`` bool tables: row p marks the pitches a semitone from p, and those a semitone away
    in pitch class an octave or more off."""
    d = np.abs(np.arange(n)[:, None] - np.arange(n)[None, :])
    near, far = d == 1, np.isin(d, WIDE)
    near.flags.writeable = far.flags.writeable = False
    return near, far


def start_counts(tables: GuardTables, pieces, span: int | None = None) -> dict:
    """Note starts and how many of them re-strike, clash, clash wide, re-attack, step in unison and
    lie beyond ``span`` (:data:`KINDS`), over token sequences (:class:`NoteClock`); ``intervals``:
    how many fall in each bin of :func:`interval_bins` (a list); ``degrees``: in each bin of
    :func:`degree_bins`, in the key the piece sounded in before the note (from its
    :data:`MIN_KEY_NOTES`-th note on); ``gaps``: onsets per bin of :func:`gap_bins` (the positions
    since the onset before); ``register``: note starts per band of :func:`register_bins`."""
    out = {"starts": 0, **{k: 0 for k in KINDS}}
    iv, dg = np.zeros(N_INTERVALS, np.int64), np.zeros(N_DEGREES, np.int64)
    gp = np.zeros(tables.n_gaps, np.int64)
    n = len(tables.pitch_ids)
    rg = np.zeros((n - 1) // BAND + 1, np.int64)
    for p in pieces:
        clock = NoteClock(tables, span)
        for tkn in np.asarray(p, np.int64):
            hit = clock.push(int(tkn))
            if hit is not None:
                out["starts"] += 1
                for k, h in zip(KINDS, hit):
                    out[k] += h
                if clock.step >= 0:
                    iv[clock.step] += 1
                if clock.degree >= 0:
                    dg[clock.degree] += 1
                if clock.gap >= 0:
                    gp[clock.gap] += 1
                i = clock.last_pitch - tables.pitch_low
                if 0 <= i < n:
                    rg[register_bins(i, n)] += 1
    return out | {"intervals": iv.tolist(), "degrees": dg.tolist(), "gaps": gp.tolist(), "register": rg.tolist()}


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
    style, a factor per band of :func:`register_bins` (how high or low a note lies)."""

    factors: dict[str, tuple[float, ...]] = field(default_factory=dict)
    fit: dict = field(default_factory=dict)
    spans: dict[str, int] = field(default_factory=dict)
    intervals: dict[str, tuple[float, ...]] = field(default_factory=dict)
    keep_pitch_mass: bool = False
    degrees: dict[str, tuple[float, ...]] = field(default_factory=dict)
    gaps: dict[str, tuple[float, ...]] = field(default_factory=dict)
    register: dict[str, tuple[float, ...]] = field(default_factory=dict)

    def __post_init__(self):  # fewer factors than kinds (an older guard): the rest are 1
        object.__setattr__(self, "factors", {s: tuple(f) + (1.0,) * (len(KINDS) - len(f)) for s, f in self.factors.items()})

    def for_styles(self, styles) -> tuple[float, ...]:
        for s in styles or ():
            if s in self.factors:
                return self.factors[s]
        return self.factors.get(ANY_STYLE, (1.0,) * len(KINDS))

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
                **({"register": {s: list(f) for s, f in self.register.items()}} if self.register else {})}

    @classmethod
    def from_dict(cls, d: dict) -> HarmonyGuard:
        from .errors import CheckpointError

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
        degrees = _style_factors(d, "degrees", N_DEGREES)
        gaps = _style_factors(d, "gaps")
        register = _style_factors(d, "register")
        return cls(factors, d.get("fit") or {}, spans, intervals, bool(d.get("keep_pitch_mass", False)), degrees, gaps,
                   register)


def _style_factors(d: dict, key: str, length: int | None = None, top: float = 1.0) -> dict[str, tuple[float, ...]]:
    """``d[key]`` (per style, a list of factors) read and checked: ``length`` factors each (None: 2
    or more), within 0 and ``top``. Raises :class:`~tunegan.errors.CheckpointError` otherwise."""
    from .errors import CheckpointError

    plural = not key.endswith("r")  # "register" is one
    try:
        out = {str(s): tuple(float(x) for x in f) for s, f in (d.get(key) or {}).items()}
    except (TypeError, ValueError, AttributeError) as e:
        raise CheckpointError(f"meta.json 'harmony' {key} {'are' if plural else 'is'} malformed ({e})") from None
    if any((len(f) != length if length else len(f) < 2) or not all(0 <= x <= top for x in f) for f in out.values()):
        raise CheckpointError(f"meta.json 'harmony' {key} need{'' if plural else 's'} {length or '2 or more'} "
                              f"factors within 0 and {top:g} per style")
    return out


class Guards:
    """The clocks of a batch of rows as arrays, and their factors (one tuple over :data:`KINDS` per
    row, None for a row without a guard): :class:`NoteClock`'s rules for every row at once, so a
    sampling step costs a few array operations, not a Python loop over rows (the multipliers equal
    each row's :meth:`NoteClock.factors`, tested)."""

    def __init__(self, tables: GuardTables, factors: list[tuple[float, ...] | None],
                 spans: list[int | None] | None = None, intervals: list | None = None,
                 keep_mass: list[bool] | None = None, degrees: list | None = None, gaps: list | None = None,
                 register: list | None = None):
        self.t = tables
        B, n = len(factors), len(tables.pitch_ids)
        bands = register_bins(np.arange(n), n)
        self.rg = np.array([np.ones(n) if x is None else fitted_to(x, (n - 1) // BAND + 1)[bands]
                            for x in (register or [None] * B)], np.float64).reshape(B, n)
        self.gp = np.array([np.ones(tables.n_gaps) if x is None else fitted_to(x, tables.n_gaps)
                            for x in (gaps or [None] * B)], np.float64).reshape(B, tables.n_gaps)
        self.dg = np.array([np.ones(N_DEGREES) if x is None else np.asarray(x, np.float64)
                            for x in (degrees or [None] * B)], np.float64).reshape(B, N_DEGREES)
        self.pch = np.zeros((B, 12))                     # pitch classes weighted by duration
        self.keys = np.full(B, -1, np.int64)             # the key they sound in (running_keys), kept as notes end
        self.notes = np.zeros(B, np.int64)
        self.keep = np.array(keep_mass or [False] * B, bool).reshape(B)  # rows whose pitches keep their mass
        self.iv = np.array([np.ones(N_INTERVALS) if x is None else np.asarray(x, np.float64)
                            for x in (intervals or [None] * B)], np.float64).reshape(B, N_INTERVALS)
        self.span = np.array([-1 if x is None else int(x) for x in (spans or [None] * B)], np.int64)
        self.lo = np.full(B, 10 ** 6, np.int64)          # index of the piece's lowest pitch so far
        self.hi = np.full(B, -1, np.int64)               # and of its highest (-1: none yet)
        self.active = np.array([f is not None for f in factors], bool)
        self.f = np.array([tuple(f) + (1.0,) * (len(KINDS) - len(f)) if f is not None else (1.0,) * len(KINDS)
                           for f in factors], np.float64).reshape(B, len(KINDS))
        self.ends = np.full((B, n), -1, np.int64)       # end position of each pitch's latest note (-1: none yet)
        self.now = np.zeros(B, np.int64)
        self.bar_start = np.zeros(B, np.int64)
        self.bar_len = np.full(B, tables.bar_positions, np.int64)
        self.seen_bar = np.zeros(B, bool)
        self.pending = np.full(B, -1, np.int64)          # index of the pitch whose Duration has not come yet
        self.onset = np.full(B, -1, np.int64)            # the latest onset's position
        self.top = np.full(B, -1, np.int64)              # index of its highest pitch (-1: none yet)

    def prime(self, primes: np.ndarray) -> None:
        primes = np.atleast_2d(np.asarray(primes, np.int64))
        for j in range(primes.shape[1]):
            self.push(primes[:, j])

    def push(self, tokens: np.ndarray) -> None:
        """One token per row, as :meth:`NoteClock.push` reads it."""
        tok = np.asarray(tokens, np.int64).reshape(-1)
        k, v = self.t.kind[tok], self.t.value[tok]
        bar = k == BAR
        if bar.any():
            self.bar_start = np.where(bar & self.seen_bar, self.bar_start + self.bar_len, self.bar_start)
            self.seen_bar |= bar
            self.now = np.where(bar, self.bar_start, self.now)
        self.bar_len = np.where(k == METRE, v, self.bar_len)
        pos = k == POSITION
        self.now = np.where(pos, self.bar_start + v, self.now)
        self.pending = np.where(k == PITCH, v - self.t.pitch_low, self.pending)
        rows = np.flatnonzero((k == DURATION) & (self.pending >= 0))
        if len(rows):
            p, now = self.pending[rows], self.now[rows]
            self.ends[rows, p] = np.maximum(now + v[rows], self.ends[rows, p])  # overlaps: the later end
            self.top[rows] = np.where(self.onset[rows] != now, p, np.maximum(self.top[rows], p))
            self.onset[rows] = now
            self.lo[rows], self.hi[rows] = np.minimum(self.lo[rows], p), np.maximum(self.hi[rows], p)
            np.add.at(self.pch, (rows, (p + self.t.pitch_low) % 12), v[rows])
            self.notes[rows] += 1
            if (self.dg[rows] != 1).any():
                self.keys[rows] = running_keys(self.pch[rows])
            self.pending[rows] = -1

    def multipliers(self, vocab: int) -> np.ndarray | None:
        """``(batch, vocab)`` factors on the next token's probabilities, or None when all are 1."""
        rows = np.flatnonzero(self.active & ((self.f.min(1) < 1) | (self.iv != 1).any(1) | (self.dg != 1).any(1)
                                             | (self.rg != 1).any(1)))
        timed = np.flatnonzero(self.active & (self.gp != 1).any(1) & (self.onset >= 0))
        pos = None
        if len(timed):  # the Position tokens, by the gap each would open from the row's latest onset
            pos_values = self.t.value[self.t.position_ids]
            bins = gap_bins(self.bar_start[timed, None] + pos_values[None, :] - self.onset[timed, None], self.t.n_gaps)
            pos = np.where(bins >= 0, np.take_along_axis(self.gp[timed], np.maximum(bins, 0), 1), 1.0)
            if (pos == 1.0).all():
                pos = None
        m = self._pitch_multipliers(rows) if len(rows) else None
        if m is None and pos is None:
            return None
        out = np.ones((len(self.active), vocab), np.float32)
        if m is not None:
            out[np.ix_(rows, self.t.pitch_ids)] = m
        if pos is not None:
            out[np.ix_(timed, self.t.position_ids)] = pos
        return out

    def _pitch_multipliers(self, rows: np.ndarray) -> np.ndarray | None:
        """``(len(rows), n pitches)`` factors on the Pitch tokens of ``rows``, or None when all are 1."""
        n = self.ends.shape[1]
        now = self.now[rows, None]
        ends = self.ends[rows]
        sound = ends > now
        waiting = np.flatnonzero(self.pending[rows] >= 0)
        sound[waiting, self.pending[rows][waiting]] = True
        ended = (ends == now) & ~sound
        step = np.flatnonzero((self.onset[rows] != self.now[rows]) & (self.top[rows] >= 0))
        span, lo, hi = self.span[rows, None], self.lo[rows, None], self.hi[rows, None]
        pitch = np.arange(sound.shape[1])[None, :]
        off = (span >= 0) & (hi >= 0) & ((pitch - lo > span) | (hi - pitch > span))
        top = self.top[rows]
        has_top = top >= 0
        keyed = (self.notes[rows] >= MIN_KEY_NOTES) & (self.dg[rows] != 1).any(1)
        registered = (self.rg[rows] != 1).any()
        if not (sound.any() or ended.any() or len(step) or off.any() or has_top.any() or keyed.any() or registered):
            return None
        near, far = _neighbours_f(sound.shape[1])
        f = self.f[rows]
        m = np.where(ended, f[:, 3:4], 1.0)
        m[step, self.top[rows][step]] *= f[step, 4]
        m = np.where(off, m * f[:, 5:6], m)
        s32 = sound.astype(np.float32)
        m = np.where(s32 @ near > 0, m * f[:, 1:2], m)  # once per kind, however many sounding notes it clashes with
        m = np.where(s32 @ far > 0, m * f[:, 2:3], m)
        m = np.where(sound, f[:, 0:1], m)
        iv = self.iv[rows]
        if has_top.any() and (iv != 1).any():
            # bins from a table (same onset or not, top note, pitch); bin -1 reads a factor of 1
            bins = _interval_table(n)[(self.onset[rows] == self.now[rows]).astype(np.int64), np.maximum(top, 0)]
            g = np.take_along_axis(np.concatenate([iv, np.ones((len(rows), 1))], 1), bins, 1)
            m = m * np.where(has_top[:, None], g, 1.0)
        if keyed.any():
            bins = _degree_table(n, self.t.pitch_low)[np.maximum(self.keys[rows], 0)]
            g = np.take_along_axis(self.dg[rows], bins, 1)
            m = m * np.where(keyed[:, None], g, 1.0)
        if registered:
            m = m * self.rg[rows]
        if (m == 1.0).all():
            return None
        return m

    def kept_mass(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Groups of tokens whose guarded probabilities sampling scales back to the mass the network
        gave the group, as ``(token ids, bool rows)``: the Position tokens in every row with gap
        factors (the guard chooses how far the next onset lies, not whether the piece moves on),
        and the Pitch tokens in rows that keep their pitch mass (:attr:`HarmonyGuard.keep_pitch_mass`)."""
        out = []
        timed = self.active & (self.gp != 1).any(1)
        if timed.any():
            out.append((self.t.position_ids, timed))
        if self.keep.any():
            out.append((self.t.pitch_ids, self.keep))
        return out

    def select(self, rows) -> Guards:
        """The batch of ``rows`` only (in that order), each row's clock carried on."""
        out = Guards.__new__(Guards)
        out.t = self.t
        rows = np.asarray(rows, np.int64)
        for name in _GUARD_ARRAYS:
            setattr(out, name, getattr(self, name)[rows].copy())
        return out

    @classmethod
    def cat(cls, parts: list[Guards]) -> Guards:
        out = cls.__new__(cls)
        out.t = parts[0].t
        for name in _GUARD_ARRAYS:
            setattr(out, name, np.concatenate([getattr(p, name) for p in parts]))
        return out


_GUARD_ARRAYS = ("active", "keep", "f", "iv", "dg", "gp", "rg", "pch", "keys", "notes", "span", "lo", "hi", "ends", "now", "bar_start", "bar_len", "seen_bar", "pending",
                 "onset", "top")


@lru_cache(maxsize=4)
def _interval_table(n: int) -> np.ndarray:
    """``(2, n, n)`` bins of :func:`interval_bins` by (same onset, top pitch index, pitch index),
    with :data:`N_INTERVALS` for none (-1)."""
    d = np.arange(n)[None, :] - np.arange(n)[:, None]
    out = np.stack([interval_bins(d, False), interval_bins(d, True)])
    out = np.where(out >= 0, out, N_INTERVALS)
    out.flags.writeable = False
    return out


@lru_cache(maxsize=4)
def _degree_table(n: int, pitch_low: int) -> np.ndarray:
    """``(24, n)`` bins of :func:`degree_bins` by key (:func:`running_keys`) and pitch index."""
    out = degree_bins((np.arange(n)[None, :] + pitch_low) % 12, np.arange(N_DEGREES)[:, None])
    out.flags.writeable = False
    return out


@lru_cache(maxsize=4)
def _neighbours_f(n: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_neighbours` as float32 matrices (a row of sounding pitches times one marks its neighbours)."""
    near, far = _neighbours(n)
    return near.astype(np.float32), far.astype(np.float32)


def fit_guard(ckpt, cache, *, split: str = "train", samples: int = 32, length: int = 512, seed: int = 0,
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
    from .evaluation.genre_classifier import piece_genres
    from .evaluation.style import model_keywords
    from .generation import GenerationOptions, sample_key, sample_pieces

    tables = guard_tables(ckpt.tokenizer)
    if tables is None:
        return None
    data, genres = cache.split(split), piece_genres(cache, split)
    keywords = set(model_keywords(ckpt, "genre"))
    rng = np.random.default_rng([seed, 41])
    factors, spans, steps, degs, gaps, regs = {}, {}, {}, {}, {}, {}
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
        report["genres"][g or "any"] = row | {"factors": list(f), "span": span}
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
            if FIT_GAPS:
                n = tables.n_gaps
                gaps[g] = tuple(min(1.0, x) for x in interval_factors(real["gaps"], made_s["gaps"], ((1, n),)))
                report["genres"][g or "any"] |= {"gaps": {"real": real["gaps"], "samples": made_s["gaps"],
                                                          "factors": list(gaps[g])}}
            if FIT_REGISTER:
                regs[g] = tuple(min(1.0, x) for x in interval_factors(real["register"], made_s["register"],
                                                                       ((0, len(real["register"])),)))
                report["genres"][g or "any"] |= {"register": {"real": real["register"], "samples": made_s["register"],
                                                              "factors": list(regs[g])}}
    return HarmonyGuard(factors, report, {g: v for g, v in spans.items() if v}, steps, KEEP_PITCH_MASS, degs, gaps,
                        regs)


def fit_guard_and_boost(ckpt, cache, repeats_cache=None) -> dict:
    """What a checkpoint ships for sampling, fitted last: the guard (:func:`fit_guard` on ``cache``)
    and the network's own minor share per style (``modes``, from the same samples), then, when the
    checkpoint's piece memory has a boost and ``repeats_cache`` is given, the boost again on
    samples the guard and the mode rule shape (what users get). ``ckpt.meta`` must already hold
    the priors and repeats it ships with. Returns the ``meta.json`` entries fitted (``harmony``,
    ``modes``, ``repeats``); empty for a tokenizer without note timing."""
    from .repetition import RepeatModel, fit_boost

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
