import json
import os
import shutil

import numpy as np
import pytest
import torch

from conftest import FIXTURES, write_corpus
from tunegan.data.dataset import CropDataset, TokenCache, WindowDataset
from tunegan.data.prepare import prepare
from tunegan.data.registry import open_source
from tunegan.data.sources import MidiFolder, file_sha1, hash_split
from tunegan.errors import DataError
from tunegan.tokenizers import get_tokenizer


def test_cache_layout_and_counts(tiny_corpus, tmp_path):
    rep = prepare([MidiFolder(str(tiny_corpus))], get_tokenizer("pitch"), tmp_path / "c", workers=2, labels=False)
    assert not rep.reused and rep.pieces == 24 and rep.skipped == 0
    cache = TokenCache(tmp_path / "c")
    m = cache.manifest
    assert m["tokenizer"]["name"] == "pitch" and m["vocab_size"] == 89
    total = sum(len(cache.split(s)) for s in ("train", "validation", "test"))
    assert total == 24
    tr = cache.split("train")
    assert isinstance(tr.tokens, np.memmap)
    # every piece starts with BOS (= 0 for the pitch tokenizer) and holds its 120 notes
    for i in range(len(tr)):
        p = tr.piece(i)
        assert p[0] == 0 and len(p) == 121 and (p[1:] > 0).all()
    assert all(r["sha1"] and r["status"] == "ok" for r in m["pieces"])


def test_reuse_and_rebuild(tiny_corpus, tmp_path):
    tok = get_tokenizer("pitch")
    src = MidiFolder(str(tiny_corpus))
    prepare([src], tok, tmp_path / "c", workers=1, labels=False)
    assert prepare([src], tok, tmp_path / "c", workers=1, labels=False).reused
    # a config change rebuilds
    assert not prepare([src], get_tokenizer("pitch", quantum=0.05), tmp_path / "c", workers=1, labels=False).reused
    # a content change rebuilds
    write_corpus(tiny_corpus, n_files=1, notes_per_file=30, seed=5)
    rep = prepare([src], get_tokenizer("pitch", quantum=0.05), tmp_path / "c", workers=1, labels=False)
    assert not rep.reused


def test_reuse_reads_no_file_when_stats_match(tiny_corpus, tmp_path, monkeypatch):
    tok, src = get_tokenizer("pitch"), MidiFolder(str(tiny_corpus))
    prepare([src], tok, tmp_path / "c", workers=2, labels=False)
    rows = json.loads((tmp_path / "c" / "manifest.json").read_text())["pieces"]
    # the workers' content hashes are those of the files on disk
    assert all(r["sha1"] == file_sha1(tiny_corpus / r["id"]) for r in rows)

    def no_hashing(*a, **k):
        raise AssertionError("a file was hashed although its size and mtime are unchanged")

    with monkeypatch.context() as m:
        m.setattr(MidiFolder, "fingerprint", no_hashing)
        assert prepare([src], tok, tmp_path / "c", workers=1, labels=False).reused
    # a touched file (new mtime, same bytes) is hashed, found unchanged, and the cache is reused ...
    f = tiny_corpus / rows[0]["id"]
    os.utime(f, ns=(f.stat().st_atime_ns, f.stat().st_mtime_ns + 10**9))
    assert prepare([src], tok, tmp_path / "c", workers=1, labels=False).reused
    # ... with the new stats recorded, so the next run needs no hashing again
    with monkeypatch.context() as m:
        m.setattr(MidiFolder, "fingerprint", no_hashing)
        assert prepare([src], tok, tmp_path / "c", workers=1, labels=False).reused


