"""Damaged checkpoints: each fault is one tiny case, ending in a one-line CheckpointError that names
the file and what is wrong (never a SafetensorError, AttributeError, KeyError or RuntimeError)."""

import json
import os

import pytest
import torch
from typer.testing import CliRunner

from conftest import tiny_discriminator_config, tiny_generator_config
from tunegan.checkpoint import load_checkpoint, save_checkpoint, shipped_models
from tunegan.config import GeneratorConfig
from tunegan.errors import CheckpointError
from tunegan.models import LSTMGenerator, PatchDiscriminator
from tunegan.tokenizers import get_tokenizer, tokenizer_from_state, vocab_hash


def _save(run, tokenizer="pitch", train_state=True, **tok):
    torch.manual_seed(0)
    t = get_tokenizer(tokenizer, **tok)
    return save_checkpoint(run, step=1, generator=LSTMGenerator(tiny_generator_config(t.vocab_size)),
                           discriminator=PatchDiscriminator(tiny_discriminator_config(t.vocab_size)), tokenizer=t,
                           meta={}, train_state={"step": 1} if train_state else None)


@pytest.fixture
def ckpt(tmp_path):
    return _save(tmp_path / "run")


def _error(path, **kw) -> str:
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(path, **kw)
    msg = str(e.value)
    assert "\n" not in msg
    return msg


def _edit_meta(ckpt, fn):
    meta = json.loads((ckpt / "meta.json").read_text())
    (ckpt / "meta.json").write_text(json.dumps(fn(meta)))


def test_a_good_checkpoint_loads_and_stores_its_vocabulary(ckpt):
    ck = load_checkpoint(ckpt, with_train_state=True)
    assert ck.meta["vocab"] == {"size": 89, "sha1": vocab_hash(ck.tokenizer)}
    assert ck.train_state == {"step": 1}


def test_truncated_weights(ckpt):
    f = ckpt / "model.safetensors"
    f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])
    msg = _error(ckpt)
    assert "model.safetensors: not a readable safetensors file, truncated or damaged" in msg and str(ckpt) in msg


def test_empty_weights(ckpt):
    (ckpt / "model.safetensors").write_bytes(b"")
    assert "model.safetensors: the file is empty (0 bytes)" in _error(ckpt)


def test_random_bytes_as_weights(ckpt):
    (ckpt / "model.safetensors").write_bytes(os.urandom(4096))
    assert "model.safetensors: not a readable safetensors file" in _error(ckpt)


def test_missing_weights(ckpt):
    (ckpt / "model.safetensors").unlink()
    assert "model.safetensors is missing" in _error(ckpt)


def test_meta_that_is_a_list(ckpt):
    (ckpt / "meta.json").write_text("[1, 2, 3]")
    assert "meta.json: holds a JSON list, not an object of checkpoint fields" in _error(ckpt)


def test_meta_that_is_not_json(ckpt):
    (ckpt / "meta.json").write_text("{oops")
    assert "meta.json: not valid JSON" in _error(ckpt)


def test_meta_without_a_key(ckpt):
    _edit_meta(ckpt, lambda m: {k: v for k, v in m.items() if k != "generator_config"})
    assert "meta.json: lacks 'generator_config'" in _error(ckpt)


def test_meta_with_a_bad_config(ckpt):
    _edit_meta(ckpt, lambda m: m | {"generator_config": m["generator_config"] | {"hidden_size": 0}})
    msg = _error(ckpt)
    assert "meta.json: 'generator_config' is not valid" in msg and "hidden_size" in msg


def test_meta_with_a_tokenizer_that_cannot_be_rebuilt(ckpt):
    _edit_meta(ckpt, lambda m: m | {"tokenizer": {"name": "nope"}})
    assert "meta.json: its tokenizer cannot be rebuilt (unknown tokenizer 'nope'" in _error(ckpt)


def test_weights_of_another_model(ckpt, tmp_path):
    torch.manual_seed(0)
    tok = get_tokenizer("pitch")
    other = save_checkpoint(tmp_path / "other", step=1, tokenizer=tok, meta={},
                            generator=LSTMGenerator(GeneratorConfig(vocab_size=89, embed_dim=16, hidden_size=48)))
    os.replace(other / "model.safetensors", ckpt / "model.safetensors")
    msg = _error(ckpt)
    assert "model.safetensors: the generator weights are not those of the network in meta.json" in msg
    assert "the network needs" in msg


def test_missing_and_damaged_train_state(ckpt):
    (ckpt / "train_state.pt").write_bytes(b"garbage")
    assert "train_state.pt: damaged, cannot be read" in _error(ckpt, with_train_state=True)
    load_checkpoint(ckpt)  # generation does not need it
    (ckpt / "train_state.pt").unlink()
    assert "train_state.pt is missing, so training cannot resume from it" in _error(ckpt, with_train_state=True)


def test_an_edited_tokenizer_config_is_caught(tmp_path):
    """16 -> 32 velocity bins in meta.json: the network has 316 outputs, the tokenizer 332 tokens."""
    ckpt = _save(tmp_path / "remi", "remi")
    _edit_meta(ckpt, lambda m: m | {"tokenizer": {"name": "remi", "config": m["tokenizer"]["config"]
                                                  | {"num_velocities": 32}}})
    msg = _error(ckpt)
    assert "'remi' tokenizer rebuilt from meta.json has 332 tokens but the network has 316 outputs" in msg


def test_a_vocabulary_rebuilt_differently_is_caught(ckpt):
    """What a tokenizer library release that renamed tokens (same count) would give."""
    _edit_meta(ckpt, lambda m: m | {"vocab": {"size": 89, "sha1": "0" * 40}})
    assert "vocabulary rebuilt now differs from the one the model was trained with" in _error(ckpt)


def test_an_old_checkpoint_without_the_hash_loads_and_is_checked_by_size(ckpt):
    _edit_meta(ckpt, lambda m: {k: v for k, v in m.items() if k != "vocab"})
    assert load_checkpoint(ckpt).tokenizer.vocab_size == 89
    _edit_meta(ckpt, lambda m: m | {"tokenizer": {"name": "performance", "config": {}}})
    assert "tokens but the network has 89 outputs" in _error(ckpt)


def test_shipped_models_carry_a_matching_vocabulary_hash():
    for name, path in shipped_models().items():
        meta = json.loads((path / "meta.json").read_text())
        tok = tokenizer_from_state(meta["tokenizer"])
        assert meta["vocab"] == {"size": tok.vocab_size, "sha1": vocab_hash(tok)}, name


def test_a_dangling_pointer_is_named(ckpt):
    (ckpt.parent / "latest").write_text("step-0000099")
    assert "'latest' points at step-0000099, which has no meta.json" in _error(ckpt.parent)


def test_cli_prints_one_line(ckpt, tmp_path):
    from tunegan.cli import app

    (ckpt / "model.safetensors").write_bytes(b"\0" * 10)
    r = CliRunner().invoke(app, ["generate", "--checkpoint", str(ckpt), "--length", "8",
                                 "--output", str(tmp_path / "x.mid")])
    assert r.exit_code == 1
    lines = [l for l in r.output.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "model.safetensors" in lines[0], r.output
