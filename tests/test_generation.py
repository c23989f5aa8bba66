"""The one generation path: options are validated, constraints hold, and every caller gets the same music."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import tiny_discriminator_config, tiny_generator_config
from tunegan.errors import MusicOptionError
from tunegan.generation import GenerationOptions, build_constraints, check_seed, sample_tokens


def random_checkpoint(root, tokenizer="remi", seed=0):
    """A checkpoint with random weights in ``tokenizer``'s representation (constraints don't need training)."""
    from tunegan.checkpoint import load_checkpoint, save_checkpoint
    from tunegan.models import LSTMGenerator, PatchDiscriminator
    from tunegan.tokenizers import get_tokenizer

    tok = get_tokenizer(tokenizer)
    torch.manual_seed(seed)
    g = LSTMGenerator(tiny_generator_config(vocab_size=tok.vocab_size))
    d = PatchDiscriminator(tiny_discriminator_config(vocab_size=tok.vocab_size))
    save_checkpoint(root, step=1, generator=g, discriminator=d, tokenizer=tok, meta={}, best=True)
    return load_checkpoint(root, device="cpu")


@pytest.fixture(scope="module")
def remi(tmp_path_factory):
    return random_checkpoint(tmp_path_factory.mktemp("remi"), "remi")


@pytest.fixture(scope="module")
def pitch(tmp_path_factory):
    return random_checkpoint(tmp_path_factory.mktemp("pitch"), "pitch")


@pytest.mark.parametrize("kw, fragment", [
    ({"guidance": float("nan")}, "guidance must be within 0 and 20"),
    ({"guidance": float("inf")}, "guidance must be within"),
    ({"temperature": -1}, "temperature must be within 0 and 10"),
    ({"top_p": 0}, "top-p must be within 0 (excluded) and 1"),
    ({"top_k": -2}, "top-k must be an integer >= 0"),
    ({"length": 0}, "length must be within 1 and 20000"),
    ({"bars": 999}, "bars must be within 1 and 256"),
    ({"seconds": float("nan")}, "seconds must be within"),
    ({"key": "Q major"}, "'Q major' is not a key"),
    ({"time_signature": "3/5"}, "bottom number"),
    ({"tempo": 5}, "outside 20..300"),
])
def test_bad_options_are_one_line_errors(kw, fragment):
    with pytest.raises(MusicOptionError) as e:
        GenerationOptions(**kw)
    assert fragment in str(e.value) and "\n" not in str(e.value)


def test_options_are_normalised():
    o = GenerationOptions(time_signature="3/4", style="folk, Waltz", tempo="90")
    assert o.time_signature == (3, 4) and o.style == ("folk", "waltz") and o.tempo == 90.0


@pytest.mark.parametrize("seed", [-1, 2**63, 1180591620717411303424, "x", 1.5])
def test_seeds_outside_the_range_are_refused(seed):
    with pytest.raises(MusicOptionError, match="seed must be"):
        check_seed(seed)


def test_seed_bounds_are_accepted():
    assert check_seed(0) == 0 and check_seed(2**63 - 1) == 2**63 - 1 and check_seed("42") == 42


def test_a_sample_is_the_same_alone_or_in_a_batch(pitch):
    opts = GenerationOptions(length=40)
    prime = np.full((3, 1), pitch.tokenizer.bos_id, dtype=np.int64)
    batch = sample_tokens(pitch, prime, opts, [5, 6, 7])
    alone = sample_tokens(pitch, prime[:1], opts, [6])
    np.testing.assert_array_equal(batch[1], alone[0])
    assert not np.array_equal(batch[0], batch[1])


def test_api_and_evaluation_sample_the_same_tokens(pitch):
    """What the evaluation measures is what a user gets from tunegan generate."""
    from tunegan import api
    from tunegan.evaluation.samples import generate_tokens

    [song] = api.generate(checkpoint=pitch.path, length=30, seed=11, device="cpu")
    prime = np.full((1, 1), pitch.tokenizer.bos_id, dtype=np.int64)
    np.testing.assert_array_equal(generate_tokens(pitch, prime, 30, seed=11)[0], song.tokens)


def test_padding_and_bos_are_never_sampled(pitch):
    tok = pitch.tokenizer
    out = sample_tokens(pitch, np.full((8, 1), tok.bos_id), GenerationOptions(length=64, temperature=3.0), 0)
    assert not np.isin(np.concatenate(out), [tok.pad_id, tok.bos_id]).any()


def test_key_keeps_new_notes_in_the_scale(remi):
    tok = remi.tokenizer
    out = np.concatenate(sample_tokens(remi, np.full((4, 1), tok.bos_id), GenerationOptions(length=200, key="D major"), 3))
    pitches = tok.token_pitches()[out]
    assert (pitches >= 0).any() and set(np.unique(pitches[pitches >= 0] % 12)) <= {2, 4, 6, 7, 9, 11, 1}


def test_a_capability_the_tokenizer_lacks_is_an_error(remi):
    """Nothing is silently ignored: a representation without pitches cannot take a key."""
    from types import SimpleNamespace

    from tunegan.tokenizers.pitch import PitchTokenizer

    class NoPitches(PitchTokenizer):
        has_pitches = False

    fake = SimpleNamespace(tokenizer=NoPitches(), meta={})
    with pytest.raises(MusicOptionError, match="--key needs a representation with pitches"):
        build_constraints(fake, GenerationOptions(key="C major"))


def test_a_tokenizer_must_declare_its_capabilities():
    from tunegan.tokenizers.pitch import PitchTokenizer

    with pytest.raises(TypeError, match="must declare"):
        type("Vague", (PitchTokenizer,), {"has_bars": None})


@pytest.mark.parametrize("ts", [(3, 4), (6, 8), (2, 4)])
def test_bars_with_any_metre_stay_within_their_bars(remi, ts):
    """--bars 2 --time-signature 3/4: every onset lies inside the two asked bars."""
    from tunegan import api

    bar_ticks = None
    for seed in range(5):
        [song] = api.generate(checkpoint=remi.path, bars=2, time_signature=f"{ts[0]}/{ts[1]}", seed=seed,
                              temperature=1.5, device="cpu")
        s = song.score
        bar_ticks = int(s.tpq * 4 / ts[1] * ts[0])
        onsets = [n.time for t in s.tracks for n in t.notes]
        assert all(o < 2 * bar_ticks for o in onsets), (seed, max(onsets), bar_ticks)
        assert remi.tokenizer.count_bars(song.tokens) <= 2
        names = [remi.tokenizer.describe(t) for t in song.tokens]
        positions = [int(n.split("_")[1]) for n in names if n.startswith("Position_")]
        assert max(positions, default=0) < ts[0] * 8
    assert bar_ticks


def test_seconds_and_samples_through_the_api(pitch):
    from tunegan import api

    songs = api.generate(checkpoint=pitch.path, seconds=2.0, samples=3, seed=1, device="cpu")
    assert len(songs) == 3 and [s.seed for s in songs] == [1, 2, 3]
    ends = [max((n.time + n.duration for t in s.score.tracks for n in t.notes), default=0) for s in songs]
    assert all(e <= songs[0].score.tpq * 4 + 1 for e in ends)  # 2 s at 120 BPM = 4 quarters


@pytest.mark.parametrize("ts", [(8, 4), (1, 8)])
def test_a_primer_in_an_unsupported_metre_is_fitted_not_refused(remi, tmp_path, ts):
    """8/4 is written as bars of 4/4 (the rule prepare applies), not refused."""
    from conftest import make_melody
    from tunegan import api

    primer = make_melody([60 + i % 12 for i in range(16)], step=0.5, time_signature=ts)
    path = tmp_path / "p.mid"
    primer.dump_midi(str(path))
    [song] = api.generate(checkpoint=remi.path, primer=path, length=16, seed=0, device="cpu")
    names = [remi.tokenizer.describe(t) for t in song.tokens[:song.prime_len]]  # the primer, as tokenized
    metres = {n for n in names if n.startswith("TimeSig_")}
    assert metres and all(m[8:] in remi.tokenizer.config.time_signatures for m in metres)
    if ts == (8, 4):
        assert metres == {"TimeSig_4/4"}


def test_a_drum_only_primer_is_named(remi, tmp_path):
    import symusic

    from tunegan import api
    from tunegan.errors import MIDIError

    s = symusic.Score(480)
    drums = symusic.Track("drums", 0, True)
    drums.notes.append(symusic.Note(0, 240, 36, 100))
    s.tracks.append(drums)
    s.dump_midi(str(tmp_path / "d.mid"))
    with pytest.raises(MIDIError, match="only drum tracks, no pitched notes"):
        api.generate(checkpoint=remi.path, primer=tmp_path / "d.mid", length=4, device="cpu")


@pytest.mark.parametrize("kw, fragment", [
    ({"guidance": 2.0}, "give --style or --mood with it"),
    ({"bars": 4, "seconds": 3.0}, "either bars or seconds"),
    ({"mood": 5}, "mood must be a word"),
])
def test_contradictory_or_ignored_options_are_errors(kw, fragment):
    with pytest.raises(MusicOptionError, match=fragment):
        GenerationOptions(**kw)


def test_mood_is_normalised():
    assert GenerationOptions(mood=" Calm ").mood == "calm"


def test_a_metre_without_a_token_is_refused(remi):
    with pytest.raises(MusicOptionError, match="13/16 has no token in this model"):
        build_constraints(remi, GenerationOptions(time_signature="13/16"))


def test_bars_fewer_than_the_starting_music_holds(remi):
    from tunegan import api

    with pytest.raises(MusicOptionError, match="already holds"):
        api.generate(checkpoint=remi.path, seed_notes=" ".join(["C4"] * 14), bars=2, device="cpu")


def test_the_last_bar_ends_at_its_bar_line(remi):
    from tunegan import api

    [song] = api.generate(checkpoint=remi.path, bars=2, time_signature="4/4", seed=3, device="cpu")
    assert max((n.time + n.duration for t in song.score.tracks for n in t.notes), default=0) <= 2 * 4 * song.score.tpq


def test_output_paths_are_checked_before_any_work(remi, tmp_path):
    from typer.testing import CliRunner

    from tunegan.cli import app

    r = CliRunner().invoke(app, ["generate", "--checkpoint", str(remi.path), "--length", "4", "-o", str(tmp_path)])
    assert r.exit_code == 1 and r.output.startswith("error: midi output") and "Traceback" not in r.output


def test_tuple_fields_take_command_line_values():
    from tunegan.config import TrainConfig
    from tunegan.errors import ConfigError
    from tunegan.tokenizers.remi import RemiConfig

    assert RemiConfig.parse_overrides({"tempo_range": "40,200"}) == {"tempo_range": (40, 200)}
    assert RemiConfig.parse_overrides({"beat_res": "[[0,4,8],[4,12,4]]"})["beat_res"] == ((0, 4, 8), (4, 12, 4))
    with pytest.raises(ConfigError, match="betas must be two numbers"):
        TrainConfig(**TrainConfig.parse_overrides({"betas": "0.9"}))


def test_jobs_of_different_primes_metres_and_stop_rules_share_one_batch_as_if_alone(remi):
    """sample_groups: primes of different lengths, a held metre, a key and a bar count in one batch;
    each row gets what it gets on its own."""
    from tunegan.generation import prime_tokens, sample_groups

    bos = np.array([[remi.tokenizer.bos_id]] * 2, np.int64)
    longer = prime_tokens(remi, seed_notes="C4 E4 G4")[None]
    jobs = [(bos, GenerationOptions(length=30), [1, 2]),
            (longer, GenerationOptions(bars=2, time_signature="3/4", key="D major"), [3]),
            (bos[:1], GenerationOptions(length=12, top_k=5), [4])]
    together = sample_groups(remi, jobs)
    for (primes, opts, seeds), got in zip(jobs, together):
        alone = sample_tokens(remi, primes, opts, seeds)
        assert [list(a) for a in alone] == [list(g) for g in got]
    assert len(together[2][0]) == 12 and len(together[0][0]) == 30
    metre = remi.tokenizer.metre_tokens()
    assert not np.isin(together[1][0], metre).any() or set(together[1][0][np.isin(together[1][0], metre)]) == \
        {build_constraints(remi, jobs[1][1]).force[remi.tokenizer.bar_id]}


def test_a_merged_stream_steps_each_row_as_its_own_stream(remi):
    from tunegan.sampling import TokenStream

    g = remi.generator
    a = TokenStream(g, torch.tensor([[1, 5, 9]]))
    b = TokenStream(g, torch.tensor([[1, 7]]))
    m = TokenStream.merge([TokenStream(g, torch.tensor([[1, 5, 9]])), TokenStream(g, torch.tensor([[1, 7]]))])
    rngs = lambda: [torch.Generator().manual_seed(11), torch.Generator().manual_seed(12)]
    both = m.take(20, rng=rngs(), force=[{}, {5: 6}])
    r = rngs()
    assert both[0].tolist() == a.take(20, rng=[r[0]])[0].tolist()
    assert both[1].tolist() == b.take(20, rng=[r[1]], force={5: 6})[0].tolist()


def test_tempos_sampled_at_one_tick_leave_one_tempo(remi):
    tok = remi.tokenizer
    tempos = [i for i in range(tok.vocab_size) if tok.describe(i).startswith("Tempo_")]
    pos = [i for i in range(tok.vocab_size) if tok.describe(i) == "Position_0"]
    score = tok.decode(np.array([tok.bar_id, pos[0], tempos[0], tempos[-1]]))
    assert len(score.tempos) == 1
    assert score.tempos[0].qpm == pytest.approx(float(tok.describe(tempos[-1]).split("_")[1]), rel=1e-3)


def test_a_tempo_given_or_held_is_never_changed_by_the_model(remi):
    """A random network emits Tempo tokens; with a tempo given, or hold_tempo, none is sampled."""
    from tunegan import api

    tempo_ids = remi.tokenizer.tokens_with_kind("Tempo")
    assert len(tempo_ids) == len(remi.tokenizer.tokens_of_kind("Tempo")) > 1
    assert torch.isfinite(build_constraints(remi, GenerationOptions()).bias[tempo_ids]).all()
    for held in (GenerationOptions(tempo=90), GenerationOptions(hold_tempo=True)):
        assert torch.isinf(build_constraints(remi, held).bias[tempo_ids]).all()
    prime = np.array([[remi.tokenizer.bos_id]])
    free = sample_tokens(remi, prime, GenerationOptions(length=600), 0)[0]
    kept = sample_tokens(remi, prime, GenerationOptions(length=600, hold_tempo=True), 0)[0]
    assert np.isin(free, tempo_ids).sum() > 1 and not np.isin(kept, tempo_ids).any()
    [song] = api.generate(checkpoint=remi.path, bars=2, tempo=75, seed=1, device="cpu")
    assert song.options["opening"]["tempo_held"] and {round(t.qpm) for t in song.score.tempos} == {75}
    assert not np.isin(song.tokens[song.prime_len:], tempo_ids).any()
