"""Explain a piece in plain words: a table of its notes and a short summary.

Each note gets its place in the music (``bar:beat``, both counted from 1; a beat is the time
signature's note value, so ``"3:2.5"`` is halfway through the second beat of bar 3), its name
(``"E4 (64)"``), its written length (``"dotted eighth"``, the nearest common note value) and its
loudness as a dynamic mark (``ppp`` .. ``fff`` from velocity).

The summary gives the key (Krumhansl-Schmuckler: the pitch-class durations are correlated with
the Krumhansl-Kessler major and minor profiles in all 12 transpositions; the best Pearson
correlation is the confidence), time signature, tempo, range, how much the melody moves by step,
and melodic motifs that repeat. The melody is the highest note at each onset.

Bars are counted arithmetically over each stretch of one metre (:class:`BarMap`), never enumerated,
so a file that claims hours of silence still places every note in its true bar. A time signature
takes effect at the first bar line at or after its tick (as :func:`tunegan.music.bar_grid` counts).
"""

from __future__ import annotations

import math
import os
from collections import Counter
from dataclasses import asdict, dataclass, field

import numpy as np
import symusic

from .errors import MIDIError
from .midi import require_pitched_notes
from .music import (NAMES_SHARP, KeyEstimate, as_score, first_tempo, first_time_signature, keys, note_name,
                    score_notes, skyline, tick_notes, ticks_to_seconds)

# Note values in quarter notes; a note gets the name nearest its length on a log scale.
NOTE_VALUES = {
    "double whole": 8.0, "dotted whole": 6.0, "whole": 4.0, "dotted half": 3.0, "half": 2.0,
    "half triplet": 4 / 3, "dotted quarter": 1.5, "quarter": 1.0, "dotted eighth": 0.75,
    "quarter triplet": 2 / 3, "eighth": 0.5, "dotted sixteenth": 0.375, "eighth triplet": 1 / 3,
    "sixteenth": 0.25, "sixteenth triplet": 1 / 6, "thirty-second": 0.125, "sixty-fourth": 0.0625,
}
DYNAMICS = ("ppp", "pp", "p", "mp", "mf", "f", "ff", "fff")
DYNAMIC_VELOCITY = np.array([16, 33, 49, 64, 80, 96, 112, 127])  # typical velocity of each mark
STEP_MAX = 2  # semitones: a melodic move of at most this is a step, larger is a leap
MOTIF_LENGTHS = (4, 3)  # motifs are runs of this many melodic intervals (5 or 4 notes)
MAX_MOTIFS = 3


@dataclass
class NoteRow:
    """One note of the table."""

    position: str   # "bar:beat", both 1-based, e.g. "3:2.5"
    bar: int        # 1-based
    beat: float     # 1-based, fractional within the beat
    name: str       # "E4 (64)"
    pitch: int      # MIDI number
    duration: str   # nearest note value, e.g. "dotted eighth"
    quarters: float  # length in quarter notes
    dynamic: str    # "ppp".."fff"
    velocity: int   # 1..127
    start_s: float  # onset in seconds


@dataclass
class Motif:
    """A melodic pattern that comes back: its intervals (semitones) and where it first appears."""

    intervals: list[int]
    count: int
    first_notes: str  # e.g. "C4 D4 E4 C4"
    first_position: str  # "bar:beat"


@dataclass
class Summary:
    """The piece at a glance."""

    key: str                  # "C major"
    key_confidence: float     # Pearson correlation with the key profile, -1..1
    runner_up_key: str
    time_signature: str       # "3/4"
    tempo_bpm: float          # first tempo, quarter notes per minute
    tempo_changes: int        # how many further tempo changes follow
    n_notes: int
    n_bars: int
    duration_s: float
    lowest: str               # "C4 (60)"
    highest: str
    span_semitones: int
    step_share: float | None  # share of melodic moves of <= 2 semitones; None with < 2 onsets
    motifs: list[Motif] = field(default_factory=list)
    form: str = ""                   # "AABA", or "" when no phrase returns (tunegan.music.form)
    phrase_bars: int = 0
    repeats: list[str] = field(default_factory=list)  # "bars 9-12 repeat bars 1-4 exactly"
    self_similarity: float | None = None  # share of bars repeating an earlier bar
    ends_on_tonic: bool = False
    loop_bars: int | None = None     # bars of a loop marked with loopStart/loopEnd


