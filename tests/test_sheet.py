"""Sheet music: MusicXML through music21, pages through MuseScore 3."""

import time

import numpy as np
import pytest
import symusic

from tunegan.errors import MIDIError
from tunegan.outputs.engrave import find_musescore, render_sheet
from tunegan.outputs.sheet import NotationError, build_stream, quantize, to_musicxml

TPQ = 480


def _score(notes, ts=(4, 4)):
    """``notes`` as (onset quarters, length quarters, pitch)."""
    s = symusic.Score(TPQ)
    s.tempos.append(symusic.Tempo(0, 100.0))
    s.time_signatures.append(symusic.TimeSignature(0, *ts))
    t = symusic.Track("p", 0, False)
    for on, length, p in notes:
        t.notes.append(symusic.Note(int(round(on * TPQ)), int(round(length * TPQ)), p, 80))
    s.tracks.append(t)
    return s


MELODY = [(0, 1, 60), (1, 0.5, 62), (1.5, 0.5, 64), (2, 2, 65), (4, 0.75, 67), (4.75, 0.25, 69), (5, 1, 71), (6, 2, 72)]


def _written_notes(m21):
    """Notes as a reader counts them: tied continuations are not new notes."""
    return [n for n in m21.recurse().notes if n.tie is None or n.tie.type == "start"]


def test_musicxml_round_trip_keeps_the_notes(tmp_path):
    from music21 import converter

    path = to_musicxml(_score(MELODY), tmp_path / "m.musicxml", title="Scale")
    back = converter.parse(str(path))
    notes = _written_notes(back)
    assert [n.pitch.midi for n in notes] == [p for _, _, p in MELODY]
    assert [float(n.quarterLength) for n in notes] == [length for _, length, _ in MELODY]
    assert back.metadata.bestTitle == "Scale" and len(back.parts) == 1


def test_performance_timing_is_quantized():
    rng = np.random.default_rng(0)
    wobbly = [(on + rng.uniform(-0.04, 0.04), length * 0.93, p) for on, length, p in MELODY]
    wobbly[0] = (0.0, *wobbly[0][1:])
    m21 = build_stream(_score(wobbly))
    for n in m21.recurse().notesAndRests:
        ql = float(n.quarterLength)
        assert min(abs(ql * 4 - round(ql * 4)), abs(ql * 3 - round(ql * 3))) < 1e-6, ql
    assert [n.pitch.midi for n in _written_notes(m21)] == [p for _, _, p in MELODY]


def test_quantize_picks_one_grid_per_beat():
    on = np.array([0.0, 0.34, 0.65, 1.02, 1.26, 1.49, 1.77])
    q_on, q_len = quantize(on, np.full(len(on), 0.2))
    assert q_on.tolist() == pytest.approx([0, 1 / 3, 2 / 3, 1, 1.25, 1.5, 1.75])
    assert q_len[:3].tolist() == pytest.approx([1 / 3] * 3) and q_len[3:].tolist() == pytest.approx([0.25] * 4)


def test_wide_range_gets_a_grand_staff_split_at_middle_c():
    m21 = build_stream(_score(MELODY + [(0, 4, 36), (4, 4, 43)]))
    treble, bass = m21.parts
    assert min(p.midi for n in treble.recurse().notes for p in n.pitches) >= 60
    assert max(p.midi for n in bass.recurse().notes for p in n.pitches) < 60
    assert build_stream(_score([(0, 1, 40), (1, 1, 48)])).parts[0].recurse().getElementsByClass("Clef")[0].sign == "F"


def test_flat_keys_are_spelled_with_flats():
    f_major = [(i, 1, p) for i, p in enumerate([65, 67, 69, 70, 72, 74, 76, 77, 70, 65])]
    names = {p.name for n in build_stream(_score(f_major)).recurse().notes for p in n.pitches}
    assert "B-" in names and "A#" not in names


