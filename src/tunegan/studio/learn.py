"""The *Learn* tab: five short lessons on reading music, each with small examples that the
library plays (:func:`~tunegan.outputs.render_wav`) and draws (:func:`~tunegan.outputs.plot_pianoroll`).

The examples are built in code from note lists when the studio starts (:func:`build_lessons`) and
cached in a folder; nothing binary is stored in the package. The melody of *Ode to Joy*
(Beethoven, 1824) is in the public domain.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import symusic

from ..midi import NOTE_DTYPE, notes_to_score
from ..music import parse_note


def melody(events: list[tuple], *, tempo: float = 100.0, time_signature=(4, 4), program: int = 0) -> symusic.Score:
    """A Score from ``(notes, beats[, velocity])`` events played one after another.

    ``notes`` is a name (``"C4"``), a list of names sounding together, or ``None`` for a rest;
    ``beats`` is the length in quarter notes; ``velocity`` is 1..127 (default 80).
    """
    rows, t = [], 0.0
    sec_per_beat = 60.0 / tempo
    for ev in events:
        names, beats = ev[0], float(ev[1])
        vel = ev[2] if len(ev) > 2 else 80
        for name in ([] if names is None else [names] if isinstance(names, str) else names):
            # a small gap so repeated notes are heard as separate notes
            rows.append((parse_note(name), vel, t, t + beats * sec_per_beat * 0.92))
        t += beats * sec_per_beat
    notes = np.array(rows, dtype=NOTE_DTYPE)
    return notes_to_score(notes, tempo=tempo, time_signature=tuple(time_signature), program=program)


def _transposed(score: symusic.Score, semitones: int) -> symusic.Score:
    from ..music import transpose_score

    return transpose_score(score, semitones)


def _accented(names: list[str], group: int) -> list[tuple]:
    """Quarter notes with the first of every ``group`` louder: how a bar is felt."""
    return [(n, 1, 110 if i % group == 0 else 55) for i, n in enumerate(names)]


ODE = ["E4", "E4", "F4", "G4", "G4", "F4", "E4", "D4", "C4", "C4", "D4", "E4"]
ODE_END = [("E4", 1.5), ("D4", 0.5), ("D4", 2)]
WALTZ = ["C4", "E4", "G4", "D4", "F4", "A4", "E4", "G4", "B4", "C5", "G4", "E4"]


@dataclass
class Example:
    caption: str
    build: Callable[[], symusic.Score]
    wav: Path | None = None  # filled by build_lessons
    png: Path | None = None


@dataclass
class Lesson:
    title: str
    text: str  # Markdown
    examples: list[Example] = field(default_factory=list)


def lessons() -> list[Lesson]:
    """The lessons in reading order (examples not yet rendered)."""
    return [
        Lesson("Notes and octaves", (
            "A piano has a short pattern of keys that repeats from left to right: seven white keys named with the "
            "letters **C D E F G A B** and five black keys between them. Each key is a *note*. Walking from one C to "
            "the next C takes you up an **octave**. The two Cs sound like the same note, one higher than the other: "
            "the higher one vibrates exactly twice as fast.\n\n"
            "Listen: first C4 and C5 one after the other, then together. Then every white key from C4 up to C5."),
            [Example("C4, then C5 (an octave higher), then both together",
                     lambda: melody([("C4", 2), ("C5", 2), (["C4", "C5"], 4)])),
             Example("The white keys from C4 to C5: a C major scale",
                     lambda: melody([(n, 1) for n in "C4 D4 E4 F4 G4 A4 B4 C5".split()]))]),
        Lesson("Note names and MIDI numbers", (
            "To say *which* C you mean, add the octave number to the letter: this is **scientific pitch notation**. "
            "The number goes up by one at every C, and the C near the middle of the piano is **C4** (\"middle C\"). "
            "A black key takes the name of a neighbour with a sharp (#, one key up) or a flat (b, one key down), so "
            "C#4 and Db4 are the same key.\n\n"
            "Computers simply count the keys: in MIDI, middle C is number **60** and every key to the right adds one. "
            "So C#4 is 61, C5 is 72 (twelve keys, an octave, higher) and A4, the note orchestras tune to, is 69. "
            "The piano roll below labels every note with both its name and its number."),
            [Example("Every key from C4 (60) to C5 (72), black keys included",
                     lambda: melody([(n, 0.5) for n in "C4 C#4 D4 D#4 E4 F4 F#4 G4 G#4 A4 A#4 B4 C5".split()]))]),
        Lesson("Note lengths and beats", (
            "Music has a steady pulse you can tap your foot to: the **beat**. How long a note lasts is counted in "
            "beats. In most music a **quarter note** lasts one beat, a **half note** two beats, a **whole note** four "
            "beats, and an **eighth note** half a beat. A dot after a note makes it half as long again (a dotted "
            "half note is three beats).\n\n"
            "Listen to one note held for a whole note, then two halves, four quarters and eight eighths: every "
            "group fills the same four beats."),
            [Example("Whole, halves, quarters, eighths: each group lasts four beats",
                     lambda: melody([("G4", 4), ("G4", 2), ("G4", 2), *[("G4", 1)] * 4, *[("G4", 0.5)] * 8]))]),
        Lesson("Bars and time signatures", (
            "Beats come in groups called **bars** (or measures), and the first beat of each bar feels the strongest. "
            "The **time signature** at the start of a piece says how: the top number is how many beats a bar has, "
            "the bottom number which note counts as one beat (4 = a quarter note). **4/4** counts "
            "*ONE two three four* (most pop songs and marches); **3/4** counts *ONE two three* (a waltz).\n\n"
            "Here are the same twelve notes twice: grouped in threes, then in fours. The lines in the pictures "
            "mark where each bar starts."),
            [Example("In 3/4: ONE two three, four bars",
                     lambda: melody(_accented(WALTZ, 3), time_signature=(3, 4), tempo=120)),
             Example("In 4/4: ONE two three four, three bars",
                     lambda: melody(_accented(WALTZ, 4), time_signature=(4, 4), tempo=120))]),
        Lesson("Keys and transposition", (
            "Most tunes settle on a home note and use seven of the twelve notes around it: that set is the **key**. "
            "A tune in **C major** uses only the white keys and feels finished when it lands on C. Minor keys "
            "(like **A minor**) tend to sound darker.\n\n"
            "**Transposing** moves every note up or down by the same number of keys (semitones). The tune stays the "
            "same tune, just higher or lower, and lands in a new key. Below, a melody everyone knows in C major, then "
            "moved up seven semitones to G major (now it needs the black key F#)."),
            [Example("Ode to Joy in C major", lambda: melody([(n, 1) for n in ODE] + ODE_END, tempo=120)),
             Example("The same tune transposed up 7 semitones, to G major",
                     lambda: _transposed(melody([(n, 1) for n in ODE] + ODE_END, tempo=120), 7))]),
    ]


def build_lessons(out_dir: str | os.PathLike) -> list[Lesson]:
    """Render every example of :func:`lessons` to ``out_dir/<n>.wav`` and ``<n>.png``.

    Files that already exist are reused, so a folder serves as a cache. Returns the lessons with
    ``wav`` and ``png`` filled in.
    """
    from ..outputs import plot_pianoroll, render_wav

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    done = lessons()
    n = 0
    for lesson in done:
        for ex in lesson.examples:
            n += 1
            ex.wav, ex.png = out / f"example-{n}.wav", out / f"example-{n}.png"
            if ex.wav.is_file() and ex.png.is_file():
                continue
            score = ex.build()
            _atomic(ex.wav, lambda p: render_wav(score, p))
            _atomic(ex.png, lambda p: plot_pianoroll(score, p, width=10, height=4, title=ex.caption))
    return done


def _atomic(path: Path, write: Callable[[Path], object]) -> None:
    """Write through a temporary name, so a half-written file is never taken from the cache."""
    tmp = path.with_name(f".{path.stem}-{os.getpid()}{path.suffix}")
    write(tmp)
    os.replace(tmp, path)