@dataclass
class Explanation:
    """What :func:`explain` returns; ``to_dict()`` is JSON-ready."""

    source: str
    summary: Summary
    notes: list[NoteRow]
    sentences: list[str]  # the summary in plain words

    def to_dict(self) -> dict:
        """Plain dict of lists/str/int/float (``json.dumps`` works on it)."""
        return asdict(self)


def estimate_key(notes: np.ndarray) -> tuple[int, str, float]:
    """``(tonic_pc, "major"|"minor", correlation)`` of ``NOTE_DTYPE`` notes by Krumhansl-Schmuckler."""
    return tuple(rank_keys(notes)[0])


def rank_keys(notes: np.ndarray) -> list[KeyEstimate]:
    """All 24 keys, best first; pitch classes weighted by duration (s) (:func:`tunegan.music.rank_keys`)."""
    return keys.rank_keys(keys.pitch_class_histogram(notes["pitch"], notes["end"] - notes["start"]))


def duration_name(quarters: float) -> str:
    """Nearest note value for a length in quarter notes: ``0.75 -> "dotted eighth"``, ``1/3 -> "eighth triplet"``."""
    if quarters > 10:
        return f"{quarters:g} quarters (tied)"
    q = max(quarters, 1e-3)
    return min(NOTE_VALUES, key=lambda k: abs(np.log(q / NOTE_VALUES[k])))


def dynamic_mark(velocity: int) -> str:
    """``ppp`` .. ``fff`` for a MIDI velocity (nearest typical velocity; 80 is ``mf``)."""
    edges = (DYNAMIC_VELOCITY[:-1] + DYNAMIC_VELOCITY[1:]) / 2
    return DYNAMICS[int(np.searchsorted(edges, velocity, side="right"))]


def format_beat(beat: float) -> str:
    """``2.0 -> "2"``, ``2.5 -> "2.5"``, ``1.3333 -> "1.33"``."""
    return f"{round(beat, 2):g}"


