"""Per-piece musical metrics: MusPy's definitions and Yang & Lerch (2018)'s features.

Every function is pure and takes a tick-based :class:`symusic.Score` (a score in
seconds or quarters is converted to ticks first). Times are in ticks, with
``score.tpq`` ticks per quarter note; a *beat* is one quarter note, as in MusPy.
A *measure* is ``tpq * 4 * numerator / denominator`` ticks from the score's first
time signature (4/4 when it has none); like MusPy's, the measure metrics assume one
time signature for the whole piece.

The MusPy metrics follow ``muspy.metrics`` 0.5.0 (re-implemented here because
MusPy needs pypianoroll, miditoolkit and more), computed from note intervals rather
than a tick piano roll, which gives the same numbers in far less memory. Drum
tracks are left out of the pitch metrics and kept in the rhythm ones, as in MusPy.
Two documented departures: notes are half-open ``[start, end)`` tick intervals,
so a piece ``L`` ticks long has ``ceil(L / unit)`` beats or measures (MusPy counts
``L // unit + 1`` and marks the beat or measure in which a note ends exactly on the
boundary), and :func:`polyphony_rate` counts steps with ``>= threshold`` pitches
(MusPy's code uses ``>``, against its own docstring).

Yang & Lerch's features (:func:`piece_features`) describe the note sequence in
*melodic order*: every note sorted by onset, ties by pitch (:func:`melodic_order`).
"""

from __future__ import annotations

import math

import numpy as np
import symusic

# --- the note arrays every metric reads ------------------------------------------------


def _tick_score(score: symusic.Score) -> symusic.Score:
    return score if "Tick" in str(score.ttype) else score.to("tick")


def _notes(score: symusic.Score, *, drums: bool) -> dict[str, np.ndarray]:
    """Notes of all tracks (drums too when ``drums``): ``start``, ``end`` (ticks), ``pitch``."""
    score = _tick_score(score)
    starts, ends, pitches = [], [], []
    for track in score.tracks:
        if track.is_drum and not drums:
            continue
        a = track.notes.numpy()
        if len(a["time"]) == 0:
            continue
        starts.append(a["time"].astype(np.int64))
        ends.append(a["time"].astype(np.int64) + a["duration"].astype(np.int64))
        pitches.append(a["pitch"].astype(np.int16))
    if not starts:
        e = np.empty(0, np.int64)
        return {"start": e, "end": e.copy(), "pitch": np.empty(0, np.int16)}
    return {"start": np.concatenate(starts), "end": np.concatenate(ends), "pitch": np.concatenate(pitches)}


def measure_ticks(score: symusic.Score) -> int:
    """Ticks per measure from the first time signature (4/4 if none): ``tpq*4*num/den``."""
    score = _tick_score(score)
    num, den = (4, 4)
    if len(score.time_signatures):
        ts = score.time_signatures[0]
        num, den = int(ts.numerator), int(ts.denominator)
    return max(1, round(score.tpq * 4 * num / den))


def melodic_order(score: symusic.Score) -> dict[str, np.ndarray]:
    """Non-drum notes sorted by onset, ties by pitch: ``start``/``end`` (ticks), ``pitch``."""
    n = _notes(score, drums=False)
    order = np.lexsort((n["pitch"], n["start"]))
    return {k: v[order] for k, v in n.items()}


# --- MusPy's metrics --------------------------------------------------------------------


def pitch_range(score: symusic.Score) -> int:
    """Highest minus lowest MIDI pitch (semitones); 0 when there is no note."""
    p = _notes(score, drums=False)["pitch"]
    return int(p.max() - p.min()) if len(p) else 0


def n_pitches_used(score: symusic.Score) -> int:
    """Number of distinct MIDI pitches (0..128)."""
    return int(len(np.unique(_notes(score, drums=False)["pitch"])))


def n_pitch_classes_used(score: symusic.Score) -> int:
    """Number of distinct pitch classes (0..12)."""
    return int(len(np.unique(_notes(score, drums=False)["pitch"] % 12)))


def _entropy_bits(counts: np.ndarray) -> float:
    total = counts.sum()
    if total < 1:
        return math.nan
    p = counts[counts > 0] / total
    return float(-(p * np.log2(p)).sum())


