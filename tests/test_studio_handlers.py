"""The studio's handlers without a browser: every bad input gets a message that says what to do."""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path

import pytest

from conftest import make_melody, tiny_discriminator_config, tiny_generator_config, tiny_train_config, write_corpus
from tunegan.errors import TuneganError
from tunegan.studio import handlers as H
from tunegan.studio.learn import build_lessons, lessons


def train_tiny(root: Path, *, conditional: bool = False) -> Path:
    """A tiny model trained for a few steps on scales and arpeggios (``conditional``: with keywords)."""
    from tunegan.data.prepare import prepare
    from tunegan.data.sources import MidiFolder
    from tunegan.tokenizers import get_tokenizer
    from tunegan.training.trainer import Trainer

    cache = root / "cache"
    if not (cache / "manifest.json").exists():
        prepare([MidiFolder(str(write_corpus(root / "midi", n_files=30)))], get_tokenizer("pitch"), cache,
                workers=1, labels=True)
    extra = dict(crops=64, conditional=True, min_keyword_count=2, seq_len=32) if conditional else {}
    out = root / ("cond" if conditional else "plain")
    Trainer(tiny_train_config(mode="mle", epochs=1, steps_per_epoch=6, **extra), cache, out,
            generator_config=tiny_generator_config(), discriminator_config=tiny_discriminator_config(), quiet=True).fit()
    return out


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("studio-models")
    return {"plain": train_tiny(root), "cond": train_tiny(root, conditional=True)}


@pytest.fixture(scope="session")
def studio_dir(tmp_path_factory) -> Path:
    """One work folder for all studio builds, so the Learn examples are rendered once."""
    return tmp_path_factory.mktemp("studio-work")


def message(settings: H.Settings, conditions: dict | None = None) -> str:
    with pytest.raises(H.StudioInputError) as e:
        H.to_generate_kwargs(settings, conditions)
    return str(e.value)


def midi_file(path: Path) -> Path:
    make_melody([60, 62, 64, 65]).dump_midi(str(path))
    return path


# ---- input checks ------------------------------------------------------------------------------

def test_good_settings_become_generate_arguments(tmp_path):
    kw = H.to_generate_kwargs(H.Settings(notes="C4 e4 G#4", bars=4.0, tempo=90, key="A minor", time_signature="3/4",
                                         adventurousness=0.7, instrument="Violin", transpose=-2.0, seed=7.0))
    assert kw == {"seed_notes": "C4 e4 G#4", "bars": 4, "tempo": 90.0, "temperature": 0.7, "transpose": -2,
                  "key": "A minor", "time_signature": "3/4", "instrument": "Violin", "seed": 7}
    kw = H.to_generate_kwargs(H.Settings(length_unit="seconds", seconds=12))
    assert "seed_notes" not in kw and kw["seconds"] == 12 and "key" not in kw and "seed" not in kw
    # left as they come, tempo and metre are the style's, drawn as `tunegan generate` draws them
    assert "tempo" not in kw and "time_signature" not in kw and H.Settings().time_signature == H.STYLE_METRE


def test_bad_note_name_says_how_to_write_notes():
    msg = message(H.Settings(notes="C4 H4 G4"))
    assert msg.startswith("Starting notes: 'H4' is not a note name") and "like C4" in msg
    assert "not on the piano" in message(H.Settings(notes="C9"))
    assert "at most 64 starting notes (you gave 70)" in message(H.Settings(notes="C4 " * 70))


@pytest.mark.parametrize("field,value,expected", [
    ("bars", 100, "Length must be between 1 and 32 bars (you chose 100)"),
    ("bars", None, "Length needs a number between 1 and 32 bars"),
    ("tempo", 500, "Speed (tempo) must be between 40 and 220 beats per minute (you chose 500); 60 is calm"),
    ("tempo", "fast", "Speed (tempo) needs a number"),
    ("adventurousness", 5, "Adventurousness must be between 0.1 and 2 (you chose 5); 1 is the model's own taste"),
    ("transpose", 30, "Transpose must be between -12 and 12 semitones"),
    ("seed", -1, "Seed must be between 0 and 2147483647 (you chose -1); leave it empty for a surprise"),
    ("length_unit", "beats", "choose 'bars' or 'seconds'"),
])
def test_out_of_range_numbers_name_the_range(field, value, expected):
    assert expected in message(H.Settings(**{field: value}))


