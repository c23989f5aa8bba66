"""Style priors: measured from a cache, stored in the checkpoint, drawn by generation with the metre rule."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from conftest import make_melody, tiny_generator_config, tiny_train_config
from tunegan.generation import GenerationOptions, plan_opening
from tunegan.priors import METRE_CHANGE_SHARE, choose_prior, draw, holds_metre, opening_priors


@pytest.fixture(scope="module")
def waltz_cache(tmp_path_factory):
    """Twelve REMI pieces in 3/4 at 90 BPM, with two loudnesses."""
    from tunegan.data.prepare import prepare
    from tunegan.data.sources import MidiFolder
    from tunegan.tokenizers import get_tokenizer

    root = tmp_path_factory.mktemp("waltz")
    for i in range(12):
        s = make_melody([60 + (i + k) % 12 for k in range(48)], tempo=90.0, time_signature=(3, 4),
                        velocity=60 if i % 2 else 100)
        s.dump_midi(str(root / f"w{i:02d}.mid"))
    out = root / "cache"
    prepare([MidiFolder(str(root))], get_tokenizer("remi"), out, workers=1, labels=False)
    return out


def test_priors_measure_openings_metre_and_loudness(waltz_cache):
    from tunegan.data.dataset import TokenCache

    cache = TokenCache(waltz_cache)
    p = opening_priors(cache)["all"]
    n = p["pieces"]
    assert n >= 5 and p["time_signature"] == {"3/4": n}
    [(tempo, count)] = p["tempo"].items()
    assert count == n and abs(float(tempo) - 90) < 5
    assert p["metre_change_share"] == 0.0 and len(p["velocity"]) == 2


def test_a_word_two_labels_give_counts_each_piece_once(waltz_cache):
    """JSB's chorales carry "chorale" as genre and as form: the prior still counts 12 pieces, not
    24, so a chorale asked with a mood of 300 pieces keeps the chorale prior (the fewest pieces wins)."""
    from tunegan.data.dataset import TokenCache

    cache = TokenCache(waltz_cache)
    labelled = SimpleNamespace(tokenizer=cache.tokenizer, split=cache.split,
                               piece_labels=lambda split: [{"genre": "chorale", "form": "chorale", "mood": "calm"}
                                                           for _ in range(len(cache.split(split)))])
    pri = opening_priors(labelled, {"keywords": ["chorale", "calm"]})
    n = len(cache.split("train"))
    assert pri["chorale"]["pieces"] == pri["calm"]["pieces"] == pri["all"]["pieces"] == n
    assert pri["chorale"]["time_signature"] == {"3/4": n}


def test_trainer_stores_priors_in_the_checkpoint(waltz_cache, tmp_path):
    from tunegan.checkpoint import load_checkpoint
    from tunegan.training.trainer import Trainer

    Trainer(tiny_train_config(mode="mle", epochs=1, steps_per_epoch=2), waltz_cache, tmp_path / "r",
            generator_config=tiny_generator_config(vocab_size=316), quiet=True).fit()
    ck = load_checkpoint(tmp_path / "r")
    assert ck.meta["priors"]["all"]["time_signature"] == {"3/4": ck.meta["priors"]["all"]["pieces"]}
    from tunegan import api

    songs = api.generate(checkpoint=tmp_path / "r", bars=2, samples=3, seed=4, device="cpu")
    for song in songs:  # no --time-signature: the piece opens and stays in the style's 3/4
        assert song.options["opening"]["time_signature"] == (3, 4) and song.options["opening"]["metre_held"]
        assert [(t.numerator, t.denominator) for t in song.score.time_signatures] == [(3, 4)]
        names = [ck.tokenizer.describe(t) for t in song.tokens[:5]]
        assert names[:2] == ["Bar_None", "TimeSig_3/4"] and any(n.startswith("Tempo_") for n in names)


PRIORS = {"all": {"pieces": 100, "time_signature": {"4/4": 70, "3/4": 30}, "tempo": {"120": 1},
                  "metre_change_share": 0.0, "velocity": {"40": 1, "60": 1, "80": 1, "100": 1, "120": 1}},
          "waltz": {"pieces": 9, "time_signature": {"3/4": 9}, "tempo": {"150": 9}, "metre_change_share": 0.0,
                    "velocity": {"70": 1}},
          "prog": {"pieces": 20, "time_signature": {"7/8": 20}, "tempo": {"100": 20},
                   "metre_change_share": METRE_CHANGE_SHARE + 0.1, "velocity": {"70": 1}}}


def fake_model():
    from tunegan.tokenizers import get_tokenizer

    return SimpleNamespace(meta={"priors": PRIORS}, tokenizer=get_tokenizer("remi"))


def test_the_most_specific_keyword_wins():
    assert choose_prior(PRIORS, ["folk", "waltz"])[0] == "waltz"
    assert choose_prior(PRIORS, ["unknown"])[0] == "all" and choose_prior({}, ["x"]) is None


def test_a_genre_with_a_mood_draws_from_the_pieces_that_carry_both():
    """"pop, melancholy" opens as melancholy pop does, not as the melancholy music of every genre
    (fewer pieces, but folk's and chorales' tempos and metres among them)."""
    priors = {"all": {"pieces": 100}, "pop": {"pieces": 60}, "melancholy": {"pieces": 30},
              "pop+melancholy": {"pieces": 12}, "folk": {"pieces": 40}}
    assert choose_prior(priors, ["pop", "melancholy"])[0] == "pop+melancholy"
    assert choose_prior(priors, ["melancholy", "pop"])[0] == "pop+melancholy"
    assert choose_prior(priors, ["folk", "melancholy"])[0] == "melancholy"  # no folk+melancholy: the fewest pieces
    assert choose_prior(priors, ["pop"])[0] == "pop"


def test_a_form_or_metre_asked_sets_the_opening_before_a_mood():
    """"folk, reel, upbeat": a reel opens in 4/4 as reels do, though upbeat folk tunes (fewer pieces,
    mostly jigs in 6/8) have a prior of their own; a genre's pieces in a metre come first too."""
    priors = {"all": {"pieces": 900}, "folk": {"pieces": 800}, "reel": {"pieces": 370}, "upbeat": {"pieces": 430},
              "folk+upbeat": {"pieces": 200}, "pop": {"pieces": 690}, "pop+3/4": {"pieces": 22},
              "pop+melancholy": {"pieces": 160}, "3/4": {"pieces": 100}}
    cats = {"folk": "genre", "pop": "genre", "reel": "form", "upbeat": "mood", "melancholy": "mood", "3/4": "meter"}
    assert choose_prior(priors, ["folk", "reel", "upbeat"], cats)[0] == "reel"
    assert choose_prior(priors, ["folk", "upbeat"], cats)[0] == "folk+upbeat"
    assert choose_prior(priors, ["pop", "3/4", "melancholy"], cats)[0] == "pop+3/4"
    assert choose_prior(priors, ["3/4", "melancholy"], cats)[0] == "3/4"
    assert choose_prior(priors, ["folk", "reel", "upbeat"])[0] == "folk+upbeat"  # no categories: pairs first
    # every chorale is in 4/4: "chorale, 4/4" keeps to chorales, and a mood asked beside it still counts
    priors |= {"chorale": {"pieces": 229}, "chorale+4/4": {"pieces": 229}, "4/4": {"pieces": 1365},
               "chorale+calm": {"pieces": 110}}
    cats |= {"chorale": "genre", "4/4": "meter", "calm": "mood"}
    assert choose_prior(priors, ["chorale", "4/4"], cats)[1]["pieces"] == 229
    assert choose_prior(priors, ["chorale", "calm", "4/4"], cats)[0] == "chorale+calm"


