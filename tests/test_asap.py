"""ASAP scores as a corpus, and metres a bar-based tokenizer has no token for (tiny scores made in code)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import symusic

from tunegan.data.asap import Asap, asap_form, read_annotations
from tunegan.data.metre import fit_time_signatures, score_bars
from tunegan.data.prepare import prepare
from tunegan.data.registry import open_source
from tunegan.errors import DataError
from tunegan.music import tick_notes
from tunegan.tokenizers import get_tokenizer
from tunegan.tokenizers.remi import DEFAULT_TIME_SIGNATURES

TPQ = 480
SUPPORTED = {tuple(int(x) for x in t.split("/")) for t in DEFAULT_TIME_SIGNATURES}
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def score_in(metres: list[tuple[int, int, int]], note_every: int = TPQ // 2) -> symusic.Score:
    """A score of ``(bars, numerator, denominator)`` runs, an eighth note every ``note_every`` ticks."""
    score = symusic.Score(TPQ)
    score.tempos.append(symusic.Tempo(0, 90.0))
    t = 0
    for bars, n, d in metres:
        score.time_signatures.append(symusic.TimeSignature(t, n, d))
        t += bars * 4 * TPQ * n // d
    track = symusic.Track("piano", 0, False)
    times = np.arange(0, t, note_every, dtype=np.int32)
    track.notes = symusic.Note.from_numpy(time=times, duration=np.full(len(times), note_every, np.int32),
                                          pitch=(60 + np.arange(len(times)) % 12).astype(np.int8),
                                          velocity=np.full(len(times), 70, np.int8))
    score.tracks.append(track)
    return score


def metres_of(score: symusic.Score) -> list[tuple[int, int]]:
    return [b.metre for b in score_bars(score)]


# --------------------------------------------------------------------------- fitting metres

def test_supported_metres_are_left_alone():
    score = score_in([(2, 3, 4), (2, 6, 8)])
    assert fit_time_signatures(score, SUPPORTED) is score


def test_a_long_cadenza_bar_splits_into_the_bars_before_it():
    score = score_in([(2, 4, 4), (1, 65, 4), (1, 4, 4)])
    out = fit_time_signatures(score, SUPPORTED)
    assert metres_of(out) == [(4, 4)] * 2 + [(4, 4)] * 15 + [(5, 4)] + [(4, 4)]  # 65 = 15 x 4 + 5
    assert np.array_equal(tick_notes(out)["time"], tick_notes(score)["time"])  # no note moves


@pytest.mark.parametrize("written, fitted", [((12, 16), [(6, 8)]), ((8, 8), [(4, 4)]), ((2, 8), [(1, 4)]),
                                             ((4, 2), [(2, 2), (2, 2)]), ((24, 16), [(12, 8)])])
def test_a_bar_takes_a_supported_metre_of_its_length(written, fitted):
    out = fit_time_signatures(score_in([(1, *written)]), SUPPORTED)
    assert metres_of(out) == fitted


def test_thirteen_eight_becomes_two_bars_of_eighths():
    out = fit_time_signatures(score_in([(1, 13, 8)]), SUPPORTED)
    assert sorted(metres_of(out)) == [(6, 8), (7, 8)]


def test_a_pickup_gets_a_full_bar_and_a_repeat_joins_its_halves():
    # Beethoven op. 26 style: a 1/8 pickup, 3/8 bars, then 2/8 + 1/8 around an unfolded repeat
    score = score_in([(1, 1, 8), (2, 3, 8), (1, 2, 8), (1, 1, 8), (2, 3, 8)])
    out = fit_time_signatures(score, SUPPORTED)
    assert metres_of(out) == [(3, 8)] * 6
    a, b = tick_notes(score)["time"], tick_notes(out)["time"]
    assert np.array_equal(b, a + 2 * TPQ // 2)  # the pickup ends a full 3/8 bar: everything 2 eighths later
    assert out.tempos[0].time == 0


def test_an_odd_bar_in_the_middle_gets_a_short_rest():
    score = score_in([(2, 4, 4), (1, 25, 32), (2, 4, 4)], note_every=TPQ // 8)
    out = fit_time_signatures(score, SUPPORTED)
    assert all(m in SUPPORTED for m in metres_of(out))
    a, b = tick_notes(score)["time"], tick_notes(out)["time"]
    odd_end = 8 * TPQ + 25 * TPQ // 8
    assert np.array_equal(b[a < odd_end], a[a < odd_end])
    shift = b[a >= odd_end] - a[a >= odd_end]
    assert len(set(shift.tolist())) == 1 and 0 < shift[0] < TPQ // 2  # less than an eighth note


def test_fitted_scores_encode_with_remi():
    tok = get_tokenizer("remi")
    for metres in ([(1, 1, 8), (3, 3, 8)], [(2, 4, 4), (1, 65, 4)], [(1, 12, 16), (1, 3, 16), (1, 6, 16)]):
        out = fit_time_signatures(score_in(metres), tok.config.time_signatures)
        last_onset = tick_notes(out)["time"].max()
        assert tok.count_bars(tok.encode(out)) == sum(b.start <= last_onset for b in score_bars(out))


# --------------------------------------------------------------------------- the corpus

@pytest.fixture
def mini_asap(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    root = data / "asap-scores"
    table = data / "giantmidi-piano-meta" / "composers_manually_checked.csv"
    table.parent.mkdir(parents=True)
    table.write_text("\ufeffcomposer_name\tnationality\tbirth\tdeath\nJohann Sebastian Bach\tGerman\t1685\t1750\n"
                     "Ludwig van Beethoven\tGerman\t1770\t1827\n", encoding="utf-8")
    rows = ["folder,composer,title,split,split_from,midi_score,annotations"]
    for folder, composer, split, metres, ann in (
            ("Bach/Fugue/bwv_856", "Bach", "train", [(1, 1, 8), (4, 3, 8), (1, 2, 8)],
             "0.0\t0.0\tb,,-1\n0.25\t0.25\tdb,3/8\n0.5\t0.5\tb\n1.0\t1.0\tdb\n"),
            ("Beethoven/Piano_Sonatas/12-1", "Beethoven", "test", [(2, 4, 4), (1, 65, 4)],
             "0.0\t0.0\tdb,4/4,-4\n2.0\t2.0\tdb\n")):
        d = root / folder
        d.mkdir(parents=True)
        score_in(metres).dump_midi(str(d / "midi_score.mid"))
        (d / "midi_score_annotations.txt").write_text(ann)
        title = folder.split("/")[1] + "_" + folder.split("/")[2]
        rows.append(f"{folder},{composer},{title},{split},maestro,{folder}/midi_score.mid,"
                    f"{folder}/midi_score_annotations.txt")
    (root / "metadata.csv").write_text("\n".join(rows) + "\n")
    return root


def test_asap_lists_labels_split_and_era(mini_asap: Path):
    fugue, sonata = open_source(f"asap:{mini_asap}").pieces()
    assert (fugue.id, fugue.split, fugue.corpus, sonata.split) == ("Bach/Fugue/bwv_856", "train", "asap", "test")
    assert fugue.labels == {"genre": "classical", "composer": "Johann Sebastian Bach", "era": "baroque",
                            "title": "Fugue bwv_856".replace("_", " "), "form": "fugue", "meter": "3/8",
                            "key_signature": -1}
    assert sonata.labels["era"] == "classical" and sonata.labels["form"] == "sonata"
    assert sonata.labels["meter"] == "4/4" and sonata.labels["key_signature"] == -4


def test_asap_prepares_with_remi_without_skipping_odd_metres(mini_asap: Path, tmp_path: Path):
    rep = prepare([f"asap:{mini_asap}"], get_tokenizer("remi"), tmp_path / "cache", workers=1, labels=False)
    assert rep.pieces == 2 and rep.skipped == 0


def test_asap_keeps_one_version_of_a_piece(mini_asap: Path):
    """Versions that differ in their repeats share composer and title: the one written without a
    repeat suffix is kept wherever it is listed, the others are reported."""
    table = mini_asap / "metadata.csv"
    rows = table.read_text().splitlines()
    for folder in ("Bach/Fugue/bwv_856_no_repeat", "Bach/Fugue/bwv_856_repeat"):
        (mini_asap / folder).mkdir(parents=True)
        (mini_asap / folder / "midi_score.mid").write_bytes((mini_asap / "Bach/Fugue/bwv_856/midi_score.mid").read_bytes())
    variant = [f"{f},Bach,Fugue_bwv_856,train,maestro,{f}/midi_score.mid,{f}/midi_score_annotations.txt"
               for f in ("Bach/Fugue/bwv_856_no_repeat", "Bach/Fugue/bwv_856_repeat")]
    table.write_text("\n".join([rows[0], variant[0], *rows[1:], variant[1]]) + "\n")  # a variant listed first
    source = Asap(str(mini_asap))
    assert [p.id for p in source.pieces()] == ["Bach/Fugue/bwv_856", "Beethoven/Piano_Sonatas/12-1"]
    assert source.duplicates() == [("Bach/Fugue/bwv_856_no_repeat", "Bach/Fugue/bwv_856"),
                                   ("Bach/Fugue/bwv_856_repeat", "Bach/Fugue/bwv_856")]


def test_asap_form_words_and_bad_folders(tmp_path: Path):
    assert asap_form("Chopin/Etudes_op_10/3") == "etude" and asap_form("Schumann/Kreisleriana/1") is None
    assert read_annotations(tmp_path / "missing.txt") == {}
    with pytest.raises(DataError, match="metadata.csv"):
        Asap(str(tmp_path)).pieces()


@pytest.mark.slow
def test_shared_asap_lists_its_split_and_composers():
    if not (DATA / "asap-scores").is_dir():
        pytest.skip("the shared asap-scores folder is absent")
    pieces = open_source(f"asap:{DATA / 'asap-scores'}").pieces()
    assert len(pieces) == 205  # 217 scores, 12 of them other versions of a piece (repeats left out or in)
    assert {s: sum(p.split == s for p in pieces) for s in ("train", "validation", "test")} == \
        {"train": 151, "validation": 26, "test": 28}
    dropped = dict(Asap(str(DATA / "asap-scores")).duplicates())
    assert dropped["Beethoven/Piano_Sonatas/24-1_no_repeat"] == "Beethoven/Piano_Sonatas/24-1"
    assert dropped["Liszt/Gran_Etudes_de_Paganini/6_Theme_and_Variations_repeat"] == \
        "Liszt/Gran_Etudes_de_Paganini/6_Theme_and_Variations"
    assert all(p.labels.get("era") for p in pieces)