def test_seconds_range():
    assert "between 2 and 60 seconds (you chose 0)" in message(H.Settings(length_unit="seconds", seconds=0))


@pytest.mark.parametrize("field,value,start", [
    ("key", "H major", "Key: 'H major' is not a key"),
    ("time_signature", "3/5", "Time signature: time signature '3/5': the bottom number"),
    ("instrument", "kazooo", "Instrument: instrument 'kazooo' is not a General MIDI name"),
])
def test_bad_choices_from_the_api(field, value, start):
    assert message(H.Settings(**{field: value})).startswith(start)


def test_empty_upload(tmp_path):
    (tmp_path / "tune.mid").write_bytes(b"")
    assert message(H.Settings(midi_file=str(tmp_path / "tune.mid"))) == (
        "The uploaded file 'tune.mid' is empty; choose a MIDI file (.mid) that has music in it.")


def test_non_midi_upload_is_caught_by_its_header_not_its_name(tmp_path):
    (tmp_path / "song.mid").write_bytes(b"ID3\x03 this is an mp3")
    assert "'song.mid' is not a MIDI file; export your tune as MIDI (.mid)" in message(H.Settings(midi_file=str(tmp_path / "song.mid")))
    renamed = midi_file(tmp_path / "song.txt")  # a real MIDI file with the wrong extension is fine
    assert H.check_upload(str(renamed)) == renamed


def test_huge_upload(tmp_path):
    big = tmp_path / "big.mid"
    big.write_bytes(b"MThd" + bytes(1_500_000))
    assert "is 1.5 MB, more than the 1 MB limit; upload a shorter MIDI file" in message(H.Settings(midi_file=str(big)))


def test_corrupt_or_silent_upload(tmp_path):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06garbage")
    msg = message(H.Settings(midi_file=str(bad)))
    assert msg.startswith("'bad.mid' could not be used (corrupt MIDI") and str(tmp_path) not in msg
    empty = Path(__file__).parent / "data" / "midi" / "empty.mid"
    assert message(H.Settings(midi_file=str(empty))) == "'empty.mid' could not be used (no notes); try another MIDI file."
    assert "went missing" in message(H.Settings(midi_file=str(tmp_path / "gone.mid")))


def test_notes_and_upload_together(tmp_path):
    msg = message(H.Settings(notes="C4", midi_file=str(midi_file(tmp_path / "a.mid"))))
    assert msg == "Use either starting notes or an uploaded MIDI file, not both: clear the notes box or remove the file."


def test_style_and_mood_only_for_models_with_keywords():
    cond = {"keywords": ["folk", "3/4", "calm"], "categories": ["genre", "meter", "mood"], "counts": [9, 9, 9]}
    assert H.keyword_choices(cond) == (["folk", "3/4"], ["calm"])
    assert H.keyword_choices({}) == ([], [])
    kw = H.to_generate_kwargs(H.Settings(style=["folk"], mood="calm", style_strength=2.5), cond)
    assert (kw["style"], kw["mood"], kw["guidance"]) == (["folk"], "calm", 2.5)
    assert "style" not in H.to_generate_kwargs(H.Settings(style=[], mood=H.ANY_MOOD), cond)
    assert "trained without styles" in message(H.Settings(style=["folk"]), {})
    assert message(H.Settings(style=["jazz"]), cond) == "Style 'jazz' is not one this model knows; pick from: folk, 3/4."
    assert "Mood 'sad'" in message(H.Settings(mood="sad"), cond)
    assert "Style strength must be between 0 and 5" in message(H.Settings(mood="calm", style_strength=9), cond)