def test_priors_of_a_genre_with_another_keyword_are_stored_where_they_differ(waltz_cache):
    """Pairs are stored for a genre's pieces carrying another keyword when there are enough of them
    and they are not just the genre's (or the keyword's) own pieces."""
    from tunegan.data.dataset import TokenCache

    cache = TokenCache(waltz_cache)
    n = len(cache.split("train"))
    assert n >= 8

    def labels(split):  # all pop but the last, which is folk; the two pop pieces before it tense, the rest calm
        return [{"genre": "pop", "mood": "tense" if i >= n - 3 else "calm", "era": "modern", "meter": "3/4"}
                if i < n - 1 else {"genre": "folk", "mood": "calm", "meter": "3/4"} for i in range(len(cache.split(split)))]
    labelled = SimpleNamespace(tokenizer=cache.tokenizer, split=cache.split, piece_labels=labels)
    pri = opening_priors(labelled, {"keywords": ["pop", "folk", "calm", "tense", "modern", "3/4"]})
    assert pri["pop+calm"]["pieces"] == n - 3 and pri["calm"]["pieces"] == n - 2 and pri["pop"]["pieces"] == n - 1
    assert "pop+tense" not in pri  # two pieces
    assert "pop+modern" not in pri  # every modern piece is pop and every pop piece modern: pop's own prior
    # every pop piece is in 3/4, and so is the folk one: the metre's own prior would stand for both genres
    assert pri["pop+3/4"]["pieces"] == pri["pop"]["pieces"] == n - 1 and pri["3/4"]["pieces"] == n
    got = choose_prior(pri, ["pop", "3/4"], {"pop": "genre", "3/4": "meter"})
    assert got[0] in ("pop", "pop+3/4") and got[1]["pieces"] == n - 1  # pop's pieces, not every 3/4 piece
    assert choose_prior(pri, ["calm", "pop"])[0] == "pop+calm"


