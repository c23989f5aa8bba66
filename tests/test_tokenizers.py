"""Round trips Score -> tokens -> Score for every representation, plus their edge cases.

Scores are built in code (seconds via ``notes_to_score`` at 120 BPM / 480 tpq, or ticks directly);
each test states the quantization a round trip is exact up to.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import symusic

from tunegan.errors import ConfigError, MIDIError
from tunegan.midi import NOTE_DTYPE, notes_to_score
from tunegan.music import extract_notes
from tunegan.tokenizers import get_tokenizer, tokenizer_from_state
from tunegan.tokenizers.performance import (BIN_WIDTH, SHIFT0, VEL0, PerformanceConfig, PerformanceTokenizer,
                                            stretch)
from tunegan.tokenizers.pitch import PitchTokenizer
from tunegan.tokenizers.remi import RemiConfig, RemiTokenizer

TPQ = 480


@pytest.fixture(scope="module")
def remi():
    return RemiTokenizer()


@pytest.fixture(scope="module")
def perf():
    return PerformanceTokenizer(PerformanceConfig(sustain=False))


def make_notes(rows) -> np.ndarray:
    """``[(pitch, velocity, start_s, end_s), ...]`` -> NOTE_DTYPE array."""
    return np.array([tuple(r) for r in rows], dtype=NOTE_DTYPE)


def random_performance(rng, n=200) -> np.ndarray:
    """Notes at arbitrary (unquantized) times, with gaps up to 2.5 s; no same-pitch overlap."""
    starts = np.cumsum(rng.choice([0.0, 0.0, 0.013, 0.12, 0.37, 1.4, 2.5], size=n)) + 0.003
    rows, busy = [], {}
    for s in starts:
        p = int(rng.integers(21, 109))
        if busy.get(p, -1) > s:
            continue
        e = s + float(rng.uniform(0.03, 1.8))
        busy[p] = e + 0.02
        rows.append((p, int(rng.integers(1, 128)), s, e))
    return make_notes(rows)


def tick_score(rows, *, tpq=TPQ, ts=(4, 4), tempo=120.0, drum=False) -> symusic.Score:
    """``[(pitch, velocity, start_tick, duration_tick), ...]`` -> one-track Score."""
    score = symusic.Score(tpq)
    score.tempos.append(symusic.Tempo(0, tempo))
    score.time_signatures.append(symusic.TimeSignature(0, *ts))
    track = symusic.Track("t", 0, drum)
    for p, v, t, d in rows:
        track.notes.append(symusic.Note(int(t), int(d), int(p), int(v)))
    score.tracks.append(track)
    return score


def score_notes_ticks(score: symusic.Score) -> np.ndarray:
    """(start, duration, pitch, velocity) rows of all notes, sorted, in quarter notes for times."""
    rows = [(n.time / score.tpq, n.duration / score.tpq, n.pitch, n.velocity)
            for tr in score.tracks for n in tr.notes]
    return np.array(sorted(rows), dtype=float).reshape(-1, 4)


# -- vocabularies ----------------------------------------------------------------------------------
def test_vocab_sizes_and_special_ids(remi, perf):
    assert PitchTokenizer().vocab_size == 89
    assert perf.vocab_size == 390
    assert remi.vocab_size == len(remi.miditok.vocab)
    assert (remi.pad_id, remi.bos_id, perf.pad_id, perf.bos_id) == (0, 1, 0, 1)
    assert remi.describe(1) == "BOS_None" and remi.describe(remi.bar_id) == "Bar_None"
    assert [perf.describe(i) for i in (1, 2 + 60, 130 + 60, SHIFT0, VEL0 - 1, VEL0)] == [
        "BOS", "NOTE_ON C4", "NOTE_OFF C4", "TIME_SHIFT 10 ms", "TIME_SHIFT 1000 ms", "VELOCITY 1-4"]


def test_registry_and_state_round_trip():
    tok = get_tokenizer("remi", num_velocities=8, time_signatures=["3/4", "4/4"])
    again = tokenizer_from_state(json.loads(json.dumps(tok.state())))
    assert again.config == tok.config and again.vocab_size == tok.vocab_size
    perf = tokenizer_from_state(json.loads(json.dumps(get_tokenizer("performance", sustain=False).state())))
    assert perf.config == PerformanceConfig(sustain=False)


@pytest.mark.parametrize("cls, field, value", [
    (RemiConfig, "num_velocities", 300),
    (RemiConfig, "beat_res", ((0, 4, 8), (5, 12, 4))),
    (RemiConfig, "time_signatures", ("3/5",)),
    (RemiConfig, "tempo_range", (250, 40)),
    (PerformanceConfig, "default_velocity", 0),
    (PerformanceConfig, "step", 0.02),
])
def test_config_errors_name_field_and_value(cls, field, value):
    with pytest.raises(ConfigError) as err:
        cls(**{field: value})
    assert f"{cls.__name__}.{field}" in str(err.value) and f"(received {value!r})" in str(err.value)


# -- pitch -----------------------------------------------------------------------------------------
def test_pitch_round_trip_keeps_pitch_order():
    notes = make_notes([(64, 80, 0.5, 1.0), (60, 80, 0.0, 1.0), (67, 90, 0.5, 0.8), (21, 70, 2.0, 3.0)])
    tok = PitchTokenizer()
    tokens = tok.encode(notes_to_score(notes))
    assert list(tokens + 20) == [60, 64, 67, 21]
    assert list(extract_notes(tok.decode(tokens))["pitch"]) == [60, 64, 67, 21]


# -- remi ------------------------------------------------------------------------------------------
def test_remi_round_trip_on_grid(remi):
    rng = np.random.default_rng(1)
    step = TPQ // 8  # positions and short durations: 1/8 beat
    rows = []
    for i in range(120):
        dur = int(rng.choice([1, 2, 3, 5, 8, 12, 16, 31])) * step if i % 7 else int(rng.integers(4, 12)) * TPQ
        rows.append((int(rng.integers(21, 109)), int(rng.integers(1, 128)), int(rng.integers(0, 64 * 8)) * step, dur))
    score = tick_score(rows)
    tokens = remi.encode(score)
    assert tokens.dtype == np.int64 and tokens.ndim == 1 and tokens[0] != remi.bos_id
    out = score_notes_ticks(remi.decode(tokens))
    ref = score_notes_ticks(score)
    # a note still sounding when its pitch is struck again ends there, as on a piano (by hand here)
    cut = 0
    for i in range(len(ref)):
        later = ref[(ref[:, 2] == ref[i, 2]) & (ref[:, 0] > ref[i, 0]), 0]
        if len(later) and later.min() < ref[i, 0] + ref[i, 1]:
            ref[i, 1], cut = later.min() - ref[i, 0], cut + 1
    assert cut > 0  # the random notes do overlap, so the rule is exercised
    ref = np.array(sorted(map(tuple, ref)))
    assert out.shape == ref.shape
    np.testing.assert_array_equal(out[:, :3], ref[:, :3])  # onset, duration (beats), pitch
    assert np.abs(out[:, 3] - ref[:, 3]).max() <= 128 / 16  # velocity: within one of 16 bins


def test_remi_quantizes_to_beat_resolution_and_merges_tracks(remi):
    score = tick_score([(60, 80, 7, 118), (64, 80, 480 + 29, 470)], tpq=TPQ)
    other = symusic.Track("left hand", 33, False)
    other.notes.append(symusic.Note(960, 480, 48, 60))
    drums = symusic.Track("drums", 0, True)
    drums.notes.append(symusic.Note(0, 60, 36, 100))
    score.tracks.extend([other, drums])
    decoded = remi.decode(remi.encode(score))
    assert len(decoded.tracks) == 1
    out = score_notes_ticks(decoded)
    # onsets snap to the nearest 1/8 beat, durations to the nearest 1/8 beat (under 4 beats)
    np.testing.assert_array_equal(out[:, :3], [[0, 0.25, 60], [1.0, 1.0, 64], [2.0, 1.0, 48]])


def test_remi_bars_time_signature_and_tempo(remi):
    rows = [(60 + b % 12, 80, b * 3 * TPQ + k * TPQ, TPQ) for b in range(16) for k in range(3)]
    score = tick_score(rows, ts=(3, 4), tempo=90.0)
    tokens = remi.encode(score)
    assert remi.count_bars(tokens) == 16
    assert remi.is_bar(tokens).sum() == 16 and remi.is_bar(remi.bar_id)
    assert remi.describe(tokens[1]) == "TimeSig_3/4"
    decoded = remi.decode(tokens)
    assert (decoded.time_signatures[0].numerator, decoded.time_signatures[0].denominator) == (3, 4)
    assert abs(decoded.tempos[0].qpm - 90) < (250 - 40) / 31  # within one tempo bin


def test_remi_resamples_other_resolutions(remi):
    a = score_notes_ticks(remi.decode(remi.encode(tick_score([(60, 80, 480, 240)], tpq=480))))
    b = score_notes_ticks(remi.decode(remi.encode(tick_score([(60, 80, 96, 48)], tpq=96))))
    np.testing.assert_array_equal(a, b)


# -- performance -----------------------------------------------------------------------------------
def test_performance_round_trip_within_10ms(perf):
    notes = random_performance(np.random.default_rng(2))
    score = notes_to_score(notes)
    ref = extract_notes(score)
    out = perf.decode_notes(perf.encode(score))
    assert len(out) == len(ref)
    key = lambda a: np.lexsort((a["pitch"], np.round(a["start"] / 0.01)))  # noqa: E731
    ref, out = ref[key(ref)], out[key(out)]
    np.testing.assert_array_equal(out["pitch"], ref["pitch"])
    assert np.abs(out["start"] - ref["start"]).max() <= 0.005 + 1e-6
    assert np.abs(out["end"] - ref["end"]).max() <= 0.005 + 1e-6
    assert np.abs(out["velocity"].astype(int) - ref["velocity"]).max() < BIN_WIDTH
    # and the decoded Score carries the same notes (ticks at 120 BPM: 1 s = 960 ticks)
    again = extract_notes(perf.decode(perf.encode(score)))
    assert np.abs(np.sort(again["start"]) - np.sort(out["start"])).max() < 1e-3


def test_performance_velocity_only_on_change_and_long_gaps(perf):
    notes = make_notes([(60, 80, 0.0, 0.5), (62, 80, 0.5, 1.0), (64, 40, 3.5, 3.6)])
    tokens = perf.encode(notes_to_score(notes))
    names = [perf.describe(t) for t in tokens]
    assert sum(n.startswith("VELOCITY") for n in names) == 2
    # 1.0 s -> 3.5 s: two 1-s shifts and one of 500 ms between NOTE_OFF D4 and VELOCITY/NOTE_ON E4
    i = names.index("NOTE_OFF D4")
    assert names[i + 1:i + 5] == ["TIME_SHIFT 1000 ms", "TIME_SHIFT 1000 ms", "TIME_SHIFT 500 ms", "VELOCITY 37-40"]
    # at one instant note-offs come before note-ons
    assert names.index("NOTE_OFF C4") < names.index("NOTE_ON D4")


def test_performance_sustain_extends_notes():
    notes = make_notes([(60, 80, 0.0, 0.5), (64, 80, 0.0, 0.5), (64, 80, 1.0, 1.2), (67, 80, 2.5, 2.7)])
    score = notes_to_score(notes)
    tr = score.tracks[0]
    tr.controls.append(symusic.ControlChange(192, 64, 127))   # pedal down at 0.2 s (960 ticks = 1 s)
    tr.controls.append(symusic.ControlChange(1920, 64, 0))    # pedal up at 2.0 s
    score = symusic.Score.from_midi(score.dumps_midi())       # symusic turns CC64 into pedals
    assert len(score.tracks[0].pedals) == 1
    out = PerformanceTokenizer().decode_notes(PerformanceTokenizer().encode(score))
    ends = {(int(n["pitch"]), round(float(n["start"]), 2)): round(float(n["end"]), 2) for n in out}
    assert ends[(60, 0.0)] == 2.0   # held by the pedal until it is lifted
    assert ends[(64, 0.0)] == 1.0   # ... or until the key is struck again
    assert ends[(64, 1.0)] == 2.0
    assert ends[(67, 2.5)] == 2.7   # released after the pedal: unchanged
    plain = PerformanceTokenizer(PerformanceConfig(sustain=False)).decode_notes(
        PerformanceTokenizer(PerformanceConfig(sustain=False)).encode(score))
    assert np.round(plain["end"], 2).tolist() == [0.5, 0.5, 1.2, 2.7]


def test_performance_decode_ill_formed(perf):
    on, off = 2 + 60, 130 + 60
    t = np.array([1, off, SHIFT0 + 9, on, SHIFT0 + 9, on, SHIFT0 + 49, off, 2 + 62, 0, 0])
    out = perf.decode_notes(t)
    # stray note-off ignored; re-strike closes the first C4; the dangling E4 lasts one step
    assert out["pitch"].tolist() == [60, 60, 62]
    np.testing.assert_allclose(out["start"], [0.1, 0.2, 0.7])
    np.testing.assert_allclose(out["end"], [0.2, 0.7, 0.71])


@pytest.mark.parametrize("name", ["remi", "performance"])
def test_reencoding_decoded_tokens_is_stable(name, remi, perf):
    """Off-grid, overlapping, multi-track input: after one quantization, tokens are a fixed point."""
    tok = {"remi": remi, "performance": perf}[name]
    score = notes_to_score(random_performance(np.random.default_rng(5), n=150))
    score.tracks.append(score.tracks[0].copy())  # every note doubled on a second track
    tokens = tok.encode(score)
    np.testing.assert_array_equal(tok.encode(tok.decode(tokens)), tokens)


# -- augmentation ----------------------------------------------------------------------------------
def _augment_case(tok, score, max_transpose, seed):
    tokens = tok.encode(score)
    before = np.sort(extract_notes(tok.decode(tokens))["pitch"])
    aug = tok.augment(tokens, np.random.default_rng(seed), max_transpose=max_transpose)
    after = np.sort(extract_notes(tok.decode(aug))["pitch"])
    return before.astype(int), after.astype(int)


@pytest.mark.parametrize("name", ["pitch", "remi", "performance"])
def test_augment_transposes_all_notes_by_one_shift_in_range(name, remi, perf):
    tok = {"pitch": PitchTokenizer(), "remi": remi, "performance": perf}[name]
    score = notes_to_score(make_notes([(100, 80, 0.0, 0.5), (105, 80, 0.5, 1.0), (30, 80, 1.0, 2.0)]))
    shifts = set()
    for seed in range(12):
        before, after = _augment_case(tok, score, 6, seed)
        diff = set((after - before).tolist())
        assert len(diff) == 1, diff
        shifts |= diff
        assert after.min() >= 21 and after.max() <= 108
    assert shifts <= set(range(-6, 4)) and len(shifts) > 1


def test_performance_time_stretch(perf):
    notes = make_notes([(60, 80, 0.0, 1.0), (62, 80, 2.0, 4.0)])
    tokens = perf.encode(notes_to_score(notes))
    out = perf.decode_notes(stretch(tokens, 1.5))
    np.testing.assert_allclose(out["start"], [0.0, 3.0])
    np.testing.assert_allclose(out["end"], [1.5, 6.0])
    aug = perf.augment(tokens, np.random.default_rng(0), time_stretch=0.1)
    end = perf.decode_notes(aug)["end"].max()
    assert 3.6 - 1e-9 <= end <= 4.4 + 1e-9
    assert perf.augment(tokens, np.random.default_rng(0)) is tokens or np.array_equal(
        perf.augment(tokens, np.random.default_rng(0)), tokens)


# -- bad input and random tokens -------------------------------------------------------------------
@pytest.mark.parametrize("name", ["pitch", "remi", "performance"])
def test_unrepresentable_scores_raise_midi_error(name, remi, perf):
    tok = {"pitch": PitchTokenizer(), "remi": remi, "performance": perf}[name]
    empty = symusic.Score(TPQ)
    with pytest.raises(MIDIError):
        tok.encode(empty)
    with pytest.raises(MIDIError, match="drum"):
        tok.encode(tick_score([(36, 100, 0, 120)], drum=True))


def test_remi_rejects_unknown_time_signature_and_off_range_pitches(remi):
    with pytest.raises(MIDIError, match="11/8"):
        remi.encode(tick_score([(60, 80, 0, 240)], ts=(11, 8)))
    with pytest.raises(MIDIError, match="21..108"):
        remi.encode(tick_score([(10, 80, 0, 240), (120, 80, 0, 240)]))


@pytest.mark.parametrize("name", ["remi", "performance"])
def test_random_tokens_decode_to_valid_midi(name, remi, perf, tmp_path):
    import mido
    import pretty_midi

    tok = {"remi": remi, "performance": perf}[name]
    rng = np.random.default_rng(3)
    for i in range(3):
        tokens = rng.integers(0, tok.vocab_size, size=int(rng.integers(0, 600)))
        score = tok.decode(tokens)
        assert isinstance(score, symusic.Score)
        path = tmp_path / f"{name}{i}.mid"
        score.dump_midi(str(path))
        mido.MidiFile(str(path))
        pm = pretty_midi.PrettyMIDI(str(path))
        assert sum(len(inst.notes) for inst in pm.instruments) == score.note_num()


@pytest.mark.parametrize("name", ["pitch", "remi", "performance"])
def test_token_pitches_name_the_notes_each_token_starts(name, remi, perf):
    """Sampling in a key (--key) masks tokens by this table: it must find every note, in order."""
    tok = {"pitch": PitchTokenizer(), "remi": remi, "performance": perf}[name]
    pitches = [60, 64, 67, 57, 72, 62]
    score = tick_score([(p, 80, i * TPQ, TPQ // 2) for i, p in enumerate(pitches)])
    table = tok.token_pitches()
    assert table.shape == (tok.vocab_size,)
    found = table[tok.encode(score)]
    assert found[found >= 0].tolist() == pitches


def _bpe_cache(tmp_path, vocab=420):
    """A plain REMI cache of small scales and the BPE tokenizer learned from it."""
    from conftest import write_corpus
    from tunegan.data.dataset import TokenCache
    from tunegan.data.prepare import prepare
    from tunegan.data.sources import MidiFolder
    from tunegan.tokenizers import get_tokenizer
    from tunegan.tokenizers.remi_bpe import train_bpe

    prepare([MidiFolder(str(write_corpus(tmp_path / "midi", n_files=12)))], get_tokenizer("remi"), tmp_path / "c",
            workers=1, labels=False)
    cache = TokenCache(tmp_path / "c")
    return cache, train_bpe(cache, vocab)


def test_bpe_round_trip_midi_tokens_midi(tmp_path):
    """MIDI -> BPE tokens -> MIDI gives the REMI music back, in fewer tokens; the merges travel in the state."""
    from conftest import make_melody
    from tunegan.tokenizers import tokenizer_from_state

    cache, bpe = _bpe_cache(tmp_path)
    score = make_melody([60, 62, 64, 65, 67, 69, 71, 72] * 4)
    base_ids = cache.tokenizer.encode(score)
    ids = bpe.encode(score)
    assert bpe.vocab_size == 420 and len(ids) < len(base_ids) and ids.max() >= cache.tokenizer.vocab_size
    again = tokenizer_from_state(bpe.state())
    np.testing.assert_array_equal(again.encode(score), ids)
    back = again.decode(ids)
    np.testing.assert_array_equal(cache.tokenizer.encode(back), base_ids)
    assert int(bpe.note_counts()[ids].sum()) == score.note_num()
    # every token holding a Velocity (single or merged) is found: masking them leaves none to sample
    held = set(bpe.tokens_with_kind("Velocity").tolist())
    assert set(bpe.tokens_of_kind("Velocity")) < held
    assert all(any(p.startswith("Velocity_") for p in bpe.describe(i).split("+")) == (i in held)
               for i in range(bpe.vocab_size))


def test_bpe_declares_no_token_level_controls(tmp_path):
    from tunegan.errors import MusicOptionError

    _, bpe = _bpe_cache(tmp_path)
    with pytest.raises(MusicOptionError, match="needs a representation with pitches"):
        bpe.token_pitches()
    with pytest.raises(MusicOptionError, match="needs a representation with bars"):
        bpe.forced_tokens((3, 4))
