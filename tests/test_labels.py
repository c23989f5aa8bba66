"""Labels: composers and eras, meter and key, the rule-based mood and its VGMIDI check."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import symusic

import tunegan.music as M
from tunegan.data import labels as L
from tunegan.music import MOODS
from tunegan.data import mood_check
from tunegan.data.mood_check import check_mood_mapping
from tunegan.data.sources import Piece, hash_split

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def make_score(pitches, durs=None, *, tempo=120.0, step=480, velocity=80, chord=1) -> symusic.Score:
    """One track; note i starts at i*step ticks (``chord`` notes share each onset)."""
    n = len(pitches)
    durs = np.full(n, step, np.int32) if durs is None else np.asarray(durs, np.int32)
    starts = np.cumsum(np.r_[0, durs[:-1]]).astype(np.int32) if chord == 1 else (np.arange(n) // chord * step).astype(np.int32)
    score = symusic.Score(480)
    score.tempos.append(symusic.Tempo(0, float(tempo)))
    t = symusic.Track("piano", 0, False)
    t.notes = symusic.Note.from_numpy(time=starts, duration=durs, pitch=np.asarray(pitches, np.int8),
                                      velocity=np.full(n, velocity, np.int8))
    score.tracks.append(t)
    return score


C_MAJOR_SCALE = [60, 62, 64, 65, 67, 69, 71, 72]
A_MINOR_MELODY = [69, 72, 76, 69, 71, 68, 69, 64, 65, 64, 62, 60, 59, 68, 69]


# --------------------------------------------------------------------------- composers and eras

@pytest.fixture
def composer_table(tmp_path: Path) -> Path:
    rows = ["composer_name\tnationality\tbirth\tdeath",
            "Johann Sebastian Bach\tGerman\t1685\t1750", "Carl Philipp Emanuel Bach\tGerman\t1714\t1788",
            "Aleksandr Scriabin\tRussian\t1872\t1915", "Franz Schubert\tAustrian\t1797\t1828",
            "Camille Schubert\tunknown\t1810\tunknown", "Johann Strauss Jr.\tAustrian\t1825\t1899",
            "Pyotr Tchaikovsky\tRussian\t1840\t1893", "Ludwig van Beethoven\tGerman\t1770\t1827",
            "Johann Caspar Ferdinand Fischer\tGerman\t1656\t1746", "Alban Berg\tAustrian\t1885\t1935",
            "Frédéric Chopin\tPolish\t1810\t1849", "Nobody Known\tunknown\tunknown\tunknown"]
    p = tmp_path / "composers.csv"
    p.write_text("\ufeff" + "\n".join(rows) + "\n", encoding="utf-8")
    return p


def test_normalise_composer():
    assert L.normalise_composer("Franz Schubert / Franz Liszt") == "Franz Schubert"
    assert L.normalise_composer("  Johann Sebastian Bach  ") == "Johann Sebastian Bach"
    assert L.normalise_composer("") == ""


@pytest.mark.parametrize("name, era", [
    ("Johann Sebastian Bach", "baroque"), ("Johann Sebastian Bach / Ferruccio Busoni", "baroque"),
    ("Alexander Scriabin", "late romantic"), ("Franz Schubert / Franz Liszt", "romantic"),
    ("Pyotr Ilyich Tchaikovsky", "late romantic"), ("Johann Strauss", "romantic"),
    ("Ludwig van Beethoven", "classical"), ("Frederic Chopin", "romantic"), ("Alban Berg", "modern"),
    ("Johann Christian Fischer", None), ("Nobody Known", None), ("Unknown Person", None)])
def test_composer_era(composer_table: Path, name: str, era):
    assert L.composer_era(name, composer_table) == era


def test_composer_era_without_table(tmp_path: Path):
    assert L.composer_era("Johann Sebastian Bach", tmp_path / "absent.csv") is None
    assert L.composer_era("Johann Sebastian Bach", None) is None


def test_era_cut_offs():
    assert [L.era_of_birth_year(y) for y in (1583, 1685, 1709, 1710, 1774, 1775, 1829, 1830, 1879, 1880)] == [
        "renaissance", "baroque", "baroque", "classical", "classical", "romantic", "romantic",
        "late romantic", "late romantic", "modern"]


# --------------------------------------------------------------------------- meter and key

def test_meter_and_key_names():
    assert L.meter_label(6, 8) == "6/8"
    assert M.key_label(9, "minor") == "A minor" and M.key_label(6, "major") == "F# major"
    assert M.read_key("Gb:maj") == (6, "major")
    assert M.read_key("Am") == (9, "minor")
    assert M.read_key("D") == (2, "major")
    assert M.read_key("E dorian") == (4, "minor")
    assert M.read_key("f# minor") == (6, "minor")
    assert M.read_key("Es") == (3, "major")
    assert M.read_key("none") is None and M.read_key("") is None
    assert [M.tonic_to_fifths(*k) for k in ((0, "major"), (9, "minor"), (7, "major"), (5, "major"), (2, "minor"))] == [0, 0, 1, -1, -1]


def test_key_of_c_major_scale():
    est = L.mode_and_key(make_score(C_MAJOR_SCALE))
    assert (est.tonic, est.mode) == (0, "major") and 0.5 < est.confidence <= 1.0


def test_key_of_a_minor_melody():
    est = L.mode_and_key(make_score(A_MINOR_MELODY))
    assert (est.tonic, est.mode) == (9, "minor")


def test_key_with_signature_and_empty_score():
    assert L.mode_and_key(make_score(A_MINOR_MELODY), key_signature=0)[:2] == (9, "minor")
    assert L.mode_and_key(make_score(C_MAJOR_SCALE), key_signature=0)[:2] == (0, "major")
    empty = symusic.Score(480)
    assert L.mode_and_key(empty) == (0, "major", 0.0)
    assert L.pitch_class_histogram(empty).shape == (12,)


# --------------------------------------------------------------------------- mood

def test_mood_quadrants():
    fast_major = make_score(C_MAJOR_SCALE * 8, step=60, chord=1, tempo=160)
    slow_minor = make_score(A_MINOR_MELODY, step=960, tempo=60)
    fast_minor = make_score(A_MINOR_MELODY * 6, step=60, tempo=160)
    slow_major = make_score(C_MAJOR_SCALE, step=960, tempo=60)
    got = {name: L.mood_from_music(s) for name, s in
           [("fm", fast_major), ("sm", slow_minor), ("fmin", fast_minor), ("smaj", slow_major)]}
    assert [got[k]["mood"] for k in ("fm", "smaj", "fmin", "sm")] == ["upbeat", "calm", "tense", "melancholy"]
    for m in got.values():
        assert set(m) == {"valence", "arousal", "mood"}
        assert -1 <= m["valence"] <= 1 and -1 < m["arousal"] < 1


def test_mood_features_units():
    f = L.music_features(make_score([60] * 10, step=480, tempo=120))  # 10 quarter notes at 120 bpm = 5 s
    assert f.density == pytest.approx(2.0) and f.tempo == pytest.approx(120.0)
    assert L.mood_from_music(symusic.Score(480))["mood"] in MOODS
    assert M.mood_word(-0.5, 0.1) == "tense"


# --------------------------------------------------------------------------- labels_for

def test_labels_for_fills_everything(composer_table: Path):
    score = make_score(A_MINOR_MELODY)
    piece = Piece(id="x.mid", split="train", corpus="maestro", path=None,
                  labels={"composer": "Franz Schubert / Franz Liszt", "genre": "classical"})
    out = L.labels_for(piece, score, composer_table=composer_table)
    assert out["composer"] == "Franz Schubert" and out["composer_credit"] == "Franz Schubert / Franz Liszt"
    assert out["era"] == "romantic" and out["key"] == "A minor" and out["mode"] == "minor"
    assert out["meter"] == "4/4" and out["mood_source"] == "estimated" and out["form"] is None
    assert json.loads(json.dumps(out)) == out


def test_labels_for_keeps_human_labels():
    piece = Piece(id="p.mid", split="test", corpus="vgmidi", labels={"valence": -1, "arousal": 1, "key": "D major"})
    out = L.labels_for(piece, make_score(C_MAJOR_SCALE))
    assert out["mood"] == "tense" and out["mood_source"] == "human" and out["genre"] == "game"
    assert out["key"] == "D major" and out["key_source"] == "label" and out["era"] == "modern"


# --------------------------------------------------------------------------- the VGMIDI check

def _mini_vgmidi(root: Path) -> Path:
    """Happy = fast C major, sad = slow A minor; 3 train pieces and 3 held-out pieces of each kind."""
    want = {("happy", "train"): 3, ("happy", "held"): 3, ("sad", "train"): 3, ("sad", "held"): 3}
    rows = ["id,series,console,game,piece,midi,valence,arousal"]
    i = 0
    while any(want.values()):
        kind = "happy" if i % 2 == 0 else "sad"
        split = "train" if hash_split(f"S/G/P{i}") == "train" else "held"
        if want[(kind, split)]:
            want[(kind, split)] -= 1
            score = make_score(C_MAJOR_SCALE * 6, step=60) if kind == "happy" else make_score(A_MINOR_MELODY, step=960)
            name = f"S_NES_G_P{i}_0.mid"
            (root / "phrases").mkdir(parents=True, exist_ok=True)
            score.dump_midi(str(root / "phrases" / name))
            v = 1 if kind == "happy" else -1
            rows.append(f"{i},S,NES,G,P{i},labelled/phrases/{name},{v},{v}")
        i += 1
    (root / "vgmidi_labelled.csv").write_text("\n".join(rows) + "\n")
    return root


def test_check_mood_mapping_on_mini_vgmidi(tmp_path: Path, capsys):
    root = _mini_vgmidi(tmp_path / "vgmidi")
    res = check_mood_mapping(root)
    assert res["n_train"] == 6 and res["n_held_out"] == 6 and res["skipped"] == []
    a = res["agreement"]
    assert a["valence_accuracy"] == 1.0 and a["quadrant_accuracy"] == 1.0 and a["n"] == 6
    assert a["human_counts"] == {"upbeat": 3, "calm": 0, "tense": 0, "melancholy": 3}
    assert a["confusion_human_rows_predicted_columns"]["melancholy"]["melancholy"] == 3
    assert a["baseline"]["quadrant"]["accuracy"] == 0.5
    assert mood_check.main([str(root)]) == 0
    assert json.loads(capsys.readouterr().out)["n_held_out"] == 6
    assert mood_check.main([str(tmp_path / "absent")]) == 1


@pytest.mark.slow
def test_check_mood_mapping_on_shared_vgmidi():
    if not (DATA / "vgmidi").is_dir():
        pytest.skip(f"{DATA / 'vgmidi'} is absent (the shared data sets are not on this machine)")
    res = check_mood_mapping(DATA / "vgmidi")
    assert res["n_train"] + res["n_held_out"] == 204 and not res["skipped"]
    assert res["agreement"]["arousal_accuracy"] > res["agreement"]["baseline"]["arousal"]["accuracy"]
