"""Sheet music: MusicXML through music21, and PNG/PDF/SVG pages through MuseScore 3.

Any MIDI gives notation a reader can play, because every value is put on a notation grid first:

* **Bars** come from the time signatures; a change takes effect at the next bar line. Signatures
  music21 cannot write (numerator 0, a denominator above 16) are left out with a warning.
* **Cells**: each bar is cut into quarter-note cells from its start (a bar of 7/8 ends in a shorter
  cell). Each cell uses one grid, sixteenths or eighth-note triplets, whichever fits its onsets best
  (sixteenths on a tie; short cells only sixteenths). Onsets and ends snap to it (:func:`quantize`).
  MIDI played by a person or a model has onsets a few ms off the beat, which would otherwise be
  written as unreadable 64th notes or as values MusicXML cannot hold ("2048th").
* **Values**: notes and rests are split at cells and bar lines and tied, whole cells of a bar
  merged, so each written value is a plain or dotted note or a triplet.
* **Range**: notes outside the piano (A0..C8, MIDI 21..108) are moved by octaves into it (a warning).
* **Size**: MusicXML holds at most :data:`MUSICXML_MAX_BARS` bars, MuseScore engraves at most
  :data:`tunegan.outputs.engrave.SHEET_MAX_BARS`, and both at most the bars of the first :data:`MAX_NOTATION_NOTES` notes
  (a warning says so), after the limits every render applies
  (:func:`tunegan.outputs.render.limit_score`). MuseScore is stopped after :data:`tunegan.outputs.engrave.MUSESCORE_TIMEOUT_S`.

To stay readable, notes that start together become one chord, a note still sounding when the
next chord starts on the same staff is written only up to that chord, and a note released just
before the next one (a gap under a quarter of its length) is written up to it. Music that fits
one clef gets one staff; music reaching both far below and above middle C gets a grand staff split
at middle C. The key signature is the Krumhansl-Schmuckler key of the notes, and pitches are spelled
with sharps or flats to match it.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import symusic

from ..errors import MIDIError, TuneganError
from ..music import NAMES_SHARP, find_key, pitch_class_histogram
from .limits import MAX_MINUTES, SUFFIXES, Warn, bounded_score, warner, writing

QUARTER_DIVISORS = (4, 3)  # sixteenths and eighth-note triplets
LEGATO_GAP = 0.25  # a rest shorter than this share of the note before it is written as a longer note
SPLIT_PITCH = 60  # grand staff: middle C and above go to the treble staff
TREBLE_LOW, BASS_HIGH = 55, 65  # one staff is enough when all notes are >= G3 (treble) or <= F4 (bass)
PIANO_LOW, PIANO_HIGH = 21, 108  # A0..C8
MERGED = (1, 2, 3, 4, 6, 8)  # quarter notes that make one plain or dotted value (quarter .. breve)
DENOMINATORS = (1, 2, 4, 8, 16)  # time-signature note values that keep bar lines on the sixteenth grid
MUSICXML_MAX_BARS = 1000
MAX_NOTATION_NOTES = 20_000  # denser music gets fewer bars (music21 needs about 1 s per 1000 notes)
NAMES_FLAT = ("C", "D-", "D", "E-", "E", "F", "G-", "G", "A-", "A", "B-", "B")  # music21 writes flats as '-'
# Krumhansl-Kessler key profiles, C major and C minor


class NotationError(TuneganError):
    """Sheet music could not be made (MuseScore missing or failing, or an unsupported format)."""


def to_musicxml(
    score_or_path: symusic.Score | str | os.PathLike | bytes,
    path: str | os.PathLike,
    *,
    title: str | None = None,
    max_minutes: float | None = MAX_MINUTES,
    max_bars: int = MUSICXML_MAX_BARS,
    name: str | None = None,
    on_warning: Warn | None = None,
) -> Path:
    """Write ``score_or_path`` as quantized, readable MusicXML (``.musicxml``/``.xml``, or zipped ``.mxl``).

    ``name`` is what warnings call the piece. Raises ``MIDIError`` for an unreadable or empty file,
    :class:`NotationError` for another suffix.
    """
    p = Path(path)
    if p.suffix.lower() not in SUFFIXES["musicxml"]:
        raise NotationError(f"MusicXML '{p.name}': use a .musicxml, .xml or .mxl file name")
    m21 = build_stream(score_or_path, title=title, max_minutes=max_minutes, max_bars=max_bars, name=name,
                       on_warning=on_warning)
    with writing(p) as part:
        try:
            m21.write("mxl" if p.suffix.lower() == ".mxl" else "musicxml", fp=str(part), makeNotation=False)
        except Exception as e:  # music21 raises many kinds; the grid above should make this unreachable
            raise NotationError(f"MusicXML could not be written: {(str(e).splitlines() or [type(e).__name__])[0]}") from None
    return p


def build_stream(score_or_path, *, title: str | None = None, max_minutes: float | None = MAX_MINUTES,
                 max_bars: int = MUSICXML_MAX_BARS, name: str | None = None, on_warning: Warn | None = None,
                 what: str = "MusicXML"):
    """The :class:`music21.stream.Score` that :func:`to_musicxml` writes (one or two staves)."""
    from music21 import instrument, layout, metadata, stream

    warn = warner(on_warning)
    score, read_name = bounded_score(score_or_path, max_minutes, on_warning)
    name = name or read_name
    onsets, ends, pitches = _pitched_notes(score, name)
    pitches = _into_piano_range(pitches, name, warn)
    bars, total = _bars(score, float(ends.max()), max_bars + 1, name, warn)
    onsets, lengths = quantize(onsets, ends - onsets, cells=_cells(bars))
    last = float((onsets + lengths).max())
    bars = [b for b in bars if b[0] < last - 1e-9]
    keep_bars = max_bars
    if len(onsets) > MAX_NOTATION_NOTES:  # dense music: fewer bars
        nth = float(np.sort(onsets)[MAX_NOTATION_NOTES])
        keep_bars = min(max_bars, max(1, int(np.searchsorted([b[0] for b in bars], nth, side="right")) - 1))
    if len(bars) > keep_bars:
        warn(f"{name}: {what} holds the first {keep_bars} of {max(total, len(bars))} bars")
        cut = bars[keep_bars][0]
        keep = onsets < cut
        onsets, pitches = onsets[keep], pitches[keep]
        lengths = np.minimum(lengths[keep], cut - onsets)
        bars = bars[:keep_bars]
    tonic, mode = _key_of(pitches, lengths)
    spelling = _spelling(tonic, mode)
    lo, hi = int(pitches.min()), int(pitches.max())
    if lo >= TREBLE_LOW or hi <= BASS_HIGH:
        staves = [("treble" if lo >= TREBLE_LOW else "bass", np.ones(len(pitches), bool))]
    else:
        staves = [("treble", pitches >= SPLIT_PITCH), ("bass", pitches < SPLIT_PITCH)]
    end = float(bars[-1][0] + _bar_length(bars[-1]))
    cells = _cells(bars)

    out = stream.Score()
    default_title = "Untitled" if name.startswith("<") else Path(name).stem
    out.metadata = metadata.Metadata(title=title or default_title, composer="tunegan")
    program = next((t.program for t in score.tracks if not t.is_drum and len(t.notes)), 0)
    marks = _tempo_marks(score, cells)
    parts = []
    for i, (clef_name, mask) in enumerate(staves):
        part = stream.PartStaff() if len(staves) == 2 else stream.Part()
        part.insert(0, instrument.instrumentFromMidiProgram(int(program)))
        events = _voice(onsets[mask], lengths[mask], pitches[mask], end)
        _fill_part(part, events, bars, cells, spelling, clef_name, (tonic, mode), marks if i == 0 else [])
        parts.append(part)
        out.insert(0, part)
    if len(parts) == 2:
        out.insert(0, layout.StaffGroup(parts, name="Piano", abbreviation="Pno.", symbol="brace"))
    return out


def _pitched_notes(score: symusic.Score, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(onsets, ends, pitches)`` of the pitched notes, sorted by onset then pitch: quarter notes (float64)
    and MIDI numbers (int64), each of shape ``(n_notes,)``. Raises MIDIError when there are none."""
    rows = [t.notes.numpy() for t in score.tracks if not t.is_drum and len(t.notes)]
    if not rows:
        raise MIDIError(f"{name}: no notes")
    tpq = float(score.ticks_per_quarter)
    on = np.concatenate([r["time"] for r in rows]).astype(np.float64) / tpq
    end = on + np.concatenate([r["duration"] for r in rows]).astype(np.float64) / tpq
    pitch = np.concatenate([r["pitch"] for r in rows]).astype(np.int64)
    order = np.lexsort((pitch, on))
    return on[order], end[order], pitch[order]


