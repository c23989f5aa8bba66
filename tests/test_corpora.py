"""Corpora sources: tiny fake corpora built in tmp_path, the music21 corpus, and (slow) the shared data."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
import symusic

from tunegan.data.corpora import JSBChorales, Nottingham, Pop909, VGMidi, chorale_to_score, nottingham_form
from tunegan.data.corpora_music21 import Music21Corpus
from tunegan.data.registry import SOURCES, open_source
from tunegan.data.sources import hash_split
from tunegan.errors import DataError, MIDIError

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def write_score(path: Path, tracks: dict[str, list[int]], step: int = 240) -> Path:
    """A MIDI file with one track per name, each a run of quarter... eighth notes of the given pitches."""
    score = symusic.Score(480)
    score.tempos.append(symusic.Tempo(0, 120.0))
    for name, pitches in tracks.items():
        t = symusic.Track(name, 0, False)
        n = len(pitches)
        t.notes = symusic.Note.from_numpy(
            time=np.arange(n, dtype=np.int32) * step, duration=np.full(n, step, np.int32),
            pitch=np.asarray(pitches, np.int8), velocity=np.full(n, 90, np.int8))
        score.tracks.append(t)
    path.parent.mkdir(parents=True, exist_ok=True)
    score.dump_midi(str(path))
    return path


def test_sources_registered():
    for name in ("pop909", "pop909-midigrid", "nottingham", "jsb", "vgmidi", "music21", "asap"):
        assert name in SOURCES


# --------------------------------------------------------------------------- POP909

@pytest.fixture
def mini_pop909(tmp_path: Path) -> Path:
    root = tmp_path / "pop909"
    (root / "index.csv").parent.mkdir(parents=True)
    (root / "index.csv").write_text(
        "song_id,name,artist,modify_times,num_beats_per_measure,num_quavers_per_beat\n"
        "001,Song One,Artist A,1,2,2\n002,Song Two,Artist B,1,2,3\n", encoding="utf-8")
    for sid, key_rows in (("001", "0.0\t10.0\tGb:maj\n10.0\t50.0\tA:min\n"), ("002", "1.0\t9.0\tC:maj\n")):
        write_score(root / sid / f"{sid}.mid", {"MELODY": [72, 74, 76], "BRIDGE": [67, 69], "PIANO": [48, 52, 55]})
        (root / sid / "key_audio.txt").write_text(key_rows)
        # beats every 0.3 s from 0.05 s: a mark every 2 beats, a downbeat every 4 (POP909's layout)
        (root / sid / "beat_midi.txt").write_text(
            "".join(f"{0.05 + 0.3 * k:.3f} {float(k % 2 == 0)} {float(k % 4 == 0)}\n" for k in range(8)))
    return root


def test_pop909_lists_labels_and_splits(mini_pop909: Path):
    pieces = Pop909(str(mini_pop909)).pieces()
    assert [p.id for p in pieces] == ["001", "002"]
    one, two = pieces
    assert one.split == hash_split("001") and one.corpus == "pop909"
    assert one.labels == {"genre": "pop", "title": "Song One", "artist": "Artist A", "meter": "4/4", "key": "A minor"}
    assert two.labels["meter"] == "12/8" and two.labels["key"] == "C major"  # the index's 3 quavers a beat
    old = open_source(f"pop909-midigrid:{mini_pop909}").pieces()  # the MIDI files' own grid: the index's metre
    assert [p.labels["meter"] for p in old] == ["2/4", "6/8"] and old[0].corpus == "pop909"


def test_pop909_load_keeps_three_tracks(mini_pop909: Path):
    src = open_source(f"pop909:{mini_pop909}")
    score = src.load(src.pieces()[0])
    assert [t.name for t in score.tracks] == ["MELODY", "BRIDGE", "PIANO"]
    assert score.note_num() == 8


def test_pop909_is_written_on_its_beat_grid(mini_pop909: Path):
    src = open_source(f"pop909:{mini_pop909}")
    one, two = (src.load(p) for p in src.pieces())
    # the file's eighth notes at 120 BPM (0.25 s) on 0.3 s beats from 0.05 s: the first note comes
    # before the first beat, so a whole 4/4 bar opens the song and beat 0 is at tick 4 * 480
    onsets = sorted({int(n.time) for t in one.tracks for n in t.notes})
    beat0 = 4 * 480
    assert onsets[:3] == [beat0 - round(0.05 / 0.3 * 480), beat0 + round(0.2 / 0.3 * 480), beat0 + round(0.45 / 0.3 * 480)]
    assert [(t.time, t.numerator, t.denominator) for t in one.time_signatures] == [(0, 4, 4)]
    assert [round(t.qpm) for t in one.tempos] == [200]  # 60 / 0.3 s
    assert [(t.numerator, t.denominator) for t in two.time_signatures] == [(12, 8)]
    assert [round(t.qpm) for t in two.tempos] == [300]  # dotted-quarter beats: 1.5 quarters each
    old = open_source(f"pop909-midigrid:{mini_pop909}")
    assert [round(t.qpm) for t in old.load(old.pieces()[0]).tempos] == [120]


def test_pop909_missing_beat_file_is_a_midi_error_and_changes_the_fingerprint(mini_pop909: Path):
    src = Pop909(str(mini_pop909))
    piece = src.pieces()[0]
    before = (src.fingerprint(piece), src.stat(piece))
    assert src.load_fingerprinted(piece)[1] == before[0]
    (mini_pop909 / "001" / "beat_midi.txt").unlink()
    assert src.fingerprint(piece) != before[0] and src.stat(piece) != before[1]
    with pytest.raises(MIDIError, match="beat annotations"):
        src.load(piece)
    with pytest.raises(DataError, match="grid"):
        Pop909(str(mini_pop909), grid="bars")


def test_pop909_corrupt_file_raises(mini_pop909: Path):
    (mini_pop909 / "002" / "002.mid").write_bytes(b"MThd\x00\x00\x00\x06garbage")
    src = Pop909(str(mini_pop909))
    with pytest.raises(MIDIError, match="002.mid"):
        src.load(src.pieces()[1])


def test_missing_root_is_data_error(tmp_path: Path):
    with pytest.raises(DataError):
        Pop909(str(tmp_path / "nope")).pieces()


# --------------------------------------------------------------------------- Nottingham

@pytest.fixture
def mini_nottingham(tmp_path: Path) -> Path:
    root = tmp_path / "nottingham"
    write_score(root / "MIDI" / "jigs1.mid", {"melody": [62, 64, 66]})
    write_score(root / "MIDI" / "jigs2.mid", {"melody": [62, 64, 66]})  # byte-identical to jigs1
    write_score(root / "MIDI" / "reelsa-c3.mid", {"melody": [69, 71], "chords": [50, 54]})
    write_score(root / "MIDI" / "ashover4.mid", {"melody": [67, 69, 71]})
    (root / "index.csv").write_text(
        "tune_id,collection,abc_x,title,meter,key,source,has_chords_midi\n"
        "ashover4,ashover,4,Black Tulip Hornpipe,2/2,G,Mick Peat,True\n"
        "jigs1,jigs,1,First Jig,6/8,D,,True\n"
        "jigs2,jigs,2,Same Jig,6/8,D,,True\n"
        "reelsa-c3,reelsa-c,3,A Reel,4/4,Am,,True\n", encoding="utf-8")
    return root


def test_nottingham_dedup_and_labels(mini_nottingham: Path):
    src = Nottingham(str(mini_nottingham))
    pieces = {p.id: p for p in src.pieces()}
    assert sorted(pieces) == ["ashover4", "jigs1", "reelsa-c3"]
    assert src.duplicates() == [("jigs2", "jigs1")]
    assert pieces["jigs1"].labels["form"] == "jig" and pieces["jigs1"].labels["meter"] == "6/8"
    assert pieces["reelsa-c3"].labels["key"] == "A minor" and pieces["reelsa-c3"].labels["form"] == "reel"
    assert pieces["ashover4"].labels["form"] == "hornpipe" and pieces["ashover4"].labels["genre"] == "folk"
    assert all(p.split == hash_split(p.id) for p in pieces.values())
    assert src.load(pieces["reelsa-c3"]).note_num() == 4


def test_nottingham_corrupt_file_raises(mini_nottingham: Path):
    (mini_nottingham / "MIDI" / "reelsa-c3.mid").write_bytes(b"not midi at all")
    src = Nottingham(str(mini_nottingham))
    bad = next(p for p in src.pieces() if p.id == "reelsa-c3")
    with pytest.raises(MIDIError, match="not a MIDI file"):
        src.load(bad)


def test_nottingham_form_words():
    assert nottingham_form("hpps") == "hornpipe"
    assert nottingham_form("slip") == "slip jig"
    assert nottingham_form("reelsu-z") == "reel"
    assert nottingham_form("waltzes") == "waltz"
    assert nottingham_form("morris", "Bean Setting") == "morris"
    assert nottingham_form("xmas", "Christmas Polka") == "polka"


# --------------------------------------------------------------------------- JSB Chorales

@pytest.fixture
def mini_jsb(tmp_path: Path) -> Path:
    data = {"train": [[[60, 64, 67], [60, 64, 67], [62, 65], [], [60]]],
            "valid": [[[55, 59], [55, 60]]],
            "test": [[[57]], []]}
    root = tmp_path / "jsb"
    root.mkdir()
    (root / "jsb-chorales-16th.json").write_text(json.dumps(data))
    return root


def test_jsb_lists_official_split(mini_jsb: Path):
    src = open_source(f"jsb:{mini_jsb}")
    pieces = src.pieces()
    assert [(p.id, p.split, p.ref) for p in pieces] == [
        ("train/0", "train", "train/0"), ("valid/0", "validation", "valid/0"),
        ("test/0", "test", "test/0"), ("test/1", "test", "test/1")]
    assert pieces[0].labels["form"] == "chorale" and pieces[0].labels["meter"] == "4/4"


def test_jsb_load_merges_held_pitches(mini_jsb: Path):
    src = JSBChorales(str(mini_jsb))
    score = src.load(src.pieces()[0])
    notes = score.tracks[0].notes.numpy()
    got = sorted(zip(notes["time"].tolist(), notes["pitch"].tolist(), notes["duration"].tolist()))
    # a 16th step is 120 ticks at tpq 480; C-E-G held for two steps, D-F one step, rest, C
    assert got == [(0, 60, 240), (0, 64, 240), (0, 67, 240), (240, 62, 120), (240, 65, 120), (480, 60, 120)]
    assert score.time_signatures[0].numerator == 4 and score.tempos[0].qpm == pytest.approx(100.0)


def test_jsb_fingerprint_and_bad_pieces(mini_jsb: Path):
    src = JSBChorales(str(mini_jsb / "jsb-chorales-16th.json"))
    p = src.pieces()
    assert src.fingerprint(p[0]) == src.fingerprint(p[0]) != src.fingerprint(p[1])
    with pytest.raises(MIDIError, match="no notes"):
        src.load(p[3])  # an empty chorale
    with pytest.raises(MIDIError, match="no chorale"):
        src.load(type(p[0])(id="train/9", split="train", corpus="jsb", ref="train/9"))


def test_chorale_rejects_out_of_range_pitch():
    with pytest.raises(MIDIError, match="out of range"):
        chorale_to_score([[200]])


# --------------------------------------------------------------------------- VGMIDI

@pytest.fixture
def mini_vgmidi(tmp_path: Path) -> Path:
    root = tmp_path / "vgmidi"
    rows = ["id,series,console,game,piece,midi,valence,arousal"]
    for i, (piece, k, v, a) in enumerate([("Town", 0, 1, 1), ("Town", 1, 1, 1), ("Cave", 0, -1, -1), ("Boss", 0, -1, 1)]):
        name = f"S_NES_G_{piece}_{k}.mid"
        write_score(root / "phrases" / name, {"piano": [60 + i, 64, 67]})
        rows.append(f"{i},S,NES,G,{piece},labelled/phrases/{name},{v},{a}")
    rows.append("9,S,NES,G,Gone,labelled/phrases/missing.mid,1,1")
    (root / "vgmidi_labelled.csv").write_text("\n".join(rows) + "\n")
    return root


def test_vgmidi_labels_and_piece_split(mini_vgmidi: Path):
    src = VGMidi(str(mini_vgmidi))
    pieces = src.pieces()
    assert len(pieces) == 4  # the row whose file is missing is left out
    town = [p for p in pieces if p.labels["piece"] == "Town"]
    assert len(town) == 2 and town[0].split == town[1].split == hash_split("S/G/Town")
    cave = next(p for p in pieces if p.labels["piece"] == "Cave")
    assert cave.labels["mood"] == "melancholy" and cave.labels["valence"] == -1 and cave.labels["genre"] == "game"
    assert next(p for p in pieces if p.labels["piece"] == "Boss").labels["mood"] == "tense"
    assert src.load(cave).note_num() == 3


# --------------------------------------------------------------------------- music21

ABC_FILE = """X:1
T: Kleines Lied
M: 3/4
L: 1/8
K: G
G2 A2 B2 | c4 B2 | A6 |]

