"""How pieces open in a bar-based (REMI) cache: the fix applied at ``prepare``, and a report.

A model that starts from BOS alone learns a piece's metre and tempo from its first tokens, so
every piece in a REMI cache should open ``Bar, TimeSig_n/d, Position_0, Tempo_x`` with the
piece's own metre and tempo. MidiTok does emit a ``TimeSig`` after every ``Bar`` and a ``Tempo``
at the first position, but with its defaults when the file has none at tick 0 (4/4, and the tempo
bin nearest 120: ``Tempo_121.29``), after any empty bars of leading silence, and with a pickup
as a bar of its own (``TimeSig_1/4``). :func:`fix_opening` makes the opening the piece's:

1. whole empty bars before the first note are dropped (the tempo, metre and key in force there
   move to tick 0);
2. a first bar shorter than the second (a pickup) is padded in front to a full bar of the second
   bar's metre;
3. a tempo and a time signature at tick 0: a first tempo that comes no later than the first note
   is moved to 0, otherwise MIDI's own 120 BPM is written there (and 4/4 if the file has no metre
   at 0), so the token says what the file plays.

:func:`~.opening_report.opening_report` measures a cache: per corpus, the share of pieces whose opening (the
tokens before the first ``Pitch``) starts with a ``Bar`` and carries a ``TimeSig`` and a
``Tempo``, the share opening at the 120 BPM tempo bin, and tokens per quarter note. Run it with
``python -m tunegan.data.opening_report CACHE [CACHE ...]`` (:mod:`.opening_report`).
"""

from __future__ import annotations

import symusic

from ..music.score import tick_notes
from .metre import fit_time_signatures, score_bars

MIDI_TEMPO = 120.0  # quarter notes per minute before a file's first tempo event


def _to_zero(events, tick: int) -> None:
    for e in events:
        if e.time == tick:
            e.time = 0


def fix_opening(score: symusic.Score) -> symusic.Score:
    """``score`` opening as the module docstring says (a new Score; a score without notes is returned as is)."""
    notes = tick_notes(score, include_drums=True)
    if len(notes) == 0:
        return score
    out = score
    first = int(notes["time"].min())
    bars = score_bars(out)
    cut = max((b.start for b in bars if b.start <= first), default=0)
    if cut > 0:  # clip carries the tempo, metre and key in force at the cut to it
        out = out.clip(cut, out.end() + 1).shift_time(-cut)
        first -= cut
        bars = score_bars(out)
    if len(bars) >= 2 and bars[0].length < bars[1].length and bars[1].metre is not None:
        pad = bars[1].length - bars[0].length
        out = out.shift_time(pad)
        first += pad
        for events in (out.tempos, out.key_signatures):
            _to_zero(events, pad)
        ts = [t for t in out.time_signatures if t.time > bars[1].start + pad]
        out.time_signatures.clear()
        out.time_signatures.append(symusic.TimeSignature(0, *bars[1].metre))
        for t in ts:
            out.time_signatures.append(t)
    else:
        out = out.copy() if out is score else out
    tempos = sorted(out.tempos, key=lambda t: t.time)
    if not tempos or tempos[0].time > 0:
        if tempos and tempos[0].time <= first:
            tempos[0].time = 0
        else:
            out.tempos.append(symusic.Tempo(0, MIDI_TEMPO))
    if not any(t.time == 0 for t in out.time_signatures):
        out.time_signatures.append(symusic.TimeSignature(0, 4, 4))
    out.sort()
    return out


def for_bar_tokens(score: symusic.Score, tokenizer) -> symusic.Score:
    """What ``prepare`` gives a bar-based tokenizer (one with a ``bar_id``, i.e. REMI): bars in
    metres it has tokens for (:func:`~tunegan.data.metre.fit_time_signatures`, when it writes time
    signatures) and the opening fixed (:func:`fix_opening`). Other tokenizers get ``score``."""
    if not hasattr(tokenizer, "bar_id"):
        return score
    config = tokenizer.config
    if getattr(config, "use_time_signatures", False):
        score = fit_time_signatures(score, config.time_signatures)
    return fix_opening(score)


# --------------------------------------------------------------------------- the report