def pitch_entropy(score: symusic.Score) -> float:
    """Shannon entropy (bits) of the note-count histogram over the 128 pitches; NaN without notes."""
    p = _notes(score, drums=False)["pitch"]
    return _entropy_bits(np.bincount(p, minlength=128).astype(float))


def pitch_class_entropy(score: symusic.Score) -> float:
    """Shannon entropy (bits, 0..log2 12) of the pitch-class histogram; NaN without notes."""
    p = _notes(score, drums=False)["pitch"]
    return _entropy_bits(np.bincount(p % 12, minlength=12).astype(float))


_MAJOR = np.array([1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1], bool)
_MINOR = np.array([1, 0, 1, 1, 0, 1, 0, 1, 1, 0, 1, 0], bool)


def scale_consistency(score: symusic.Score) -> float:
    """Largest share of notes inside one major or (natural) minor scale, over the 24 scales.

    In 0..1; NaN without notes.
    """
    p = _notes(score, drums=False)["pitch"]
    if len(p) == 0:
        return math.nan
    hist = np.bincount(p % 12, minlength=12)
    best = 0
    for mask in (_MAJOR, _MINOR):
        for root in range(12):
            best = max(best, int(hist[np.roll(mask, root)].sum()))
    return best / len(p)


def _active_segments(score: symusic.Score) -> tuple[np.ndarray, np.ndarray, int]:
    """Piano-roll summary: segment lengths (ticks) and active pitch count per segment, and length.

    Overlapping notes of one pitch count once, as in a binary piano roll. Length is the
    last note end over non-drum tracks, in ticks.
    """
    n = _notes(score, drums=False)
    if len(n["pitch"]) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64), 0
    starts, ends = [], []
    order = np.lexsort((n["start"], n["pitch"]))
    pitch, s, e = n["pitch"][order], n["start"][order], n["end"][order]
    for pv in np.unique(pitch):  # merge overlapping notes of one pitch
        m = pitch == pv
        ps, pe = s[m], e[m]
        run_end = np.maximum.accumulate(pe)
        new = np.ones(len(ps), bool)
        new[1:] = ps[1:] > run_end[:-1]
        idx = np.flatnonzero(new)
        starts.append(ps[idx])
        ends.append(np.append(run_end[idx[1:] - 1], run_end[-1]))
    starts, ends = np.concatenate(starts), np.concatenate(ends)
    times = np.concatenate([starts, ends])
    delta = np.concatenate([np.ones(len(starts), np.int64), -np.ones(len(ends), np.int64)])
    bounds, inv = np.unique(times, return_inverse=True)
    change = np.zeros(len(bounds), np.int64)
    np.add.at(change, inv, delta)
    active = np.cumsum(change)[:-1]
    return np.diff(bounds), active, int(ends.max())


def polyphony(score: symusic.Score) -> float:
    """Mean number of sounding pitches over the ticks where at least one sounds; NaN without notes."""
    lengths, active, _ = _active_segments(score)
    on = active > 0
    if not on.any():
        return math.nan
    return float((lengths * active).sum() / lengths[on].sum())


def polyphony_rate(score: symusic.Score, threshold: int = 2) -> float:
    """Share of ticks (from 0 to the last note end) where ``>= threshold`` pitches sound.

    In 0..1; NaN when the piece has zero length.
    """
    lengths, active, length = _active_segments(score)
    if length < 1:
        return math.nan
    return float(lengths[active >= threshold].sum() / length)


