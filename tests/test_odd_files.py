"""One rule for odd MIDI files in every command: each file is built in code (mido or symusic), then
read, explained, rendered and prepared; each ends in the right notes or a one-line MIDIError."""

import io
import json

import mido
import pytest
import symusic
from typer.testing import CliRunner

from tunegan.data.prepare import EMPTY_REASON, MAX_EMPTY_SECONDS, longest_empty_stretch, prepare
from tunegan.data.sources import MidiFolder
from tunegan.errors import MIDIError
from tunegan.explain import explain
from tunegan.midi import has_unreleased_notes, read_midi
from tunegan.tokenizers import get_tokenizer

runner = CliRunner()


def _midi(events, *, tpq=480, channel=0, end=0) -> bytes:
    """A one-track file of ``(kind, pitch, delta)`` events: kind ``on`` or ``off``."""
    mf = mido.MidiFile(ticks_per_beat=tpq)
    track = mido.MidiTrack()
    mf.tracks.append(track)
    for kind, pitch, delta in events:
        track.append(mido.Message("note_on" if kind == "on" else "note_off", note=pitch, velocity=80 if kind == "on" else 0,
                                  channel=channel, time=delta))
    track.append(mido.MetaMessage("end_of_track", time=end))
    buf = io.BytesIO()
    mf.save(file=buf)
    return buf.getvalue()


def _notes(score):
    return [(n.time, n.duration, n.pitch) for t in score.tracks for n in t.notes]


ZERO_TPQ = _midi([("on", 60, 0), ("off", 60, 10)], tpq=0)
NEVER_RELEASED = _midi([("on", 60, 0), ("on", 64, 480), ("on", 60, 480), ("off", 64, 480)], end=480)
DRUMS_ONLY = _midi([("on", 36, 0), ("off", 36, 240), ("on", 38, 0), ("off", 38, 240)], channel=9)


def long_note_score(bars=279_620):
    """A note held ~155 hours at 120 BPM in 4/4, then one more note."""
    s = symusic.Score(480)
    s.tempos.append(symusic.Tempo(0, 120.0))
    s.time_signatures.append(symusic.TimeSignature(0, 4, 4))
    t = symusic.Track("piano", 0, False)
    held = bars * 4 * 480
    t.notes.append(symusic.Note(0, held, 60, 80))
    t.notes.append(symusic.Note(held, 480, 62, 80))
    s.tracks.append(t)
    return s


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "odd"
    d.mkdir()
    (d / "zero_tpq.mid").write_bytes(ZERO_TPQ)
    (d / "never_released.mid").write_bytes(NEVER_RELEASED)
    (d / "drums_only.mid").write_bytes(DRUMS_ONLY)
    long_note_score().dump_midi(str(d / "long_note.mid"))
    return d


# --- 0 ticks per quarter ---------------------------------------------------------------------

def test_zero_ticks_per_quarter_is_rejected_on_reading():
    with pytest.raises(MIDIError, match="0 ticks per quarter note") as e:
        read_midi(ZERO_TPQ, name="z.mid")
    assert str(e.value).startswith("z.mid: ") and "\n" not in str(e.value)


def test_zero_ticks_per_quarter_score_in_explain():
    with pytest.raises(MIDIError, match="0 ticks per quarter"):
        explain(symusic.Score(0))


def test_smpte_division_is_named():
    data = bytearray(_midi([("on", 60, 0), ("off", 60, 10)]))
    data[12:14] = bytes([0xE7, 40])  # -25 frames per second, 40 ticks per frame
    with pytest.raises(MIDIError, match="SMPTE time division"):
        read_midi(bytes(data))


# --- notes that are never released -------------------------------------------------------------

def test_symusic_alone_drops_never_released_notes():
    assert _notes(symusic.Score.from_midi(NEVER_RELEASED)) == [(480, 960, 64)]


