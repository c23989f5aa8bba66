"""Style/mood keyword evaluation on two tiny, clearly different 'genres' built in code."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

import numpy as np
import pytest

from conftest import make_melody, tiny_discriminator_config, tiny_generator_config, tiny_train_config
from tunegan.data.sources import MidiFolder


@dataclass(frozen=True)
class GenreFolder(MidiFolder):
    """A folder of MIDI whose pieces all carry one genre label; every 5th piece is validation,
    every 5th + 1 is test."""

    genre: str = "x"

    def pieces(self):
        split = {3: "validation", 4: "test"}
        return [replace(p, labels={"genre": self.genre}, split=split.get(i % 5, "train"))
                for i, p in enumerate(super().pieces())]


def _write_genre(root, kind: str, n: int = 20, seed: int = 0):
    """'runs': fast low scales in 4/4; 'hymn': slow high arpeggios in 3/4, loud."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True)
    for i in range(n):
        if kind == "runs":
            base = int(rng.integers(40, 52))
            p = np.tile(base + np.array([0, 2, 4, 5, 7, 9, 11, 12, 11, 9, 7, 5, 4, 2]), 5)
            score = make_melody(p.tolist(), step=0.125, velocity=50, tempo=140.0)
        else:
            base = int(rng.integers(66, 76))
            p = np.tile(base + np.array([0, 4, 7, 12, 7, 4, 0, 3, 7]), 4)
            score = make_melody(p.tolist(), step=0.5, velocity=100, tempo=80.0, time_signature=(3, 4))
        score.dump_midi(str(root / f"{kind}_{i:02d}.mid"))
    return root


@pytest.fixture(scope="module")
def genre_cache(tmp_path_factory):
    from tunegan.data.prepare import prepare
    from tunegan.tokenizers import get_tokenizer

    tmp = tmp_path_factory.mktemp("style")
    srcs = [GenreFolder(str(_write_genre(tmp / k, k, seed=i)), genre=k) for i, k in enumerate(("runs", "hymn"))]
    prepare(srcs, get_tokenizer("remi"), tmp / "cache", workers=1, labels=True)
    return tmp / "cache"


@pytest.fixture(scope="module")
def style_model(genre_cache, tmp_path_factory):
    from tunegan.data.dataset import TokenCache
    from tunegan.training.trainer import Trainer

    V = TokenCache(genre_cache).tokenizer.vocab_size
    out = tmp_path_factory.mktemp("run") / "run"
    Trainer(tiny_train_config(mode="mle", crops=64, conditional=True, min_keyword_count=2, epochs=1,
                              steps_per_epoch=4, seq_len=32),
            genre_cache, out, generator_config=tiny_generator_config(vocab_size=V),
            discriminator_config=tiny_discriminator_config(vocab_size=V), quiet=True).fit()
    return out


def test_fit_softmax_separates_blobs():
    from tunegan.evaluation.genre_classifier import fit_softmax

    rng = np.random.default_rng(0)
    centres = np.array([[0, 0], [4, 0], [0, 4]])
    y = np.repeat(np.arange(3), 50)
    x = centres[y] + rng.normal(size=(150, 2))
    w = fit_softmax(x, y, 3, l2=1e-3)
    pred = (np.hstack([x, np.ones((150, 1))]) @ w).argmax(1)
    assert w.shape == (3, 3) and np.mean(pred == y) > 0.9


def test_classifier_tells_clearly_different_genres_apart(genre_cache):
    from tunegan.data.dataset import TokenCache
    from tunegan.evaluation.genre_classifier import FEATURE_NAMES, accuracy_table, fit_classifier, real_crop_features

    cache, genres = TokenCache(genre_cache), ["hymn", "runs"]
    tr = real_crop_features(cache, "train", genres, 20, 48)
    va = real_crop_features(cache, "validation", genres, 8, 48)
    te = real_crop_features(cache, "test", genres, 8, 48)
    assert tr["x"].shape == (40, len(FEATURE_NAMES))
    clf, val = fit_classifier(tr, va, genres)
    table = accuracy_table(clf, te)
    assert table["share"] >= 0.9 and table["n"] == 16
    assert np.array(table["confusion"]).sum() == 16 and set(table["per_genre"]) == set(genres)


