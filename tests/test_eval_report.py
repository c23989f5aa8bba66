"""``evaluate`` / ``compare``: report folders, their keys, and one-line errors, via library and CLI."""

import json

import pytest
import torch
import typer
from typer.testing import CliRunner

from conftest import tiny_discriminator_config, tiny_generator_config, tiny_train_config
from tunegan.cli.evaluate import compare as compare_cmd
from tunegan.cli.evaluate import evaluate as evaluate_cmd
from tunegan.errors import DataError, TokenizerMismatchError
from tunegan.evaluation.compare import compare
from tunegan.evaluation.report import evaluate, format_markdown
from tunegan.evaluation.suite import SuiteConfig

SMALL = ["--samples", "10", "--length", "24", "--primer", "8"]


def small_config(**kw):
    return SuiteConfig(**(dict(samples=10, length=24, primer_len=8, sweep=((1.0, None), (1.3, 0.9)),
                               permutations=0) | kw))


def make_checkpoint(run, tokenizer="pitch", seed=0, **tok):
    from tunegan.checkpoint import save_checkpoint
    from tunegan.models import LSTMGenerator, PatchDiscriminator
    from tunegan.tokenizers import get_tokenizer

    torch.manual_seed(seed)
    t = get_tokenizer(tokenizer, **tok)
    save_checkpoint(run, step=1, generator=LSTMGenerator(tiny_generator_config(t.vocab_size)),
                    discriminator=PatchDiscriminator(tiny_discriminator_config(t.vocab_size)), tokenizer=t,
                    meta={"train_config": tiny_train_config().to_dict()}, best=True)
    return run


@pytest.fixture
def ckpt(tmp_path):
    return make_checkpoint(tmp_path / "run")


@pytest.fixture
def app():
    a = typer.Typer()
    a.command("evaluate")(evaluate_cmd)
    a.command("compare")(compare_cmd)
    return a


def strict_json(path):
    def no_nan(c):
        raise AssertionError(f"{path} holds {c}")

    return json.loads(path.read_text(), parse_constant=no_nan)


def test_evaluate_writes_the_report_folder(ckpt, tiny_cache, tmp_path):
    out = tmp_path / "report"
    rep = evaluate(ckpt, tiny_cache, split="test", suite_config=small_config(), out=out)
    for name in ("report.json", "report.md", "quality_diversity.png", "feature_overlap.png",
                 "samples/primed_00.mid", "samples/real_00.mid", "samples/unconditioned_00.mid",
                 "samples/primer_00.mid"):
        assert (out / name).is_file(), name
    saved = strict_json(out / "report.json")
    assert {"likelihood", "discriminator", "paper_claim", "suite", "checkpoint", "files"} <= set(saved)
    assert {"generator", "trigram"} <= set(saved["likelihood"])
    s = saved["suite"]
    assert {"musical", "novelty", "two_sample", "diversity", "sweep"} <= set(s)
    for r in s["two_sample"].values():
        assert 0.0 <= r["accuracy"] <= 1.0
    assert len(s["sweep"]) == 2 and s["sweep"][1]["top_p"] == 0.9
    md = (out / "report.md").read_text()
    for heading in ("Next-token prediction", "Can a classifier tell", "Copying from the training set",
                    "Musical statistics", "Quality and diversity", "Paper's claim"):
        assert heading in md
    assert md == format_markdown(rep)


def test_evaluate_without_suite_keeps_the_likelihood_report(ckpt, tiny_cache):
    rep = evaluate(ckpt, tiny_cache, suite=False, max_windows=4)
    assert rep["suite"] is None and rep["likelihood"]["generator"]["tokens"] <= 4 * 16
    assert "first 4 windows" in format_markdown(rep)
    # a longer context scores longer windows: the same 4 windows hold twice the tokens
    rep32 = evaluate(ckpt, tiny_cache, suite=False, max_windows=4, context=32)
    assert rep32["seq_len"] == 32 and 4 * 16 < rep32["likelihood"]["generator"]["tokens"] <= 4 * 32


def held_out_folder(root, n=3, split="test"):
    """A folder of ``n`` small MIDI files whose names the hash split puts in ``split`` (none in train)."""
    from conftest import make_melody
    from tunegan.data.sources import hash_split

    root.mkdir(parents=True)
    names = (f"held_{i}.mid" for i in range(10_000))
    for k, name in zip(range(n), (m for m in names if hash_split(m) == split)):
        make_melody([60 + k, 62, 64, 65, 67, 69, 71, 72] * 6).dump_midi(str(root / name))
    return root


def test_split_all_scores_every_piece_and_says_why_baselines_are_missing(ckpt, tmp_path, monkeypatch):
    monkeypatch.setenv("TUNEGAN_CACHE", str(tmp_path / "tc"))
    folder = held_out_folder(tmp_path / "held", split="train")  # the hash split would put all in train
    rep = evaluate(ckpt, folder, split="all", suite_config=small_config())
    assert rep["pieces"] == 3 and rep["split"] == "all"
    assert list(rep["likelihood"]) == ["generator"] and rep["suite"] is None
    md = format_markdown(rep)
    assert "every piece (`--split all`)" in md and "pass --baselines-from" in md and "suite was left out" in md


def test_baselines_from_another_cache(ckpt, tmp_path, tiny_cache, monkeypatch):
    monkeypatch.setenv("TUNEGAN_CACHE", str(tmp_path / "tc"))
    folder = held_out_folder(tmp_path / "held")
    rep = evaluate(ckpt, folder, split="all", baselines_from=tiny_cache, suite_config=small_config(sweep=()))
    assert {"generator", "trigram"} <= set(rep["likelihood"]) and rep["pieces"] == 3
    from tunegan.data.dataset import TokenCache

    assert rep["suite"]["novelty"]["index"]["pieces"] == len(TokenCache(tiny_cache).split("train"))
    assert f"Baselines fitted on the train split of {tiny_cache}" in format_markdown(rep)