class BarMap:
    """Where ticks fall in the bars of a tick-based score: one arithmetic stretch per metre.

    ``starts`` (ticks, float64), ``first_bar`` (0-based index of each stretch's first bar),
    ``numerators`` and ``beat_ticks`` (ticks per beat) per stretch, shape ``(n_stretches,)``.
    A piece without a time signature at tick 0 starts in 4/4; a change takes effect at the first
    bar line at or after it (several changes inside one bar: the last one wins).
    """

    def __init__(self, score: symusic.Score):
        tpq = score.ticks_per_quarter
        changes = sorted(((int(t.time), int(t.numerator), int(t.denominator)) for t in score.time_signatures
                          if t.numerator > 0 and t.denominator > 0), key=lambda c: c[0])
        if not changes or changes[0][0] > 0:
            changes.insert(0, (0, 4, 4))
        starts, first, nums, beat = [], [], [], []
        start, bar, i = 0.0, 0, 0
        while True:
            while i + 1 < len(changes) and changes[i + 1][0] <= start + 1e-9:
                i += 1
            _, num, den = changes[i]
            beat_len = tpq * 4 / den
            starts.append(start), first.append(bar), nums.append(num), beat.append(beat_len)
            if i + 1 == len(changes):
                break
            bar_len = num * beat_len
            k = max(1, math.ceil((changes[i + 1][0] - start) / bar_len - 1e-9))  # bars until the next change applies
            start, bar = start + k * bar_len, bar + k
        self.starts, self.first_bar = np.array(starts), np.array(first, np.int64)
        self.numerators, self.beat_ticks = np.array(nums, np.int64), np.array(beat)

    def locate(self, ticks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(bar, beat)`` of tick positions: 0-based bar index (int64) and 1-based beat (float64)."""
        ticks = np.asarray(ticks, dtype=np.float64)
        seg = np.clip(np.searchsorted(self.starts, ticks + 1e-9, side="right") - 1, 0, len(self.starts) - 1)
        beats = (ticks - self.starts[seg]) / self.beat_ticks[seg]  # beats since the stretch began
        in_bars = np.floor(beats / self.numerators[seg] + 1e-9)
        return self.first_bar[seg] + in_bars.astype(np.int64), 1 + beats - in_bars * self.numerators[seg]


def explain(score_or_path: symusic.Score | str | os.PathLike | bytes) -> Explanation:
    """Table of notes and plain-words summary of a MIDI file or Score (drum tracks left out).

    Raises ``MIDIError`` for an unreadable file or one without a ticks-per-quarter resolution,
    ``MIDIError("<name>: no notes")`` for an empty one and ``"<name>: only drum tracks, no pitched
    notes"`` for a drum-only one.
    """
    score, name = as_score(score_or_path)
    if score.ticks_per_quarter <= 0:
        raise MIDIError(f"{name}: invalid resolution of {score.ticks_per_quarter} ticks per quarter note")
    require_pitched_notes(score, name)
    notes = score_notes(score, name)
    tn = tick_notes(score)
    tick, dur, pitch, vel = (tn[k].astype(np.int64) for k in ("time", "duration", "pitch", "velocity"))
    tpq = score.ticks_per_quarter
    bar_map = BarMap(score)
    bar_idx, beats = bar_map.locate(tick)
    starts = ticks_to_seconds(score, tick)
    rows = [
        NoteRow(position=f"{b + 1}:{format_beat(bt)}", bar=int(b + 1), beat=round(float(bt), 4),
                name=f"{note_name(int(p))} ({int(p)})", pitch=int(p), duration=duration_name(d / tpq),
                quarters=round(float(d / tpq), 4), dynamic=dynamic_mark(int(v)), velocity=int(v),
                start_s=round(float(s), 4))
        for b, bt, p, d, v, s in zip(bar_idx, beats, pitch, dur, vel, starts)
    ]
    ranked = rank_keys(notes)
    tonic, mode, conf = ranked[0]
    num, den = first_time_signature(score)
    lo, hi = int(pitch.min()), int(pitch.max())
    melody_ticks, melody = skyline(tick, pitch)
    intervals = np.diff(melody)
    summary = Summary(
        key=f"{NAMES_SHARP[tonic]} {mode}", key_confidence=round(conf, 3),
        runner_up_key=f"{NAMES_SHARP[ranked[1][0]]} {ranked[1][1]}",
        time_signature=f"{num}/{den}", tempo_bpm=round(first_tempo(score), 2),
        tempo_changes=max(0, len({round(t.qpm, 2) for t in score.tempos}) - 1),
        n_notes=len(rows), n_bars=int(bar_idx.max()) + 1, duration_s=round(float(notes["end"].max()), 3),
        lowest=f"{note_name(lo)} ({lo})", highest=f"{note_name(hi)} ({hi})", span_semitones=hi - lo,
        step_share=None if len(intervals) == 0 else round(float(np.mean(np.abs(intervals) <= STEP_MAX)), 3),
        motifs=_motifs(intervals, melody, _positions(melody_ticks, bar_map)),
        **_form(score),
    )
    return Explanation(source=name, summary=summary, notes=rows, sentences=_sentences(summary))


def _form(score: symusic.Score) -> dict:
    from .music.form import ends_on_tonic, find_form, loop_end
    from .music.timing import bar_grid

    end = loop_end(score)
    loop_bars = None
    if end is not None:
        grid = bar_grid(score, end)
        loop_bars = int(np.searchsorted(grid.bars, end))
    f = find_form(score, n_bars=loop_bars)
    sim = None if np.isnan(f.self_similarity) else round(float(f.self_similarity), 3)
    return dict(form=f.letters, phrase_bars=f.phrase_bars, repeats=[r.describe() for r in f.repeats],
                self_similarity=sim, ends_on_tonic=ends_on_tonic(score), loop_bars=loop_bars)


def _positions(ticks: np.ndarray, bar_map: BarMap) -> list[str]:
    """``"bar:beat"`` labels for tick positions."""
    b, beats = bar_map.locate(ticks)
    return [f"{i + 1}:{format_beat(x)}" for i, x in zip(b, beats)]


def _motifs(intervals: np.ndarray, melody: np.ndarray, positions: list[str]) -> list[Motif]:
    """Interval patterns of :data:`MOTIF_LENGTHS` that occur at least twice, most frequent first."""
    iv = intervals.tolist()
    found: list[tuple[int, int, tuple[int, ...]]] = []
    for n in MOTIF_LENGTHS:
        grams = Counter(tuple(iv[i:i + n]) for i in range(len(iv) - n + 1))
        found += [(c, n, g) for g, c in grams.items() if c >= 2]
    found.sort(key=lambda f: (-f[0], -f[1]))
    chosen: list[tuple[int, int, tuple[int, ...]]] = []
    for c, n, g in found:
        inside = any(c == c2 and _contains(g2, g) for c2, _, g2 in chosen)
        if not inside:
            chosen.append((c, n, g))
        if len(chosen) == MAX_MOTIFS:
            break
    motifs = []
    for c, n, g in chosen:
        first = next(i for i in range(len(iv) - n + 1) if tuple(iv[i:i + n]) == g)
        names = " ".join(note_name(int(p)) for p in melody[first:first + n + 1])
        motifs.append(Motif(intervals=list(g), count=c, first_notes=names, first_position=positions[first]))
    return motifs


def _contains(big: tuple[int, ...], small: tuple[int, ...]) -> bool:
    """Whether ``small`` is a contiguous run inside ``big``."""
    return any(big[i:i + len(small)] == small for i in range(len(big) - len(small) + 1))


def _sentences(s: Summary) -> list[str]:
    """The summary in plain words, one sentence per line."""
    sure = "clear" if s.key_confidence >= 0.8 else "likely" if s.key_confidence >= 0.6 else "uncertain"
    num, den = s.time_signature.split("/")
    beat = {"1": "whole note", "2": "half note", "4": "quarter note", "8": "eighth note", "16": "sixteenth note"}
    pace = ("slow" if s.tempo_bpm < 76 else "moderate" if s.tempo_bpm <= 120
            else "fast" if s.tempo_bpm < 168 else "very fast")
    span = s.span_semitones
    span_words = f"{span // 12} octave{'s' if span >= 24 else ''}" + (f" and {span % 12} semitones" if span % 12 else "")
    lines = [
        f"Key: {s.key} ({sure}: match {s.key_confidence:.2f}; next best {s.runner_up_key}).",
        f"Time signature: {s.time_signature}, {num} beats per bar, each beat a {beat.get(den, '1/' + den + ' note')}.",
        f"Tempo: {s.tempo_bpm:g} quarter notes per minute ({pace})"
        + (f", with {s.tempo_changes} tempo change{'s' if s.tempo_changes > 1 else ''}." if s.tempo_changes else "."),
        f"Length: {s.n_notes} notes in {s.n_bars} bar{'s' if s.n_bars > 1 else ''}, {s.duration_s:.1f} seconds.",
        f"Range: {s.lowest} to {s.highest}, {span} semitones" + (f" ({span_words})." if span >= 12 else "."),
    ]
    if s.step_share is not None:
        feel = "smooth, mostly stepwise" if s.step_share >= 0.7 else "mixed" if s.step_share >= 0.4 else "jumpy, mostly leaps"
        lines.append(f"Melody: {s.step_share:.0%} steps (moves of up to {STEP_MAX} semitones, repeats included), "
                     f"{1 - s.step_share:.0%} leaps: {feel}.")
    if s.motifs:
        for m in s.motifs:
            moves = " ".join(f"{i:+d}" for i in m.intervals)
            lines.append(f"Motif: {m.first_notes} (moves {moves}) appears {m.count} times, first at {m.first_position}.")
    else:
        lines.append("Motifs: no melodic pattern of 4 or more notes repeats.")
    if s.form:
        lines.append(f"Form: {s.form}, in phrases of {s.phrase_bars} bars: {'; '.join(s.repeats)}.")
    else:
        lines.append("Form: no phrase of 2, 4 or 8 bars returns.")
    if s.self_similarity is not None:
        lines.append(f"Repetition: {s.self_similarity:.0%} of bars repeat an earlier bar exactly or nearly.")
    lines.append("Ending: on the tonic." if s.ends_on_tonic else "Ending: not on the tonic (the last chord's lowest "
                 "note is another note of the key, or outside it).")
    if s.loop_bars:
        lines.append(f"Loop: marked to repeat every {s.loop_bars} bars (loopStart/loopEnd).")
    return lines


def format_text(expl: Explanation, *, max_rows: int | None = None) -> str:
    """Summary sentences, then the note table as aligned plain text (first ``max_rows`` rows if given)."""
    rows = expl.notes if max_rows is None else expl.notes[:max_rows]
    head = ("bar:beat", "note", "length", "loudness")
    cells = [(r.position, r.name, r.duration, f"{r.dynamic} ({r.velocity})") for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(head)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [f"{expl.source}", *expl.sentences, "", fmt.format(*head).rstrip(), fmt.format(*("-" * w for w in widths))]
    out += [fmt.format(*c).rstrip() for c in cells]
    if len(rows) < len(expl.notes):
        out.append(f"... and {len(expl.notes) - len(rows)} more notes")
    return "\n".join(out)
