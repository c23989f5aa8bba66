"""``--resume`` never loses work: a broken ``latest`` falls back to the newest checkpoint that loads
(and says so), a run whose checkpoints are all broken is a one-line error rather than a silent
restart, and pruning never deletes the newest loadable checkpoints."""

import io
import json
import shutil

import pytest
import torch
from rich.console import Console

from conftest import tiny_discriminator_config, tiny_generator_config, tiny_train_config
from tunegan.checkpoint import is_intact, load_checkpoint, run_checkpoints, save_checkpoint
from tunegan.errors import CheckpointError
from tunegan.models import LSTMGenerator
from tunegan.tokenizers import get_tokenizer
from tunegan.training.trainer import Trainer


def _trainer(cache, out, resume=False, console=None, **kw):
    cfg = dict(mode="mle", epochs=2, steps_per_epoch=6, keep_checkpoints=5) | kw
    return Trainer(tiny_train_config(**cfg), cache, out, generator_config=tiny_generator_config(),
                   discriminator_config=tiny_discriminator_config(), resume=resume, console=console,
                   quiet=console is None)


@pytest.fixture
def run(tiny_cache, tmp_path):
    """A finished two-epoch run: step-0000006 and step-0000012 (latest)."""
    out = tmp_path / "run"
    _trainer(tiny_cache, out).fit()
    assert [p.name for p in run_checkpoints(out)] == ["step-0000012", "step-0000006"]
    (out / "best").write_text("step-0000012")  # so only 'latest' and 'best' protect the broken one
    return out


def _truncate(f):
    f.write_bytes(f.read_bytes()[: f.stat().st_size // 3])


def _log(out):
    return [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]


def test_truncated_latest_falls_back_to_the_previous_checkpoint(run, tiny_cache):
    _truncate(run / "step-0000012" / "model.safetensors")
    t = _trainer(tiny_cache, run, resume=True)
    assert (t.step, t.epoch) == (6, 1)
    [note] = [r["resume_fallback"] for r in _log(run) if "resume_fallback" in r]
    assert note["from"] == "step-0000006" and note["latest"] == "step-0000012"
    assert "model.safetensors: not a readable safetensors file" in note["problems"][0]


def test_latest_pointing_at_a_missing_folder(run, tiny_cache):
    shutil.rmtree(run / "step-0000012")
    assert _trainer(tiny_cache, run, resume=True).step == 6


def test_latest_without_train_state_says_so_on_the_console(run, tiny_cache):
    (run / "step-0000012" / "train_state.pt").unlink()
    buf = io.StringIO()
    t = _trainer(tiny_cache, run, resume=True, console=Console(file=buf, width=400))
    assert t.step == 6
    text = buf.getvalue()
    assert "resuming from step-0000006 (step 6)" in text and "train_state.pt is missing" in text


def test_damaged_train_state_falls_back(run, tiny_cache):
    (run / "step-0000012" / "train_state.pt").write_bytes(b"not a pickle")
    assert _trainer(tiny_cache, run, resume=True).step == 6


def test_no_loadable_checkpoint_is_an_error_not_a_restart(run, tiny_cache):
    for p in run_checkpoints(run):
        (p / "model.safetensors").write_bytes(b"")
    with pytest.raises(CheckpointError, match=r"none of its 2 checkpoint\(s\) can be resumed from .*the file is empty"):
        _trainer(tiny_cache, run, resume=True)


def test_a_run_folder_without_checkpoints_is_a_fresh_start(tiny_cache, tmp_path):
    out = tmp_path / "new"
    out.mkdir()
    (out / "latest").write_text("step-0000012")  # a pointer to nothing: nothing to resume
    assert _trainer(tiny_cache, out, resume=True).step == 0


def test_resumed_run_after_fallback_keeps_the_loadable_checkpoints(run, tiny_cache):
    """Resuming from step 6 with a broken step 12 and keep=2: the next save (step 10) must not prune
    step 6 to make room, and the broken step 12 is left alone."""
    _truncate(run / "step-0000012" / "model.safetensors")
    t = _trainer(tiny_cache, run, resume=True, steps_per_epoch=4, keep_checkpoints=2)
    t.fit()
    names = [p.name for p in run_checkpoints(run)]
    assert names == ["step-0000012", "step-0000010", "step-0000006"]
    assert (run / "latest").read_text() == "step-0000010"
    assert [p.name for p in run_checkpoints(run) if is_intact(p, resumable=True)] == ["step-0000010", "step-0000006"]
    load_checkpoint(run, which="latest", with_train_state=True)


def _save(run, step, keep):
    torch.manual_seed(step)
    tok = get_tokenizer("pitch")
    return save_checkpoint(run, step=step, generator=LSTMGenerator(tiny_generator_config()), tokenizer=tok,
                           meta={}, train_state={"step": step}, keep=keep)


def test_pruning_never_counts_or_deletes_damaged_checkpoints(tmp_path):
    run = tmp_path / "run"
    _save(run, 1, keep=5)
    _truncate(_save(run, 2, keep=5) / "model.safetensors")
    _save(run, 3, keep=1)
    _save(run, 4, keep=1)
    # step 3 (intact, older than the newest) went; step 2 is damaged and stays for a person to see
    assert [p.name for p in run_checkpoints(run)] == ["step-0000004", "step-0000002"]