@pytest.mark.skipif(find_musescore() is None, reason="MuseScore 3 is not installed")
def test_musescore_writes_png_pages(tmp_path):
    t0 = time.perf_counter()
    pages = render_sheet(_score(MELODY, ts=(3, 4)), tmp_path / "sheet.png", dpi=50)
    assert pages == [tmp_path / "sheet-1.png"] and pages[0].stat().st_size > 1000
    assert time.perf_counter() - t0 < 60


@pytest.mark.skipif(find_musescore() is None, reason="MuseScore 3 is not installed")
def test_several_sheets_in_one_musescore_run_and_a_bad_one_alone(tmp_path):
    from tunegan.outputs.engrave import engrave_files, write_sheet_xml
    from tunegan.studio.batching import SheetBatcher

    xmls = [write_sheet_xml(_score(MELODY, ts=ts), tmp_path / f"s{i}.musicxml") for i, ts in enumerate([(3, 4), (4, 4)])]
    bad = tmp_path / "bad.musicxml"
    bad.write_text("not music")
    got = engrave_files([(xmls[0], tmp_path / "a.png"), (bad, tmp_path / "b.png"), (xmls[1], tmp_path / "c.png")], dpi=50)
    assert got[0] == [tmp_path / "a-1.png"] and got[2] == [tmp_path / "c-1.png"]
    assert isinstance(got[1], NotationError) and "\n" not in str(got[1])
    sheets = SheetBatcher(dpi=50)
    import threading

    out = {}
    threads = [threading.Thread(target=lambda i=i: out.__setitem__(i, sheets.engrave(xmls[i % 2], tmp_path / f"t{i}.png")))
               for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(out[i] == [tmp_path / f"t{i}-1.png"] for i in range(4))  # each request its own pages
    assert sum(sheets.batches) == 4 and len(sheets.batches) < 4  # fewer MuseScore runs than sheets


def test_missing_musescore_and_bad_inputs(tmp_path, monkeypatch):
    monkeypatch.setenv("TUNEGAN_MUSESCORE", "no-such-musescore-program")
    with pytest.raises(NotationError, match="MuseScore 3 is not installed") as e:
        render_sheet(_score(MELODY), tmp_path / "s.png")
    assert "\n" not in str(e.value)
    with pytest.raises(NotationError, match=".png, .pdf or .svg"):
        render_sheet(_score(MELODY), tmp_path / "s.jpg")
    with pytest.raises(MIDIError, match="no notes"):
        to_musicxml(symusic.Score(TPQ), tmp_path / "e.musicxml")


def test_quantize_cells_of_a_short_bar_use_sixteenths_only():
    cells = np.array([0.0, 1.0, 2.0, 3.0, 3.5])  # one 7/8 bar: three quarter cells and an eighth
    q_on, q_len = quantize(np.array([0.34, 0.66, 3.16]), np.array([0.3, 0.3, 0.3]), cells=cells)
    assert q_on.tolist() == pytest.approx([1 / 3, 2 / 3, 3.25]) and q_len[2] == pytest.approx(0.25)


def test_seven_eight_bars_and_odd_lengths_are_written_exactly(tmp_path):
    from music21 import converter

    notes = [(0, 1.1, 60), (1.32, 0.7, 62), (2.05, 1.9, 64), (4.0, 0.4, 65), (4.4, 2.7, 67)]
    path = to_musicxml(_score(notes, ts=(7, 8)), tmp_path / "s.musicxml")
    back = converter.parse(str(path))
    for m in back.parts[0].getElementsByClass("Measure"):
        assert float(m.duration.quarterLength) == 3.5
    assert [n.pitch.midi for n in _written_notes(back)] == [60, 62, 64, 65, 67]


def test_a_five_four_bar_long_note_is_tied_plain_values(tmp_path):
    from music21 import converter

    back = converter.parse(str(to_musicxml(_score([(0, 5, 60), (5, 7, 62)], ts=(5, 4)), tmp_path / "f.musicxml")))
    written = [(n.pitch.midi, float(n.quarterLength), n.tie.type if n.tie else None) for n in back.recurse().notes]
    assert written[:2] == [(60, 4.0, "start"), (60, 1.0, "stop")]
    assert all(n.duration.type != "complex" for n in back.recurse().notesAndRests)