def test_friendly_message_never_shows_a_traceback(caplog):
    assert H.friendly_message(TuneganError("tempo 5 bpm is outside 20..300\nmore")) == "tempo 5 bpm is outside 20..300"
    with caplog.at_level(logging.ERROR, logger="tunegan.studio"):
        assert H.friendly_message(RuntimeError("CUDA exploded at 0xdeadbeef")) == H.SOMETHING_WRONG
    assert "CUDA exploded" in caplog.text  # logged for the operator, not shown to the user


def test_undo_history_and_prune(tmp_path):
    assert H.undo_note("C4 E4 G4") == "C4 E4" and H.undo_note("") == "" and H.undo_note(None) == ""
    past = []
    for seed in range(12):
        r = H.Result(seed, tmp_path / f"{seed}.mid", *[tmp_path] * 3, None, "", [], [], asdict(H.Settings(notes="C4")) | {"seed": seed}, 0.1)
        past = H.remember(past, r)
    rows = H.history_rows(past)
    assert len(rows) == H.MAX_HISTORY and rows[0][:4] == [1, 11, "C4", "8 bars"] and rows[-1][1] == 2
    for i in range(5):
        (tmp_path / "out" / f"2024-{i}").mkdir(parents=True)
    H.prune(tmp_path / "out", keep=2)
    assert len(list((tmp_path / "out").iterdir())) == 2


# ---- making music with a tiny model ------------------------------------------------------------

def test_make_music_writes_every_output(tiny_models, tmp_path):
    r = H.make_music(H.Settings(notes="C4 E4 G4", bars=2, tempo=120, seed=3, instrument="Violin", sheet_music=False),
                     checkpoint=tiny_models["plain"], out_dir=tmp_path)
    assert r.seed == 3 and r.midi.read_bytes()[:4] == b"MThd" and r.wav.read_bytes()[:4] == b"RIFF"
    assert r.pianoroll.read_bytes()[:4] == b"\x89PNG" and b"score-partwise" in r.musicxml.read_bytes()
    assert r.sheet is None and "switched off" in r.sheet_note
    assert r.table[0][:2] == ["1:1", "C4 (60)"] and any(s.startswith("Key:") for s in r.summary)
    assert [Path(f).suffix for f in r.files()] == [".mid", ".wav", ".musicxml"]
    assert "seed 3" in r.status() and "2 bars" in r.status() and "at 120 beats per minute" in r.status()
    again = H.make_music(H.Settings(notes="C4 E4 G4", bars=2, tempo=120, seed=3, sheet_music=False),
                         checkpoint=tiny_models["plain"], out_dir=tmp_path)
    assert again.table == r.table  # same seed, same music


def test_make_music_from_an_upload_with_sheet_music(tiny_models, tmp_path):
    from tunegan.outputs import find_musescore

    up = midi_file(tmp_path / "mine.mid")
    r = H.make_music(H.Settings(midi_file=str(up), length_unit="seconds", seconds=3, sheet_music=True),
                     checkpoint=tiny_models["plain"], out_dir=tmp_path / "out")
    assert r.table[0][1] == "C4 (60)" and r.settings["midi_file"] == "mine.mid"
    if find_musescore():
        assert r.sheet is not None and r.sheet.read_bytes()[:4] == b"\x89PNG" and r.sheet_note == ""
    else:
        assert r.sheet is None and r.sheet_note == H.MUSESCORE_HINT


def test_make_music_with_keywords(tiny_models, tmp_path):
    from tunegan.api import load_model

    styles, moods = H.keyword_choices(load_model(tiny_models["cond"]).conditions)
    assert styles or moods
    r = H.make_music(H.Settings(bars=1, style=styles[:1], mood=(moods or [None])[0], style_strength=2, sheet_music=False),
                     checkpoint=tiny_models["cond"], out_dir=tmp_path)
    assert r.midi.is_file()


