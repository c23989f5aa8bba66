"""Device choice: auto picks what exists, an absent accelerator is a clear error, checkpoints load anywhere."""

from __future__ import annotations

import pytest
import torch

from tunegan.device import resolve_device
from tunegan.errors import ConfigError


def test_cpu_and_auto():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(None).type in ("cpu", "cuda", "mps")


def test_auto_is_cpu_without_accelerators(monkeypatch):
    import tunegan.device as D

    monkeypatch.setattr(D, "cuda_available", lambda: False)
    monkeypatch.setattr(D, "mps_available", lambda: False)
    assert D.resolve_device("auto") == torch.device("cpu")


@pytest.mark.parametrize("name, fragment", [("cuda", "no CUDA GPU is available"), ("cuda:1", "no CUDA GPU"),
                                            ("mps", "Apple MPS is not available"), ("tpu", "unknown")])
def test_absent_accelerators_are_one_line_errors(monkeypatch, name, fragment):
    import tunegan.device as D

    monkeypatch.setattr(D, "cuda_available", lambda: False)
    monkeypatch.setattr(D, "mps_available", lambda: False)
    with pytest.raises(ConfigError, match=fragment):
        D.resolve_device(name)


def test_cli_generate_device_cuda_without_gpu(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    import tunegan.device as D
    from tunegan.cli import app

    monkeypatch.setattr(D, "cuda_available", lambda: False)
    r = CliRunner().invoke(app, ["generate", "--device", "cuda", "--length", "4", "-o", str(tmp_path / "x.mid")])
    assert r.exit_code == 1 and r.output.strip().startswith("error: device 'cuda'") and "Traceback" not in r.output


def test_train_config_device_is_validated():
    from tunegan.config import TrainConfig

    with pytest.raises(ConfigError, match="device"):
        TrainConfig(device="gpu")


def test_shipped_checkpoint_loads_on_cpu_from_any_device_string():
    from tunegan.checkpoint import load_checkpoint

    ck = load_checkpoint("pitch-maestro", device="cpu")
    assert next(ck.generator.parameters()).device.type == "cpu"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_generate_on_cuda():  # pragma: no cover - no GPU here
    from tunegan import api

    [song] = api.generate(length=16, seed=0, device="cuda")
    assert len(song.tokens) == 16


def test_training_on_cpu_device(tiny_cache, tmp_path):
    from conftest import tiny_generator_config, tiny_train_config
    from tunegan.training.trainer import Trainer

    t = Trainer(tiny_train_config(mode="mle", epochs=1, steps_per_epoch=2, device="cpu"), tiny_cache, tmp_path / "r",
                generator_config=tiny_generator_config(), quiet=True)
    assert t.device == torch.device("cpu") and next(t.generator.parameters()).device.type == "cpu"
    t.fit()
