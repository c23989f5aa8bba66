"""The web studio's page, built with Gradio Blocks: a *Make music* tab and a *Learn* tab.

The page only lays out components and wires them to :mod:`tunegan.studio.handlers`, which does
the checking and calls the library. ``build_studio`` makes the page; ``launch_studio`` serves it
safely (loopback by default, never shared, uploads capped at 1 MB, a bounded queue).
"""

from __future__ import annotations

import inspect
import os
import tempfile
from pathlib import Path

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported: the studio works offline

import gradio as gr  # noqa: E402

from ..music import parse_note  # noqa: E402
from . import handlers as H  # noqa: E402
from .learn import build_lessons  # noqa: E402


TITLE = "tunegan studio"
DEFAULT_CONCURRENCY = 8  # requests handled at once: their pieces are generated as one batch (studio.batching),
                         # and at most one per core renders audio and pictures at a time
DEFAULT_MAX_QUEUE = 16   # waiting requests; more get "the queue is full, try again"
CSS = """
#piano { gap: 2px; flex-wrap: nowrap; overflow-x: auto; }
#piano button { min-width: 0 !important; padding: 28px 0 6px !important; font-size: 0.72em;
                border-radius: 0 0 6px 6px; box-shadow: none; }
#piano button.white-key { background: #fff; color: #222; border: 1px solid #888; }
#piano button.black-key { background: #222; color: #fff; border: 1px solid #000; padding-top: 14px !important; }
#piano button:active { filter: brightness(0.8); }
"""
INTRO = """# tunegan studio
Give the computer a few notes, and it carries on the music. Click the piano keys (or type notes like
`C4 E4 G4`, or upload a short MIDI file), pick how long and how fast, and press **Generate**.
New to reading music? The **Learn** tab explains notes, beats, bars and keys with examples to hear."""