def test_the_status_tells_the_tempo_and_metre_the_piece_plays(tiny_models, tmp_path):
    """No speed chosen: the piece opens as generate would open it, and the status and history say what it plays."""
    import symusic

    from tunegan.api import generate, load_model
    from tunegan.music import first_time_signature

    styles, _ = H.keyword_choices(load_model(tiny_models["cond"]).conditions)
    s = H.Settings(bars=2, style=styles[:1], seed=11, sheet_music=False)
    r = H.make_music(s, checkpoint=tiny_models["cond"], out_dir=tmp_path)
    midi = symusic.Score(str(r.midi))
    played = midi.tempos[0].qpm
    assert abs(r.settings["tempo"] - played) < 0.1 and f"at {r.settings['tempo']:g} beats per minute" in r.status()
    assert r.settings["time_signature"] == "{}/{}".format(*first_time_signature(midi))
    [same] = generate(checkpoint=tiny_models["cond"], **H.to_generate_kwargs(s, load_model(tiny_models["cond"]).conditions))
    assert abs(same.score.tempos[0].qpm - played) < 0.1  # the studio's draw is generate's
    row = H.history_rows(H.remember([], r))[0]
    assert row[4] == f"{r.settings['tempo']:g} bpm" and row[6] == r.settings["time_signature"]


def test_preview_notes(tmp_path):
    assert H.preview_notes("C4 E4", 90, tmp_path).read_bytes()[:4] == b"RIFF"
    with pytest.raises(H.StudioInputError, match="no starting notes yet: click some piano keys"):
        H.preview_notes("  ", 90, tmp_path)


# ---- the Learn tab -----------------------------------------------------------------------------

def test_lessons_build_real_music():
    from tunegan.music import first_time_signature

    all_lessons = lessons()
    assert [l.title for l in all_lessons] == ["Notes and octaves", "Note names and MIDI numbers", "Note lengths and beats",
                                              "Bars and time signatures", "Keys and transposition"]
    scores = {ex.caption: ex.build() for l in all_lessons for ex in l.examples}
    assert all(s.note_num() > 0 for s in scores.values())
    waltz, march = [s for c, s in scores.items() if c.startswith("In ")]
    assert first_time_signature(waltz) == (3, 4) and first_time_signature(march) == (4, 4)
    c_major, g_major = [s.tracks[0].notes.numpy()["pitch"] for c, s in scores.items() if "Ode" in c or "transposed" in c]
    assert (g_major - c_major == 7).all()


def test_build_lessons_renders_once_then_reuses(tmp_path, monkeypatch):
    import tunegan.studio.learn as L

    one = L.lessons()[:1]
    one[0].examples = one[0].examples[:1]
    monkeypatch.setattr(L, "lessons", lambda: one)
    [lesson] = build_lessons(tmp_path)
    ex = lesson.examples[0]
    assert ex.wav.read_bytes()[:4] == b"RIFF" and ex.png.read_bytes()[:4] == b"\x89PNG"
    stamp = ex.wav.stat().st_mtime_ns
    build_lessons(tmp_path)
    assert ex.wav.stat().st_mtime_ns == stamp and sorted(p.name for p in tmp_path.iterdir()) == ["example-1.png", "example-1.wav"]


# ---- the page and the command (gradio, no browser) ---------------------------------------------

def _visible(demo, label: str) -> bool:
    comps = [b for b in demo.blocks.values() if getattr(b, "label", None) == label]
    assert comps, label
    return comps[0].visible


def test_style_controls_appear_only_for_keyword_models(tiny_models, studio_dir, monkeypatch):
    pytest.importorskip("gradio")
    import tunegan.studio.app as A
    from tunegan.studio.app import build_studio

    monkeypatch.setattr(A, "build_lessons", lambda folder: [])  # the Learn tab is tested above and in the browser

    plain = build_studio(tiny_models["plain"], work_dir=studio_dir)
    cond = build_studio(tiny_models["cond"], work_dir=studio_dir)
    assert not _visible(plain, "Style and mood") and _visible(cond, "Style and mood")
    assert _visible(cond, "Style strength")
    api = [d for d in cond.fns.values() if d.api_name == "generate"]
    assert len(api) == 1 and api[0].concurrency_id == "music"


