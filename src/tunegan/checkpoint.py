"""Self-describing checkpoints, written atomically.

A checkpoint is a folder::

    model.safetensors   generator.* (and discriminator.*) weights
    meta.json           format, configs (generator, discriminator, training), tokenizer state,
                        step, epoch, metrics, keyword vocabulary, data licence notice
    train_state.pt      optimizer and RNG states (training runs only; not needed to generate)

A training run folder holds ``step-NNNNNNN/`` checkpoints plus two pointer files, ``latest``
and ``best`` (lowest validation NLL). A checkpoint is first written to ``*.tmp`` and renamed,
then the pointer is replaced with ``os.replace``: a kill at any moment leaves the last good
checkpoint reachable. :func:`resolve_checkpoint` accepts a run folder or a checkpoint folder.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from .config import DiscriminatorConfig, GeneratorConfig, TrainConfig
from .errors import CheckpointError
from .models import LSTMGenerator, PatchDiscriminator
from .tokenizers import Tokenizer, tokenizer_from_state

FORMAT = "tunegan-checkpoint-1"
ASSETS = Path(__file__).parent / "assets"
DEFAULT_MODEL = ASSETS / "default"


def shipped_models() -> dict[str, Path]:
    """Models inside the package, by name (``default`` is used when no checkpoint is given)."""
    return {p.name: p for p in sorted(ASSETS.glob("*")) if (p / "meta.json").exists()}


@dataclass
class Checkpoint:
    """Everything loaded from a checkpoint folder."""

    path: Path
    generator: LSTMGenerator
    tokenizer: Tokenizer
    meta: dict
    discriminator: PatchDiscriminator | None = None
    train_state: dict | None = field(default=None, repr=False)

    @property
    def conditions(self) -> dict:
        """Keyword vocabulary ``{"keywords", "categories", "counts"}`` (id k+1 is keywords[k]);
        empty for an unconditioned model."""
        return dict(self.meta.get("conditions") or {})


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def save_checkpoint(
    run_dir: str | os.PathLike,
    *,
    step: int,
    generator: torch.nn.Module,
    tokenizer: Tokenizer,
    meta: dict,
    discriminator: torch.nn.Module | None = None,
    train_state: dict | None = None,
    best: bool = False,
    keep: int = 2,
) -> Path:
    """Write ``run_dir/step-NNNNNNN`` atomically and point ``latest`` (and ``best``) at it."""
    run = Path(run_dir)
    run.mkdir(parents=True, exist_ok=True)
    name = f"step-{step:07d}"
    final, tmp = run / name, run / (name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    tensors = {f"generator.{k}": v.detach().cpu().contiguous() for k, v in generator.state_dict().items()}
    if discriminator is not None:
        tensors.update({f"discriminator.{k}": v.detach().cpu().contiguous()
                        for k, v in discriminator.state_dict().items()})
    save_file(tensors, str(tmp / "model.safetensors"))
    full_meta = {"format": FORMAT, "step": step, "tokenizer": tokenizer.state(),
                 "generator_config": generator.config.to_dict(),
                 "discriminator_config": discriminator.config.to_dict() if discriminator is not None else None,
                 **meta}
    (tmp / "meta.json").write_text(json.dumps(full_meta, indent=1))
    if train_state is not None:
        torch.save(train_state, tmp / "train_state.pt")
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    _atomic_write_text(run / "latest", name)
    if best:
        _atomic_write_text(run / "best", name)
    _prune(run, keep)
    return final


def _prune(run: Path, keep: int) -> None:
    protected = {(run / p).read_text().strip() for p in ("latest", "best") if (run / p).exists()}
    steps = sorted(p for p in run.glob("step-*") if p.is_dir() and not p.name.endswith(".tmp"))
    for p in steps[:-keep] if keep else steps:
        if p.name not in protected:
            shutil.rmtree(p, ignore_errors=True)


def resolve_checkpoint(path: str | os.PathLike | None = None, which: str = "best") -> Path:
    """A checkpoint folder from ``path`` (a checkpoint, or a run folder: its ``best``, else
    ``latest``); ``None`` means the model shipped with the package, and the name of a shipped
    model (``"default"``, ``"pitch-maestro"``) picks that one."""
    if path is None:
        path = DEFAULT_MODEL
    if str(path) in shipped_models() and not Path(path).exists():  # a shipped name, as str or Path
        path = shipped_models()[str(path)]
    p = Path(path)
    if p == DEFAULT_MODEL and not (p / "meta.json").exists():
        raise CheckpointError(f"the shipped model is missing from this install ({p}); pass --checkpoint")
    if (p / "meta.json").exists():
        return p
    if p.is_dir():
        for ptr in ((which, "latest") if which != "latest" else ("latest",)):
            if (p / ptr).exists():
                target = p / (p / ptr).read_text().strip()
                if (target / "meta.json").exists():
                    return target
        raise CheckpointError(f"{p}: no checkpoint here (no meta.json, and no 'best' or 'latest' pointer)")
    raise CheckpointError(f"{p}: no such checkpoint")


def load_checkpoint(path: str | os.PathLike | None = None, *, which: str = "best",
                    with_discriminator: bool = True, with_train_state: bool = False,
                    device: str | torch.device | None = "cpu") -> Checkpoint:
    """Rebuild generator (and discriminator), tokenizer and metadata from a checkpoint alone.
    Weights are read on the CPU and moved to ``device`` (``"auto"``, ``"cpu"``, ``"cuda"``...), so a
    checkpoint written on any device loads on any other."""
    ckpt = resolve_checkpoint(path, which)
    try:
        meta = json.loads((ckpt / "meta.json").read_text())
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{ckpt}/meta.json: not valid JSON ({e})") from None
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{ckpt}: unknown checkpoint format {meta.get('format')!r} (expected {FORMAT})")
    if not (ckpt / "model.safetensors").exists():
        raise CheckpointError(f"{ckpt}: model.safetensors is missing")
    from .device import resolve_device

    dev = resolve_device(device)
    tensors = load_file(str(ckpt / "model.safetensors"), device="cpu")
    gen = LSTMGenerator(GeneratorConfig.from_dict(meta["generator_config"]))
    gen.load_state_dict({k[len("generator."):]: v for k, v in tensors.items() if k.startswith("generator.")})
    gen.eval()
    disc = None
    if with_discriminator and meta.get("discriminator_config"):
        d_state = {k[len("discriminator."):]: v for k, v in tensors.items() if k.startswith("discriminator.")}
        if d_state:
            disc = PatchDiscriminator(DiscriminatorConfig.from_dict(meta["discriminator_config"]))
            disc.load_state_dict(d_state)
            disc.eval()
    train_state = None
    if with_train_state:
        f = ckpt / "train_state.pt"
        if not f.exists():
            raise CheckpointError(f"{ckpt}: train_state.pt is missing, so training cannot resume from it")
        train_state = torch.load(f, weights_only=False, map_location="cpu")
    gen.to(dev)
    if disc is not None:
        disc.to(dev)
    return Checkpoint(ckpt, gen, tokenizer_from_state(meta["tokenizer"]), meta, disc, train_state)


class ModelCache:
    """Loaded checkpoints by resolved path, for a process that generates many times (the studio,
    an evaluation). Pass it where it is needed; nothing is cached at module level."""

    def __init__(self, device: str | torch.device | None = "auto"):
        from .device import resolve_device

        self.device = resolve_device(device)
        self._models: dict[str, Checkpoint] = {}

    def get(self, checkpoint: str | os.PathLike | None = None) -> Checkpoint:
        key = str(resolve_checkpoint(checkpoint).resolve())
        if key not in self._models:
            self._models[key] = load_checkpoint(key, with_discriminator=False, device=self.device)
        return self._models[key]

    def clear(self) -> None:
        self._models.clear()


def weights_hash(path: str | os.PathLike) -> str:
    """SHA-256 (first 16 hex digits) of a checkpoint's ``model.safetensors``: which weights these are."""
    import hashlib

    h = hashlib.sha256()
    with open(resolve_checkpoint(path) / "model.safetensors", "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def train_config_of(ckpt: Checkpoint) -> TrainConfig | None:
    d = ckpt.meta.get("train_config")
    return TrainConfig.from_dict(d) if d else None


def export_checkpoint(path: str | os.PathLike, dest: str | os.PathLike, *, which: str = "best",
                      notes: dict | None = None) -> Path:
    """Copy a run's checkpoint (weights + meta, no optimizer state) to ``dest`` for shipping;
    ``notes`` (e.g. the command that trained it, the data licence) are added to its meta.json."""
    src = resolve_checkpoint(path, which)
    dst = Path(dest)
    tmp = dst.with_name(dst.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    shutil.copy2(src / "model.safetensors", tmp / "model.safetensors")
    meta = json.loads((src / "meta.json").read_text())
    meta.update(notes or {})
    meta["exported_from"] = str(src)
    (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
    if dst.exists():
        shutil.rmtree(dst)
    os.replace(tmp, dst)
    return dst
