"""What the web studio does, as plain functions: check what a beginner entered, call the library,
and return file paths and friendly one-line messages. Nothing here imports gradio, so every
function is testable without a browser (``tests/test_studio_handlers.py``).

Bad input raises :class:`StudioInputError` (a :class:`~tunegan.errors.TuneganError`) whose message
names the field and says what to do; :func:`friendly_message` turns any exception into the line the
page shows (unexpected ones are logged here and shown as :data:`SOMETHING_WRONG`, never a traceback).
"""

from __future__ import annotations

import logging
import math
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..errors import MIDIError, NoteNameError, TuneganError
from ..midi import MIDI_MAGIC
from ..music import note_name, parse_notes

log = logging.getLogger("tunegan.studio")

MAX_UPLOAD_BYTES = 1_000_000  # 1 MB: a short MIDI file is a few kB
MAX_START_NOTES = 64
MAX_HISTORY = 10              # recent results kept per browser session
MAX_TABLE_ROWS = 200          # notes shown in the page's table (the MIDI has them all)
KEEP_RESULTS = 200            # result folders kept on disk; older ones are deleted
BARS = (1, 32)
SECONDS = (2.0, 60.0)
TEMPO = (40.0, 220.0)         # quarter notes per minute
ADVENTUROUSNESS = (0.1, 2.0)  # sampling temperature
STYLE_STRENGTH = (0.0, 5.0)   # classifier-free guidance
TRANSPOSE = (-12, 12)         # semitones
SEED_MAX = 2**31 - 1

PIANO_KEYS = tuple(note_name(p) for p in range(60, 84))  # C4..B5, the on-screen keyboard
ANY_KEY = "Any key"
KEYS = (ANY_KEY, "C major", "G major", "D major", "A major", "E major", "F major", "Bb major", "Eb major",
        "A minor", "E minor", "B minor", "D minor", "G minor", "C minor",
        "A harmonic minor", "E harmonic minor", "D harmonic minor")  # harmonic: unmistakably minor
STYLE_METRE = "as the style plays"  # the time signature drawn from the style's pieces, as generate does
TIME_SIGNATURES = (STYLE_METRE, "4/4", "3/4", "2/4", "6/8")
INSTRUMENTS = ("Acoustic Grand Piano", "Electric Piano 1", "Harpsichord", "Music Box", "Vibraphone",
               "Church Organ", "Acoustic Guitar (nylon)", "Electric Guitar (clean)", "Violin", "Cello",
               "String Ensemble 1", "Harp", "Trumpet", "Alto Sax", "Clarinet", "Flute", "Pan Flute")
ANY_MOOD = "(any mood)"
FREE_FORM = "(free)"
POLISH_CANDIDATES = 4  # polish: best of this many by the critic (off by default: it did not measure better)
FORMS = (FREE_FORM, "AABA", "ABAB", "AABB", "ABAC", "verse-chorus")
SOMETHING_WRONG = ("Something went wrong while making your music. Please try again; if it keeps happening, "
                   "try other settings or restart the studio.")
MUSESCORE_HINT = ("Sheet music needs the free program MuseScore 3 (on Debian/Ubuntu: `sudo apt install musescore3`; "
                  "otherwise musescore.org). Meanwhile, download the MusicXML file and open it in any notation program.")
TABLE_HEADERS = ("bar:beat", "note", "length", "loudness")
HISTORY_HEADERS = ("#", "seed", "started from", "length", "tempo", "key", "time", "adventurousness", "instrument", "style")


class StudioInputError(TuneganError):
    """Something the beginner entered that the studio cannot use; the message says what to do."""


@dataclass
class Settings:
    """Everything the *Make music* tab asks for, as the page sends it (numbers may come as floats)."""

    notes: str = ""                  # starting notes, e.g. "C4 E4 G4"
    midi_file: str | None = None     # path of an uploaded MIDI file to continue instead
    length_unit: str = "bars"        # "bars" or "seconds"
    bars: float = 8
    seconds: float = 15.0
    tempo: float | None = None       # None: as the style's pieces open (drawn with the seed, as generate)
    key: str = ANY_KEY
    time_signature: str = STYLE_METRE
    adventurousness: float = 1.0
    instrument: str = "Acoustic Grand Piano"
    style: list[str] = field(default_factory=list)
    mood: str | None = None
    style_strength: float = 1.0
    transpose: float = 0
    seed: float | None = None        # None: a new random seed
    sheet_music: bool = True
    form: str = FREE_FORM            # one of FORMS
    loop: bool = False
    polish: bool = False             # best of POLISH_CANDIDATES by the checkpoint's critic