def test_openings_are_drawn_with_the_seed_and_asked_values_win():
    m = fake_model()
    o = plan_opening(m, GenerationOptions(style="waltz"), 3)
    assert (o.tempo, o.time_signature, o.hold, o.prior) == (150.0, (3, 4), True, "waltz")
    asked = plan_opening(m, GenerationOptions(style="waltz", tempo=80, time_signature="2/4"), 3)
    assert (asked.tempo, asked.time_signature, asked.drawn) == (80.0, (2, 4), ())
    metres = {plan_opening(m, GenerationOptions(), s).time_signature for s in range(40)}
    assert metres == {(4, 4), (3, 4)}
    assert plan_opening(m, GenerationOptions(), 5) == plan_opening(m, GenerationOptions(), 5)


def test_the_metre_rule():
    """A style whose pieces change metre often may change it; others hold theirs."""
    assert holds_metre(PRIORS["waltz"]) and not holds_metre(PRIORS["prog"])
    assert holds_metre({"metre_change_share": 0.9, "off_metre_share": 0.02})  # a rare odd bar keeps the metre
    assert not plan_opening(fake_model(), GenerationOptions(style="prog"), 0).hold
    assert plan_opening(fake_model(), GenerationOptions(style="prog", time_signature="7/8"), 0).hold


def test_seed_notes_get_the_styles_loudness():
    o = plan_opening(fake_model(), GenerationOptions(), 1, n_notes=6)
    assert len(o.velocities) == 6 and set(o.velocities) <= {40, 60, 80, 100, 120} and len(set(o.velocities)) > 1


def test_draw_follows_counts():
    rng = np.random.default_rng(0)
    got = [draw({"a": 9, "b": 1}, rng) for _ in range(500)]
    assert 0.85 < got.count("a") / 500 < 0.95 and draw({}, rng) is None


