"""The CLI end to end on a tiny corpus: prepare -> train -> generate -> evaluate, and its error messages."""

import json

import pytest
from typer.testing import CliRunner

from conftest import FIXTURES
from tunegan.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from conftest import write_corpus

    root = tmp_path_factory.mktemp("cli")
    midi = write_corpus(root / "midi")
    r = runner.invoke(app, ["prepare", str(midi), "--out", str(root / "cache"), "--workers", "1"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["train", "-d", str(root / "cache"), "-o", str(root / "run"), "--mode", "mle",
                            "--epochs", "1", "--batch-size", "8", "--seq-len", "16", "--set", "steps_per_epoch=5",
                            "--gen", "embed_dim=8", "--gen", "hidden_size=16", "--threads", "1"])
    assert r.exit_code == 0, r.output
    return root


def test_prepare_reuses_cache(trained):
    r = runner.invoke(app, ["prepare", str(trained / "midi"), "--out", str(trained / "cache"), "--workers", "1"])
    assert r.exit_code == 0 and "reused" in r.output


def test_generate_writes_midi_others_can_read(trained, tmp_path):
    import mido
    import pretty_midi

    out = tmp_path / "out.mid"
    r = runner.invoke(app, ["generate", "--checkpoint", str(trained / "run"), "--seed-notes", "C4 E4 G4",
                            "--length", "20", "--seed", "1", "--output", str(out)])
    assert r.exit_code == 0, r.output
    assert "wrote" in r.output
    pm = pretty_midi.PrettyMIDI(str(out))
    assert len(pm.instruments[0].notes) == 23
    assert len(mido.MidiFile(out).tracks) >= 1
    # same seed, same music
    out2 = tmp_path / "out2.mid"
    runner.invoke(app, ["generate", "--checkpoint", str(trained / "run"), "--seed-notes", "C4 E4 G4",
                        "--length", "20", "--seed", "1", "--output", str(out2)])
    assert out.read_bytes() == out2.read_bytes()


def test_generate_samples_and_primer(trained, tmp_path):
    r = runner.invoke(app, ["generate", "--checkpoint", str(trained / "run"), "--primer", str(FIXTURES / "type1.mid"),
                            "--length", "8", "--samples", "3", "--seed", "5", "--output", str(tmp_path / "s.mid")])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in tmp_path.glob("s-*.mid")) == ["s-1.mid", "s-2.mid", "s-3.mid"]


@pytest.mark.parametrize("args,fragment", [
    (["--seed-notes", "C4 H2"], "'H2' is not a note name"),
    (["--seed-notes", "C9"], "not on the piano"),
    (["--primer", str(FIXTURES / "not_midi.mid")], "not a MIDI file"),
    (["--primer", str(FIXTURES / "truncated.mid")], "corrupt MIDI"),
    (["--primer", str(FIXTURES / "empty.mid")], "no notes"),
    (["--primer", "/nonexistent/x.mid"], "no such file"),
    (["--temperature", "-1"], "temperature must be within 0 and 10"),
    (["--key", "H major"], "H major"),
    (["--time-signature", "3/5"], "3/5"),
    (["--instrument", "kazooo"], "kazooo"),
    (["--style", "folk"], "trained without style or mood keywords"),
])
def test_generate_bad_input_one_line(trained, tmp_path, args, fragment):
    r = runner.invoke(app, ["generate", "--checkpoint", str(trained / "run"), "--output", str(tmp_path / "x.mid"),
                            "--length", "4", *args])
    assert r.exit_code == 1
    assert "Traceback" not in r.output
    err = r.output.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and fragment in err[0], r.output


def test_missing_checkpoint_one_line(tmp_path):
    r = runner.invoke(app, ["generate", "--checkpoint", str(tmp_path / "nope"), "--output", str(tmp_path / "x.mid")])
    assert r.exit_code == 1 and r.output.startswith("error: ") and "no such checkpoint" in r.output


def test_evaluate_json_and_mismatch(trained, tmp_path):
    rep = tmp_path / "r.json"
    r = runner.invoke(app, ["evaluate", "--checkpoint", str(trained / "run"), "--data", str(trained / "cache"),
                            "--split", "validation", "--json", str(rep), "--length", "32", "--primer", "8",
                            "--samples", "12", "--threads", "1"])
    assert r.exit_code == 0, r.output
    d = json.loads(rep.read_text())
    assert {"generator", "bigram", "trigram", "repeat previous", "most frequent (unigram)"} <= set(d["likelihood"])
    # a cache made with another tokenizer is refused with a clear message
    other = tmp_path / "other"
    runner.invoke(app, ["prepare", str(trained / "midi"), "--out", str(other), "--tokenizer", "performance", "--workers", "1"])
    r = runner.invoke(app, ["evaluate", "--checkpoint", str(trained / "run"), "--data", str(other)])
    assert r.exit_code == 1 and "tokenized with 'performance'" in r.output


def test_evaluate_empty_folder_one_line(trained, tmp_path):
    (tmp_path / "empty").mkdir()
    r = runner.invoke(app, ["evaluate", "--checkpoint", str(trained / "run"), "--data", str(tmp_path / "empty")])
    assert r.exit_code == 1 and r.output.startswith("error: ") and "no MIDI pieces found" in r.output


def test_train_init_from_fine_tunes(trained, tmp_path):
    """--init-from keeps the checkpoint's (non-default) network sizes and refuses a mismatched tokenizer."""
    from tunegan.checkpoint import load_checkpoint

    r = runner.invoke(app, ["train", "-d", str(trained / "cache"), "-o", str(tmp_path / "ft"), "--mode", "mle",
                            "--epochs", "1", "--batch-size", "8", "--seq-len", "16", "--set", "steps_per_epoch=2",
                            "--init-from", str(trained / "run"), "--threads", "1"])
    assert r.exit_code == 0, r.output
    ck = load_checkpoint(tmp_path / "ft")
    assert ck.generator.config.hidden_size == 16 and ck.meta["train_config"]["init_from"] == str(trained / "run")
    runner.invoke(app, ["prepare", str(trained / "midi"), "--out", str(tmp_path / "perf"), "--tokenizer",
                        "performance", "--workers", "1"])
    r = runner.invoke(app, ["train", "-d", str(tmp_path / "perf"), "-o", str(tmp_path / "bad"),
                            "--init-from", str(trained / "run"), "--threads", "1"])
    assert r.exit_code == 1 and "differs from the cache's 'performance'" in r.output
    assert len(r.output.strip().splitlines()) == 1
