"""Pieces with form: phrases that return, endings on the tonic, loops with a clean seam, and
form found in any piece."""

from __future__ import annotations

import mido
import numpy as np
import pytest
import symusic

from test_generation import random_checkpoint
from tunegan import api
from tunegan.errors import MusicOptionError
from tunegan.form import parse_form, phrase_of_bar
from tunegan.generation import GenerationOptions
from tunegan.music import bar_grid
from tunegan.music.form import (LOOP_END, LOOP_START, bar_sets, bar_similarity, ends_on_tonic, find_form, mark_loop,
                                seam, self_similarity)


@pytest.fixture(scope="module")
def remi(tmp_path_factory):
    return random_checkpoint(tmp_path_factory.mktemp("remi-form"), "remi", seed=3)


def bar_tokens(tok, tokens) -> list[list[int]]:
    starts = list(np.flatnonzero(tok.is_bar(tokens))) + [len(tokens)]
    return [list(tokens[a:b]) for a, b in zip(starts[:-1], starts[1:])]


def built(phrases: dict[str, list[int]], form: str, bars_per_phrase: int = 4) -> symusic.Score:
    """A 4/4 piece in code: each letter's phrase is one note pattern per bar (quarter notes)."""
    score = symusic.Score(480)
    score.time_signatures.append(symusic.TimeSignature(0, 4, 4))
    track = symusic.Track("piano", 0, False)
    bar = 0
    for letter in form:
        for b in range(bars_per_phrase):
            base = phrases[letter][b % len(phrases[letter])]
            for k, step in enumerate((0, 2, 4, 5)):
                track.notes.append(symusic.Note(bar * 1920 + k * 480, 480, base + step, 80))
            bar += 1
    score.tracks.append(track)
    return score


# -- the form string and the options ------------------------------------------------------------
@pytest.mark.parametrize("text, letters", [("AABA", "AABA"), ("abab", "ABAB"), ("A A B B", "AABB"), ("ABAC", "ABAC"),
                                           ("verse-chorus", "ABABCB")])
def test_forms_are_read(text, letters):
    assert parse_form(text) == letters


@pytest.mark.parametrize("text, fragment", [("", "letters like AABA"), ("A1BA", "one per phrase"),
                                            ("ABCX", "lettered in order"), ("BA", "lettered in order"),
                                            ("A" * 17, "at most 16")])
def test_bad_forms_are_one_line_errors(text, fragment):
    with pytest.raises(MusicOptionError, match=fragment) as e:
        GenerationOptions(form=text)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("kw, fragment", [
    (dict(form="AABA", bars=10), "does not split into the 4 phrases"),
    (dict(form="AABA", bars=12, phrase_bars=4), "4 phrases of 4 bars make 16 bars"),
    (dict(form="AABA", length=100), "length is in phrases"),
    (dict(variation=0.5), "give --form"),
    (dict(form="AB", variation=1.5), "variation must be within 0 and 1"),
    (dict(loop=True, seconds=10), "whole number of bars"),
    (dict(loop=True, ending="cadence"), "leave --ending out"),
    (dict(ending="fade"), "cadence or none"),
])
def test_form_options_are_checked_together(kw, fragment):
    with pytest.raises(MusicOptionError, match=fragment):
        GenerationOptions(**kw)


def test_bars_set_the_phrase_length():
    assert GenerationOptions(form="AABA", bars=32).phrase_bars == 8


def test_form_letters_map_to_their_bars():
    assert [phrase_of_bar("AABA", 4, b) for b in range(16)] == list("AAAA" "AAAA" "BBBB" "AAAA")
    assert [phrase_of_bar("ABAC", 2, b) for b in range(8)] == list("AABBAACC")


def test_form_needs_bars_in_the_representation():
    ckpt = api.load_model("pitch-maestro", device="cpu")
    with pytest.raises(MusicOptionError, match="--form needs a representation with bars"):
        api.generate(checkpoint=ckpt.path, form="AABA", device="cpu")


# -- generation -------------------------------------------------------------------------------
def test_a_returning_phrase_is_exact_at_variation_0(remi):
    [song] = api.generate(checkpoint=remi.path, form="AABA", phrase_bars=2, ending="none", seed=4, device="cpu")
    bars = bar_tokens(remi.tokenizer, song.tokens)
    assert len(bars) == 8
    assert bars[2:4] == bars[0:2] and bars[6:8] == bars[0:2]  # A, A again, B, A again
    assert song.options["form"] == "AABA" and song.options["phrase_bars"] == 2