def test_a_style_gets_its_share_of_minor_samples_with_the_fewest_moves():
    """The network makes too many minor folk tunes: only as many minor samples move to major as it
    takes for the style's share of minor keys (and never with a mode, a mood, a key or starting
    notes asked)."""
    from tunegan.priors import minor_share, mode_move

    prior = {"key": {"D major": 8, "G major": 1, "E minor": 1}}
    assert minor_share(prior) == 0.1 and minor_share({}) is None
    q = 0.4  # the network's samples are minor 40% of the time
    moved = [mode_move(prior, q, "minor", u) for u in np.linspace(0, 1, 1000, endpoint=False)]
    assert abs(moved.count("major") / 1000 - (0.4 - 0.1) / 0.4) < 0.01  # 75% of minor samples move
    assert all(mode_move(prior, q, "major", u) is None for u in (0.0, 0.5, 0.99))  # major ones stay
    assert mode_move(prior, 0.1, "minor", 0.0) is None  # shares already agree: nothing moves
    few = mode_move({"key": {"A minor": 1, "C major": 1}}, 0.2, "major", 0.3)  # too few minor: (0.5-0.2)/0.8
    assert few == "minor" and mode_move({"key": {"A minor": 1, "C major": 1}}, 0.2, "major", 0.4) is None
    m = fake_model()
    m.meta = {"priors": {"all": {**PRIORS["all"], **prior}}}
    o = plan_opening(m, GenerationOptions(), 3)
    assert o.mode is None and 0 <= o.mode_draw < 1
    assert plan_opening(m, GenerationOptions(mode="minor"), 3).mode_draw is None  # asked wins
    assert plan_opening(m, GenerationOptions(mood="melancholy"), 3).mode == "minor"  # so does a mood's mode
    assert plan_opening(m, GenerationOptions(key="C major"), 3).mode_draw is None  # the key's scale decides
    assert plan_opening(m, GenerationOptions(), 3, n_notes=3).mode_draw is None  # starting notes set the key


def test_density_is_drawn_for_the_openings_pace_unless_asked_or_implied(waltz_cache):
    from tunegan.data.dataset import TokenCache

    got = opening_priors(TokenCache(waltz_cache))["all"]["density"]  # 2.7 notes a beat at ~90 BPM: "mid"
    [(pace, row)] = got.items()
    assert pace in ("slow", "mid") and list(row) == ["mid"] and row["mid"] >= 5
    m = fake_model()
    prior = {**PRIORS["all"], "tempo": {"60": 1}, "density": {"slow": {"high": 9}, "fast": {"low": 9}}}
    m.meta = {"priors": {"all": prior}}
    assert plan_opening(m, GenerationOptions(), 1).density is None  # a model without attribute keywords
    m.meta["conditions"] = {"keywords": ["density:low", "density:mid", "density:high"]}
    o = plan_opening(m, GenerationOptions(), 1)
    assert o.density == "high" and "density" in o.drawn  # 60 BPM is slow: slow music's density
    assert plan_opening(m, GenerationOptions(tempo=150), 1).density == "low"  # fast
    assert plan_opening(m, GenerationOptions(density="mid"), 1).density is None  # asked: nothing drawn
    assert plan_opening(m, GenerationOptions(mood="calm"), 1).density is None  # the mood's density
    from tunegan.generation import opened_options

    assert opened_options(m, GenerationOptions(), o).density == "high"


def test_the_keyword_vocabulary_counts_pieces_not_labels():
    """A chorale labelled genre chorale and form chorale is one piece of "chorale" (tunegan styles),
    and the word's category is the first label that gives it."""
    from tunegan.conditioning import build_vocabulary

    labels = [{"genre": "chorale", "form": "chorale", "era": "baroque"}] * 5 + [{"genre": "pop"}] * 5
    v = build_vocabulary(labels, min_count=5)
    assert dict(zip(v["keywords"], v["counts"])) == {"chorale": 5, "pop": 5, "baroque": 5}
    assert v["categories"][v["keywords"].index("chorale")] == "genre"


def test_styles_count_each_chorale_once():
    """`tunegan styles` on the shipped model: JSB's 229 train chorales (the vocabulary stored at
    training counted each twice, once as genre and once as form)."""
    from tunegan import api

    rows = {r["keyword"]: r for r in api.styles()}
    assert rows["chorale"]["pieces"] == 229 and rows["chorale"]["category"] == "genre"
    assert rows["pop"]["pieces"] == 693