@dataclass
class Result:
    """One generated piece and the files made from it (all in one folder)."""

    seed: int
    midi: Path
    wav: Path
    pianoroll: Path
    musicxml: Path
    sheet: Path | None       # first page of the sheet music, when MuseScore is installed
    sheet_note: str          # why there is no sheet music (empty when there is)
    table: list[list[str]]   # rows of TABLE_HEADERS
    summary: list[str]       # plain-words sentences from tunegan.explain
    settings: dict
    seconds_taken: float

    def files(self) -> list[str]:
        """The downloads: MIDI, WAV, MusicXML."""
        return [str(self.midi), str(self.wav), str(self.musicxml)]

    def status(self) -> str:
        s = self.settings
        length = f"{int(s['bars'])} bars" if s["length_unit"] == "bars" else f"{s['seconds']:g} seconds"
        shape = (f" in the form {s['form']}" if s.get("form") not in (None, FREE_FORM) else "") + \
            (", looping" if s.get("loop") else "")
        speed = f"{s['tempo']:g} beats per minute" if s.get("tempo") is not None else "its style's speed"
        return (f"Made {length}{shape} at {speed} in {self.seconds_taken:.1f} s (seed {self.seed}). "
                "Press **Another version** for a new take with the same settings.")


# ---- the keyboard (keys append in the browser, see app._key_js) ----------------------------

def undo_note(notes: str | None) -> str:
    """Drop the last note of the notes box."""
    return " ".join((notes or "").split()[:-1])


# ---- checking input ----------------------------------------------------------------------------

def check_upload(path: str | Path | None) -> Path | None:
    """The uploaded MIDI file, checked by size (at most 1 MB) and by its header (``MThd``), not its name."""
    if path is None or str(path) == "":
        return None
    p = Path(path)
    if not p.is_file():
        raise StudioInputError("The uploaded file went missing; please upload it again.")
    size = p.stat().st_size
    if size == 0:
        raise StudioInputError(f"The uploaded file '{p.name}' is empty; choose a MIDI file (.mid) that has music in it.")
    if size > MAX_UPLOAD_BYTES:
        raise StudioInputError(f"The uploaded file '{p.name}' is {size / 1e6:.1f} MB, more than the 1 MB limit; "
                               "upload a shorter MIDI file (a few bars are enough to start from).")
    with p.open("rb") as f:
        if f.read(4) != MIDI_MAGIC:
            raise StudioInputError(f"'{p.name}' is not a MIDI file; export your tune as MIDI (.mid) from your "
                                   "music program and upload that.")
    return p


def read_upload(path: Path):
    """The uploaded file as a Score with at least one note (after :func:`check_upload`)."""
    from ..midi import read_midi
    from ..music import score_notes

    try:
        score = read_midi(path)
        score_notes(score, path.name)
    except MIDIError as e:
        reason = _short(e).split(": ", 1)[-1]  # drop the temporary path the message starts with
        raise StudioInputError(f"'{path.name}' could not be used ({reason}); try another MIDI file.") from None
    return score