def test_never_released_notes_end_at_the_next_onset_or_the_end():
    assert has_unreleased_notes(NEVER_RELEASED)
    # C4 at 0 ends when C4 comes again (960); that one lasts to the end of the file (1920)
    assert sorted(_notes(read_midi(NEVER_RELEASED))) == [(0, 960, 60), (480, 960, 64), (960, 960, 60)]


def test_a_file_of_only_unreleased_notes_is_not_empty():
    data = _midi([("on", 60, 0), ("on", 64, 480)], end=960)
    assert sorted(_notes(read_midi(data))) == [(0, 1440, 60), (480, 960, 64)]
    assert explain(data).summary.n_notes == 2


def test_released_files_read_as_symusic_reads_them():
    data = _midi([("on", 60, 0), ("on", 60, 480), ("off", 60, 480), ("off", 60, 480)])
    assert not has_unreleased_notes(data)
    assert _notes(read_midi(data)) == _notes(symusic.Score.from_midi(data))


# --- drum-only files ---------------------------------------------------------------------------

def test_drum_only_is_named_in_explain():
    with pytest.raises(MIDIError, match="only drum tracks, no pitched notes"):
        explain(DRUMS_ONLY)


# --- a note held for 155 hours -----------------------------------------------------------------

def test_explain_places_notes_past_100000_bars():
    expl = explain(long_note_score())
    assert expl.summary.n_bars == 279_621
    assert [r.position for r in expl.notes] == ["1:1", "279621:1"]
    assert "2 notes in 279621 bars" in expl.sentences[3]


def test_longest_empty_stretch_counts_a_held_note():
    assert longest_empty_stretch(long_note_score()) > 155 * 3600
    assert longest_empty_stretch(long_note_score(bars=2)) == pytest.approx(4.0)
    assert MAX_EMPTY_SECONDS == 180


# --- the same rules in prepare and the CLI -------------------------------------------------------

@pytest.mark.parametrize("tokenizer", ["pitch", "remi"])
def test_prepare_applies_the_same_rules(folder, tmp_path, tokenizer):
    prepare([MidiFolder(str(folder))], get_tokenizer(tokenizer), tmp_path / "c", workers=1, labels=False)
    manifest = json.loads((tmp_path / "c" / "manifest.json").read_text())
    rows = {r["id"]: r for r in manifest["pieces"]}
    assert rows["zero_tpq.mid"]["reason"] == "the header gives 0 ticks per quarter note, so no note can be timed"
    assert rows["drums_only.mid"]["reason"] == "only drum tracks, no pitched notes"
    assert rows["long_note.mid"]["reason"] == EMPTY_REASON
    assert rows["never_released.mid"]["status"] == "ok"
    assert manifest["skip_reasons"][EMPTY_REASON] == 1


@pytest.mark.parametrize("name,fragment", [("zero_tpq.mid", "0 ticks per quarter note"),
                                           ("drums_only.mid", "only drum tracks, no pitched notes")])
def test_cli_explain_prints_one_line(folder, name, fragment):
    from tunegan.cli import app

    r = runner.invoke(app, ["explain", str(folder / name)])
    lines = [line for line in r.output.splitlines() if line.strip()]
    assert r.exit_code == 1 and len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], r.output


def test_cli_render_of_zero_tpq_is_one_line(folder, tmp_path):
    from tunegan.cli import app

    r = runner.invoke(app, ["render", str(folder / "zero_tpq.mid"), "--png", str(tmp_path / "x.png")])
    lines = [line for line in r.output.splitlines() if line.strip()]
    assert r.exit_code == 1 and len(lines) == 1 and "0 ticks per quarter note" in lines[0], r.output


def test_cli_render_of_never_released_notes_writes_them(folder, tmp_path):
    from tunegan.cli import app

    r = runner.invoke(app, ["render", str(folder / "never_released.mid"), "--png", str(tmp_path / "x.png")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "x.png").stat().st_size > 0