def test_cli_binds_loopback_and_never_shares(tiny_models, monkeypatch):
    pytest.importorskip("gradio")
    import typer
    from typer.testing import CliRunner

    import tunegan.studio.app as A
    from tunegan.cli.studio import studio

    calls = {}

    class FakeDemo:
        def queue(self, **kw):
            calls["queue"] = kw

        def launch(self, **kw):
            calls["launch"] = kw

    def fake_build(checkpoint, **kw):
        calls["checkpoint"] = checkpoint
        return FakeDemo()

    def failing_build(checkpoint, **kw):
        raise TuneganError("nope: no such checkpoint")

    monkeypatch.setattr(A, "build_studio", fake_build)
    cli = typer.Typer()
    cli.command()(studio)
    res = CliRunner().invoke(cli, ["--checkpoint", str(tiny_models["plain"]), "--max-queue", "5"])
    assert res.exit_code == 0, res.output
    launch = calls["launch"]
    assert launch["server_name"] == "127.0.0.1" and launch["server_port"] == 7860 and launch["share"] is False
    assert launch["show_error"] is False and launch["max_file_size"] == H.MAX_UPLOAD_BYTES
    assert calls["queue"] == {"default_concurrency_limit": 8, "max_size": 5}
    assert calls["checkpoint"] == tiny_models["plain"]
    monkeypatch.setattr(A, "build_studio", failing_build)
    res = CliRunner().invoke(cli, ["--checkpoint", "/nowhere"])
    assert res.exit_code == 1 and "error: nope: no such checkpoint" in res.output


def test_requests_that_arrive_together_are_generated_together_each_its_own(tmp_path):
    """The batcher: eight requests at once make fewer calls than requests, each request gets the
    piece its seed makes alone, and a bad group's error reaches only its own requests."""
    import threading

    from test_generation import random_checkpoint
    from tunegan import api
    from tunegan.studio.batching import GenerationBatcher

    ck = random_checkpoint(tmp_path / "m", "pitch", seed=2)
    models = api.ModelCache("cpu")
    batcher = GenerationBatcher(lambda **kw: api.generate(checkpoint=ck.path, models=models, device="cpu", **kw),
                                window=0.5, max_batch=8)
    results, errors = {}, {}

    def ask(seed, length):
        try:
            results[seed] = batcher.submit({"seed": seed, "length": length})
        except Exception as e:  # noqa: BLE001
            errors[seed] = e

    threads = [threading.Thread(target=ask, args=(s, 0 if s == 99 else 12)) for s in (1, 2, 3, 4, 5, 6, 99)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [1, 2, 3, 4, 5, 6] and list(errors) == [99]
    assert "length must be within" in str(errors[99])
    assert max(batcher.batches) > 1 and sum(batcher.batches) == 6
    for s, song in results.items():
        [alone] = api.generate(checkpoint=ck.path, models=models, device="cpu", seed=s, length=12)
        assert song.seed == s and list(song.tokens) == list(alone.tokens)
    with pytest.raises(ValueError, match="names its seed"):
        batcher.submit({"length": 12})


def test_seeds_give_what_each_seed_gives_alone(tmp_path):
    from test_generation import random_checkpoint
    from tunegan import api
    from tunegan.errors import MusicOptionError

    ck = random_checkpoint(tmp_path / "m", "pitch", seed=2)
    both = api.generate(checkpoint=ck.path, device="cpu", seeds=[7, 3], length=10)
    assert [s.seed for s in both] == [7, 3]
    assert list(both[1].tokens) == list(api.generate(checkpoint=ck.path, device="cpu", seed=3, length=10)[0].tokens)
    with pytest.raises(MusicOptionError, match="either seeds, or seed and samples"):
        api.generate(checkpoint=ck.path, device="cpu", seeds=[1], seed=2, length=10)