def _number(value, what: str, lo: float, hi: float, unit: str = "", hint: str = "") -> float:
    """``value`` as a float in ``lo..hi``, else a message naming ``what`` and the allowed range."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    if math.isnan(v):
        raise StudioInputError(f"{what} needs a number between {lo:.10g} and {hi:.10g}{unit}.")
    if not lo <= v <= hi:
        raise StudioInputError(f"{what} must be between {lo:.10g} and {hi:.10g}{unit} (you chose {v:.10g}){hint}.")
    return v


def keyword_choices(conditions: dict | None) -> tuple[list[str], list[str]]:
    """``(styles, moods)`` a model knows: its keywords split by category (both empty without keywords)."""
    cond = conditions or {}
    kws, cats = list(cond.get("keywords") or []), list(cond.get("categories") or [])
    cats += [""] * (len(kws) - len(cats))
    return [k for k, c in zip(kws, cats) if c != "mood"], [k for k, c in zip(kws, cats) if c == "mood"]


def to_generate_kwargs(s: Settings, conditions: dict | None = None) -> dict:
    """Check ``s`` and turn it into keyword arguments for :func:`tunegan.api.generate`."""
    from ..music import parse_instrument, parse_key, parse_time_signature

    kw: dict = {}
    primer = check_upload(s.midi_file)
    notes = (s.notes or "").strip()
    if primer is not None and notes:
        raise StudioInputError("Use either starting notes or an uploaded MIDI file, not both: "
                               "clear the notes box or remove the file.")
    if notes:
        try:
            pitches = parse_notes(notes)
        except NoteNameError as e:
            raise StudioInputError(f"Starting notes: {e}.") from None
        if len(pitches) > MAX_START_NOTES:
            raise StudioInputError(f"Use at most {MAX_START_NOTES} starting notes (you gave {len(pitches)}); "
                                   "a few are enough to get the music going.")
        kw["seed_notes"] = notes
    if primer is not None:
        kw["primer"] = read_upload(primer)
    if s.length_unit == "bars":
        kw["bars"] = int(round(_number(s.bars, "Length", *BARS, " bars")))
    elif s.length_unit == "seconds":
        kw["seconds"] = _number(s.seconds, "Length", *SECONDS, " seconds")
    else:
        raise StudioInputError(f"Length: choose 'bars' or 'seconds' (received '{s.length_unit}').")
    if s.tempo is not None:
        kw["tempo"] = _number(s.tempo, "Speed (tempo)", *TEMPO, " beats per minute", "; 60 is calm, 120 is lively")
    kw["temperature"] = _number(s.adventurousness, "Adventurousness", *ADVENTUROUSNESS, "",
                                "; 1 is the model's own taste, lower is safer, higher is wilder")
    kw["transpose"] = int(round(_number(s.transpose, "Transpose", *TRANSPOSE, " semitones")))
    for what, value, parse, target in (("Key", s.key, parse_key, "key"),
                                       ("Time signature", s.time_signature, parse_time_signature, "time_signature"),
                                       ("Instrument", s.instrument, parse_instrument, "instrument")):
        if value in (None, "", ANY_KEY, STYLE_METRE):
            continue
        try:
            parse(value)
        except TuneganError as e:
            raise StudioInputError(f"{what}: {e}.") from None
        kw[target] = value
    kw.update(_form(s, kw))
    if s.seed not in (None, ""):
        kw["seed"] = int(_number(s.seed, "Seed", 0, SEED_MAX, "", "; leave it empty for a surprise"))
    kw.update(_keywords(s, conditions))
    return kw


def _form(s: Settings, kw: dict) -> dict:
    """Form and loop: the length in bars is split into the form's phrases (at least one bar each)."""
    from ..form import parse_form

    out: dict = {}
    if s.form not in (None, "", FREE_FORM):
        try:
            letters = parse_form(s.form)
        except TuneganError as e:
            raise StudioInputError(f"Form: {e}.") from None
        if "bars" not in kw:
            raise StudioInputError("Form: measure the length in bars, so it can be split into phrases.")
        out |= {"form": s.form, "phrase_bars": max(1, round(kw.pop("bars") / len(letters)))}
    if s.polish:
        out["candidates"] = POLISH_CANDIDATES
    if s.loop:
        if "seconds" in kw:
            raise StudioInputError("Loop: measure the length in bars; a loop is a whole number of bars.")
        out["loop"] = True
    return out


def _keywords(s: Settings, conditions: dict | None) -> dict:
    styles, moods = keyword_choices(conditions)
    raw = s.style.split(",") if isinstance(s.style, str) else (s.style or [])  # the HTTP API may send one string
    chosen = [w.strip() for w in raw if w and w.strip()]
    mood = None if s.mood in (None, "", ANY_MOOD) else s.mood
    if not (chosen or mood):
        return {}
    if not (styles or moods):
        raise StudioInputError("This model was trained without styles or moods; leave Style and Mood empty.")
    for w in chosen:
        if w not in styles:
            raise StudioInputError(f"Style '{w}' is not one this model knows; pick from: {', '.join(styles) or 'none'}.")
    if mood is not None and mood not in moods:
        raise StudioInputError(f"Mood '{mood}' is not one this model knows; pick from: {', '.join(moods) or 'none'}.")
    guidance = _number(s.style_strength, "Style strength", *STYLE_STRENGTH, "", "; 1 is normal, higher follows the style more")
    return {"style": chosen or None, "mood": mood, "guidance": guidance}


# ---- making music ------------------------------------------------------------------------------