def build_studio(checkpoint=None, *, work_dir: str | os.PathLike | None = None, device: str = "auto") -> gr.Blocks:
    """The studio page for ``checkpoint`` (``None`` = the shipped model), run on ``device``.

    Generated files and the Learn tab's examples go to ``work_dir`` (default: a new temporary
    folder). Raises :class:`~tunegan.errors.CheckpointError` when the model cannot be loaded.
    """
    from ..checkpoint import ModelCache

    from ..api import generate as api_generate
    from .batching import GenerationBatcher, SheetBatcher, picture_pool

    models = ModelCache(device)  # the page's model, loaded once and passed to every request
    batcher = GenerationBatcher(lambda **kw: api_generate(checkpoint=checkpoint, models=models, **kw),
                                max_batch=DEFAULT_CONCURRENCY)
    pool = picture_pool()
    sheets = SheetBatcher(max_batch=DEFAULT_CONCURRENCY)
    work = Path(work_dir) if work_dir else Path(tempfile.mkdtemp(prefix="tunegan-studio-"))
    results = work / "results"
    results.mkdir(parents=True, exist_ok=True)
    styles, moods = H.keyword_choices(models.get(checkpoint).conditions)
    lessons = build_lessons(work / "learn")

    with gr.Blocks(title=TITLE, delete_cache=(3600, 3600)) as demo:
        demo.studio_dir = work  # launch_studio allows files from here
        demo.batcher, demo.picture_pool, demo.sheets = batcher, pool, sheets
        history = gr.State([])
        gr.Markdown(INTRO)
        with gr.Tab("Make music", id="make"):
            with gr.Row():
                with gr.Column(scale=3):
                    c = _inputs(styles, moods)
                with gr.Column(scale=2):
                    preview_btn = gr.Button("▶ Hear my starting notes", size="sm")
                    preview = gr.Audio(label="Your starting notes", type="filepath", interactive=False)
                    with gr.Row():
                        generate_btn = gr.Button("Generate", variant="primary", elem_id="generate")
                        another_btn = gr.Button("Another version", elem_id="another")
                    status = gr.Markdown("Your music will appear below.", label="Status", elem_id="status")
            o = _outputs()
        with gr.Tab("Learn", id="learn"):
            _learn_tab(lessons)

        inputs = [c["notes"], c["midi_file"], c["length_unit"], c["bars"], c["seconds"], c["tempo"], c["key"],
                  c["time_signature"], c["adventurousness"], c["instrument"], c["style"], c["mood"],
                  c["style_strength"], c["transpose"], c["seed"], c["sheet_music"], c["form"], c["loop"], c["polish"], c["own_tempo"], history]
        outputs = [o["audio"], o["pianoroll"], o["sheet"], o["sheet_note"], o["summary"], o["table"], o["files"],
                   status, history, o["history"]]

        def run(settings: H.Settings, past: list) -> tuple:
            try:
                r = H.make_music(settings, checkpoint=checkpoint, out_dir=results, models=models, batcher=batcher, sheets=sheets,
                                 pool=pool)
            except Exception as e:  # noqa: BLE001 - every failure becomes one friendly line
                raise gr.Error(H.friendly_message(e), print_exception=False) from None
            past = H.remember(past, r)
            return (str(r.wav), str(r.pianoroll), str(r.sheet) if r.sheet else None, r.sheet_note,
                    "\n".join(f"- {line}" for line in r.summary), r.table, r.files(), r.status(), past,
                    H.history_rows(past))

        def generate(notes=None, midi_file=None, length_unit="bars", bars=8, seconds=15, tempo=100, key=H.ANY_KEY,
                     time_signature=H.STYLE_METRE, adventurousness=1.0, instrument=H.INSTRUMENTS[0], style=None,
                     mood=H.ANY_MOOD, style_strength=1.0, transpose=0, seed=None, sheet_music=True, form=H.FREE_FORM,
                     loop=False, polish=False, own_tempo=False, history=None):
            """Make a new piece. Returns audio (WAV), piano roll (PNG), sheet music (PNG or None), a note about
            the sheet music, a summary, the note table, the downloads (MIDI, WAV, MusicXML), a status line and
            the recent results. ``tempo`` is used with ``own_tempo``; without it the piece opens at a tempo
            drawn from its style's pieces, as ``tunegan generate`` does without ``--tempo`` (the same for
            ``time_signature`` left at "as the style plays")."""
            s = H.Settings(notes=notes, midi_file=midi_file, length_unit=length_unit, bars=bars, seconds=seconds,
                           tempo=tempo if own_tempo else None, key=key, time_signature=time_signature, adventurousness=adventurousness,
                           instrument=instrument, style=style or [], mood=mood, style_strength=style_strength,
                           transpose=transpose, seed=seed, sheet_music=bool(sheet_music), form=form,
                           loop=bool(loop), polish=bool(polish))
            return run(s, history)

        def another(*args):
            return generate(*args[:14], None, *args[15:])  # same settings, a new random seed

        generate_btn.click(generate, inputs, outputs, api_name="generate", concurrency_id="music")
        another_btn.click(another, inputs, outputs, api_visibility="private", concurrency_id="music")
        preview_btn.click(_safe(lambda notes, tempo: str(H.preview_notes(notes, tempo, results))),
                          [c["notes"], c["tempo"]], preview, api_visibility="private", concurrency_id="music")
        for key, btn in c["keys"].items():  # in the browser: instant, and fast clicks never lose a note
            btn.click(None, c["notes"], c["notes"], js=_key_js(key), queue=False, api_visibility="private")
        c["undo"].click(H.undo_note, c["notes"], c["notes"], queue=False, api_visibility="private")
        c["clear"].click(lambda: "", None, c["notes"], queue=False, api_visibility="private")
        # moving the speed slider means choosing that speed
        c["tempo"].release(lambda: True, None, c["own_tempo"], queue=False, api_visibility="private")
        c["length_unit"].change(lambda u: (gr.update(visible=u == "bars"), gr.update(visible=u == "seconds")),
                                c["length_unit"], [c["bars"], c["seconds"]], queue=False, api_visibility="private")
    return demo


