import pytest

from conftest import FIXTURES, make_melody
from tunegan.errors import MIDIError, NoteNameError
from tunegan.midi import read_midi
from tunegan.music import extract_notes
from tunegan.music import note_name, parse_note, parse_notes


@pytest.mark.parametrize("text,midi", [("C4", 60), ("c4", 60), ("A0", 21), ("C8", 108), ("C#4", 61),
                                       ("Db4", 61), ("Bb3", 58), ("E#4", 65), ("60", 60), ("F♯2", 42)])
def test_parse_note(text, midi):
    assert parse_note(text) == midi


def test_note_name_round_trip():
    for m in range(21, 109):
        assert parse_note(note_name(m)) == m


def test_parse_notes_separators():
    assert parse_notes("C4 E4, G4") == [60, 64, 67]
    assert parse_notes(["C4", 64]) == [60, 64]


@pytest.mark.parametrize("bad,fragment", [("H4", "'H4' is not a note name"), ("C9", "not on the piano"),
                                          ("G#-1", "not on the piano"), ("200", "not on the piano"), ("", "no starting notes")])
def test_bad_notes_one_line(bad, fragment):
    with pytest.raises(NoteNameError) as e:
        parse_notes(bad)
    assert fragment in str(e.value)
    assert "\n" not in str(e.value)


def test_read_fixtures():
    assert len(extract_notes(read_midi(FIXTURES / "type0.mid"))) == 3
    notes = extract_notes(read_midi(FIXTURES / "type1.mid"))
    assert len(notes) == 4 and list(notes["pitch"][:2]) == [48, 60]  # sorted by onset, ties by pitch
    assert len(extract_notes(read_midi(FIXTURES / "empty.mid"))) == 0
    assert len(extract_notes(read_midi(FIXTURES / "drums_only.mid"))) == 0
    assert len(extract_notes(read_midi(FIXTURES / "drums_only.mid"), include_drums=True)) == 3


@pytest.mark.parametrize("name,fragment", [("truncated.mid", "corrupt MIDI"), ("not_midi.mid", "not a MIDI file"),
                                           ("missing.mid", "no such file")])
def test_bad_midi_named_error(name, fragment):
    with pytest.raises(MIDIError) as e:
        read_midi(FIXTURES / name)
    assert fragment in str(e.value) and "\n" not in str(e.value)


def test_written_midi_opens_in_other_readers(tmp_path):
    import mido
    import pretty_midi

    p = tmp_path / "m.mid"
    make_melody([60, 62, 64]).dump_midi(str(p))
    assert sum(1 for m in mido.MidiFile(p) if m.type == "note_on" and m.velocity > 0) == 3
    assert [n.pitch for n in pretty_midi.PrettyMIDI(str(p)).instruments[0].notes] == [60, 62, 64]
