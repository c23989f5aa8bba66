"""Bounded rendering: one tiny file per fault, built in code, each checked by its message or its result."""

import io
import os
import shutil
import subprocess
import tempfile
import time
import wave

import mido
import numpy as np
import pytest
import symusic

from tunegan.errors import MIDIError, MusicOptionError, TuneganError
from tunegan.outputs import audio as audio_mod
from tunegan.outputs import engrave as sheet_mod
from tunegan.outputs.audio import find_soundfont, render_audio
from tunegan.outputs.pianoroll import pianoroll_figure
from tunegan.outputs import limits as render_mod
from tunegan.outputs.limits import check_output, limit_score
from tunegan.outputs.render import RenderReport, render
from tunegan.outputs.sheet import NotationError, build_stream, to_musicxml


def _has_fluidsynth():
    try:
        return shutil.which("fluidsynth") is not None and find_soundfont() is not None
    except MusicOptionError:
        return False


needs_fluidsynth = pytest.mark.skipif(not _has_fluidsynth(), reason="fluidsynth program or a GM soundfont is not installed")


def _midi(path, events, tpq=480):
    """Write ``(abs tick, order, message)`` events as a one-track MIDI file; returns the path."""
    mf = mido.MidiFile(ticks_per_beat=tpq)
    track = mido.MidiTrack()
    mf.tracks.append(track)
    now = 0
    for tick, _, msg in sorted(events, key=lambda e: (e[0], e[1])):
        track.append(msg.copy(time=tick - now))
        now = tick
    mf.save(str(path))
    return path


def _notes(notes, tpq=480):
    """``(on, off, pitch)`` ticks as events."""
    ev = []
    for on, off, p in notes:
        ev += [(on, 1, mido.Message("note_on", note=p, velocity=80)), (off, 0, mido.Message("note_off", note=p, velocity=0))]
    return ev


@pytest.fixture
def hours_note(tmp_path):
    """49 bytes or so: one note lasting 155 hours (tpq 96, 120 bpm)."""
    return _midi(tmp_path / "long.mid", _notes([(0, 155 * 3600 * 2 * 96, 60)]), tpq=96)