def test_style_report_structure_and_markdown(style_model, genre_cache, tmp_path):
    from tunegan.evaluation.style import format_markdown, style_report

    rep = style_report(style_model, genre_cache, samples_per_keyword=3, length=32, guidance=(1.0, 2.0),
                       train_crops=10, eval_crops=4, l2_grid=(1e-2, 1.0))
    assert rep["data"]["genres"] == ["hymn", "runs"] and set(rep["classifiers"]) == {"all", "notes"}
    assert set(rep["checkpoint"]["genres"]) == {"hymn", "runs"}
    assert [r["guidance"] for r in rep["runs"]] == [1.0, 2.0]
    for run in rep["runs"]:
        for name in ("all", "notes"):
            assert set(run["style"][name]) == {"hymn", "runs"}
            assert all(0 <= v["share"] <= 1 and v["n"] == 3 for v in run["style"][name].values())
            assert np.array(run["confusion"][name]).sum(1).tolist() == [3, 3]
        for m, v in run["mood"].items():
            assert 0 <= v["share"] <= 1 and abs(sum(v["distribution"].values()) - 1) < 1e-9
    assert abs(sum(rep["unconditioned"]["genres"]["all"].values()) - 1) < 1e-9
    json.dumps(rep)  # JSON-ready
    md = format_markdown(rep)
    assert "Genre classifier" in md and "| hymn |" in md and "guidance 2" in md
    by_mood = rep["mood_ceiling_by_mood"]
    assert set(by_mood) == {"upbeat", "calm", "tense", "melancholy"}
    assert sum(v["n"] for v in by_mood.values()) == rep["mood_ceiling"]["n"]
    assert sum(v["hits"] for v in by_mood.values()) == rep["mood_ceiling"]["hits"]


def test_unknown_keyword_and_model_without_keywords(style_model, genre_cache, plain_run):
    from tunegan.errors import MusicOptionError
    from tunegan.evaluation.style import style_report

    with pytest.raises(MusicOptionError, match="unknown style or mood keyword 'zzz'"):
        style_report(style_model, genre_cache, genres=["zzz"])
    with pytest.raises(MusicOptionError, match="trained without style or mood keywords"):
        style_report(plain_run, genre_cache)


@pytest.fixture
def plain_run(genre_cache, tmp_path):
    """An unconditioned tiny model on the same cache."""
    from tunegan.data.dataset import TokenCache
    from tunegan.training.trainer import Trainer

    V = TokenCache(genre_cache).tokenizer.vocab_size
    Trainer(tiny_train_config(mode="mle", epochs=1, steps_per_epoch=1, seq_len=16), genre_cache, tmp_path / "u",
            generator_config=tiny_generator_config(vocab_size=V),
            discriminator_config=tiny_discriminator_config(vocab_size=V), quiet=True).fit()
    return tmp_path / "u"


def test_sources_are_prepared_with_their_genres(style_model, genre_cache, tmp_path, monkeypatch):
    from tunegan.api import load_model
    from tunegan.data.dataset import TokenCache
    from tunegan.evaluation.genre_classifier import piece_genres
    from tunegan.evaluation.style import open_labelled_data

    monkeypatch.setenv("TUNEGAN_CACHE", str(tmp_path / "tg"))
    roots = [p["root"] for p in TokenCache(genre_cache).manifest["sources"]]
    cache = open_labelled_data([GenreFolder(r, genre=g) for r, g in zip(roots, ("runs", "hymn"))],
                               load_model(style_model))
    assert cache.root.parent == tmp_path / "tg" / "caches"
    assert set(piece_genres(cache, "train")) == {"runs", "hymn"}