def test_bad_files_skipped_with_reasons(tiny_corpus, tmp_path):
    for name in ("empty.mid", "drums_only.mid", "truncated.mid", "not_midi.mid", "all_out_of_range.mid", "type1.mid"):
        shutil.copy(FIXTURES / name, tiny_corpus / name)
    rep = prepare([MidiFolder(str(tiny_corpus))], get_tokenizer("pitch"), tmp_path / "c", workers=2, labels=False)
    assert rep.pieces == 25 and rep.skipped == 5
    rows = {r["id"]: r for r in json.loads((tmp_path / "c" / "manifest.json").read_text())["pieces"]}
    assert rows["empty.mid"]["reason"] == "no notes"
    assert rows["drums_only.mid"]["reason"] == "only drum tracks, no pitched notes"
    assert rows["truncated.mid"]["reason"].startswith("corrupt MIDI")
    assert rows["not_midi.mid"]["reason"] == "not a MIDI file (no MThd header)"
    assert rows["all_out_of_range.mid"]["reason"] == "no notes on the 88 piano keys"
    assert rows["type1.mid"]["status"] == "ok"


def test_label_errors_are_counted_and_bugs_surface(tiny_corpus, tmp_path, monkeypatch):
    import tunegan.data.prepare as prep

    real = prep.labels_for

    def labels_for(piece, score):
        if piece.id == "piece_03.mid":
            raise DataError("composer.csv: the composer table cannot be read (Permission denied)")
        return real(piece, score)

    monkeypatch.setattr(prep, "labels_for", labels_for)
    rep = prepare([MidiFolder(str(tiny_corpus))], get_tokenizer("pitch"), tmp_path / "c", workers=1)
    assert rep.pieces == 24
    manifest = json.loads((tmp_path / "c" / "manifest.json").read_text())
    assert manifest["label_errors"] == {"composer.csv: the composer table cannot be read (Permission denied)": 1}
    rows = {r["id"]: r for r in manifest["pieces"]}
    assert rows["piece_03.mid"]["status"] == "ok" and "label_error" in rows["piece_03.mid"]
    assert "mood" in rows["piece_04.mid"]["labels"] and "label_error" not in rows["piece_04.mid"]

    def buggy(piece, score):
        raise ZeroDivisionError("a bug in labelling")

    monkeypatch.setattr(prep, "labels_for", buggy)
    with pytest.raises(ZeroDivisionError):
        prepare([MidiFolder(str(tiny_corpus))], get_tokenizer("pitch"), tmp_path / "c2", workers=1)


def test_hash_split_is_deterministic():
    splits = [hash_split(f"dir/piece_{i}.mid") for i in range(2000)]
    assert splits == [hash_split(f"dir/piece_{i}.mid") for i in range(2000)]
    frac = {s: splits.count(s) / len(splits) for s in ("train", "validation", "test")}
    assert 0.75 < frac["train"] < 0.85 and 0.07 < frac["test"] < 0.13


def test_empty_folder_one_line_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no MIDI pieces found"):
        prepare([MidiFolder(str(tmp_path / "empty"))], get_tokenizer("pitch"), tmp_path / "c")
    with pytest.raises(DataError, match="no such file or folder"):
        open_source(str(tmp_path / "nope"))


def test_windows_and_crops(tiny_cache):
    cache = TokenCache(tiny_cache)
    tr = cache.split("train")
    ds = WindowDataset(tr, 16)
    x, y = ds[3]
    assert x.shape == y.shape == (16,) and (x[1:] == y[:-1]).all()
    assert len(ds) == (tr.n_tokens - 1) // 16
    crops = CropDataset(tr, 200, n_crops=10, tokenizer=cache.tokenizer, seed=1)
    x, y = crops[0]
    assert x.shape == (200,)  # pieces are 121 tokens: padded with 0
    assert (x[121:] == 0).all()
    x2, _ = crops[0]
    assert (x == x2).all()  # deterministic given (seed, epoch, index)