def test_an_empty_train_split_leaves_baselines_out_instead_of_failing(ckpt, tmp_path, monkeypatch):
    monkeypatch.setenv("TUNEGAN_CACHE", str(tmp_path / "tc"))
    rep = evaluate(ckpt, held_out_folder(tmp_path / "held"), split="test", suite=False)
    assert list(rep["likelihood"]) == ["generator"] and rep["pieces"] == 3
    assert "the data's train split is empty" in rep["notes"][0]


def test_cli_split_all_with_baselines_from(app, ckpt, tiny_cache, tmp_path, monkeypatch):
    monkeypatch.setenv("TUNEGAN_CACHE", str(tmp_path / "tc"))
    folder = held_out_folder(tmp_path / "held")
    r = CliRunner().invoke(app, ["evaluate", "--checkpoint", str(ckpt), "--data", str(folder), "--split", "all",
                                 "--baselines-from", str(tiny_cache), "--no-suite"])
    assert r.exit_code == 0, r.output
    assert "Baselines fitted on" in r.output and "| trigram |" in r.output


def test_empty_folder_is_a_one_line_data_error(ckpt, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no MIDI pieces found") as e:
        evaluate(ckpt, tmp_path / "empty", suite=False)
    assert "\n" not in str(e.value)


def test_unreadable_midi_folder_is_a_one_line_data_error(ckpt, tmp_path, monkeypatch):
    monkeypatch.setenv("TUNEGAN_CACHE", str(tmp_path / "tc"))
    bad = tmp_path / "bad"
    bad.mkdir()
    for i in range(3):
        (bad / f"broken_{i}.mid").write_bytes(b"MThd not really midi")
    with pytest.raises(DataError, match="none of its 3 MIDI files could be used") as e:
        evaluate(ckpt, bad, suite=False)
    assert "\n" not in str(e.value)


def test_cache_of_another_tokenizer_is_a_mismatch(tmp_path, tiny_cache):
    other = make_checkpoint(tmp_path / "other", quantum=0.05)
    with pytest.raises(TokenizerMismatchError, match="evaluate on the MIDI folder instead"):
        evaluate(other, tiny_cache, suite=False)


def test_compare_puts_models_and_baselines_in_one_table(tmp_path, tiny_corpus, monkeypatch):
    monkeypatch.setenv("TUNEGAN_CACHE", str(tmp_path / "tc"))
    a = make_checkpoint(tmp_path / "a", seed=0)
    b = make_checkpoint(tmp_path / "b", "performance", seed=1)
    out = tmp_path / "cmp"
    res = compare([a, b], tiny_corpus, out=out, suite_config=small_config(sweep=((1.0, None),)))
    kinds = [(r["kind"], r["tokenizer"]) for r in res["rows"]]
    assert kinds[:2] == [("generator", "pitch"), ("generator", "performance")]
    assert ("baseline", "pitch") in kinds and ("baseline", "performance") in kinds
    assert ("reference", "pitch") in kinds and ("reference", "performance") in kinds
    assert {p["model"] for p in res["points"]} == {"a/step-0000001", "b/step-0000001"}
    for name in ("compare.md", "compare.json", "quality_diversity.png", "feature_overlap.png",
                 "models/a_step-0000001/report.md", "models/b_step-0000001/report.json"):
        assert (out / name).is_file(), name
    md = (out / "compare.md").read_text()
    assert "trigram (pitch)" in md and "trigram (performance)" in md and "two-sample" in md
    strict_json(out / "compare.json")


def test_cli_evaluate_writes_and_prints(app, ckpt, tiny_cache, tmp_path):
    out = tmp_path / "cli"
    r = CliRunner().invoke(app, ["evaluate", "--checkpoint", str(ckpt), "--data", str(tiny_cache), "--out", str(out),
                                 "--json", str(tmp_path / "r.json"), *SMALL])
    assert r.exit_code == 0, r.output
    assert "Next-token prediction" in r.output and (out / "report.md").is_file()
    assert strict_json(tmp_path / "r.json")["suite"]["config"]["samples"] == 10


@pytest.mark.parametrize("args, message", [
    (["evaluate", "--data", "{empty}", "--checkpoint", "{ckpt}"], "no MIDI pieces found"),
    (["evaluate", "--data", "{cache}", "--checkpoint", "{other}"], "was tokenized with"),
    (["evaluate", "--data", "{cache}", "--checkpoint", "{ckpt}", "--samples", "3"], "samples must be within"),
    (["evaluate", "--data", "{cache}", "--checkpoint", "{ckpt}", "--length", "2000"], "ask for shorter samples"),
    (["evaluate", "--data", "{cache}", "--checkpoint", "{ckpt}", "--split", "every"], "test or all"),
    (["compare", "{ckpt}", "{tmp}/nope", "--data", "{cache}"], "no such checkpoint"),
])
def test_cli_errors_are_one_line_and_exit_1(app, ckpt, tiny_cache, tmp_path, args, message):
    (tmp_path / "empty").mkdir()
    other = make_checkpoint(tmp_path / "other", quantum=0.05)
    subs = dict(empty=tmp_path / "empty", ckpt=ckpt, other=other, cache=tiny_cache, tmp=tmp_path)
    r = CliRunner().invoke(app, [a.format(**subs) for a in args])
    assert r.exit_code == 1, r.output
    err = r.output.strip().splitlines()
    assert err[-1].startswith("error: ") and message in err[-1] and "Traceback" not in r.output