def test_a_returning_phrase_keeps_its_rhythm_but_changes_at_variation_1(remi):
    tok = remi.tokenizer
    [song] = api.generate(checkpoint=remi.path, seed_notes="C4 D4 E4 G4", form="AA", phrase_bars=2, variation=1.0,
                          ending="none", seed=5, device="cpu")
    bars = bar_tokens(tok, song.tokens)
    first, again = sum(bars[0:2], []), sum(bars[2:4], [])
    pitch_of = tok.token_pitches()
    assert len(first) == len(again)
    kinds = lambda seq: [pitch_of[t] >= 0 for t in seq]  # noqa: E731
    assert kinds(first) == kinds(again)
    changed = [a != b for a, b in zip(first, again) if pitch_of[a] >= 0]
    assert changed and all(changed)  # every pitch re-sampled...
    assert [a for a in first if pitch_of[a] < 0] == [b for b in again if pitch_of[b] < 0]  # ...nothing else
    steps = lambda seq: np.sign(np.diff([pitch_of[t] for t in seq if pitch_of[t] >= 0]))  # noqa: E731
    assert list(steps(first)) == list(steps(again))  # the contour is kept


@pytest.mark.parametrize("key, ts", [("D major", "4/4"), ("A minor", "3/4"), (None, "6/8")])
def test_the_last_bar_ends_on_the_tonic_held_to_the_bar_line(remi, key, ts):
    for seed in range(3):
        [song] = api.generate(checkpoint=remi.path, bars=4, key=key, time_signature=ts, seed=seed, device="cpu")
        score = song.score
        assert remi.tokenizer.count_bars(song.tokens) == 4
        assert ends_on_tonic(score, key)
        grid = bar_grid(score, int(score.end()))
        last = [n for n in score.tracks[0].notes if n.time >= grid.bars[3]]
        assert last and all(n.time == grid.bars[3] for n in last)  # one chord on the downbeat...
        assert all(n.end == score.end() for n in last)  # ... held to the end
        assert song.options["ending"] == "cadence"


def test_ending_none_keeps_the_old_behaviour(remi):
    a = api.generate(checkpoint=remi.path, bars=3, ending="none", seed=1, device="cpu")[0]
    from tunegan.generation import sample_tokens

    prime = np.array([[remi.tokenizer.bos_id]])
    [old] = sample_tokens(remi, prime, GenerationOptions(bars=3, ending="none"), 1)
    assert list(a.tokens) == list(old)


def test_a_loop_is_whole_bars_with_nothing_across_the_seam(remi, tmp_path):
    # the first of a few seeds whose loop the untrained model fills with notes (a WAV needs some)
    song = next(s for s in api.generate(checkpoint=remi.path, loop=True, bars=4, time_signature="3/4", seed=2,
                                        samples=6, device="cpu") if len(s.notes()))
    path = song.write_midi(tmp_path / "loop.mid")
    score = symusic.Score(str(path))
    markers = {m.text: m.time for m in score.markers}
    assert markers[LOOP_START] == 0 and markers[LOOP_END] == 4 * 3 * score.ticks_per_quarter
    assert all(n.end <= markers[LOOP_END] for t in score.tracks for n in t.notes)
    from tunegan.music import ticks_to_seconds

    seconds = float(ticks_to_seconds(score, np.array([markers[LOOP_END]]))[0])
    # another reader agrees; symusic writes the end of track one tick after the last event
    one_tick = 60.0 / (score.tempos[-1].qpm * score.ticks_per_quarter) if len(score.tempos) else 60.0 / (120 * 480)
    assert mido.MidiFile(str(path)).length == pytest.approx(seconds + one_tick, abs=1e-4)
    report = api.render(path, wav=tmp_path / "loop.wav", engine="numpy")
    from tunegan.outputs.audio import read_wav

    audio, sr = read_wav(report.written[0])
    assert len(audio) == round(seconds * sr)  # the tail rings on at the start, not past the end
    assert api.explain(path).summary.loop_bars == 4


def test_a_loop_is_the_same_alone_or_in_a_batch(remi):
    one = api.generate(checkpoint=remi.path, loop=True, bars=3, seed=8, device="cpu")[0]
    two = api.generate(checkpoint=remi.path, loop=True, bars=3, seed=7, samples=2, device="cpu")[1]
    assert list(one.tokens) == list(two.tokens)


def test_mark_loop_cuts_notes_at_the_seam():
    score = built({"A": [60]}, "A", 2)
    score.tracks[0].notes.append(symusic.Note(3 * 480, 960, 72, 80))  # rings past bar 1
    looped = mark_loop(score, 1)
    assert max(n.end for n in looped.tracks[0].notes) == 1920