def test_packed_crops_have_no_padding(tiny_cache):
    cache = TokenCache(tiny_cache)
    tr = cache.split("train")
    packed = CropDataset(tr, 300, n_crops=20, tokenizer=cache.tokenizer, seed=1, pack=True)
    bos_seen = 0
    for i in range(len(packed)):
        x, y = packed[i]
        assert x.shape == (300,) and (x[1:] == y[:-1]).all()
        assert (y != cache.tokenizer.pad_id).sum() >= 300 - 3  # pieces of 121: only BOS marks remain
        # every crop is a contiguous slice of the split's token stream
        stream = torch.from_numpy(np.asarray(tr.tokens, dtype=np.int64))
        starts = [s for s in range(len(stream) - 300) if stream[s] == x[0] and (stream[s:s + 300] == x).all()]
        assert starts
        bos_seen += int((x == cache.tokenizer.bos_id).sum())
    assert bos_seen >= 2 * len(packed)  # crops run across piece boundaries
    with pytest.raises(DataError, match="keywords"):
        CropDataset(tr, 300, n_crops=2, tokenizer=cache.tokenizer, pack=True, cond_table=np.zeros((len(tr), 1)))
    # every piece is 121 tokens: a crop of 301 unpacked is 180/301 padding, packed none
    padded = CropDataset(tr, 300, n_crops=20, tokenizer=cache.tokenizer, seed=1)
    assert padded.padding_share() == pytest.approx(180 / 301) and packed.padding_share() == 0.0
    assert CropDataset(tr, 100, n_crops=2, tokenizer=cache.tokenizer).padding_share() == 0.0


def test_corpus_balance_weights_and_manifest(tmp_path):
    """Two corpora of very different size: power 0 samples them equally, power 1 by size."""
    from tunegan.conditioning import corpus_weights

    tokens = np.array([100] * 9 + [100])  # 9 pieces of corpus a, 1 of corpus b
    corpora = ["a"] * 9 + ["b"]
    for power, share_b in ((1.0, 0.1), (0.0, 0.5), (0.5, 0.25)):
        w, shares = corpus_weights(corpora, tokens, power)
        p = tokens * w / (tokens * w).sum()
        assert p[-1] == pytest.approx(share_b) and shares["b"] == pytest.approx(share_b)
    a = write_corpus(tmp_path / "a", n_files=6)
    b = write_corpus(tmp_path / "b", n_files=3, seed=2)
    prepare([MidiFolder(str(a)), MidiFolder(str(b))], get_tokenizer("pitch"), tmp_path / "c", workers=1, labels=False)
    m = json.loads((tmp_path / "c" / "manifest.json").read_text())
    assert sum(v["pieces"] for v in m["corpora"]["folder"].values()) == 9


def test_mood_balance_weights():
    """Within a corpus, mood power 0 draws every mood equally often; corpus shares stay as set."""
    from tunegan.conditioning import corpus_weights, label_shares

    tokens = np.array([100] * 8 + [100] + [100] * 10)
    corpora = ["a"] * 9 + ["b"] * 10
    moods = ["calm"] * 8 + ["tense"] + ["calm"] * 5 + [None] * 5
    for mp, tense_in_a in ((1.0, 1 / 9), (0.0, 0.5)):
        w, shares = corpus_weights(corpora, tokens, 0.0, moods=moods, mood_power=mp)
        p = tokens * w / (tokens * w).sum()
        assert p[:9].sum() == pytest.approx(0.5) and shares == pytest.approx({"a": 0.5, "b": 0.5})
        assert p[8] / p[:9].sum() == pytest.approx(tense_in_a)
    assert label_shares(moods, tokens, w) == pytest.approx({"calm": 0.5, "none": 0.25, "tense": 0.25})


def test_start_share_crops_open_at_the_piece_start(tiny_cache):
    """Crops of long pieces almost never hold a piece's opening; start_share puts that share at BOS."""
    cache = TokenCache(tiny_cache)
    tr, bos = cache.split("train"), cache.tokenizer.bos_id
    share = {}
    for s in (0.0, 0.5, 1.0):
        ds = CropDataset(tr, 16, n_crops=400, tokenizer=cache.tokenizer, seed=3, start_share=s)
        share[s] = float(np.mean([int(ds[i][0][0]) == bos for i in range(len(ds))]))
    assert share[1.0] == 1.0 and share[0.0] < 0.05 and 0.4 < share[0.5] < 0.6