def make_music(s: Settings, *, checkpoint=None, out_dir: str | Path, models=None, batcher=None, pool=None,
               sheets=None) -> Result:
    """Generate one piece and write MIDI, WAV, piano roll, MusicXML and (with MuseScore) sheet music.
    ``models``: a :class:`~tunegan.checkpoint.ModelCache` (the studio's), so the model is loaded once.
    ``batcher``: a :class:`~tunegan.studio.batching.GenerationBatcher` that makes this request's
    piece together with those arriving with it (the same piece as alone). Rendering waits for one
    of :data:`~tunegan.studio.batching.RENDER_SLOTS`; ``pool`` (a process pool) draws the pictures
    (:func:`draw_pictures`) while this thread renders the audio; ``sheets`` (a
    :class:`~tunegan.studio.batching.SheetBatcher`) engraves the sheet music with other requests'
    once the render slot is free again.

    Raises :class:`~tunegan.errors.TuneganError` (a one-line, beginner-readable message) for bad input.
    """
    from ..api import generate, load_model
    from .batching import render_slots

    t0 = time.perf_counter()
    if models is None:
        from ..checkpoint import ModelCache

        models = ModelCache("cpu")
    kw = to_generate_kwargs(s, load_model(checkpoint, models=models).conditions)
    if batcher is not None:
        kw.setdefault("seed", int(np.random.SeedSequence().entropy % SEED_MAX))
        song = batcher.submit(kw)
    else:
        [song] = generate(checkpoint=checkpoint, models=models, **kw)
    if song.score.note_num() == 0:
        raise StudioInputError("The model made no notes this time; press Generate again or try more starting notes.")
    with render_slots:
        result = _render(s, song, out_dir, t0, pool, sheets is not None)
    if sheets is not None and result.sheet is not None:  # the MusicXML to engrave with other requests'
        xml = result.sheet
        pages = sheets.engrave(xml, xml.with_name(xml.stem.removesuffix("-sheet") + "-sheet.png"))
        if xml.name.endswith("-sheet.musicxml"):  # made for MuseScore alone (a piece longer than a sheet)
            xml.unlink(missing_ok=True)
        result.sheet, result.sheet_note = (pages[0], "") if isinstance(pages, list) else (None, sheet_failed(pages))
        result.seconds_taken = time.perf_counter() - t0
    return result


def warm_up(seconds: float = 0.5) -> None:
    """Load what :func:`draw_pictures` needs (matplotlib, music21) in a picture worker; held a
    moment, so each worker of a pool gets one."""
    t0 = time.perf_counter()
    import music21  # noqa: F401

    from .. import outputs  # noqa: F401
    import matplotlib.pyplot  # noqa: F401

    time.sleep(max(0.0, seconds - (time.perf_counter() - t0)))


def draw_pictures(midi: str, folder: str, name: str, title: str, phrases, sheet_music: bool,
                  engrave_later: bool = False) -> tuple:
    """Piano roll, MusicXML and (with MuseScore) sheet music of the MIDI file ``midi``:
    ``(roll, xml, sheet or None, note)``. A top-level function, so a studio's worker processes
    can draw while its own process serves pages (drawing holds Python's lock, MuseScore does not).
    ``engrave_later``: ``sheet`` is the MusicXML for MuseScore to engrave (a :class:`SheetBatcher`
    does it with other requests' sheets), not the picture."""
    from ..midi import read_midi
    from ..outputs import NotationError, find_musescore, plot_pianoroll, render_sheet, to_musicxml, write_sheet_xml
    from ..outputs.engrave import SHEET_MAX_BARS

    score, folder = read_midi(midi), Path(folder)
    roll = plot_pianoroll(score, folder / f"{name}-pianoroll.png", width=10, height=4, phrases=phrases)
    xml = to_musicxml(score, folder / f"{name}.musicxml", title=title)
    sheet, note = None, ""
    if not sheet_music:
        note = "Sheet music is switched off (see *More options*)."
    elif find_musescore() is None:
        note = MUSESCORE_HINT
    else:
        try:
            if not engrave_later:
                sheet = render_sheet(score, folder / f"{name}-sheet.png", title=title)[0]
            elif _bars(score) <= SHEET_MAX_BARS:
                sheet = xml  # what MuseScore would be given is the download itself
            else:
                sheet = write_sheet_xml(score, folder / f"{name}-sheet.musicxml", title=title)
        except NotationError as e:
            note = sheet_failed(e)
    return roll, xml, sheet, note


def _bars(score) -> int:
    from ..music import bar_grid

    return len(bar_grid(score, int(score.end())).bars)


def sheet_failed(e: Exception) -> str:
    return f"Sheet music could not be drawn ({_short(e)}); download the MusicXML file instead."


