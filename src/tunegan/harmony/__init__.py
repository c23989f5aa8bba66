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

More tables can be fitted and stored but were not kept (no gain on validation,
docs/results.md): **gaps** between onsets on the Position tokens (``FIT_GAPS``), **register**
bands of absolute pitch (``FIT_REGISTER``), a bar's empty **tail** on the Bar token
(:func:`tail_bins`, ``FIT_TAILS``), a factor per **duration** (``FIT_DURATIONS``), **pairs** of
consecutive melodic intervals (:func:`pair_bins`, ``FIT_PAIRS``), and a **span drawn** per piece
from the style's real compasses (:func:`draw_span`, ``DRAW_SPANS``); the settings live in
:mod:`tunegan.harmony.fit`.

:class:`HarmonyGuard` scales the probability of such pitches, per style, by how often real music
of the style does it against how often the model's samples do (:func:`fit_guard`: ``real /
sampled``, at most 1, counted with the same clock): a style that never re-strikes gets 0, a style
that clashes a third as often as the samples gets about 1/3. Shares are per note start. The guard
scales the network's probabilities before the piece memory is mixed in, so a bar the piece
played before may come back as it was. It only acts when sampling; likelihoods are the network's
(and the piece memory's).
"""

from .batch import Guards
from .bins import (ANY_STYLE, BAND, KINDS, MIN_KEY_NOTES, N_DEGREES, N_INTERVALS, N_PAIRS, N_SPACING, N_STEPS, N_TAILS,
                   STEP_CLIP, WIDE, WIDE_SET, degree_bins, draw_span, gap_bins, interval_bins, pair_bins, register_bins,
                   running_keys, tail_bins)
from .clock import BAR, DURATION, METRE, PITCH, POSITION, GuardTables, NoteClock, guard_tables, start_counts
from .fit import (DEGREE_PARTS, MIN_STEPS, SPAN_QUANTILE, _with_harmony, fit_guard, fit_guard_and_boost,
                  interval_factors)
from .guard import HarmonyGuard, StyleGuard

__all__ = ["ANY_STYLE", "KINDS", "HarmonyGuard", "StyleGuard", "NoteClock", "Guards", "GuardTables", "guard_tables", "start_counts",
           "fit_guard", "fit_guard_and_boost", "interval_factors", "interval_bins", "degree_bins", "gap_bins",
           "register_bins", "tail_bins", "pair_bins", "draw_span", "running_keys", "BAND", "BAR", "DURATION", "METRE",
           "PITCH", "POSITION", "DEGREE_PARTS", "N_PAIRS", "N_TAILS",
           "MIN_KEY_NOTES", "MIN_STEPS", "N_DEGREES", "N_INTERVALS", "N_SPACING", "N_STEPS", "SPAN_QUANTILE",
           "STEP_CLIP", "WIDE", "WIDE_SET", "_with_harmony"]
