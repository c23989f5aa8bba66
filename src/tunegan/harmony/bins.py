"""What the harmony guard counts: the kinds of note start, and the bins of intervals, scale degrees
in a running key, gaps between onsets and register bands, with the lookup tables sampling reads."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

ANY_STYLE = ""  # the factors used when no genre keyword is asked (or for a genre without its own)
KINDS = ("restrike", "clash", "wide_clash", "reattack", "unison_step", "beyond_span")
WIDE = np.array([d for k in range(1, 8) for d in (12 * k - 1, 12 * k + 1)])  # 11, 13, 23, 25... semitones
WIDE_SET = frozenset(WIDE.tolist())
STEP_CLIP = 12  # steps beyond an octave share the end bins (as the two-sample test's interval histogram)
N_SPACING = STEP_CLIP + 1      # within an onset: 0..12 semitones above the onset's highest note so far
N_STEPS = 2 * STEP_CLIP + 1    # at a new onset: -12..+12 from the highest note of the onset before
N_INTERVALS = N_SPACING + N_STEPS
N_PAIRS = N_STEPS * N_STEPS  # a note's interval from the note before, after that note's own (pair_bins)
N_DEGREES = 24  # a note's scale degree (0..11 above the tonic) in a major key, then in a minor one
MIN_KEY_NOTES = 8  # notes a piece needs before its running key is trusted (degree factors act from then on)
BAND = 3  # semitones per band of register_bins
N_TAILS = 5  # bins of tail_bins: a bar's empty tail of up to 1, 2, 3, 4 beats, or more


def running_keys(hist: np.ndarray) -> np.ndarray:
    """The key each row of pitch-class weights ``(batch, 12)`` sounds in, by the Krumhansl-Kessler
    profiles (:func:`tunegan.music.keys.key_correlations`): index 0..11 a major key on that tonic,
    12..23 a minor one; -1 for a row without notes. Ties go to the lower index."""
    from ..music.keys import _PROFILE_NORMS, _PROFILES

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


def tail_bins(tail, beat: int) -> np.ndarray:
    """Bins of :data:`N_TAILS` for a bar's empty tail: the positions from its latest onset to the
    next bar's downbeat (``beat`` positions a beat), by whole beats rounded up (up to 1 beat: bin 0;
    more than 4 beats, an empty bar included: the last bin); -1 for none (0 or less)."""
    tail = np.asarray(tail, np.int64)
    return np.where(tail >= 1, np.minimum((tail + beat - 1) // beat - 1, N_TAILS - 1), -1)


NO_INTERVAL = -1000  # "no interval yet" for pair_bins' ``before``


def pair_bins(before, interval) -> np.ndarray:
    """Bins of :data:`N_PAIRS` for consecutive melodic intervals (each clipped to -12..+12): the
    interval that led to the latest note, then the one a note now would make; -1 where ``before``
    is :data:`NO_INTERVAL` (the piece has fewer than two notes)."""
    before, interval = np.asarray(before, np.int64), np.asarray(interval, np.int64)
    row = np.clip(before, -STEP_CLIP, STEP_CLIP) + STEP_CLIP
    col = np.clip(interval, -STEP_CLIP, STEP_CLIP) + STEP_CLIP
    return np.where(before != NO_INTERVAL, row * N_STEPS + col, -1)


def draw_span(draws, seed: int) -> int:
    """One of ``draws`` (a style's real compasses, :attr:`HarmonyGuard.span_draws`) for the piece
    sampled with ``seed``: its own random stream, so the notes' random numbers stay as they were."""
    rng = np.random.default_rng([int(seed), 43])
    return int(draws[int(rng.integers(len(draws)))])


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


@lru_cache(maxsize=4)
def _neighbours(n: int) -> tuple[np.ndarray, np.ndarray]:
    """``(n, n)`` bool tables: row p marks the pitches a semitone from p, and those a semitone away
    in pitch class an octave or more off."""
    d = np.abs(np.arange(n)[:, None] - np.arange(n)[None, :])
    near, far = d == 1, np.isin(d, WIDE)
    near.flags.writeable = far.flags.writeable = False
    return near, far


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