def _inputs(styles: list[str], moods: list[str]) -> dict:
    """The *Make music* controls, each with a label a beginner understands and a one-line explanation."""
    c: dict = {"keys": {}}
    gr.Markdown("**1. Starting notes** (click the keys: C4 is middle C; the black keys are sharps)")
    with gr.Row(elem_id="piano", equal_height=True):
        for name in H.PIANO_KEYS:
            kind = "black-key" if "#" in name else "white-key"
            c["keys"][name] = gr.Button(name, elem_classes=[kind], elem_id=f"key-{name.replace('#', 's')}",
                                        min_width=28, size="sm")
    with gr.Row():
        c["notes"] = gr.Textbox(label="Starting notes", placeholder="e.g. C4 E4 G4 (or leave empty to start from scratch)",
                                elem_id="notes", scale=4,
                                info="Note names with octave numbers, separated by spaces. Up to 64 notes.")
        with gr.Column(scale=1, min_width=120):
            c["undo"] = gr.Button("⌫ Remove last", size="sm")
            c["clear"] = gr.Button("Clear", size="sm")
    c["midi_file"] = gr.File(label="…or continue a MIDI file (a short .mid, at most 1 MB)", type="filepath",
                             elem_id="upload", height=130)
    gr.Markdown("**2. How should it sound?**")
    with gr.Row():
        c["length_unit"] = gr.Radio(["bars", "seconds"], value="bars", label="Measure the length in",
                                    info="A bar is one group of beats (see Learn).")
        c["bars"] = gr.Slider(*H.BARS, value=8, step=1, label="Length (bars)")
        c["seconds"] = gr.Slider(*H.SECONDS, value=15, step=1, label="Length (seconds)", visible=False)
    with gr.Row():
        with gr.Column():
            c["tempo"] = gr.Slider(*H.TEMPO, value=100, step=1, label="Speed (tempo, beats per minute)",
                                   info="60 is a calm walk, 120 a lively march.")
            c["own_tempo"] = gr.Checkbox(value=False, label="Use this speed",
                                         info="Off: the music takes a speed its style's pieces play at.")
        c["adventurousness"] = gr.Slider(*H.ADVENTUROUSNESS, value=1.0, step=0.1, label="Adventurousness",
                                         info="Low: safe and repetitive. High: surprising, even wild. (The 'temperature'.)")
    with gr.Row():
        c["key"] = gr.Dropdown(list(H.KEYS), value=H.ANY_KEY, label="Key",
                               info="Keep new notes to one scale. C major uses only the white keys; "
                                    "a harmonic minor sounds clearly sad or tense.")
        c["time_signature"] = gr.Dropdown(list(H.TIME_SIGNATURES), value=H.STYLE_METRE, label="Time signature",
                                          info="Beats per bar: 4/4 for most songs, 3/4 for a waltz; or as the "
                                               "style's pieces go.")
        c["instrument"] = gr.Dropdown(list(H.INSTRUMENTS), value=H.INSTRUMENTS[0], label="Instrument",
                                      info="Which General MIDI sound plays the music.")
    with gr.Row():
        c["form"] = gr.Dropdown(list(H.FORMS), value=H.FREE_FORM, label="Form",
                                info="Phrases that come back: in AABA the opening phrase returns twice, with a "
                                     "new one (B) between. The length is split into the phrases.")
        c["loop"] = gr.Checkbox(value=False, label="Loop",
                                info="Music whose end leads back into its start, for games and videos.")
    with gr.Accordion("Style and mood", open=True, visible=bool(styles or moods), elem_id="style-box"):
        with gr.Row():
            c["style"] = gr.Dropdown(styles, value=[], multiselect=True, label="Style", visible=bool(styles),
                                     info="Music like the pieces the model learned with these words.")
            c["mood"] = gr.Dropdown([H.ANY_MOOD, *moods], value=H.ANY_MOOD, label="Mood", visible=bool(moods),
                                    info="How the music should feel.")
            c["style_strength"] = gr.Slider(*H.STYLE_STRENGTH, value=1.0, step=0.5, label="Style strength",
                                            info="1 is normal; higher follows the style and mood more strictly.")
    with gr.Accordion("More options", open=False):
        with gr.Row():
            c["transpose"] = gr.Slider(*H.TRANSPOSE, value=0, step=1, label="Transpose (semitones)",
                                       info="Move the finished music up (+) or down (-) by this many keys.")
            c["seed"] = gr.Number(value=None, precision=0, label="Seed",
                                  info="Leave empty for a surprise; the same seed and settings give the same music.")
            c["sheet_music"] = gr.Checkbox(value=True, label="Draw sheet music",
                                           info="Needs MuseScore 3 and takes a second or two.")
            c["polish"] = gr.Checkbox(value=False, label="Polish",
                                      info=f"Make {H.POLISH_CANDIDATES} versions and keep the one the model's critic "
                                           "finds most like real music (slower).")
    return c