def test_cli_writes_json_and_markdown(style_model, genre_cache, tmp_path):
    import typer
    from typer.testing import CliRunner

    from tunegan.cli.evaluate import style_eval

    app = typer.Typer()
    app.command("style-eval")(style_eval)
    app.command("noop")(lambda: None)  # two commands, so the sub-command name is used as in tunegan
    out = tmp_path / "rep"
    res = CliRunner().invoke(app, ["style-eval", "--checkpoint", str(style_model), "--data", str(genre_cache),
                                   "--out", str(out), "--samples", "2", "--length", "32", "--train-crops", "10",
                                   "--eval-crops", "4", "--guidance", "1.5", "--mood-by-genre"])
    assert res.exit_code == 0, res.output
    rep = json.loads((out / "style_report.json").read_text())
    assert [r["guidance"] for r in rep["runs"]] == [1.5]
    # every mood the model knows, asked with every genre, judged against the genre alone
    [run] = rep["runs"]
    assert run["mood"] and set(run["mood_by_genre"]) == {"hymn", "runs"}
    for row in run["mood_by_genre"].values():
        assert set(row) == {"none", *run["mood"]}
        assert all(v["n"] == 2 and 0 <= v["genre_kept"] <= 1 for m, v in row.items() if m != "none")
    assert "### Mood with a genre, guidance 1.5" in (out / "style_report.md").read_text()
    assert (out / "style_report.md").read_text().startswith("# Do style and mood keywords work?")
    bad = CliRunner().invoke(app, ["style-eval", "--checkpoint", str(style_model), "--data", str(genre_cache),
                                   "--out", str(out), "--samples", "0"])
    assert bad.exit_code == 1 and "error: samples must be" in bad.output
    bad = CliRunner().invoke(app, ["style-eval", "--checkpoint", str(style_model), "--data", str(genre_cache),
                                   "--out", str(out), "--top-p", "0"])
    assert bad.exit_code == 1 and "error: top-p must be within 0 (excluded) and 1" in bad.output


def test_top_p_reaches_the_samples(style_model, genre_cache, monkeypatch):
    """style-eval --top-p samples as generate --top-p does, and the report says so."""
    import tunegan.generation as generation
    from tunegan.evaluation.style import format_markdown, style_report

    seen = []
    real = generation.sample_pieces

    def spy(model, options, seeds, **kw):
        seen.append(options.top_p)
        return real(model, options, seeds, **kw)

    monkeypatch.setattr(generation, "sample_pieces", spy)
    rep = style_report(style_model, genre_cache, samples_per_keyword=2, length=32, guidance=(1.0,), top_p=0.9,
                       train_crops=10, eval_crops=4, l2_grid=(1e-2,))
    assert seen and set(seen) == {0.9} and rep["settings"]["top_p"] == 0.9
    assert "top-p 0.9" in format_markdown(rep)


def test_samples_keep_to_a_key(style_model, genre_cache):
    """style-eval --key: every sampled note is in the key's scale; a bad key is a one-line error."""
    from tunegan.api import load_model
    from tunegan.errors import MusicOptionError
    from tunegan.evaluation.style import generate_scores, style_report

    from tunegan.harmony import _with_harmony

    # the network's own notes: this 4-step model writes about two notes per sample, and its guard,
    # fitted on scales that never clash, repeat or leave an octave, has every factor at 0
    ck = _with_harmony(load_model(style_model), None)
    scores = generate_scores(ck, 8, 256, key="A harmonic minor", seed=1)
    pcs = {int(p) % 12 for s in scores for tr in s.tracks for p in tr.notes.numpy()["pitch"]}
    assert pcs and pcs <= {9, 11, 0, 2, 4, 5, 8}
    with pytest.raises(MusicOptionError, match="H"):
        style_report(style_model, genre_cache, key="H major")
