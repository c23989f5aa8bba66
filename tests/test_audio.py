"""Audio: numpy synthesizer, fluidsynth, WAV writing."""

import shutil
import wave

import numpy as np
import pytest
import symusic

from tunegan.errors import MIDIError, MusicOptionError
from tunegan.midi import NOTE_DTYPE
from tunegan.outputs.audio import (
    TAIL_S, AudioError, find_soundfont, read_wav, render_audio, render_wav, synthesize, write_wav,
)


def _score(n=8, tpq=480, tempo=120.0):
    s = symusic.Score(tpq)
    s.tempos.append(symusic.Tempo(0, tempo))
    t = symusic.Track("p", 0, False)
    for i in range(n):
        t.notes.append(symusic.Note(i * tpq, tpq, 60 + 2 * i, 40 + 10 * i))
    s.tracks.append(t)
    return s


def _has_fluidsynth():
    try:
        return shutil.which("fluidsynth") is not None and find_soundfont() is not None
    except MusicOptionError:
        return False


def test_synthesize_length_peak_and_sound():
    notes = np.array([(60, 100, 0.0, 0.5), (64, 60, 0.5, 1.0), (67, 127, 0.5, 2.0)], dtype=NOTE_DTYPE)
    audio = synthesize(notes, sample_rate=22050)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert len(audio) == int(np.ceil((2.0 + TAIL_S) * 22050))
    assert np.isfinite(audio).all() and np.abs(audio).max() > 0.05  # not normalised yet: render_audio does that
    assert np.abs(audio[: 22050 // 2]).mean() > 1e-3  # the first note sounds
    assert synthesize(np.empty(0, NOTE_DTYPE)).shape == (0,)


def test_render_audio_numpy_is_normalised():
    audio = render_audio(_score(), engine="numpy", sample_rate=16000)
    assert audio.ndim == 1 and len(audio) == pytest.approx((4.0 + TAIL_S) * 16000, abs=2)
    assert np.abs(audio).max() == pytest.approx(0.99, abs=1e-4)  # peak <= 1, no clipping
    assert np.sqrt(np.mean(audio**2)) > 0.01  # not silent


def test_write_wav_reads_back(tmp_path):
    audio = render_audio(_score(3), engine="numpy", sample_rate=8000)
    path = write_wav(audio, tmp_path / "sub" / "a.wav", 8000)
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()) == (1, 2, 8000, len(audio))
    back, sr = read_wav(path)
    assert sr == 8000 and np.allclose(back, audio, atol=1e-4)
    stereo = write_wav(np.stack([audio, -audio], axis=1), tmp_path / "s.wav", 8000)
    assert read_wav(stereo)[0].shape == (len(audio), 2)


@pytest.mark.skipif(not _has_fluidsynth(), reason="fluidsynth program or a GM soundfont is not installed")
def test_fluidsynth_renders_stereo_wav(tmp_path):
    path = render_wav(_score(), tmp_path / "f.wav", engine="fluidsynth", sample_rate=22050)
    audio, sr = read_wav(path)
    assert sr == 22050 and audio.ndim == 2 and audio.shape[1] == 2
    assert len(audio) >= 4.0 * 22050 and 0.5 < np.abs(audio).max() <= 1.0


def test_find_soundfont_explicit_and_env(tmp_path, monkeypatch):
    with pytest.raises(MusicOptionError, match="does not exist"):
        find_soundfont(tmp_path / "nope.sf2")
    sf2 = tmp_path / "mine.sf2"
    sf2.write_bytes(b"RIFF\x04\x00\x00\x00sfbk")
    assert find_soundfont(sf2) == sf2
    monkeypatch.setenv("TUNEGAN_SOUNDFONT", str(sf2))
    assert find_soundfont() == sf2
    monkeypatch.setenv("TUNEGAN_SOUNDFONT", str(tmp_path / "gone.sf2"))
    with pytest.raises(MusicOptionError, match="TUNEGAN_SOUNDFONT"):
        find_soundfont()


def test_fluidsynth_missing_is_a_named_error(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(AudioError, match="fluidsynth"):
        render_audio(_score(), engine="fluidsynth")
    assert render_audio(_score(2), engine="auto", sample_rate=8000).ndim == 1  # falls back to numpy


def test_bad_inputs_give_one_line_errors(tmp_path):
    with pytest.raises(MusicOptionError, match="engine 'loud'"):
        render_audio(_score(), engine="loud")
    text = tmp_path / "notes.mid"
    text.write_text("not midi at all")
    with pytest.raises(MIDIError, match="not a MIDI file"):
        render_audio(text, engine="numpy")
    empty = symusic.Score(480)
    empty.tracks.append(symusic.Track("p", 0, False))
    with pytest.raises(MIDIError, match="no notes") as e:
        render_audio(empty, engine="numpy")
    assert "\n" not in str(e.value)


def test_blocks_add_up_to_the_whole_and_stay_small():
    from tunegan.outputs.audio import synth_blocks

    notes = np.array([(48, 90, 0.0, 3.0), (72, 60, 0.7, 1.1), (60, 127, 2.9, 6.0)], dtype=NOTE_DTYPE)
    whole = synthesize(notes, sample_rate=8000)
    blocks = list(synth_blocks(notes, sample_rate=8000, block=1000))
    assert all(b.shape[0] <= 1000 and b.shape[1] == 1 for b in blocks)
    assert np.allclose(np.concatenate(blocks)[:, 0], whole, atol=1e-6)


def test_soundfont_header_is_checked(tmp_path):
    from tunegan.outputs.audio import check_soundfont

    fake = tmp_path / "song.sf2"
    _score(2).dump_midi(str(fake))
    with pytest.raises(MusicOptionError, match="not a SoundFont .*RIFF/sfbk") as e:
        check_soundfont(fake)
    assert "\n" not in str(e.value)
    with pytest.raises(MusicOptionError, match="not a SoundFont"):
        render_audio(_score(2), soundfont=fake, engine="auto")