def _outputs() -> dict:
    o: dict = {}
    o["audio"] = gr.Audio(label="Listen", type="filepath", interactive=False, elem_id="result-audio",
                          buttons=["download"])
    with gr.Row():
        o["pianoroll"] = gr.Image(label="Piano roll (time across, pitch up)", type="filepath", interactive=False,
                                  format="png", elem_id="result-pianoroll")
        with gr.Column():
            o["sheet"] = gr.Image(label="Sheet music", type="filepath", interactive=False, format="png",
                                  elem_id="result-sheet")
            o["sheet_note"] = gr.Markdown(label="About the sheet music", elem_id="sheet-note")
    with gr.Row():
        with gr.Column():
            o["summary"] = gr.Markdown(label="Summary", elem_id="result-summary")
            o["files"] = gr.File(label="Download (MIDI, WAV, MusicXML)", file_count="multiple", interactive=False,
                                 elem_id="result-files")
        o["table"] = gr.Dataframe(headers=list(H.TABLE_HEADERS), label="The notes, explained", interactive=False,
                                  max_height=360, elem_id="result-table")
    o["history"] = gr.Dataframe(headers=list(H.HISTORY_HEADERS), label="Recent results (this session)",
                                interactive=False, elem_id="history")
    return o


def _learn_tab(lessons) -> None:
    gr.Markdown("## Learn to read music\nFive short lessons. Press play on each example and look at its piano roll: "
                "time runs left to right, higher notes are drawn higher.")
    for i, lesson in enumerate(lessons, 1):
        with gr.Accordion(f"{i}. {lesson.title}", open=i == 1):
            gr.Markdown(lesson.text)
            for ex in lesson.examples:
                with gr.Row():
                    gr.Audio(str(ex.wav), label=ex.caption, interactive=False, scale=1)
                    gr.Image(str(ex.png), label=ex.caption, show_label=False, interactive=False, format="png", scale=2)


def _key_js(key: str) -> str:
    """Browser code for one piano key: play a short tone and append ``key`` to the notes box."""
    hz = 440.0 * 2 ** ((parse_note(key) - 69) / 12)
    return f"""(notes) => {{
  try {{
    const ctx = window.tuneganAudio || (window.tuneganAudio = new (window.AudioContext || window.webkitAudioContext)());
    const osc = ctx.createOscillator(), gain = ctx.createGain(), t = ctx.currentTime;
    osc.type = "triangle"; osc.frequency.value = {hz:.3f};
    gain.gain.setValueAtTime(0.3, t); gain.gain.exponentialRampToValueAtTime(0.001, t + 0.7);
    osc.connect(gain).connect(ctx.destination); osc.start(t); osc.stop(t + 0.7);
  }} catch (e) {{}}
  return ((notes || "").trim() + " {key}").trim();
}}"""


def _safe(fn):
    """Run a small handler; any failure is one friendly line (logged server-side if unexpected)."""

    def wrapped(*args):
        try:
            return fn(*args)
        except Exception as e:  # noqa: BLE001
            raise gr.Error(H.friendly_message(e), print_exception=False) from None

    return wrapped


def launch_studio(demo: gr.Blocks, *, host: str = "127.0.0.1", port: int = 7860,
                  concurrency: int = DEFAULT_CONCURRENCY, max_queue: int = DEFAULT_MAX_QUEUE,
                  block: bool = True, quiet: bool = False):
    """Serve ``demo`` on ``host:port``: never shared, uploads capped at 1 MB, at most ``concurrency``
    generations at once and ``max_queue`` waiting (more get "the queue is full, try again").

    With ``block=False`` it returns at once (for tests and benchmarks); stop it with ``demo.close()``.
    """
    demo.queue(default_concurrency_limit=concurrency, max_size=max_queue)
    kw = dict(server_name=host, server_port=port, share=False, show_error=False, max_file_size=H.MAX_UPLOAD_BYTES,
              allowed_paths=[str(getattr(demo, "studio_dir", tempfile.gettempdir()))], prevent_thread_lock=not block,
              quiet=quiet, inbrowser=False)
    optional = dict(css=CSS, ssr_mode=False, mcp_server=False, pwa=False, enable_monitoring=False, footer_links=["api"])
    accepted = inspect.signature(demo.launch).parameters
    kw.update({k: v for k, v in optional.items() if k in accepted})
    if "css" not in accepted:  # Gradio < 6 takes the style sheet in Blocks
        demo.css = CSS
    return demo.launch(**kw)