@pytest.fixture
def clean_tmp(tmp_path, monkeypatch):
    """A private temporary folder for everything tempfile makes; check it is empty afterwards."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def _wav_seconds(path):
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()


# ---- the 155-hour note ------------------------------------------------------------------------

def test_hours_long_note_is_cut_with_a_warning_numpy(hours_note, tmp_path, clean_tmp):
    t0 = time.perf_counter()
    report = render(hours_note, wav=tmp_path / "a.wav", png=tmp_path / "a.png", engine="numpy")
    assert time.perf_counter() - t0 < 10
    assert report.written == [tmp_path / "a.wav", tmp_path / "a.png"]
    assert len(report.warnings) == 1 and "cut to 30 s" in report.warnings[0] and "155 h" in report.warnings[0]
    assert 30 <= _wav_seconds(tmp_path / "a.wav") <= 31
    assert list(clean_tmp.iterdir()) == []


@needs_fluidsynth
def test_hours_long_note_is_cut_with_a_warning_fluidsynth(hours_note, tmp_path, clean_tmp):
    report = render(hours_note, wav=tmp_path / "f.wav", engine="fluidsynth")
    assert "cut to 30 s" in report.warnings[0]
    assert 29.5 <= _wav_seconds(tmp_path / "f.wav") <= 34
    assert list(clean_tmp.iterdir()) == []


def test_hours_long_note_to_musicxml_is_bounded(hours_note, tmp_path):
    from music21 import converter

    warnings = []
    path = to_musicxml(hours_note, tmp_path / "l.musicxml", on_warning=warnings.append)
    assert "cut to 30 s" in warnings[0]
    back = converter.parse(str(path))
    assert len(back.parts[0].getElementsByClass("Measure")) == 15  # 30 s at 120 bpm in 4/4


def test_max_minutes_and_long_silences(tmp_path):
    # a note at 0 s, one three hours later, then a minute of notes
    events = _notes([(0, 480, 60), (3 * 3600 * 2 * 480, 3 * 3600 * 2 * 480 + 480, 62)]
                    + [(3 * 3600 * 2 * 480 + i * 480, 3 * 3600 * 2 * 480 + i * 480 + 400, 64) for i in range(1, 120)])
    path = _midi(tmp_path / "gap.mid", events)
    report = render(path, wav=tmp_path / "g.wav", engine="numpy", max_minutes=0.5)
    assert any("1 silence longer than 10 s shortened" in w for w in report.warnings), report.warnings
    assert any("only the first 0.5 minutes" in w for w in report.warnings), report.warnings
    assert 30 <= _wav_seconds(tmp_path / "g.wav") <= 31
    score, said = limit_score(symusic.Score(str(path)))
    seconds = score.to("second").end()
    assert 70 < seconds < 72 and len(said) == 1  # 10 s of silence kept (whole bars), then the minute


def test_many_notes_are_cut_at_max_notes(monkeypatch):
    monkeypatch.setattr(render_mod, "MAX_NOTES", 10)
    s = symusic.Score(480)
    t = symusic.Track("p", 0, False)
    for i in range(30):
        t.notes.append(symusic.Note(i * 240, 240, 60, 80))
    s.tracks.append(t)
    out, said = limit_score(s)
    assert out.note_num() == 10 and "30 notes" in said[0]


# ---- timing -----------------------------------------------------------------------------------

def test_zero_ticks_per_quarter_is_a_midi_error(tmp_path):
    path = _midi(tmp_path / "tpq0.mid", _notes([(0, 480, 60)]))
    data = bytearray(path.read_bytes())
    data[12:14] = b"\x00\x00"
    path.write_bytes(bytes(data))
    for call in (lambda: to_musicxml(path, tmp_path / "x.musicxml"), lambda: render_audio(path, engine="numpy"),
                 lambda: render(path, png=tmp_path / "x.png")):
        with pytest.raises(MIDIError, match="0 ticks per quarter") as e:
            call()
        assert "\n" not in str(e.value)


@pytest.mark.parametrize("tpq", [1, 7, 32767])
def test_any_tick_resolution_gives_musicxml(tmp_path, tpq):
    from music21 import converter

    notes = [(0, tpq, 60), (tpq, 2 * tpq, 62), (2 * tpq, 4 * tpq, 64)]
    path = _midi(tmp_path / "t.mid", _notes(notes, tpq), tpq=tpq)
    back = converter.parse(str(to_musicxml(path, tmp_path / "t.musicxml")))
    assert [(n.pitch.midi, float(n.quarterLength)) for n in back.recurse().notes] == [(60, 1.0), (62, 1.0), (64, 2.0)]


@needs_fluidsynth
@pytest.mark.parametrize("tempos", [
    [(0, 0), (4 * 480, 500_000)],            # infinitely fast, then 120 bpm: fluidsynth raced through it
    [(0, 1), (4 * 480, 500_000)],            # 1 microsecond per quarter
    [(0, 0xFFFFFF), (8 * 480, 100_000)],     # the slowest tempo a file can hold (3.6 bpm)
    [(i * 60, 3_000_000 if i % 2 else 20_000) for i in range(128)],  # wild changes every 32nd
])
def test_engines_agree_on_duration_with_extreme_tempos(tempos):
    ev = [(t, 0, mido.MetaMessage("set_tempo", tempo=us)) for t, us in tempos]
    ev += _notes([(i * 480, (i + 1) * 480, 60 + i % 12) for i in range(16)])
    buf = io.BytesIO()
    mf = mido.MidiFile(ticks_per_beat=480)
    mf.tracks.append(mido.MidiTrack())
    now = 0
    for tick, _, msg in sorted(ev, key=lambda e: (e[0], e[1])):
        mf.tracks[0].append(msg.copy(time=tick - now))
        now = tick
    mf.save(file=buf)
    music_s = mido.MidiFile(file=io.BytesIO(buf.getvalue())).length
    numpy_s = len(render_audio(buf.getvalue(), engine="numpy", sample_rate=8000)) / 8000
    fluid_s = len(render_audio(buf.getvalue(), engine="fluidsynth", sample_rate=8000)) / 8000
    assert music_s <= numpy_s <= music_s + 0.6
    assert abs(fluid_s - numpy_s) < 0.6, (music_s, numpy_s, fluid_s)


def test_last_tempo_on_a_tick_wins():
    s = symusic.Score(480)
    s.tempos.append(symusic.Tempo(0, 240.0))
    s.tempos.append(symusic.Tempo(0, 60.0))  # same tick, later in the file: this one plays
    t = symusic.Track("p", 0, False)
    t.notes.append(symusic.Note(0, 480, 60, 80))
    s.tracks.append(t)
    out, _ = limit_score(s)
    assert [(x.time, x.mspq) for x in out.tempos] == [(0, 1_000_000)]


# ---- notation ---------------------------------------------------------------------------------

def test_notes_outside_the_piano_go_into_range(tmp_path):
    from music21 import converter

    path = _midi(tmp_path / "wide.mid", _notes([(0, 480, 0), (480, 960, 5), (960, 1440, 60), (1440, 1920, 120), (1920, 2400, 127)]))
    warnings = []
    back = converter.parse(str(to_musicxml(path, tmp_path / "w.musicxml", on_warning=warnings.append)))
    pitches = sorted(p.midi for n in back.recurse().notes for p in n.pitches)
    assert all(21 <= p <= 108 for p in pitches) and len(pitches) == 5
    assert sorted(p % 12 for p in pitches) == sorted(p % 12 for p in (0, 5, 60, 120, 127))
    assert len(warnings) == 1 and "4 notes outside the piano range" in warnings[0]


def test_pop_rhythm_with_odd_durations_gives_readable_musicxml(tmp_path):
    from music21 import converter

    rng = np.random.default_rng(3)
    tpq, notes, tick = 480, [], 0
    steps = [120, 240, 360, 160, 160, 160, 67, 413, 720, 293]  # 16ths, dotted, triplets, odd ticks
    for i in range(120):
        dur = int(rng.choice(steps))
        notes.append((tick, tick + max(1, int(dur * rng.uniform(0.5, 1.3))), int(rng.integers(55, 80))))
        if i % 4 == 0:
            notes.append((tick + 7, tick + 4 * tpq - 53, int(rng.integers(36, 52))))  # bass, slightly late
        tick += dur
    ev = _notes(notes)
    ev += [(0, 0, mido.MetaMessage("set_tempo", tempo=500_000)), (2489, 0, mido.MetaMessage("set_tempo", tempo=512_345)),
           (0, 0, mido.MetaMessage("time_signature", numerator=4, denominator=4)),
           (2489, 0, mido.MetaMessage("time_signature", numerator=2, denominator=4)),
           (9000, 0, mido.MetaMessage("time_signature", numerator=7, denominator=8))]
    path = _midi(tmp_path / "pop.mid", ev)
    out = to_musicxml(path, tmp_path / "pop.musicxml")
    back = converter.parse(str(out))
    for el in back.recurse().notesAndRests:
        ql = float(el.quarterLength)
        assert el.duration.type not in ("inexpressible", "complex", "2048th", "1024th", "512th", "256th", "128th", "64th")
        assert min(abs(ql * 4 - round(ql * 4)), abs(ql * 3 - round(ql * 3))) < 1e-6, ql
    for m in back.parts[0].getElementsByClass("Measure"):
        assert float(m.duration.quarterLength) == pytest.approx(float(m.barDuration.quarterLength))
    assert len(back.parts) == 2


def test_musicxml_bar_limit_is_said(tmp_path):
    path = _midi(tmp_path / "bars.mid", _notes([(i * 480, i * 480 + 400, 60 + i % 5) for i in range(40)]))
    warnings = []
    m21 = build_stream(path, max_bars=3, on_warning=warnings.append)
    assert len(m21.parts[0].getElementsByClass("Measure")) == 3
    assert warnings == ["bars.mid: MusicXML holds the first 3 of 10 bars"]


def test_musescore_timeout_is_one_line(tmp_path, monkeypatch, clean_tmp):
    monkeypatch.setenv("TUNEGAN_MUSESCORE", "sh")

    def hang(cmd, *, timeout, env=None):
        raise subprocess.TimeoutExpired(cmd, timeout)

    monkeypatch.setattr(sheet_mod, "run_program", hang)
    path = _midi(tmp_path / "s.mid", _notes([(0, 480, 60)]))
    with pytest.raises(NotationError, match="MuseScore took longer than") as e:
        render(path, sheet=tmp_path / "s.pdf")
    assert "\n" not in str(e.value) and list(clean_tmp.iterdir()) == [] and not list(tmp_path.glob("s*.pdf"))


# ---- paths and options, checked before any work -----------------------------------------------

@pytest.mark.parametrize("kind, name, match", [
    ("png", "out.txt", "ending in .png, .pdf, .svg"),
    ("wav", "out.mp3", "ending in .wav"),
    ("musicxml", "out.mid", "ending in .musicxml, .xml, .mxl"),
    ("sheet", "out.jpg", "ending in .png, .pdf, .svg"),
])
def test_wrong_suffix(tmp_path, kind, name, match):
    with pytest.raises(MusicOptionError, match=match):
        check_output(tmp_path / name, kind)


def test_folder_file_parent_and_unwritable_outputs(tmp_path):
    (tmp_path / "out.wav").mkdir()
    with pytest.raises(MusicOptionError, match="is a folder"):
        check_output(tmp_path / "out.wav", "wav")
    (tmp_path / "afile").write_text("x")
    with pytest.raises(MusicOptionError, match="is a file, not a folder"):
        check_output(tmp_path / "afile" / "sub" / "a.wav", "wav")
    if os.path.isdir("/proc"):
        with pytest.raises(MusicOptionError, match="cannot write"):
            check_output("/proc/tunegan-test.musicxml", "musicxml")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if not os.access(locked, os.W_OK):  # root may write anywhere
            with pytest.raises(MusicOptionError, match="cannot write"):
                check_output(locked / "a.png", "png")
    finally:
        locked.chmod(0o700)
    assert check_output(tmp_path / "new" / "deeper" / "a.mxl", "musicxml") == tmp_path / "new" / "deeper" / "a.mxl"
    assert not (tmp_path / "new").exists()  # checking makes nothing


def test_paths_are_checked_before_any_work(tmp_path):
    bad_midi = tmp_path / "bad.mid"
    bad_midi.write_text("not midi")
    with pytest.raises(MusicOptionError, match="png output"):  # the path, not the MIDI, is the complaint
        render(bad_midi, wav=tmp_path / "a.wav", png=tmp_path / "out.txt")
    assert not (tmp_path / "a.wav").exists()
    with pytest.raises(MusicOptionError, match="nothing to render"):
        render(bad_midi)
    with pytest.raises(MusicOptionError, match="max_minutes"):
        render(bad_midi, wav=tmp_path / "a.wav", max_minutes=0)


def test_a_midi_file_is_not_a_soundfont(tmp_path):
    midi = _midi(tmp_path / "some.mid", _notes([(0, 480, 60)]))
    with pytest.raises(MusicOptionError, match="not a SoundFont .* RIFF/sfbk") as e:
        render(midi, wav=tmp_path / "a.wav", soundfont=midi)
    assert "\n" not in str(e.value) and not (tmp_path / "a.wav").exists()


# ---- nothing left behind ----------------------------------------------------------------------

def test_interrupted_fluidsynth_leaves_nothing(tmp_path, monkeypatch, clean_tmp):
    sf2 = tmp_path / "fake.sf2"
    sf2.write_bytes(b"RIFF\x04\x00\x00\x00sfbk")
    monkeypatch.setattr(audio_mod.shutil, "which", lambda name: "/bin/true")

    def interrupted(cmd, *, timeout, env=None):
        with open(cmd[cmd.index("-F") + 1], "wb") as f:
            f.write(b"\x00" * 80_000)
        raise KeyboardInterrupt

    monkeypatch.setattr(audio_mod, "run_program", interrupted)
    midi = _midi(tmp_path / "k.mid", _notes([(0, 480, 60)]))
    with pytest.raises(KeyboardInterrupt):
        render(midi, wav=tmp_path / "out" / "k.wav", soundfont=sf2, engine="fluidsynth")
    assert list(clean_tmp.iterdir()) == []
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_failing_synth_midway_leaves_no_partial_wav(tmp_path, monkeypatch, clean_tmp):
    real = audio_mod.synth_blocks

    def breaks(notes, **kw):
        gen = real(notes, **kw)
        yield next(gen)
        raise MIDIError("stopped on purpose")

    monkeypatch.setattr(audio_mod, "synth_blocks", breaks)
    midi = _midi(tmp_path / "n.mid", _notes([(i * 480, i * 480 + 480, 60) for i in range(20)]))
    with pytest.raises(TuneganError, match="on purpose"):
        render(midi, wav=tmp_path / "n.wav", engine="numpy")
    assert list(clean_tmp.iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["n.mid", "tmp"]


# ---- pictures ---------------------------------------------------------------------------------

def test_long_piano_roll_is_downsampled():
    s = symusic.Score(480)
    t = symusic.Track("p", 0, False)
    n = 6000
    t.notes = symusic.Note.from_numpy(time=(np.arange(n) * 120).astype(np.int32), duration=np.full(n, 100, np.int32),
                                      pitch=(40 + np.arange(n) % 40).astype(np.int8), velocity=np.full(n, 80, np.int8))
    s.tracks.append(t)
    t0 = time.perf_counter()
    fig = pianoroll_figure(s, width=6, height=3, dpi=50)
    ax = fig.axes[0]
    assert len(ax.images) == 1 and not ax.collections and ax.images[0].get_array().shape == (40, 300)
    assert time.perf_counter() - t0 < 2


def test_render_report_lists_every_file(tmp_path):
    midi = _midi(tmp_path / "r.mid", _notes([(i * 480, i * 480 + 480, 60 + i) for i in range(8)]))
    report = render(midi, wav=tmp_path / "r.wav", png=tmp_path / "r.svg", musicxml=tmp_path / "r.mxl", engine="numpy")
    assert isinstance(report, RenderReport) and report.warnings == []
    assert report.written == [tmp_path / "r.wav", tmp_path / "r.svg", tmp_path / "r.mxl"]
    assert all(p.stat().st_size > 100 for p in report.written)