def _render(s: Settings, song, out_dir: str | Path, t0: float, pool=None, engrave_later: bool = False) -> Result:
    """Every file of ``song``; with ``engrave_later`` the result's ``sheet`` is the MusicXML to engrave."""
    from ..explain import explain
    from ..outputs import render_wav

    folder = Path(out_dir) / f"{time.strftime('%Y%m%d-%H%M%S')}-{song.seed}-{time.perf_counter_ns() % 10**6}"
    name = f"tunegan-{song.seed}"
    midi = song.write_midi(folder / f"{name}.mid")
    phrases = (song.options["form"], song.options["phrase_bars"]) if song.options.get("form") else None
    job = (str(midi), str(folder), name, f"tunegan, seed {song.seed}", phrases, s.sheet_music, engrave_later)
    pictures = pool.submit(draw_pictures, *job) if pool is not None else None
    wav = render_wav(song.score, folder / f"{name}.wav")  # fluidsynth, meanwhile
    roll, xml, sheet, note = pictures.result() if pictures is not None else draw_pictures(*job)
    sheet = Path(sheet) if sheet is not None else None
    expl = explain(song.score)
    table = [[r.position, r.name, r.duration, f"{r.dynamic} ({r.velocity})"] for r in expl.notes[:MAX_TABLE_ROWS]]
    prune(out_dir)
    settings = asdict(s) | {"seed": song.seed, "midi_file": Path(s.midi_file).name if s.midi_file else None}
    settings |= played_tempo_and_metre(song.score)  # what the piece plays, the style's draw included
    if song.options.get("bars") and s.length_unit == "bars":
        settings["bars"] = song.options["bars"]  # a form's phrases may round the length
    return Result(song.seed, midi, wav, roll, xml, sheet, note, table, expl.sentences, settings,
                  time.perf_counter() - t0)


def played_tempo_and_metre(score) -> dict:
    """``{"tempo": quarter notes per minute, "time_signature": "n/d"}`` the piece opens with."""
    from ..music import first_time_signature

    tempos = sorted(score.tempos, key=lambda t: t.time)
    num, den = first_time_signature(score)
    return {"tempo": round(float(tempos[0].qpm), 1) if tempos else 120.0, "time_signature": f"{num}/{den}"}


def preview_notes(notes: str, tempo: float, out_dir: str | Path) -> Path:
    """A WAV of the starting notes alone, one beat each, so a beginner hears what they typed."""
    from ..api import seed_score
    from ..outputs import render_wav

    if not (notes or "").strip():
        raise StudioInputError("There are no starting notes yet: click some piano keys or type notes like C4 E4 G4.")
    try:
        pitches = parse_notes(notes)
    except NoteNameError as e:
        raise StudioInputError(f"Starting notes: {e}.") from None
    bpm = _number(tempo, "Speed (tempo)", *TEMPO, " beats per minute")
    path = Path(out_dir) / "preview" / f"notes-{time.perf_counter_ns()}.wav"
    return render_wav(seed_score(pitches[:MAX_START_NOTES], tempo=bpm), path)


def _short(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def friendly_message(err: BaseException) -> str:
    """The one line the page shows for ``err``: our own message for library errors; for anything
    else the error is logged with its traceback (server side) and :data:`SOMETHING_WRONG` is shown."""
    if isinstance(err, TuneganError):
        return _short(err)
    log.error("studio: unexpected error", exc_info=err)
    return SOMETHING_WRONG


def prune(out_dir: str | Path, keep: int = KEEP_RESULTS) -> None:
    """Delete all but the newest ``keep`` result folders in ``out_dir`` (the studio runs for days)."""
    folders = sorted((p for p in Path(out_dir).iterdir() if p.is_dir() and p.name[:1].isdigit()),
                     key=lambda p: p.stat().st_mtime)
    for old in folders[:-keep] if keep > 0 else folders:
        shutil.rmtree(old, ignore_errors=True)


# ---- the session's recent results ---------------------------------------------------------------

def remember(history: list[dict] | None, result: Result) -> list[dict]:
    """A new history list with ``result`` first, at most :data:`MAX_HISTORY` long."""
    entry = dict(result.settings, midi=str(result.midi))
    return [entry, *(history or [])][:MAX_HISTORY]


def history_rows(history: list[dict] | None) -> list[list]:
    """Rows of :data:`HISTORY_HEADERS` for the *Recent results* table, newest first."""
    rows = []
    for i, h in enumerate(history or []):
        start = h.get("midi_file") or h.get("notes") or "nothing (from scratch)"
        length = f"{int(h['bars'])} bars" if h.get("length_unit") == "bars" else f"{h.get('seconds', 0):g} s"
        style = ", ".join([*(h.get("style") or []), *([h["mood"]] if h.get("mood") not in (None, ANY_MOOD) else [])])
        rows.append([i + 1, h.get("seed"), start, length, f"{h['tempo']:g} bpm" if h.get("tempo") is not None else "style's", h.get("key"),
                     h.get("time_signature"), f"{h.get('adventurousness', 0):g}", h.get("instrument"), style or "-"])
    return rows
