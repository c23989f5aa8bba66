"""The trainer runs unchanged under torchrun (2 processes, gloo on CPU), and keeps one network."""

import json
import shutil
import subprocess
import sys

import pytest

from tunegan.checkpoint import load_checkpoint


@pytest.mark.slow
def test_torchrun_two_ranks(tiny_cache, tmp_path):
    torchrun = shutil.which("torchrun", path=sys.exec_prefix + "/bin") or shutil.which("torchrun")
    if torchrun is None:
        pytest.skip("torchrun not beside this Python nor on PATH")
    out = tmp_path / "run"
    cmd = [torchrun, "--standalone", "--nproc_per_node=2", "-m", "tunegan.cli", "train", "-d", str(tiny_cache),
           "-o", str(out), "--mode", "gan", "--epochs", "2", "--batch-size", "4", "--seq-len", "16",
           "--set", "pretrain_epochs=1", "--set", "steps_per_epoch=3", "--set", "adv_prefix=4", "--set", "adv_len=8",
           "--gen", "embed_dim=8", "--gen", "hidden_size=16", "--disc", "channels=4", "--disc", "kernel_size=3"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env={"TUNEGAN_THREADS": "1", "PATH": sys.exec_prefix + "/bin"})
    # the ranks' own words, not torchrun's traceback about them
    assert r.returncode == 0, "\n".join(ln for ln in r.stderr.splitlines() if "torch/distributed" not in ln)[-3000:]
    ck = load_checkpoint(out, which="latest")
    assert ck.meta["step"] == 6 and ck.meta["train_config"]["mode"] == "gan"
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    diff = [r["replica_difference"] for r in log if "replica_difference" in r][-1]
    # after adversarial steps both networks are identical on every rank (the discriminator too)
    assert diff["generator"] == 0.0 and diff["discriminator"] == 0.0, diff