# -- finding form ------------------------------------------------------------------------------
def test_explain_finds_aaba_in_a_piece_built_in_code(tmp_path):
    score = built({"A": [60, 62, 64, 65], "B": [67, 69, 71, 72]}, "AABA")
    f = find_form(score)
    assert (f.letters, f.phrase_bars) == ("AABA", 4)
    assert [r.describe() for r in f.repeats] == ["bars 5-8 repeat bars 1-4 exactly", "bars 13-16 repeat bars 1-4 exactly"]
    score.dump_midi(str(tmp_path / "aaba.mid"))
    expl = api.explain(tmp_path / "aaba.mid")
    assert expl.summary.form == "AABA"
    assert any(s.startswith("Form: AABA, in phrases of 4 bars: bars 5-8 repeat bars 1-4") for s in expl.sentences)


def test_a_piece_without_returns_has_no_form():
    rng = np.random.default_rng(0)
    score = built({"A": [int(b) for b in rng.permutation(np.arange(40, 80))[:16]]}, "A", 16)  # no bar twice
    assert find_form(score).letters == ""


def test_self_similarity_counts_near_repeats():
    a = frozenset({(0, 60), (12, 62), (24, 64), (36, 65)})
    b = frozenset({(0, 60), (12, 62), (24, 64), (36, 67)})  # one note changed
    c = frozenset({(6, 50), (18, 52)})
    assert bar_similarity(a, a) == 1.0
    assert 0.7 <= bar_similarity(a, b) < 1.0
    assert bar_similarity(a, c) < 0.3
    assert self_similarity([a, c, b, frozenset(), a]) == pytest.approx(2 / 3)  # b, a repeat; c doesn't; empty skipped
    assert bar_sets(built({"A": [60]}, "A", 2))[0] == frozenset({(0, 60), (12, 62), (24, 64), (36, 65)})


def test_the_seam_is_ranked_against_the_inner_bar_lines():
    score = built({"A": [60, 62, 64, 65]}, "A")  # each bar steps up from its last note
    s = seam(score, 4)
    assert s.gap == pytest.approx(1.0) and s.inner_gap == pytest.approx(1.0) and s.gap_rank == 1.0
    assert s.interval == abs(60 - 70) and s.interval_rank == 0.0  # a larger leap than any inside


# -- the studio ------------------------------------------------------------------------------------
def test_the_studio_splits_the_length_into_the_form_and_marks_the_phrases(remi, tmp_path):
    from tunegan.studio import handlers as H

    kw = H.to_generate_kwargs(H.Settings(bars=16, form="AABA", loop=True))
    assert kw["form"] == "AABA" and kw["phrase_bars"] == 4 and kw["loop"] and "bars" not in kw
    with pytest.raises(H.StudioInputError, match="measure the length in bars"):
        H.to_generate_kwargs(H.Settings(length_unit="seconds", form="AABA"))
    with pytest.raises(H.StudioInputError, match="a loop is a whole number of bars"):
        H.to_generate_kwargs(H.Settings(length_unit="seconds", loop=True))
    r = H.make_music(H.Settings(notes="C4 E4 G4", bars=8, form="ABAB", time_signature="4/4", seed=1,
                                sheet_music=False), checkpoint=remi.path, out_dir=tmp_path)
    assert "in the form ABAB" in r.status() and r.settings["bars"] == 8
    assert any(line.startswith("Form: ") for line in r.summary)
    from PIL import Image

    plain = tmp_path / "plain.png"
    from tunegan.outputs import plot_pianoroll

    plot_pianoroll(symusic.Score(str(r.midi)), plain, width=10, height=4)
    marked, unmarked = np.asarray(Image.open(r.pianoroll)), np.asarray(Image.open(plain))
    assert marked.shape == unmarked.shape and (marked != unmarked).any()  # the phrases are drawn


def test_a_primer_counts_as_the_first_bars_of_the_form(remi, tmp_path):
    from conftest import make_melody

    make_melody([60, 62, 64, 65, 67, 69, 71, 72], step=0.5).dump_midi(str(tmp_path / "p.mid"))  # 2 bars of 4/4
    [song] = api.generate(checkpoint=remi.path, primer=tmp_path / "p.mid", form="AB", phrase_bars=3, ending="none",
                          time_signature="4/4", seed=0, device="cpu")
    assert remi.tokenizer.count_bars(song.tokens) == 6
    with pytest.raises(MusicOptionError, match="more than a phrase"):
        api.generate(checkpoint=remi.path, primer=tmp_path / "p.mid", form="ABA", phrase_bars=1, device="cpu")


def test_a_cadenced_piece_is_the_same_alone_or_in_a_batch(remi):
    one = api.generate(checkpoint=remi.path, bars=3, time_signature="4/4", seed=12, device="cpu")[0]
    three = api.generate(checkpoint=remi.path, bars=3, time_signature="4/4", seed=10, samples=3, device="cpu")
    assert list(one.tokens) == list(three[2].tokens)
    assert all(ends_on_tonic(s.score) for s in three) and all(remi.tokenizer.count_bars(s.tokens) == 3 for s in three)
