"""Where the networks run: ``auto`` (CUDA, then Apple MPS, then CPU), ``cpu``, ``cuda[:N]`` or ``mps``.

Every command that runs a network takes ``--device``; the library functions take ``device=``.
Asking for an accelerator this machine does not have is a one-line :class:`ConfigError`, never a
silent fall-back to the CPU. Mixed precision (``autocast``) is offered on CUDA only.
"""

from __future__ import annotations

import contextlib
import re

import torch

from .errors import ConfigError

DEVICES = ("auto", "cpu", "cuda", "mps")


def cuda_available() -> bool:
    return torch.cuda.is_available()


def mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """The :class:`torch.device` for ``device`` (``None`` = ``"auto"``)."""
    if isinstance(device, torch.device):
        return device
    name = (device or "auto").strip().lower()
    if name == "auto":
        if cuda_available():
            return torch.device("cuda")
        if mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    m = re.fullmatch(r"cuda(?::(\d+))?", name)
    if m:
        if not cuda_available():
            raise ConfigError(f"device '{device}': no CUDA GPU is available here (use --device cpu or auto)")
        index = int(m.group(1) or 0)
        if index >= torch.cuda.device_count():
            raise ConfigError(f"device '{device}': this machine has {torch.cuda.device_count()} CUDA GPU(s)")
        return torch.device("cuda", index)
    if name == "mps":
        if not mps_available():
            raise ConfigError(f"device '{device}': Apple MPS is not available here (use --device cpu or auto)")
        return torch.device("mps")
    raise ConfigError(f"device '{device}' is unknown: use auto, cpu, cuda, cuda:N or mps")


def autocast(device: torch.device, enabled: bool):
    """bfloat16/float16 autocast on CUDA when ``enabled``; a no-op elsewhere."""
    if enabled and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16)
    return contextlib.nullcontext()