def _into_piano_range(pitches: np.ndarray, name: str, warn: Warn) -> np.ndarray:
    """Pitches moved by whole octaves into PIANO_LOW..PIANO_HIGH (a warning when any moved)."""
    low, high = pitches < PIANO_LOW, pitches > PIANO_HIGH
    if not (low.any() or high.any()):
        return pitches
    out = pitches.copy()
    out[low] += 12 * -(-(PIANO_LOW - pitches[low]) // 12)
    out[high] -= 12 * -(-(pitches[high] - PIANO_HIGH) // 12)
    warn(f"{name}: {int(low.sum() + high.sum())} notes outside the piano range A0..C8 written octaves higher or lower")
    return out


def _bars(score: symusic.Score, end: float, limit: int, name: str, warn: Warn) -> tuple[list[tuple[float, int, int]], int]:
    """``(bars, total)``: ``(start in quarter notes, numerator, denominator)`` of the first ``limit`` bars
    (reaching past ``end`` by half a quarter when there are fewer), and how many bars reach ``end``."""
    tpq = float(score.ticks_per_quarter)
    changes, bad = [], 0
    for ts in sorted(score.time_signatures, key=lambda t: t.time):
        if 1 <= ts.numerator <= 64 and ts.denominator in DENOMINATORS:
            changes.append((ts.time / tpq, int(ts.numerator), int(ts.denominator)))
        else:
            bad += 1
    if bad:
        warn(f"{name}: {bad} time signature{'s' * (bad > 1)} music notation cannot show left out")
    if not changes or changes[0][0] > 0:
        changes.insert(0, (0.0, *(changes[0][1:] if changes else (4, 4))))
    bars, total, t = [], 0, 0.0
    for i, (_, num, den) in enumerate(changes):  # a change takes effect at the next bar line
        length = num * 4.0 / den
        stop = changes[i + 1][0] if i + 1 < len(changes) else end + 0.5  # room for an onset rounding up
        n = max(0, int(np.ceil((min(stop, end + 0.5) - t) / length - 1e-9)))
        total += max(0, int(np.ceil((min(stop, end) - t) / length - 1e-9))) if t < end else 0
        bars += [(t + k * length, num, den) for k in range(min(n, limit - len(bars)))]
        t += n * length
        if t >= end + 0.5:
            break
    return bars, max(total, 1)


def _bar_length(bar: tuple[float, int, int]) -> float:
    """Length of a bar in quarter notes: 3/4 -> 3.0, 7/8 -> 3.5."""
    return bar[1] * 4.0 / bar[2]


def _cells(bars) -> np.ndarray:
    """Starts of the quarter-note cells of ``bars`` (float64, shape ``(n_cells + 1,)``, the last is the end)."""
    starts = []
    for start, num, den in bars:
        length = num * 4.0 / den
        starts.extend(start + np.arange(0.0, length, 1.0))
    last = bars[-1]
    return np.array(starts + [last[0] + _bar_length(last)], np.float64)


def quantize(onsets: np.ndarray, lengths: np.ndarray, divisors: tuple[int, ...] = QUARTER_DIVISORS,
             cells: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Snap onsets and lengths (quarter notes) to ``1/d`` of a quarter, one ``d`` per cell.

    ``cells`` holds cell starts (sorted, the last one the end; default: whole quarter notes). Like
    music21's ``quantize(quarterLengthDivisors=(4, 3))``, but each cell uses a single grid (the one
    with the smallest total onset error, the first divisor on a tie, and only divisors that fit the
    cell's length), so a beat never mixes sixteenths and triplets into 1/12-note values. Ends snap to
    the grid of the cell they fall in; lengths are at least one grid step. Returns float64 arrays.
    """
    on = np.asarray(onsets, np.float64)
    end = on + np.asarray(lengths, np.float64)
    if len(on) == 0:
        return on, end - on
    if cells is None:
        cells = np.arange(0.0, np.floor(max(on.max(), end.max())) + 2.0)
    cells = np.asarray(cells, np.float64)
    size = np.diff(cells)
    divs = np.asarray(divisors, np.int64)
    fits = np.abs(size[None, :] * divs[:, None] - np.round(size[None, :] * divs[:, None])) < 1e-6  # (n_div, n_cells)

    def cell_of(t):
        return np.clip(np.searchsorted(cells, t + 1e-9, side="right") - 1, 0, len(size) - 1)

    c_on = cell_of(on)
    err = np.stack([np.bincount(c_on, np.abs(_snap(on - cells[c_on], d) - (on - cells[c_on])), minlength=len(size))
                    for d in divs])
    err[~fits] = np.inf
    per_cell = divs[np.argmin(err, axis=0)]
    q_on = cells[c_on] + _snap(on - cells[c_on], per_cell[c_on])
    c_on = cell_of(q_on)  # an onset may round up to the next cell
    c_end = cell_of(end)
    q_end = cells[c_end] + _snap(end - cells[c_end], per_cell[c_end])
    step = 1.0 / per_cell[c_on]
    q_end = np.where(q_end < q_on + step - 1e-9, q_on + step, q_end)
    return q_on, q_end - q_on


def _snap(x: np.ndarray, d) -> np.ndarray:
    """``x`` rounded to the nearest multiple of ``1/d`` (half up)."""
    return np.floor(np.asarray(x) * d + 0.5) / d


def _voice(onsets, lengths, pitches, end: float) -> list[tuple[float, float, tuple[int, ...]]]:
    """One staff as ``(onset, length, pitches)`` chords and rests (empty ``pitches``) covering ``[0, end)``.

    A chord is cut at the next onset; a gap before it under LEGATO_GAP of the chord's length is closed.
    """
    events, t = [], 0.0
    starts = np.unique(onsets)
    for i, s in enumerate(starts):
        here = onsets == s
        length = float(lengths[here].max())
        nxt = float(starts[i + 1]) if i + 1 < len(starts) else end
        if i + 1 < len(starts) and nxt - s - length <= length * LEGATO_GAP:
            length = nxt - s
        length = min(length, nxt - s)
        if s > t + 1e-9:
            events.append((t, float(s) - t, ()))
        events.append((float(s), length, tuple(sorted(set(pitches[here].tolist())))))
        t = float(s) + length
    if t < end - 1e-9:
        events.append((t, end - t, ()))
    return events


def _pieces(start: float, length: float, cells: np.ndarray, bar_ticks: set[int]) -> list[tuple[float, float]]:
    """``[start, start + length)`` split at cell starts; whole cells of one bar merged back together while
    the sum stays one plain or dotted value (:data:`MERGED`). ``bar_ticks``: bar starts in 1/12 quarters."""
    end = start + length
    i = int(np.searchsorted(cells, start + 1e-9, side="right") - 1)
    pieces = []
    while start < end - 1e-9:
        cell_end = cells[i + 1] if i + 1 < len(cells) else end
        stop = min(end, float(cell_end))
        whole = abs(start - cells[i]) < 1e-9 and abs(stop - cell_end) < 1e-9 and abs(stop - start - 1.0) < 1e-9
        joins = (pieces and whole and pieces[-1][2] and round(start * 12) not in bar_ticks
                 and round(pieces[-1][1] + 1.0) in MERGED)
        if joins:
            pieces[-1] = (pieces[-1][0], pieces[-1][1] + 1.0, True)
        else:
            pieces.append((start, stop - start, whole))
        start, i = stop, i + 1
    return [(s, n) for s, n, _ in pieces]


def _fill_part(part, events, bars, cells, spelling, clef_name: str, key_pair, marks) -> None:
    """Measures of chords, notes and rests (split into plain values and tied), clef, key, metre, tempo."""
    from music21 import chord, clef, meter, note, stream, tempo, tie
    from music21.common.numberTools import opFrac

    bar_starts = np.array([b[0] for b in bars])
    bar_ticks = {round(b * 12) for b in bar_starts}
    measures = []
    for k, (start, num, den) in enumerate(bars):
        m = stream.Measure(number=k + 1)
        if k == 0:
            m.insert(0, clef.TrebleClef() if clef_name == "treble" else clef.BassClef())
            m.insert(0, _music21_key(*key_pair))
        if k == 0 or (num, den) != bars[k - 1][1:]:
            m.insert(0, meter.TimeSignature(f"{num}/{den}"))
        measures.append(m)
    for at, bpm in marks:
        k = int(np.searchsorted(bar_starts, at + 1e-9, side="right") - 1)
        measures[k].insert(opFrac(_exact(at - bar_starts[k])), tempo.MetronomeMark(number=bpm))
    for onset, length, pitches in events:
        pieces = _pieces(onset, length, cells, bar_ticks)
        names = [spelling[p % 12] + str(p // 12 - 1) for p in pitches]
        for j, (s, n) in enumerate(pieces):
            if not names:
                el = note.Rest()
            else:
                el = note.Note(names[0]) if len(names) == 1 else chord.Chord(names)
                if len(pieces) > 1:
                    el.tie = tie.Tie("start" if j == 0 else "stop" if j == len(pieces) - 1 else "continue")
            el.quarterLength = opFrac(_exact(n))
            k = int(np.searchsorted(bar_starts, s + 1e-9, side="right") - 1)
            measures[k].insert(opFrac(_exact(s - bar_starts[k])), el)
    _finish_measures(measures, bars, _music21_key(*key_pair))
    for m in measures:
        part.append(m)
    part.streamStatus.beams = True


def _finish_measures(measures, bars, key) -> None:
    """Beams, tuplet brackets and accidentals, one measure at a time (music21's whole-part passes look
    up the time signature from every measure, which takes minutes on long pieces)."""
    from music21 import beam, meter, stream

    ts = None
    for m, (_, num, den) in zip(measures, bars):
        if ts is None or (ts.numerator, ts.denominator) != (num, den):
            ts = meter.TimeSignature(f"{num}/{den}")
        elements = [n for n in m.notesAndRests]
        if any(n.duration.type == "complex" for n in elements):  # a safety net: the grid should prevent it
            m.splitAtDurations()
            elements = [n for n in m.notesAndRests]
        if len(elements) > 1:
            for n, b in zip(elements, ts.getBeams(elements, measureStartOffset=0.0)):
                n.beams = b if b is not None else beam.Beams()
        stream.makeNotation.makeTupletBrackets(m, inPlace=True)
        m.makeAccidentals(useKeySignature=key, searchKeySignatureByContext=False, inPlace=True)


def _exact(x: float):
    """A quarter-note float from the grid as an exact fraction (multiples of 1/12)."""
    from fractions import Fraction

    return Fraction(round(float(x) * 12), 12)


def _tempo_marks(score: symusic.Score, cells: np.ndarray) -> list[tuple[float, int]]:
    """``(position in quarter notes, bpm)`` of tempo changes, snapped to the nearest cell start, where the
    whole bpm changes; marks after the last bar are left out."""
    tpq = float(score.ticks_per_quarter)
    starts = cells[:-1]
    marks: dict[float, int] = {}
    for t in sorted(score.tempos, key=lambda t: t.time):
        q = t.time / tpq
        if t.mspq <= 0 or q >= cells[-1]:
            continue
        j = int(np.searchsorted(starts, q))  # the first cell start at or after q, or the one before
        at = float(min((starts[c] for c in (j - 1, j) if 0 <= c < len(starts)), key=lambda c: abs(c - q)))
        marks[at] = int(np.clip(round(60e6 / t.mspq), 1, 999))
    out, last = [], None
    for at in sorted(marks):
        if marks[at] != last:
            out.append((at, marks[at]))
            last = marks[at]
    return out


def _key_of(pitches: np.ndarray, lengths: np.ndarray) -> tuple[int, str]:
    """``(tonic pitch class, "major"|"minor")``: :func:`tunegan.music.find_key` on the length-weighted histogram."""
    est = find_key(pitch_class_histogram(pitches, np.maximum(lengths, 1e-3)))
    return est.tonic, est.mode


def _music21_key(tonic: int, mode: str):
    """The :class:`music21.key.Key` on pitch class ``tonic`` spelled with the fewest accidentals (Bb, not A#)."""
    from music21 import key

    mode = mode if mode in ("major", "minor") else "major"
    keys = [key.Key(NAMES_SHARP[tonic], mode), key.Key(NAMES_FLAT[tonic], mode)]
    return min(keys, key=lambda k: abs(k.sharps))


def _spelling(tonic: int, mode: str) -> tuple[str, ...]:
    """Pitch-class names (music21 spelling) for a key: flats for flat keys, sharps otherwise."""
    k = _music21_key(tonic, mode)
    names = list(NAMES_FLAT if k.sharps < 0 else NAMES_SHARP)
    for p in k.getPitches():
        names[p.pitchClass] = p.name
    return tuple(names)