X:2
T: Wechsel
M: 4/4
L: 1/8
K: F
F2 G2 A2 B2 | M: 3/4
c2 B2 A2 | M: 4/4
G2 F2 E2 F2 | M: 3/4
G6 |]
"""


def test_music21_folder_lists_and_loads_abc(tmp_path: Path):
    (tmp_path / "essenFolksong").mkdir()
    (tmp_path / "essenFolksong" / "mini.abc").write_text(ABC_FILE, encoding="latin-1")
    (tmp_path / "essenFolksong" / "test0.abc").write_text(ABC_FILE)  # music21's test files are skipped
    (tmp_path / "bach").mkdir()
    (tmp_path / "bach" / "bwv1.1.mxl").write_bytes(b"not a zip")
    src = Music21Corpus(str(tmp_path))
    pieces = {p.id: p for p in src.pieces()}
    assert sorted(pieces) == ["bach/bwv1.1.mxl", "essen/mini/1", "essen/mini/2"]
    one = pieces["essen/mini/1"]
    assert one.ref == "essenFolksong/mini.abc#1" and one.split == hash_split("essen/mini/1")
    assert one.labels["meter"] == "3/4" and one.labels["key_signature"] == 1 and one.labels["title"] == "Kleines Lied"
    assert src.load(one).note_num() == 6
    assert src.load(pieces["essen/mini/2"]).note_num() == 12  # meter changes: shared TimeSignature objects
    assert src.fingerprint(one) != src.fingerprint(pieces["essen/mini/2"])
    with pytest.raises(MIDIError, match="bwv1.1"):
        src.load(pieces["bach/bwv1.1.mxl"])


def test_music21_builtin_lists_quickly():
    t = time.perf_counter()
    pieces = open_source("music21:builtin").pieces()
    assert time.perf_counter() - t < 10
    bach = [p for p in pieces if p.id.startswith("bach/")]
    essen = [p for p in pieces if p.id.startswith("essen/")]
    assert len(bach) > 400 and len(essen) > 8000
    assert all(p.labels["genre"] == "chorale" and "meter" in p.labels for p in bach)
    assert {p.split for p in pieces} == {"train", "validation", "test"}
    assert len(Music21Corpus("builtin/bach").pieces()) == len(bach)


@pytest.mark.slow
def test_music21_builtin_loads_bach_and_essen():
    src = Music21Corpus("builtin")
    pieces = {p.id: p for p in src.pieces()}
    bach = src.load(pieces["bach/bwv10.7.mxl"])
    assert len(bach.tracks) == 4 and bach.tpq == 480 and bach.note_num() > 150
    assert src.load(pieces["essen/altdeu10/5"]).note_num() > 10


# --------------------------------------------------------------------------- the shared data (slow)

def _need(sub: str) -> Path:
    if not (DATA / sub).is_dir():
        pytest.skip(f"{DATA / sub} is absent (the shared data sets are not on this machine)")
    return DATA / sub


def _split_counts(pieces) -> dict:
    return {s: sum(p.split == s for p in pieces) for s in ("train", "validation", "test")}


@pytest.mark.slow
@pytest.mark.parametrize("spec, count", [("pop909:pop909", 879), ("nottingham:nottingham", 999),
                                         ("jsb:jsb-chorales", 382), ("vgmidi:vgmidi", 204)])
def test_shared_corpora_counts_and_sample_loads(spec: str, count: int):
    kind, sub = spec.split(":")
    src = open_source(f"{kind}:{_need(sub)}")
    pieces = src.pieces()
    assert len(pieces) == count and all(_split_counts(pieces).values())
    for p in pieces[:: max(1, len(pieces) // 8)]:
        assert src.load(p).note_num() > 0


@pytest.mark.slow
def test_shared_nottingham_duplicates_and_jsb_split():
    assert len(Nottingham(str(_need("nottingham"))).duplicates()) == 5
    assert _split_counts(JSBChorales(str(_need("jsb-chorales"))).pieces()) == {"train": 229, "validation": 76, "test": 77}
