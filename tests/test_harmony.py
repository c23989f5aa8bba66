"""The harmony guard's parts (tunegan.harmony): the clock over REMI tokens, the factors, the bins, a
guard's round trip, and the batched clocks sampling reads (test_harmony_fit.py: sampling and fit)."""

from __future__ import annotations

import numpy as np
import pytest
import symusic

from conftest import make_melody
from tunegan.harmony import (ANY_STYLE, KINDS, N_DEGREES, N_INTERVALS, N_SPACING, N_TAILS, HarmonyGuard, NoteClock,
                             guard_tables, start_counts, tail_bins)


@pytest.fixture(scope="module")
def remi():
    from tunegan.tokenizers import get_tokenizer

    return get_tokenizer("remi")


def _score(notes, metres):
    """notes: (start, duration, pitch) in ticks at 480 per quarter; metres: (tick, n, d)."""
    s = symusic.Score(480)
    s.tempos.append(symusic.Tempo(0, 120.0))
    for tick, n, d in metres:
        s.time_signatures.append(symusic.TimeSignature(tick, n, d))
    t = symusic.Track("piano", 0, False)
    for start, dur, pitch in notes:
        t.notes.append(symusic.Note(start, dur, pitch, 80))
    s.tracks.append(t)
    return s


def test_the_clock_counts_restrikes_and_clashes_across_a_change_of_metre(remi):
    q = 480
    notes = [
        (0, 2 * q, 60),       # C4 held for two beats
        (0, q, 64),           # E4 with it
        (q, q, 60),           # C4 struck again while the first still sounds: a re-strike
        (q, q, 61),           # C#4 beside the sounding C4: a clash
        (q, q, 71),           # B4 a major seventh over the C4: a wide clash
        (4 * q, 3 * q + q // 2, 64),  # bar 2 (3/4): E4 held past the bar line by half a beat
        (7 * q, q, 65),       # bar 3 starts at 7 beats: F4 while that E4 sounds, a clash
        (9 * q, q, 65),       # F4 again a beat after the last one ended: a unison step, not a re-strike
        (10 * q, q, 65),      # F4 again just as the last one ends: a re-attack and a unison step
    ]
    tokens = remi.encode(_score(notes, [(0, 4, 4), (4 * q, 3, 4), (7 * q, 4, 4)]))
    got = start_counts(guard_tables(remi), [tokens])
    iv, dg, gp, rg = got.pop("intervals"), got.pop("degrees"), got.pop("gaps"), got.pop("register")
    # bar 1 (4/4) ends 3 beats after its last onset, bar 2 (3/4) 3 beats after its only one
    assert got.pop("tails") == [0, 0, 2, 0, 0]
    # melodic order 60 64 60 61 71 64 65 65 65: pairs (+4, -4), (-4, +1), (+1, +10), (+10, -7), (-7, +1), (+1, 0), (0, 0)
    from tunegan.harmony import N_PAIRS, pair_bins

    want_pr = np.zeros(N_PAIRS, int)
    for a, b in ((4, -4), (-4, 1), (1, 10), (10, -7), (-7, 1), (1, 0), (0, 0)):
        want_pr[pair_bins(a, b)] += 1
    assert got.pop("pairs") == want_pr.tolist()
    tables = guard_tables(remi)
    by_length = dict(zip(tables.value[tables.duration_ids].tolist(), got.pop("durations")))
    res = tables.beat
    assert by_length[res] == 7 and by_length[2 * res] == 1 and by_length[7 * res // 2] == 1 and sum(by_length.values()) == 9
    from tunegan.harmony import BAND

    low = guard_tables(remi).pitch_low
    want_rg = np.zeros(len(rg), int)
    for _, _, p in notes:
        want_rg[(p - low) // BAND] += 1
    assert rg == want_rg.tolist()
    # onsets at beats 0, 1, 4, 7, 9 and 10 (bars of 4/4, 3/4, 4/4): gaps of 1, 3, 3, 2 and 1 beats
    res = guard_tables(remi).bar_positions // 4
    want_gp = np.zeros(guard_tables(remi).n_gaps, int)
    for beats in (1, 3, 3, 2, 1):
        want_gp[beats * res] += 1
    assert gp == want_gp.tolist()
    # only the 9th note has a running key (8 notes before it): F in the key of the first 8 notes'
    # pitch classes weighted by duration (Krumhansl-Kessler)
    from tunegan.music.keys import key_correlations, pitch_class_histogram

    first8 = notes[:8]
    k = int(np.argmax(key_correlations(pitch_class_histogram([p for _, _, p in first8], [d for _, d, _ in first8]))))
    want_dg = np.zeros(N_DEGREES, int)
    want_dg[(k // 12) * 12 + (65 - k % 12) % 12] = 1
    assert dg == want_dg.tolist()
    assert got == {"starts": 9, "restrike": 1, "clash": 2, "wide_clash": 1, "reattack": 1, "unison_step": 2,
                   "beyond_span": 0}
    # melodic order: 64 is 4 over 60 in its onset (spacing 4); 60 opens the next onset 4 under 64
    # (step -4), then 61 and 71 lie 1 and 10 over the onset's highest note so far; then steps -7, +1, 0, 0
    want = np.zeros(N_INTERVALS, int)
    for b in (4, 1, 10, N_SPACING + 12 - 4, N_SPACING + 12 - 7, N_SPACING + 12 + 1, N_SPACING + 12, N_SPACING + 12):
        want[b] += 1
    assert iv == want.tolist()
    # a compass of 10 semitones: the B4 (11 above the C4) and nothing else lies beyond it
    assert start_counts(guard_tables(remi), [tokens], span=10)["beyond_span"] == 1
    # the same notes, all in 4/4: bar 3 would start a beat later, after the E4 ended
    tokens = remi.encode(_score([(s + (q if s >= 7 * q else 0), d, p) for s, d, p in notes], [(0, 4, 4)]))
    assert start_counts(guard_tables(remi), [tokens]) | {"intervals": None, "degrees": None, "gaps": None,
                                                         "register": None, "tails": None, "durations": None, "pairs": None} == {
        "intervals": None, "degrees": None, "gaps": None, "register": None, "tails": None, "durations": None, "pairs": None, "starts": 9, "restrike": 1, "clash": 1, "wide_clash": 1,
                                                          "reattack": 1, "unison_step": 2, "beyond_span": 0}


def test_factors_forbid_sounding_keys_and_scale_their_neighbours(remi):
    tables = guard_tables(remi)
    clock = NoteClock(tables)
    tokens = remi.encode(_score([(0, 960, 60), (0, 960, 67)], [(0, 4, 4)]))
    for t in tokens:
        clock.push(int(t))
    pos = remi.miditok.vocab["Position_4"]  # half a beat on: both notes still sound
    clock.push(pos)
    f = clock.factors((0.0, 0.25, 0.5))
    by_pitch = dict(zip(range(tables.pitch_low, tables.pitch_low + len(f)), f))
    assert by_pitch[60] == by_pitch[67] == 0.0
    assert by_pitch[59] == by_pitch[61] == by_pitch[66] == by_pitch[68] == 0.25
    assert by_pitch[62] == 1.0
    assert by_pitch[49] == by_pitch[71] == by_pitch[73] == by_pitch[54] == by_pitch[80] == 0.5  # semitones, wide
    assert by_pitch[72] == by_pitch[48] == 1.0  # octaves do not clash
    assert clock.factors((1.0, 1.0, 1.0)) is None  # nothing to scale
    clock.push(remi.miditok.vocab["Pitch_62"])  # a pitch whose duration has not come yet sounds too
    f = clock.factors((0.0, 0.25, 1.0))
    assert f[62 - tables.pitch_low] == 0.0 and f[63 - tables.pitch_low] == 0.25
    assert guard_tables(__import__("tunegan.tokenizers", fromlist=["x"]).get_tokenizer("pitch")) is None
    clock = NoteClock(tables)  # two beats on, where both notes end: striking them again re-attacks
    for t in [*tokens, remi.miditok.vocab["Position_16"]]:
        clock.push(int(t))
    f = clock.factors((0.0, 0.25, 0.5, 0.1, 1.0))
    assert f[60 - tables.pitch_low] == f[67 - tables.pitch_low] == 0.1
    assert (np.delete(f, [60 - tables.pitch_low, 67 - tables.pitch_low]) == 1.0).all()  # nothing sounds
    assert clock.factors((0.0, 0.25, 0.5, 1.0, 1.0)) is None
    f = clock.factors((0.0, 0.25, 0.5, 0.1, 0.5))  # G4, the last onset's top, opening this one: a unison step too
    assert f[67 - tables.pitch_low] == pytest.approx(0.05) and f[60 - tables.pitch_low] == 0.1
    clock.push(remi.miditok.vocab["Pitch_62"])
    clock.push(remi.miditok.vocab["Duration_1.0.8"])  # an onset has begun here: a G4 now would be no step of 0
    f = clock.factors((1.0, 1.0, 1.0, 1.0, 0.5))
    assert f is None or f[67 - tables.pitch_low] == 1.0
    clock = NoteClock(tables, span=12)  # C4 and G4 heard: within an octave of both, the rest scaled
    for t in tokens:
        clock.push(int(t))
    f = clock.factors((1.0, 1.0, 1.0, 1.0, 1.0, 0.25))
    by_pitch = dict(zip(range(tables.pitch_low, tables.pitch_low + len(f)), f))
    assert by_pitch[55] == by_pitch[72] == 1.0 and by_pitch[54] == by_pitch[73] == 0.25


def test_guard_round_trip_style_choice_and_checks():
    from tunegan.errors import CheckpointError

    g = HarmonyGuard({"folk": (0.0, 0.1, 0.3), ANY_STYLE: (0.2, 0.5, 1.0)}, {"split": "train"}, {"folk": 30})
    back = HarmonyGuard.from_dict(g.to_dict())
    assert back == g and back.span_for(("folk",)) == 30 and back.span_for(("pop",)) is None
    with pytest.raises(CheckpointError, match="positive"):
        HarmonyGuard.from_dict(g.to_dict() | {"spans": {"folk": 0}})
    assert back.for_styles(("folk", "calm"))[:4] == (0.0, 0.1, 0.3, 1.0) and back.for_styles(("pop",))[:3] == (0.2, 0.5, 1.0)
    assert HarmonyGuard({}).for_styles(()) == (1.0,) * len(KINDS)
    assert HarmonyGuard.from_dict({"factors": {"": [0.0, 0.5]}}).factors == {"": (0.0, 0.5) + (1.0,) * (len(KINDS) - 2)}
    assert HarmonyGuard.from_dict({"factors": {"": [0.0, 0.5, 0.3]}}).factors[""][:4] == (0.0, 0.5, 0.3, 1.0)
    with pytest.raises(CheckpointError, match="within 0 and 1"):
        HarmonyGuard.from_dict({"factors": {"": [2.0, 0.5]}})
    with pytest.raises(CheckpointError, match="malformed"):
        HarmonyGuard.from_dict({"factors": {"": [0.5]}})
    iv = tuple(np.linspace(0, 1, N_INTERVALS).round(3))
    g = HarmonyGuard({"folk": (0.0, 0.1)}, {}, {}, {"folk": iv})
    back = HarmonyGuard.from_dict(g.to_dict())
    assert back == g and back.intervals_for(("folk",)) == iv and back.intervals_for(("pop",)) is None
    assert "intervals" not in HarmonyGuard({"folk": (0.0, 0.1)}).to_dict()  # older guards read as before
    with pytest.raises(CheckpointError, match="intervals need"):
        HarmonyGuard.from_dict(g.to_dict() | {"intervals": {"folk": [0.5] * 3}})
    with pytest.raises(CheckpointError, match="within 0 and 4"):
        HarmonyGuard.from_dict(g.to_dict() | {"intervals": {"folk": [5.0] * N_INTERVALS}})
    lifted = HarmonyGuard({"folk": (0.0, 0.1)}, {}, {}, {"folk": (2.0,) * N_INTERVALS}, keep_pitch_mass=True)
    back = HarmonyGuard.from_dict(lifted.to_dict())
    assert back == lifted and back.keep_pitch_mass and not HarmonyGuard.from_dict(g.to_dict()).keep_pitch_mass
    dg = tuple(np.linspace(0, 1, N_DEGREES).round(3))
    keyed = HarmonyGuard({"folk": (0.0, 0.1)}, {}, {}, {}, degrees={"folk": dg})
    back = HarmonyGuard.from_dict(keyed.to_dict())
    assert back == keyed and back.degrees_for(("folk",)) == dg and back.degrees_for(("pop",)) is None
    # degrees, like intervals, may be lifted above 1 up to the largest factor a checkpoint may store
    assert HarmonyGuard.from_dict(keyed.to_dict() | {"degrees": {"folk": [1.5] * N_DEGREES}}).degrees_for(("folk",)) == (1.5,) * N_DEGREES
    with pytest.raises(CheckpointError, match="degrees need 24 factors within 0 and 4"):
        HarmonyGuard.from_dict(keyed.to_dict() | {"degrees": {"folk": [4.5] * N_DEGREES}})
    with pytest.raises(CheckpointError, match="degrees need 24"):
        HarmonyGuard.from_dict(keyed.to_dict() | {"degrees": {"folk": [0.5] * 3}})
    banded = HarmonyGuard({"folk": (0.0, 0.1)}, register={"folk": (0.5, 1.0, 0.2)})
    assert HarmonyGuard.from_dict(banded.to_dict()) == banded and banded.register_for(("pop",)) is None
    with pytest.raises(CheckpointError, match="register needs"):
        HarmonyGuard.from_dict(banded.to_dict() | {"register": {"folk": [2.0, 1.0]}})
    tailed = HarmonyGuard({"folk": (0.0, 0.1)}, tails={"folk": (1.0, 0.5, 0.2, 0.1, 0.0)})
    back = HarmonyGuard.from_dict(tailed.to_dict())
    assert back == tailed and back.for_style(("folk",)).tails == (1.0, 0.5, 0.2, 0.1, 0.0)
    assert back.for_style(("pop",)).tails is None and back.for_style(("folk",)).acts
    with pytest.raises(CheckpointError, match="tails need 5"):
        HarmonyGuard.from_dict(tailed.to_dict() | {"tails": {"folk": [0.5] * 3}})
    drawn = HarmonyGuard({"pop": (0.0, 0.1)}, spans={"pop": 40}, span_draws={"pop": (30, 34, 38, 44)})
    back = HarmonyGuard.from_dict(drawn.to_dict())
    assert back == drawn and back.for_style(("pop",)).span_draws == (30, 34, 38, 44)
    with pytest.raises(CheckpointError, match="span_draws"):
        HarmonyGuard.from_dict(drawn.to_dict() | {"span_draws": {"pop": [0, 3]}})
    from tunegan.harmony import Guards, draw_span

    tables = guard_tables(__import__("tunegan.tokenizers", fromlist=["x"]).get_tokenizer("remi"))
    sg = back.for_style(("pop",))
    rows = Guards.of(tables, sg, 40, seeds=range(40)).span.tolist()
    assert rows == [draw_span(sg.span_draws, s) for s in range(40)] and set(rows) == {30, 34, 38, 44}
    assert Guards.of(tables, sg, 3, seeds=[7, 7, 7]).span.tolist() == [draw_span(sg.span_draws, 7)] * 3
    assert Guards.of(tables, sg, 3).span.tolist() == [40] * 3  # no seeds: the style's one span
    lasting = HarmonyGuard({"pop": (0.0, 0.1)}, durations={"pop": (1.0, 0.5, 0.25)})
    back = HarmonyGuard.from_dict(lasting.to_dict())
    assert back == lasting and back.for_style(("pop",)).durations == (1.0, 0.5, 0.25)
    with pytest.raises(CheckpointError, match="durations need"):
        HarmonyGuard.from_dict(lasting.to_dict() | {"durations": {"pop": [1.5, 1.0]}})


def test_a_bars_empty_tail_is_counted_and_scales_the_bar_token(remi):
    """A bar line closes its bar with the beats since the latest onset (whole beats, rounded up):
    the clock counts them per bar and, with tail factors, scales the Bar tokens by the tail a bar
    line now would leave; the batched guard keeps Bar and Position tokens within their mass."""
    from tunegan.harmony import Guards

    tables = guard_tables(remi)
    beat = tables.beat
    assert tail_bins(np.array([0, 1, beat, beat + 1, 4 * beat, 9 * beat]), beat).tolist() == [-1, 0, 0, 1, 3, N_TAILS - 1]
    # 4/4: bar 1 full (onsets on every beat), bar 2 a single note on beat 1, bar 3 empty, bar 4 a note
    notes = [(b * 480, 480, 60 + b) for b in range(4)] + [(4 * 480, 480, 64), (12 * 480, 480, 65)]
    tokens = remi.encode(_score(notes, [(0, 4, 4)]))
    assert start_counts(tables, [tokens])["tails"] == [1, 0, 0, 1, 1]  # bar 1: 1 beat; bar 2: 4; the empty bar 3: 8
    clock = NoteClock(tables, tails=(1.0, 0.5, 0.25, 0.1, 0.0))
    guards = Guards(tables, [(1.0,) * len(KINDS)], tails=[(1.0, 0.5, 0.25, 0.1, 0.0)])
    first_bar = int(np.flatnonzero(tables.kind[tokens] == 1)[1])  # the tokens of bar 1, before its bar line
    for t in tokens[:first_bar]:
        clock.push(int(t))
        guards.push(np.array([t]))
    assert clock.bar_factor() == 1.0  # the last onset on beat 4: a bar line leaves 1 beat
    m = guards.multipliers(remi.vocab_size)
    assert m is None or m[0, tables.bar_ids].tolist() == [1.0] * len(tables.bar_ids)
    second_bar = int(np.flatnonzero(tables.kind[tokens] == 1)[2])
    for t in tokens[first_bar:second_bar]:
        clock.push(int(t))
        guards.push(np.array([t]))
    assert clock.bar_factor() == 0.1  # one note on beat 1: a bar line now leaves 4 beats
    m = guards.multipliers(remi.vocab_size)
    assert m[0, tables.bar_ids].tolist() == pytest.approx([0.1] * len(tables.bar_ids))
    ids, rows = guards.kept_mass()[0]
    assert set(tables.bar_ids) <= set(ids.tolist()) and set(tables.position_ids) <= set(ids.tolist()) and rows[0]


def test_a_guard_that_keeps_pitch_mass_moves_probability_between_pitches_only():
    """With ``keep`` the guarded pitches add up to what the network gave pitches; other tokens and
    rows without ``keep`` are as the plain product."""
    import torch

    from tunegan.sampling import _guarded

    g = torch.Generator().manual_seed(0)
    p = torch.softmax(torch.randn(3, 10, generator=g), -1)
    guard = torch.ones(3, 10)
    guard[:, 2:6] = torch.tensor([0.0, 0.5, 2.0, 1.0])
    ids, rows = torch.arange(2, 7), torch.tensor([True, False, True])
    q = _guarded(p, guard, [(ids, rows)])
    assert torch.allclose(q[rows][:, ids].sum(-1), p[rows][:, ids].sum(-1))
    assert torch.equal(q[:, 7:], p[:, 7:]) and torch.equal(q[:, :2], p[:, :2])
    assert torch.allclose(q[1], p[1] * guard[1]) and float(q[0, 2]) == 0.0
    assert float(q[0, 4] / q[0, 5]) == pytest.approx(float(2 * p[0, 4] / p[0, 5]), rel=1e-5)


def test_interval_bins_and_factors():
    """Spacing within an onset (0..12 over its highest note, -1 at or below it), steps at a new
    onset (-12..+12, clipped); factors are min(1, real share / sampled share) within each part."""
    from tunegan.harmony import MIN_STEPS, interval_bins, interval_factors

    assert interval_bins(np.array([-3, 0, 4, 19]), True).tolist() == [-1, -1, 4, 12]
    assert interval_bins(np.array([-30, -2, 0, 7]), False).tolist() == [N_SPACING, N_SPACING + 10, N_SPACING + 12,
                                                                          N_SPACING + 19]
    real, made = np.zeros(N_INTERVALS), np.zeros(N_INTERVALS)
    real[[3, 4]] = [30, 10]             # spacing: a minor third 3 times as often as a major third
    made[[3, 4, 7]] = [20, 20, 40]      # the samples: a fifth half the time
    step_up, step_down = N_SPACING + 12 + 2, N_SPACING + 12 - 2
    real[[step_up, step_down]] = [50, 50]
    made[[step_up, step_down, N_SPACING]] = [90, 10, MIN_STEPS - 1]  # the leap: too rare to judge
    f = interval_factors(real, made)
    assert f[3] == 1.0 and f[4] == pytest.approx(0.25 / 0.25) and f[7] == 0.0
    assert f[step_up] == pytest.approx(round(0.5 / (90 / 107), 4)) and f[step_down] == 1.0 and f[N_SPACING] == 1.0
    assert interval_factors(np.zeros(N_INTERVALS), made) == (1.0,) * N_INTERVALS  # nothing real to go by


def test_the_batched_guards_give_each_rows_clock_factors(remi):
    """Guards keeps every row's clock as arrays; at every step its multipliers equal the row's own
    NoteClock's factors, interval, degree and interval-pair factors, the gap factors on Position
    tokens, the tail factors on Bar tokens and the duration factors included (rows without a guard: 1), also after a select and a cat."""
    from tunegan.harmony import Guards

    rng = np.random.default_rng(3)
    pieces = []
    for _ in range(6):  # chords, overlaps, repeated notes and a change of metre
        notes = [(int(s) * 240, int(d) * 240, int(p)) for s, d, p in
                 zip(np.sort(rng.integers(0, 40, 60)), rng.integers(1, 6, 60), rng.integers(55, 75, 60))]
        pieces.append(remi.encode(_score(notes, [(0, 4, 4), (8 * 480, 3, 4)])))
    T = min(map(len, pieces))
    tokens = np.stack([p[:T] for p in pieces])
    factors = [(0.0, 0.3, 0.5, 0.2, 0.5, 0.5), None, (0.5, 1.0, 0.25, 1.0, 1.0, 1.0), (1.0,) * 6,
               (0.1, 0.2, 0.3, 0.4, 0.7, 1.0), (1.0, 1.0, 1.0, 1.0, 0.0, 0.3)]
    spans = [12, None, None, 9, None, 15]
    ivs = [rng.uniform(0, 1, N_INTERVALS), None, None, rng.uniform(0.2, 1, N_INTERVALS),  # row 3: intervals alone
           np.where(rng.random(N_INTERVALS) < 0.5, 1.0, 0.0), rng.uniform(0, 1, N_INTERVALS)]
    dgs = [rng.uniform(0, 1, N_DEGREES), None, rng.uniform(0.3, 1, N_DEGREES), None, None,  # row 2: with degrees
           np.where(rng.random(N_DEGREES) < 0.5, 1.0, 0.2)]
    tables = guard_tables(remi)
    gps = [None, None, rng.uniform(0, 1, tables.n_gaps), rng.uniform(0.2, 1, 5), None, rng.uniform(0, 1, tables.n_gaps)]
    rgs = [None, rng.uniform(0, 1, 30), None, None, rng.uniform(0.5, 1, 12), rng.uniform(0, 1, 30)]
    tls = [rng.uniform(0, 1, N_TAILS), None, None, None, rng.uniform(0.2, 1, N_TAILS), rng.uniform(0, 1, 3)]
    nd = len(tables.duration_ids)
    dus = [None, rng.uniform(0, 1, nd), rng.uniform(0, 1, nd), None, None, rng.uniform(0.5, 1, 7)]
    from tunegan.harmony import N_PAIRS

    prs = [rng.uniform(0, 1, N_PAIRS), None, None, rng.uniform(0.2, 1, N_PAIRS), None, None]  # row 3: pairs too
    clocks = [NoteClock(tables, sp, iv, dg, gp, rg, tl, du, pr)
              for sp, iv, dg, gp, rg, tl, du, pr in zip(spans, ivs, dgs, gps, rgs, tls, dus, prs)]
    guards = Guards(tables, factors, spans, ivs, degrees=dgs, gaps=gps, register=rgs, tails=tls, durations=dus,
                    pairs=prs)
    guards.prime(tokens[:, :3])
    for c, row in zip(clocks, tokens[:, :3]):
        for t in row:
            c.push(int(t))
    V, checked = remi.vocab_size, 0
    for j in range(3, T):
        got = guards.multipliers(V)
        want = np.ones((len(pieces), V), np.float32)
        for b, (c, f) in enumerate(zip(clocks, factors)):
            if f is not None and (m := c.factors(f)) is not None:
                want[b, tables.pitch_ids] = m
            if f is not None and (m := c.position_factors()) is not None:
                want[b, tables.position_ids] = m
            if f is not None and (m := c.bar_factor()) is not None:
                want[b, tables.bar_ids] = m
            if f is not None and (m := c.duration_factors()) is not None:
                want[b, tables.duration_ids] = m
        np.testing.assert_allclose(np.ones_like(want) if got is None else got, want, rtol=1e-6)
        checked += got is not None
        guards.push(tokens[:, j])
        for c, t in zip(clocks, tokens[:, j]):
            c.push(int(t))
        if j == T // 2:  # rows leave and come back in another order
            guards = Guards.cat([guards.select([4, 2]), guards.select([0, 5, 1, 3])])
            clocks, factors, tokens = ([x[i] for i in (4, 2, 0, 5, 1, 3)] for x in (clocks, factors, list(tokens)))
            tokens = np.stack(tokens)
    assert checked > T // 2


def test_the_batched_guards_keep_their_multipliers_while_no_clock_moves(remi):
    """A Velocity (or Tempo) token moves no clock: multipliers() hands back the array it made, and
    that array equals one made afresh at every step; a token that moves a clock makes a new one."""
    from tunegan.harmony import Guards, guard_tables
    from tunegan.harmony.clock import VELOCITY

    tables = guard_tables(remi)
    tokens = remi.encode(make_melody([60, 64, 67, 61, 65, 68, 60, 63] * 3))
    guards = Guards(tables, [(0.0, 0.3, 0.5, 0.2, 0.5, 0.5)], [12], [np.linspace(0.2, 1, N_INTERVALS)])
    V, kept, prev_kind, before = remi.vocab_size, 0, None, None
    for t in tokens:
        got = guards.multipliers(V)
        if got is not None:
            np.testing.assert_array_equal(got, guards._multipliers(V))
        if prev_kind == VELOCITY and got is not None:
            assert guards.multipliers(V) is got
            kept += 1
        if prev_kind is not None and prev_kind != VELOCITY and got is not None:
            assert got is not before  # the clock moved: made anew
        before, prev_kind = got, int(tables.kind[t])
        guards.push(np.array([t]))
    assert kept >= 10