# --------------------------------------------------------------------------- openings of bar-based caches

def _opening_score(notes, *, tempos=((0, 90.0),), metres=((0, 4, 4),)):
    """A one-track tick score: ``notes`` = [(tick, pitch)], quarter notes at velocity 80."""
    import symusic

    score = symusic.Score(480)
    for t, q in tempos:
        score.tempos.append(symusic.Tempo(t, q))
    for t, n, d in metres:
        score.time_signatures.append(symusic.TimeSignature(t, n, d))
    track = symusic.Track("piano", 0, False)
    for t, p in notes:
        track.notes.append(symusic.Note(t, 480, p, 80))
    score.tracks.append(track)
    return score


def test_fix_opening_drops_leading_empty_bars_and_keeps_tempo_in_force():
    from tunegan.data.openings import fix_opening

    score = _opening_score([(2 * 1920 + 480, 60), (2 * 1920 + 960, 62)], tempos=((0, 90.0), (1920, 100.0)),
                           metres=((0, 3, 4), (1440, 4, 4)))  # one 3/4 bar, then 4/4: bars at 0, 1440, 3360
    out = fix_opening(score)
    assert [n.time for n in out.tracks[0].notes] == [2 * 1920 + 480 - 3360, 2 * 1920 + 960 - 3360]
    assert [(t.time, round(t.qpm)) for t in out.tempos] == [(0, 100)]
    assert [(t.time, t.numerator, t.denominator) for t in out.time_signatures] == [(0, 4, 4)]


def test_fix_opening_pads_a_pickup_to_a_full_bar():
    from tunegan.data.openings import fix_opening

    score = _opening_score([(0, 67), (480, 72), (960, 71)], metres=((0, 1, 4), (480, 3, 4)))
    out = fix_opening(score)
    assert [n.time for n in out.tracks[0].notes] == [960, 1440, 1920]  # the pickup ends a 3/4 bar
    assert [(t.time, t.numerator, t.denominator) for t in out.time_signatures] == [(0, 3, 4)]
    assert [t.time for t in out.tempos] == [0]


@pytest.mark.parametrize("tempos, expect", [((), [(0, 120)]), (((100, 80.0),), [(0, 80)]),
                                            (((900, 80.0),), [(0, 120), (900, 80)])])
def test_fix_opening_writes_a_tempo_and_metre_at_tick_zero(tempos, expect):
    from tunegan.data.openings import fix_opening

    out = fix_opening(_opening_score([(200, 60), (1000, 64)], tempos=tempos, metres=()))
    assert [(t.time, round(t.qpm)) for t in out.tempos] == expect
    assert [(t.time, t.numerator, t.denominator) for t in out.time_signatures] == [(0, 4, 4)]


def test_opening_report_of_a_remi_cache(tmp_path, tiny_cache, capsys):
    from tunegan.data.opening_report import main, opening_report

    folder = tmp_path / "remi_midi"
    folder.mkdir()
    late = _opening_score([(1920 * 3 + 240, 60), (1920 * 3 + 720, 64)], tempos=((4000, 75.0),))
    late.dump_midi(str(folder / "late.mid"))
    _opening_score([(0, 60), (480, 64), (960, 67)], tempos=(), metres=((0, 1, 4), (480, 3, 4))).dump_midi(
        str(folder / "pickup.mid"))
    out = tmp_path / "remi_cache"
    prepare([MidiFolder(str(folder))], get_tokenizer("remi"), out, workers=1, labels=False)
    rep = opening_report(out)["folder"]
    assert rep["pieces"] == 2 and rep["both"] == 1.0 and rep["opens_with_bar"] == 1.0
    assert rep["tempo_120"] == 0.5  # the pickup piece has no tempo: MIDI's 120
    assert rep["metres"] == {"4/4": 0.5, "3/4": 0.5} and rep["tokens_per_quarter"] > 1
    assert main([str(out)]) == 0 and "folder" in capsys.readouterr().out
    with pytest.raises(DataError, match="REMI"):
        opening_report(tiny_cache)
