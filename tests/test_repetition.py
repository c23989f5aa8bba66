"""The piece memory (tunegan.repetition): matching, fitting by likelihood, sampling with it, and the
key a finished sample is moved to (style key priors); doubled notes dropped on decoding."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from conftest import make_melody
from tunegan.repetition import (ANY_STYLE, Memories, RepeatModel, fit_weights, mix_probs, mixed_logp,
                                piece_cache_stats)


def test_memory_proposes_what_followed_the_longest_match():
    def memory(orders, tokens, wildcard=()):
        mem = Memories(orders, wildcard, 1, 128)
        for t in tokens:
            mem.push([t])
        return mem

    assert memory((1, 2, 4), [1, 2, 3, 4, 9, 1, 2, 3, 4]).proposals() == [(2, {9: 1})]  # "1 2 3 4" -> 9
    assert memory((1, 2), [5, 6, 7, 5, 8]).proposals() == [(-1, None)]  # 8 never came before
    # after 5: 6 once, 8 once (the order-2 context "8 5" is new)
    assert memory((1, 2), [5, 6, 7, 5, 8, 5]).proposals() == [(0, {6: 1, 8: 1})]


def test_velocity_tokens_match_any_velocity():
    loud, soft = 100, 101
    seq = [60, loud, 7, 8, 42, 60, soft, 7, 8]
    mem, plain = Memories((4,), (loud, soft), 1, 128), Memories((4,), (), 1, 128)
    for t in seq:
        mem.push([t])
        plain.push([t])
    assert mem.proposals() == [(0, {42: 1})]
    assert plain.proposals() == [(-1, None)]


def test_memory_agrees_with_a_plain_search():
    rng = np.random.default_rng(1)
    orders = (1, 2, 4, 8)
    seqs = rng.integers(0, 3, (20, 60))
    mem = Memories(orders, (2,), len(seqs), 3)  # all rows at once, as a batch samples
    mems = Memories.cat([Memories(orders, (2,), 1, 3) for _ in seqs])  # or merged from single rows
    got = []
    for n in range(seqs.shape[1]):
        snap = lambda props: [(i, dict(c) if c else c) for i, c in props]  # the counts grow as tokens come
        got.append((snap(mem.proposals()), snap(mems.proposals())))
        mem.push(seqs[:, n])
        mems.push(seqs[:, n])
    for r, seq in enumerate(seqs.tolist()):
        key = [-1 if t == 2 else t for t in seq]
        for n in range(len(seq)):
            want = (-1, None)
            for i in range(len(orders) - 1, -1, -1):
                k = orders[i]
                if n < k:
                    continue
                follow = {}
                for j in range(k, n):  # earlier places whose k tokens before match the last k
                    if key[j - k:j] == key[n - k:n]:
                        follow[seq[j]] = follow.get(seq[j], 0) + 1
                if follow:
                    want = (i, follow)
                    break
            assert got[n][0][r] == want and got[n][1][r] == want


def test_cache_stats_of_a_piece_are_its_own_earlier_continuations():
    model = RepeatModel((2,), ())
    piece = np.array([0, 5, 6, 7, 5, 6, 7])
    order, prob = piece_cache_stats(model, piece, np.arange(1, len(piece)))
    # targets 5 6 7 5 6 7: the second "5 6 -> 7" matches "5 6" once, followed by 7
    assert order.tolist() == [-1, -1, -1, -1, -1, 0]
    assert prob[-1] == 1.0
    order, prob = piece_cache_stats(RepeatModel((1,), ()), piece, np.arange(1, len(piece)))
    assert order.tolist() == [-1, -1, -1, -1, 0, 0] and prob.tolist()[-2:] == [1.0, 1.0]


def test_mixed_logp_by_hand():
    logp = np.log(np.array([0.5, 0.2, 0.1]))
    order = np.array([-1, 0, 1])
    prob = np.array([0.0, 1.0, 0.5])
    got = mixed_logp(logp, order, prob, (0.25, 0.5))
    want = np.log([0.5, 0.75 * 0.2 + 0.25 * 1.0, 0.5 * 0.1 + 0.5 * 0.5])
    np.testing.assert_allclose(got, want)


def test_weights_fitted_by_likelihood():
    rng = np.random.default_rng(0)
    n = 4000
    logp = np.log(np.full(n, 0.1))
    order = np.where(rng.random(n) < 0.5, 0, 1)
    # order 0: the cache is right 80% of the time; order 1: never
    prob = np.where(order == 0, (rng.random(n) < 0.8).astype(float), 0.0)
    w = fit_weights(logp, order, prob, 2)
    assert 0.6 < w[0] < 0.85 and w[1] == 0.0
    base = -logp.sum()
    assert -mixed_logp(logp, order, prob, w).sum() < base


def test_mix_probs_rows_and_devices_agree():
    p = torch.full((2, 4), 0.25)
    mixed = mix_probs(p.clone(), [(0, {2: 3, 3: 1}), (-1, None)], [(0.5,), (0.5,)])
    np.testing.assert_allclose(mixed[0].numpy(), [0.125, 0.125, 0.125 + 0.375, 0.125 + 0.125])
    np.testing.assert_allclose(mixed[1].numpy(), [0.25] * 4)
    assert math.isclose(float(mixed[0].sum()), 1.0, rel_tol=1e-6)


def test_repeat_model_round_trip_and_checks():
    m = RepeatModel((2, 4), (7, 8), {ANY_STYLE: (0.1, 0.9), "folk": (0.2, 0.95)})
    assert RepeatModel.from_dict(m.to_dict()) == m
    assert m.weights_for(["pop", "folk"]) == (0.2, 0.95) and m.weights_for(["pop"]) == (0.1, 0.9)
    with pytest.raises(ValueError, match="increasing"):
        RepeatModel((4, 2))
    with pytest.raises(ValueError, match="1 to 1024"):
        RepeatModel((0, 4))
    with pytest.raises(ValueError, match="2 values"):
        RepeatModel((2, 4), (), {"": (0.5,)})


# --- with a model ----------------------------------------------------------------------------


def test_export_fits_repeats_and_evaluate_reports_both(dmajor_run):
    from tunegan.checkpoint import load_checkpoint
    from tunegan.evaluation.report import evaluate

    cache, shipped, run = dmajor_run
    assert load_checkpoint(run).repeats is not None  # the trainer fitted them for its best checkpoint
    ck = load_checkpoint(shipped)
    rm = ck.repeats
    assert rm is not None and rm.wildcard and max(rm.weights_for([])) > 0.5  # the motifs return
    fit = ck.meta["repeats"]["fit"]["per_genre"]["all"]
    assert fit["nll_per_note_repeats"] < fit["nll_per_note"]
    rep = evaluate(shipped, cache, split="validation", suite=False, device="cpu")
    lik = rep["likelihood"]
    assert lik["generator"]["nll_per_note"] < lik["network alone"]["nll_per_note"]


def test_sampling_with_repeats_is_the_same_alone_or_in_a_batch(dmajor_run):
    from tunegan.checkpoint import load_checkpoint
    from tunegan.generation import GenerationOptions, sample_tokens

    ck = load_checkpoint(dmajor_run[1], device="cpu")
    tok = ck.tokenizer
    prime = np.concatenate([[tok.bos_id], tok.encode(make_melody([62, 66, 69, 74] * 3))])
    primes = np.stack([prime, prime])
    options = GenerationOptions(length=40)
    both = sample_tokens(ck, primes, options, [3, 4])
    alone = sample_tokens(ck, primes[:1], options, [4])
    np.testing.assert_array_equal(both[1], alone[0])
    off = sample_tokens(ck, primes[:1], GenerationOptions(length=40, repeats=False), [4])
    assert not np.array_equal(off[0], alone[0])  # the memory changes what is sampled


def test_repeats_make_the_primed_motif_return(dmajor_run):
    from dataclasses import replace

    from tunegan.checkpoint import load_checkpoint
    from tunegan.generation import GenerationOptions, sample_tokens
    from tunegan.repetition import RepeatModel

    ck = load_checkpoint(dmajor_run[1], device="cpu")
    tok = ck.tokenizer
    motif = [62, 71, 64, 73, 66, 69, 67, 74]
    prime = np.concatenate([[tok.bos_id], tok.encode(make_melody(motif * 2))])
    ck.meta["repeats"] = RepeatModel.for_tokenizer(tok).to_dict() | {"weights": {"": [0.9, 0.95, 0.99, 0.99]}}
    pitches = tok.token_pitches()

    def share_of_motif(options):
        new = sample_tokens(ck, prime[None], options, 0)[0]
        p = pitches[new]
        p = p[p >= 0][:16]
        return np.mean([a == motif[i % 8] for i, a in enumerate(p)])

    plain = GenerationOptions(length=64, harmony=False)  # the piece memory against the network alone, nothing else
    assert share_of_motif(plain) > 0.8
    assert share_of_motif(replace(plain, repeats=False)) < 0.8


def test_style_key_prior_moves_samples_to_its_keys(dmajor_run):
    from tunegan import api
    from tunegan.checkpoint import load_checkpoint
    from tunegan.data.dataset import TokenCache
    from tunegan.priors import key_shift, opening_priors, piece_key

    cache, shipped, _ = dmajor_run
    pri = opening_priors(TokenCache(cache))["all"]
    assert max(pri["key"], key=pri["key"].get) == "D major" and pri["key"]["D major"] > 0.7 * pri["pieces"]
    tok = load_checkpoint(shipped).tokenizer
    c_major = tok.encode(make_melody([60, 64, 67, 72, 65, 67, 60] * 2))
    assert piece_key(c_major, tok.token_pitches()) == "C major"
    assert key_shift({"key": {"D major": 3}}, "C major", 0.5) == (2, "D major")
    assert key_shift({"key": {"D major": 3, "G major": 1}}, "C major", 0.9) == (-5, "G major")
    assert key_shift({"key": {"A minor": 3}}, "C major", 0.5) is None  # no key of its mode
    songs = api.generate(checkpoint=shipped, bars=4, samples=4, seed=1, device="cpu")
    assert any(s.options["opening"]["key"] for s in songs)
    for s in songs:
        o = s.options["opening"]
        if o["key"] is not None:
            assert o["key"] in pri["key"] and "key" in o["drawn"]
    seeded = api.generate(checkpoint=shipped, bars=4, seed=1, seed_notes="C4 E4 G4", device="cpu")[0]
    assert seeded.options["opening"]["key"] is None  # the user's notes stay where they are
    keyed = api.generate(checkpoint=shipped, bars=4, seed=1, key="F major", device="cpu")[0]
    assert keyed.options["opening"]["key"] is None

def test_key_shift_keeps_the_style_register():
    from tunegan.priors import key_shift, register_of
    from tunegan.tokenizers import get_tokenizer

    tok = get_tokenizer("remi")
    assert register_of(tok.encode(make_melody([60, 64, 68])), tok.token_pitches()) == 64.0
    # one key, two ways to reach it: C -> A is -3 or +9 semitones; the register decides
    prior = {"key": {"A major": 1}, "register": {"mean": 60.0, "std": 1.0}}
    assert key_shift(prior, "C major", 0.5, register=63.0) == (-3, "A major")
    assert key_shift(prior, "C major", 0.5, register=51.0) == (9, "A major")
    assert key_shift({"key": {"A major": 1}}, "C major", 0.5, register=51.0) == (-3, "A major")  # no register
    # keys weigh their count times the register's density after their move: G (+7 or -5) is too far
    # from 60 for a sample at 60 whichever way it goes, so D (+2) is drawn for every u
    prior = {"key": {"D major": 1, "G major": 1}, "register": {"mean": 60.0, "std": 1.0}}
    assert {key_shift(prior, "C major", u, register=60.0) for u in (0.0, 0.5, 0.99)} == {(2, "D major")}
    # a wide register leaves the keys to their counts, the sample's own key (no move) included
    us = np.linspace(0, 1, 400, endpoint=False)
    for keys in ({"C major": 1, "D major": 1}, {"D major": 1, "G major": 1}, {"C major": 1, "G major": 3}):
        wide = {"key": keys, "register": {"mean": 60.0, "std": 500.0}}
        got = [key_shift(wide, "C major", u, register=60.0)[1] for u in us]
        for k, n in keys.items():
            assert np.mean([g == k for g in got]) == pytest.approx(n / sum(keys.values()), abs=0.01)
    # far below its register, a sample moves up by more than an octave when that lands it there
    assert key_shift({"key": {"D major": 1}, "register": {"mean": 60.0, "std": 1.0}}, "C major", 0.5,
                     register=46.0) == (14, "D major")
    # the moves land the samples' mean pitch as the register is spread
    reg = {"key": {k: 1 for k in ("C major", "D major", "E major", "F major", "G major", "A major")},
           "register": {"mean": 62.0, "std": 4.0}}
    after = [52.0 + key_shift(reg, "C major", u, register=52.0)[0] for u in us]
    assert np.mean(after) == pytest.approx(62.0, abs=0.5) and np.std(after) == pytest.approx(4.0, abs=0.7)
    # a key counted 0 is never drawn; a hand-made register of no width does not divide by 0
    assert {key_shift({"key": {"C major": 0, "D major": 1}, "register": {"mean": 60.0, "std": 3.0}},
                      "C major", u, register=60.0)[1] for u in us} == {"D major"}
    assert key_shift({"key": {"D major": 1}, "register": {"mean": 60.0, "std": 0.0}}, "C major", 0.5, register=60.0)


def test_generation_moves_by_the_sample_register(dmajor_run, monkeypatch):
    import tunegan.priors as priors
    from tunegan import api
    from tunegan.checkpoint import load_checkpoint

    _, shipped, _ = dmajor_run
    tok = load_checkpoint(shipped).tokenizer
    seen, plain = [], priors.key_shift

    def spy(prior, found, u, register=None, weights=None):
        seen.append((found, register))
        return plain(prior, found, u, register, weights)

    monkeypatch.setattr(priors, "key_shift", spy)
    songs = api.generate(checkpoint=shipped, bars=4, samples=3, seed=1, device="cpu")
    assert len(seen) == 3 and all(r is not None for _, r in seen)
    # the opening keeps what the move saw (what export fits the key weights on)
    assert [(s.options["opening"]["sampled_key"], s.options["opening"]["sampled_register"]) for s in songs] == seen
    for (found, register), song in zip(seen, songs):
        if song.options["opening"]["key"] is not None and found != song.options["opening"]["key"]:
            new = np.asarray(song.tokens[song.prime_len:])
            moved = priors.register_of(new[:priors.DENSITY_CROP], tok.token_pitches())
            assert moved != pytest.approx(register)  # the register passed is the sample's before its move


def test_priors_store_each_style_register(dmajor_run):
    from tunegan.data.dataset import TokenCache
    from tunegan.priors import DENSITY_CROP, MIN_REGISTER_STD, opening_priors, register_of

    cache = TokenCache(dmajor_run[0])
    train, pitch_of = cache.split("train"), cache.tokenizer.token_pitches()
    means = [register_of(train.piece(i)[:DENSITY_CROP], pitch_of) for i in range(len(train))]
    reg = opening_priors(cache)["all"]["register"]
    assert 62 < reg["mean"] < 74 and reg["mean"] == pytest.approx(np.mean(means), abs=1e-3)
    assert reg["std"] == pytest.approx(max(MIN_REGISTER_STD, np.std(means)), abs=1e-3)


def test_remi_transposed_and_its_range():
    from tunegan.tokenizers import get_tokenizer

    tok = get_tokenizer("remi")
    t = tok.encode(make_melody([60, 62, 64]))
    up = tok.transposed(t, 2)
    assert tok.decode(up).tracks[0].notes.numpy()["pitch"].tolist() == [62, 64, 66]
    assert tok.transposed(t, 200) is None


def test_a_pitch_sampled_twice_at_one_position_decodes_as_one_note():
    from tunegan.tokenizers import get_tokenizer

    tok = get_tokenizer("remi")
    names = {tok.describe(i): i for i in range(tok.vocab_size)}
    vel = next(n for n in names if n.startswith("Velocity_"))
    seq = [names["Bar_None"], names["Position_0"], names["Pitch_60"], names[vel], names["Duration_1.0.8"],
           names["Pitch_60"], names[vel], names["Duration_2.0.8"], names["Pitch_64"], names[vel],
           names["Duration_1.0.8"]]
    notes = tok.decode(np.array(seq)).tracks[0].notes.numpy()
    assert sorted(notes["pitch"].tolist()) == [60, 64]
    assert notes["duration"][notes["pitch"] == 60].tolist() == [2 * 480]


def test_a_note_struck_again_while_it_sounds_ends_there(tmp_path):
    """A re-struck note ends at the new onset, so every MIDI reader hears the same lengths."""
    import symusic

    from tunegan.tokenizers import get_tokenizer

    tok = get_tokenizer("remi")
    names = {tok.describe(i): i for i in range(tok.vocab_size)}
    vel = next(n for n in names if n.startswith("Velocity_"))
    seq = [names["Bar_None"], names["Position_0"], names["Pitch_60"], names[vel], names["Duration_4.0.4"],
           names["Pitch_67"], names[vel], names["Duration_4.0.4"],
           names["Position_16"], names["Pitch_60"], names[vel], names["Duration_1.0.8"]]
    notes = tok.decode(np.array(seq)).tracks[0].notes.numpy()
    c = notes["pitch"] == 60
    t, d = notes["time"][c], notes["duration"][c]
    gap = int(t[1] - t[0])
    assert 0 < gap < 4 * 480 and d.tolist() == [gap, 480]   # the first C ends where it is struck again
    assert notes["duration"][notes["pitch"] == 67].tolist() == [4 * 480]  # other pitches keep their length
    path = tmp_path / "restruck.mid"
    tok.decode(np.array(seq)).dump_midi(str(path))
    back = symusic.Score(str(path)).tracks[0].notes.numpy()
    rows = lambda a: sorted(zip(a["time"].tolist(), a["pitch"].tolist(), a["duration"].tolist()))  # noqa: E731
    assert rows(back) == rows(notes)


def test_parallel_mode_map_by_hand():
    from tunegan.music.keys import parallel_mode_map

    to_minor = parallel_mode_map(0, "minor")  # C major -> C minor: E and A come down
    assert [int(to_minor[p]) for p in (60, 62, 64, 65, 67, 69, 71)] == [60, 62, 63, 65, 67, 68, 71]
    to_major = parallel_mode_map(9, "major")  # A minor -> A major: C, F, G go up
    assert [int(to_major[p]) for p in (57, 59, 60, 62, 64, 65, 67)] == [57, 59, 61, 62, 64, 66, 68]


def test_asked_mode_is_kept_whatever_the_network_chose():
    from tunegan import api
    from tunegan.data.labels import mode_and_key

    shipped = None  # the shipped model: trained with the mode attribute, which it follows loosely
    for mode in ("minor", "major"):
        for s in api.generate(checkpoint=shipped, bars=4, samples=4, seed=2, mode=mode, device="cpu"):
            assert s.options["opening"]["mode"] == mode
            assert mode_and_key(s.score).mode == mode
    calm = api.generate(checkpoint=shipped, bars=4, seed=2, mood="melancholy", device="cpu")[0]
    assert calm.options["opening"]["mode"] == "minor" and mode_and_key(calm.score).mode == "minor"
    seeded = api.generate(checkpoint=shipped, bars=4, seed=2, mode="minor", seed_notes="C4 E4 G4", device="cpu")[0]
    assert seeded.options["opening"]["mode"] is None  # the user's own notes decide


# --- bars that come back (BarRecall) and the sampling boost -----------------------------------


def test_bar_signatures_and_recall_counts_by_hand():
    from tunegan.repetition import bar_signatures, recall_counts, repeated_lag

    BAR, a, b, c, v = 1, 10, 11, 12, 99  # v: a token bars are not compared by (a velocity)
    toks = [0, BAR, a, v, b, BAR, a, b, BAR, a, b, v, BAR, c, BAR, BAR, a, b]
    sigs = bar_signatures(toks, BAR, keep=(a, b, c))
    assert sigs == [(a, b), (a, b), (a, b), (c,), (), (a, b)]
    assert repeated_lag(sigs, 1, (1, 2)) == 0 and repeated_lag(sigs, 5, (1, 2)) == -1
    assert repeated_lag(sigs, 4, (1, 2)) == -1  # a bar without notes is never a repeat
    counts = recall_counts(sigs, (1, 2))
    # bar 1 starts a lag-1 repeat (it could: 1 chance at lag 1); bar 2 continues it, bar 3 breaks it
    # (2 chances to go on, 1 taken); bar 4 could start at lags 1 and 2, bar 5 only at lag 2 (bar 4
    # has no notes to repeat), and neither does
    np.testing.assert_array_equal(counts, [[1, 0], [2, 2], [1, 0], [2, 0]])


def test_bar_recall_round_trip_checks_and_style_choice():
    from tunegan.repetition import BarRecall

    r = BarRecall(4, (10, 11), (1, 4), {ANY_STYLE: (0.1, 0.2), "pop": (0.0, 0.5)}, {ANY_STYLE: (0.3, 0.9)})
    m = RepeatModel((2, 4), (), {ANY_STYLE: (0.5, 0.9)}, r, {"pop": 2.0})
    assert RepeatModel.from_dict(m.to_dict()) == m
    assert r.for_styles(["pop"]) == ((0.0, 0.5), (0.0, 0.0)) and r.for_styles(["folk"]) == ((0.1, 0.2), (0.3, 0.9))
    assert BarRecall(4, (10,), (1,)).for_styles() is None
    with pytest.raises(ValueError, match="at most 1"):
        BarRecall(4, (10,), (1, 2), {"": (0.6, 0.6)})
    with pytest.raises(ValueError, match="increasing"):
        BarRecall(4, (10,), (2, 1))
    with pytest.raises(ValueError, match="from 1 to 10"):
        RepeatModel((2,), (), {}, None, {"pop": 0.5})


def test_boost_leans_on_the_memory_for_sampling_only():
    m = RepeatModel((2, 4), (), {ANY_STYLE: (0.5, 0.0), "pop": (0.2, 0.9)}, None, {"pop": 2.0})
    assert m.sampling_weights(["pop"]) == (0.36, 0.99) and m.weights_for(["pop"]) == (0.2, 0.9)
    assert m.sampling_weights([]) == (0.5, 0.0)  # no boost for any style: the fitted weights


def test_recalls_replay_a_whole_bar_when_drawn():
    from tunegan.repetition import BarRecall, Recalls

    BAR, a, b, c, v = 4, 10, 11, 12, 99
    r = BarRecall(BAR, (a, b, c), (1, 2), {ANY_STYLE: (1.0, 0.0)}, {ANY_STYLE: (0.0, 0.0)})
    rec = Recalls(r, [r.for_styles(), None], seeds=[0, 1])
    rec.prime([[0, BAR, a, v, b], [0, BAR, a, v, b]])
    assert rec.forced() == {}  # no decision inside the primer
    rec.push([BAR, BAR])       # bar 1 begins: row 0 replays bar 0 (lag 1, chance 1); row 1 never replays
    got = []
    while f := rec.forced():
        got.append(f)
        rec.push([f[0], c])
    # the bar, then its bar line; bar 2 then begins: bar 1 repeated bar 0, and the chance to go on is 0
    assert got == [{0: a}, {0: v}, {0: b}, {0: BAR}] and rec.replayed == [1, 0]
    assert rec.forced() == {}


def test_sampled_bars_come_back_and_alone_equals_batched(dmajor_run):
    from tunegan.checkpoint import load_checkpoint
    from tunegan.generation import GenerationOptions, sample_tokens
    from tunegan.generation_options import build_constraints
    from tunegan.repetition import BarRecall, bar_signatures
    from tunegan.sampling import TokenStream

    ck = load_checkpoint(dmajor_run[1], device="cpu")
    tok = ck.tokenizer
    keep = tuple(sorted([*tok.tokens_of_kind("Position"), *tok.tokens_of_kind("Pitch")]))
    rm = ck.repeats
    prime = np.concatenate([[tok.bos_id], tok.encode(make_melody([62, 66, 69, 74] * 2))])

    def with_recall(start, cont):
        recall = BarRecall(tok.bar_id, keep, (1,), {ANY_STYLE: (start,)}, {ANY_STYLE: (cont,)})
        ck.meta["repeats"] = RepeatModel(rm.orders, rm.wildcard, rm.weights, recall).to_dict()

    with_recall(1.0, 1.0)  # every new bar replays the one before it
    kinds = [tok.bar_id, *tok.tokens_of_kind("Position"), *tok.tokens_of_kind("Pitch")]
    few = torch.zeros(tok.vocab_size, dtype=torch.bool)
    few[kinds] = True  # bar lines, positions and pitches only, so that bars are short
    c = build_constraints(ck, GenerationOptions(length=200))
    new = TokenStream(ck.generator, torch.from_numpy(prime[None]), repeats=c.repeats).take(
        200, allowed_mask=few, rng=[torch.Generator().manual_seed(0)])[0].numpy()
    sigs = bar_signatures(np.concatenate([prime, new]), tok.bar_id, keep)
    assert len(sigs) >= 4 and all(s == sigs[0] for s in sigs[:-1])  # the last may be cut
    with_recall(0.5, 0.5)
    primes = np.stack([prime, prime, prime])
    batch = sample_tokens(ck, primes, GenerationOptions(length=120), [5, 6, 7])
    alone = sample_tokens(ck, primes[:1], GenerationOptions(length=120), [6])
    np.testing.assert_array_equal(batch[1], alone[0])


def test_self_repetition_is_low_for_a_piece_that_returns_to_its_motif():
    from tunegan.music import extract_notes
    from tunegan.repetition import self_repetition

    rng = np.random.default_rng(1)
    motif = [60, 64, 67, 65, 62, 71]
    again = self_repetition(extract_notes(make_melody(motif * 6)))
    never = self_repetition(extract_notes(make_melody(list(rng.integers(48, 84, 36)))))
    assert again < 0.3 < 0.9 < never


def test_fit_boost_picks_the_boost_whose_samples_repeat_like_real_music(monkeypatch):
    """The boost whose samples' self-repetition is closest to the real crops' (stand-ins for the
    network's samples and the cache's crops: what fit_boost compares is what is tested)."""
    import tunegan.evaluation.genre_classifier as gc
    import tunegan.evaluation.style as st
    from tunegan.music import extract_notes
    from tunegan.repetition import fit_boost, with_repeats

    motif = [60, 64, 67, 65, 62, 71]
    rng = np.random.default_rng(3)
    real = make_melody(motif * 6)

    def fake_scores(ckpt, n, length, *, style=None, seed=0, **kw):
        k = ckpt.repeats.boost.get(style or ANY_STYLE, 1.0)
        # boost 2 writes the motif over and over; any other boost, random notes
        return [real if k == 2.0 else make_melody(list(rng.integers(48, 84, 36))) for _ in range(n)]

    monkeypatch.setattr(gc, "piece_genres", lambda cache, split: np.array(["folk"], dtype=object))
    monkeypatch.setattr(gc, "real_crop_features", lambda *a, **k: {"notes": [extract_notes(real)] * 4,
                                                                   "y": np.zeros(4, int)})
    monkeypatch.setattr(st, "model_keywords", lambda ckpt, cat: ["folk"])
    monkeypatch.setattr(st, "generate_scores", fake_scores)

    class Ck:
        meta: dict = {}

        @property
        def repeats(self):
            return RepeatModel.from_dict(self.meta["repeats"])

    model = RepeatModel((2, 4), (), {ANY_STYLE: (0.2, 0.5), "folk": (0.3, 0.6)})
    assert with_repeats(Ck(), model).repeats == model
    boost, report = fit_boost(Ck(), model, cache=None, samples=4)
    assert boost == {"folk": 2.0, ANY_STYLE: 2.0}
    assert report["genres"]["folk"]["samples"]["2.0"] == pytest.approx(report["genres"]["folk"]["real"])