def _occupied_rate(score: symusic.Score, unit: int) -> float:
    n = _notes(score, drums=True)
    length = int(n["end"].max()) if len(n["end"]) else 0
    if length < 1:
        return math.nan
    n_units = -(-length // unit)
    diff = np.zeros(n_units + 1, np.int64)
    first = n["start"] // unit
    last = (np.maximum(n["end"], n["start"] + 1) - 1) // unit  # half-open [start, end)
    first, last = np.minimum(first, n_units - 1), np.minimum(last, n_units - 1)
    np.add.at(diff, first, 1)
    np.add.at(diff, last + 1, -1)
    covered = np.cumsum(diff)[:n_units] > 0
    return float(1.0 - covered.sum() / n_units)


def empty_beat_rate(score: symusic.Score) -> float:
    """Share of beats (quarter notes, ``tpq`` ticks) in which no note sounds; NaN if zero length.

    Beats run from tick 0 to the last note end; drum notes count as sound.
    """
    return _occupied_rate(score, int(_tick_score(score).tpq))


def empty_measure_rate(score: symusic.Score) -> float:
    """Share of measures (:func:`measure_ticks`) in which no note sounds; NaN if zero length."""
    return _occupied_rate(score, measure_ticks(score))


def groove_consistency(score: symusic.Score, steps_per_beat: int | None = None) -> float:
    """One minus the mean Hamming distance between onset patterns of neighbouring measures.

    Each measure's pattern is a binary vector with one entry per time step (a tick, or
    ``1/steps_per_beat`` of a quarter note when given: onsets are then rounded to that grid,
    which suits performed MIDI). In 0..1; NaN for fewer than two measures.
    """
    score = _tick_score(score)
    n = _notes(score, drums=True)
    res = measure_ticks(score)
    onsets = n["start"]
    if steps_per_beat is not None:
        if steps_per_beat < 1:
            raise ValueError(f"steps_per_beat must be >= 1 (received {steps_per_beat})")
        step = score.tpq / steps_per_beat
        res = max(1, round(res / step))
        onsets = np.round(onsets / step).astype(np.int64)
        length = int(math.ceil(n["end"].max() / step)) if len(onsets) else 0
    else:
        length = int(n["end"].max()) if len(onsets) else 0
    n_measures = -(-length // res)
    if n_measures < 2:
        return math.nan
    grid = np.zeros((n_measures, res), bool)
    measure, pos = np.divmod(onsets, res)
    grid[np.minimum(measure, n_measures - 1), pos] = True
    hamming = np.count_nonzero(grid[:-1] != grid[1:])
    return float(1.0 - hamming / (res * (n_measures - 1)))


# --- Yang & Lerch (2018) features -------------------------------------------------------

#: Note-length classes in beats (quarter notes), in histogram order.
NOTE_LENGTH_CLASSES = (
    ("whole", 4.0), ("half", 2.0), ("quarter", 1.0), ("8th", 0.5), ("16th", 0.25),
    ("dotted half", 3.0), ("dotted quarter", 1.5), ("dotted 8th", 0.75), ("dotted 16th", 0.375),
    ("half triplet", 4 / 3), ("quarter triplet", 2 / 3), ("8th triplet", 1 / 3),
)
_NL_BEATS = np.array([b for _, b in NOTE_LENGTH_CLASSES])
#: Inter-onset-interval histogram bin edges in beats: bin i holds ``edges[i] <= ioi < edges[i+1]``.
IOI_BIN_EDGES = np.array([0, 1 / 16, 1 / 8, 1 / 4, 3 / 8, 1 / 2, 3 / 4, 1, 3 / 2, 2, 3, 4, np.inf])
#: Signed melodic intervals -12..+12 semitones; larger leaps fall in the end bins.
INTERVAL_RANGE = 12


def _normalise(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    return counts / total if total > 0 else np.zeros(len(counts))


def pitch_class_histogram(score: symusic.Score) -> np.ndarray:
    """Pitch-class histogram, shape (12,), C=0, summing to 1 (all zeros without notes)."""
    p = _notes(score, drums=False)["pitch"]
    return _normalise(np.bincount(p % 12, minlength=12).astype(float))


def pitch_intervals(score: symusic.Score) -> np.ndarray:
    """Signed semitone steps between successive notes in :func:`melodic_order`, shape (n-1,)."""
    return np.diff(melodic_order(score)["pitch"].astype(np.int64))


def pitch_interval_histogram(score: symusic.Score) -> np.ndarray:
    """Histogram of signed melodic intervals, shape (25,): bin ``i`` is ``i - 12`` semitones.

    Leaps beyond an octave are clipped into the ±12 bins. Sums to 1 (zeros if < 2 notes).
    Chord notes count as steps upward from the lowest (see :func:`melodic_order`).
    """
    iv = np.clip(pitch_intervals(score), -INTERVAL_RANGE, INTERVAL_RANGE) + INTERVAL_RANGE
    return _normalise(np.bincount(iv, minlength=2 * INTERVAL_RANGE + 1).astype(float))


def inter_onset_intervals(score: symusic.Score) -> np.ndarray:
    """Beats between successive *distinct* onsets (chords count once), shape (k-1,)."""
    score = _tick_score(score)
    onsets = np.unique(_notes(score, drums=False)["start"])
    return np.diff(onsets) / score.tpq


def ioi_histogram(score: symusic.Score) -> np.ndarray:
    """Histogram of :func:`inter_onset_intervals` over ``IOI_BIN_EDGES``, shape (12,), sums to 1."""
    counts, _ = np.histogram(inter_onset_intervals(score), bins=IOI_BIN_EDGES)
    return _normalise(counts.astype(float))


def note_length_histogram(score: symusic.Score) -> np.ndarray:
    """Histogram of note lengths over ``NOTE_LENGTH_CLASSES``, shape (12,), sums to 1.

    Each note goes to the class nearest its length in beats, as in Yang & Lerch's mgeval.
    """
    score = _tick_score(score)
    n = _notes(score, drums=False)
    beats = (n["end"] - n["start"]) / score.tpq
    cls = np.abs(beats[:, None] - _NL_BEATS[None, :]).argmin(axis=1)
    return _normalise(np.bincount(cls, minlength=len(_NL_BEATS)).astype(float))


def piece_features(score: symusic.Score) -> dict[str, float | np.ndarray]:
    """Yang & Lerch's per-piece features plus MusPy's scalar metrics, as one dict.

    Histograms (np.ndarray, each summing to 1): ``pitch_class_hist`` (12),
    ``pitch_interval_hist`` (25, −12..+12 semitones), ``ioi_hist`` (12, ``IOI_BIN_EDGES``),
    ``note_length_hist`` (12, ``NOTE_LENGTH_CLASSES``). Scalars (float): ``pitch_count``
    (distinct pitches), ``note_count``, ``pitch_range`` (semitones), ``ioi_mean`` (beats),
    ``pitch_interval_mean`` (mean absolute interval, semitones), and MusPy's
    ``pitch_entropy``, ``pitch_class_entropy``, ``scale_consistency``, ``polyphony``,
    ``polyphony_rate``, ``empty_beat_rate``, ``empty_measure_rate``, ``groove_consistency``
    (onsets on a 16th-note grid). Undefined scalars are NaN.
    """
    score = _tick_score(score)
    ioi = inter_onset_intervals(score)
    iv = pitch_intervals(score)
    return {
        "pitch_class_hist": pitch_class_histogram(score),
        "pitch_interval_hist": pitch_interval_histogram(score),
        "ioi_hist": ioi_histogram(score),
        "note_length_hist": note_length_histogram(score),
        "pitch_count": float(n_pitches_used(score)),
        "note_count": float(len(_notes(score, drums=False)["pitch"])),
        "pitch_range": float(pitch_range(score)),
        "ioi_mean": float(ioi.mean()) if len(ioi) else math.nan,
        "pitch_interval_mean": float(np.abs(iv).mean()) if len(iv) else math.nan,
        "pitch_entropy": pitch_entropy(score),
        "pitch_class_entropy": pitch_class_entropy(score),
        "scale_consistency": scale_consistency(score),
        "polyphony": polyphony(score),
        "polyphony_rate": polyphony_rate(score),
        "empty_beat_rate": empty_beat_rate(score),
        "empty_measure_rate": empty_measure_rate(score),
        "groove_consistency": groove_consistency(score, steps_per_beat=4),
    }


def semitone_clash_share(note_sets) -> float:
    """Share of simultaneous note pairs exactly a semitone apart (a minor second within the octave),
    over ``NOTE_DTYPE`` arrays (seconds). A pair is simultaneous when one note starts while the
    other sounds (a shared onset counts once). NaN when no two notes ever sound together."""
    clash = pairs = 0
    for notes in note_sets:
        if len(notes) < 2:
            continue
        order = np.argsort(notes["start"], kind="stable")
        start, end, pitch = notes["start"][order], notes["end"][order], notes["pitch"][order].astype(np.int64)
        for i in range(1, len(start)):
            lo = np.searchsorted(start, start[i] - 60.0)  # notes longer than a minute are rare: bound the scan
            j = np.arange(lo, i)
            on = j[(end[j] > start[i]) | (start[j] == start[i])]
            if len(on):
                d = np.abs(pitch[on] - pitch[i])
                pairs += len(on)
                clash += int((d == 1).sum())
    return clash / pairs if pairs else float("nan")
