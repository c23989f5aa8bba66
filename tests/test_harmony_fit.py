"""The harmony guard at work (tunegan.harmony): sampling with it (no key re-struck while it sounds;
the same alone or in a batch), its fit on a tiny trained model, and what export stores."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import make_melody
from tunegan.harmony import (ANY_STYLE, KINDS, N_DEGREES, N_INTERVALS, N_SPACING, N_TAILS, HarmonyGuard, fit_guard,
                             guard_tables, start_counts)


@pytest.fixture(autouse=True)
def _few_key_samples(monkeypatch):
    """Export with a guard fits the key weights too (tests/test_key_weights.py); a few samples do here."""
    import tunegan.priors as priors

    monkeypatch.setattr(priors, "KEY_FIT_SAMPLES", 8)


def test_guarded_sampling_never_restrikes_and_is_the_same_alone_or_batched(dmajor_run):
    from tunegan.checkpoint import load_checkpoint
    from tunegan.generation import GenerationOptions, sample_tokens

    ck = load_checkpoint(dmajor_run[1], device="cpu")
    assert ck.harmony is not None  # the trainer fitted one for its best checkpoint
    ck.meta.pop("harmony")  # the network as it is, first
    tok = ck.tokenizer
    tables = guard_tables(tok)
    prime = np.concatenate([[tok.bos_id], tok.encode(make_melody([62, 66, 69, 74] * 2))])
    primes = np.stack([prime] * 6)
    seeds = list(range(10, 16))
    counts = lambda new: start_counts(tables, [np.concatenate([prime[1:], t]) for t in new])  # noqa: E731
    plain = GenerationOptions(length=160, temperature=1.5, repeats=False)  # hot: many wrong notes to stop
    before = counts(sample_tokens(ck, primes, plain, seeds))
    ck.meta["harmony"] = HarmonyGuard({ANY_STYLE: (0.0,) * len(KINDS)}).to_dict()
    after = counts(sample_tokens(ck, primes, plain, seeds))
    assert before["restrike"] + before["clash"] > 0
    assert all(after[k] == 0 for k in KINDS) and after["starts"] > 0
    off = counts(sample_tokens(ck, primes, GenerationOptions(length=160, temperature=1.5, repeats=False, harmony=False),
                               seeds))
    assert off == before  # harmony=False is the network as it was
    iv = np.ones(N_INTERVALS)
    iv[N_SPACING:] = 0.0
    iv[N_SPACING + 12 - 2:N_SPACING + 12 + 3] = 1.0  # a new onset only within two semitones of the one before
    ck.meta["harmony"] = HarmonyGuard({ANY_STYLE: (1.0,) * len(KINDS)}, {}, {}, {ANY_STYLE: tuple(iv)}).to_dict()
    stepped = counts(sample_tokens(ck, primes, plain, seeds))["intervals"]
    made = np.asarray(stepped) - np.asarray(counts([np.zeros(0, np.int64)] * 6)["intervals"])  # the primes' own
    assert made[N_SPACING:].sum() > 0 and made[iv == 0].sum() == 0
    gp = np.zeros(tables.n_gaps)
    gp[[4, 8]] = 1.0  # the next onset half a beat or a beat on, whenever the network moves on within reach
    ck.meta["harmony"] = HarmonyGuard({ANY_STYLE: (1.0,) * len(KINDS)}, gaps={ANY_STYLE: tuple(gp)}).to_dict()
    timed = counts(sample_tokens(ck, primes, plain, seeds))
    gaps = np.asarray(timed["gaps"]) - np.asarray(counts([np.zeros(0, np.int64)] * 6)["gaps"])
    # onsets within a bar of the one before keep to the table (a move to the next bar's far side is
    # left to the network, so the piece goes on)
    assert gaps[[4, 8]].sum() >= 0.9 * gaps[:-1].sum() > 0 and timed["starts"] > before["starts"] // 2
    dg = np.ones(N_DEGREES)
    dg[[1, 3, 6, 8, 10, 12 + 1, 12 + 4, 12 + 6, 12 + 9, 12 + 11]] = 0.0  # out of the major and the minor scale
    ck.meta["harmony"] = HarmonyGuard({ANY_STYLE: (1.0,) * len(KINDS)}, degrees={ANY_STYLE: tuple(dg)}).to_dict()
    keyed = np.asarray(counts(sample_tokens(ck, primes, plain, seeds))["degrees"])
    assert keyed.sum() > 0 and keyed[dg == 0].sum() == 0
    ck.meta["harmony"] = HarmonyGuard({ANY_STYLE: (0.0, 0.3, 0.5)}).to_dict()
    options = GenerationOptions(length=120)  # with the piece memory too
    batch = sample_tokens(ck, primes[:3], options, [5, 6, 7])
    alone = sample_tokens(ck, primes[:1], options, [6])
    np.testing.assert_array_equal(batch[1], alone[0])


def test_fit_guard_scales_by_real_over_sampled_and_export_stores_it(dmajor_run, tmp_path):
    from tunegan import api
    from tunegan.checkpoint import load_checkpoint
    from tunegan.data.dataset import TokenCache
    from tunegan.harmony import interval_factors

    cache, shipped, _ = dmajor_run
    ck = load_checkpoint(shipped, device="cpu")
    guard = fit_guard(ck, TokenCache(cache), samples=4, length=128)
    row = guard.fit["genres"]["any"]
    assert len(guard.factors[ANY_STYLE]) == len(KINDS) and guard.spans[ANY_STYLE] > 0
    assert guard.fit["genres"]["any"]["span"] == guard.spans[ANY_STYLE]
    for k, f in zip(KINDS, guard.factors[ANY_STYLE]):
        real, made = row["real"][k], row["samples"][k]
        assert f == (round(min(1.0, real / made), 4) if made > 0 else 1.0)
    iv = row["intervals"]
    assert guard.intervals[ANY_STYLE] == interval_factors(iv["real"], iv["samples"]) and sum(iv["samples"]) > 0
    out = api.export(shipped, tmp_path / "guarded", harmony_from=cache)
    assert load_checkpoint(out).harmony.factors == guard.factors
    assert load_checkpoint(out).meta["keys"]["samples"] == 8  # then the key weights, on samples it shapes
    shipped_guard = load_checkpoint(out).harmony  # fitted by export on its own samples
    iv = shipped_guard.fit["genres"]["any"]["intervals"]
    assert shipped_guard.intervals[ANY_STYLE] == interval_factors(iv["real"], iv["samples"])
    assert api.generate(checkpoint=out, seed=1, length=40, device="cpu")[0].options["harmony"] is True
    assert api.generate(checkpoint=out, seed=1, length=40, device="cpu", harmony=False)[0].options["harmony"] is False


def test_the_tables_kept_off_are_fitted_stored_and_sampled_with_when_switched_on(dmajor_run, monkeypatch, tmp_path):
    """With every FIT_* setting and DRAW_SPANS on, the fit stores each table (min(1, real / sampled)
    as its report says), the guard survives meta.json, and generation samples with all of it."""
    import json

    import tunegan.harmony.fit as fit
    from tunegan import api
    from tunegan.checkpoint import load_checkpoint
    from tunegan.data.dataset import TokenCache
    from tunegan.harmony import N_PAIRS

    for name in ("FIT_GAPS", "FIT_TAILS", "FIT_DURATIONS", "FIT_REGISTER", "FIT_PAIRS", "DRAW_SPANS"):
        monkeypatch.setattr(fit, name, True)
    cache, shipped, _ = dmajor_run
    ck = load_checkpoint(shipped, device="cpu")
    guard = fit_guard(ck, TokenCache(cache), samples=4, length=128)
    row = guard.fit["genres"]["any"]
    for key, table in (("gaps", guard.gaps), ("tails", guard.tails), ("durations", guard.durations),
                       ("register", guard.register), ("pairs", guard.pairs)):
        assert table[ANY_STYLE] == tuple(row[key]["factors"]) and all(0 <= x <= 1 for x in table[ANY_STYLE]), key
    assert len(guard.tails[ANY_STYLE]) == N_TAILS and len(guard.pairs[ANY_STYLE]) == N_PAIRS
    draws = guard.span_draws[ANY_STYLE]
    assert list(draws) == sorted(draws) and draws[0] > 0 and row["span_draws"] == list(draws)
    assert HarmonyGuard.from_dict(json.loads(json.dumps(guard.to_dict()))) == guard
    out = api.export(shipped, tmp_path / "all-tables", harmony_from=cache)
    assert load_checkpoint(out).harmony.for_style(()).tails is not None
    songs = api.generate(checkpoint=out, seed=2, length=60, samples=2, device="cpu")
    assert all(s.options["harmony"] is True and len(s.tokens) for s in songs)


def test_rows_that_finish_first_leave_the_batch_and_the_rest_sample_as_alone(dmajor_run, monkeypatch):
    """Pieces counted in bars stop at different tokens; a row that is done leaves the batch
    (TokenStream.select), with its piece memory, bar recall and guard, and every row gets what it
    gets alone."""
    from tunegan.checkpoint import load_checkpoint
    from tunegan.generation import GenerationOptions, sample_tokens

    ck = load_checkpoint(dmajor_run[1], device="cpu")
    ck.meta["harmony"] = HarmonyGuard({ANY_STYLE: (0.0, 0.3, 0.5)}).to_dict()
    tok = ck.tokenizer
    prime = np.concatenate([[tok.bos_id], tok.encode(make_melody([62, 66, 69, 74] * 2))])
    primes = np.stack([prime] * 5)
    options = GenerationOptions(bars=6, ending="none", temperature=1.3)
    seeds = [21, 22, 23, 24, 25]
    from tunegan.sampling import TokenStream

    kept, select = [], TokenStream.select
    monkeypatch.setattr(TokenStream, "select", lambda self, rows: kept.append(len(rows)) or select(self, rows))
    batch = sample_tokens(ck, primes, options, seeds)
    assert kept and kept[0] < 5  # some rows left the batch while others went on
    for b, s in zip(batch, seeds):
        np.testing.assert_array_equal(b, sample_tokens(ck, primes[:1], options, [s])[0])


def test_export_measures_the_networks_minor_share_and_generation_moves_samples_by_it(dmajor_run, tmp_path):
    import json

    from tunegan import api
    from tunegan.checkpoint import load_checkpoint
    from tunegan.generation import sample_key

    cache, shipped, _ = dmajor_run
    out = api.export(shipped, tmp_path / "modes", harmony_from=cache)
    meta = json.loads((out / "meta.json").read_text())
    q = meta["modes"]["sampled_minor"]["all"]
    assert 0.0 <= q <= 1.0 and meta["modes"]["samples"] > 0
    ck = load_checkpoint(out)
    assert ck.meta["priors"]["all"]["key"]  # D major pieces
    plain = api.generate(checkpoint=out, seed=3, length=256, samples=4, device="cpu")
    assert all(s.options["opening"]["mode"] is None for s in plain if not s.options["opening"]["mode_changed"])
    meta["modes"]["sampled_minor"]["all"] = 0.0  # as if the network never wrote minor, for pieces all minor
    meta["priors"]["all"]["key"] = {"B minor": 5}
    (out / "meta.json").write_text(json.dumps(meta))
    moved = 0
    for song, before in zip(api.generate(checkpoint=out, seed=3, length=256, samples=4, device="cpu"), plain):
        o = song.options["opening"]
        if (sample_key(ck.tokenizer, before.tokens) or "").endswith("major"):  # moved to minor
            assert o["mode"] == "minor" and o["mode_changed"] and "mode" in o["drawn"]
            assert not np.array_equal(song.tokens, before.tokens)
            moved += 1
    assert moved > 0
