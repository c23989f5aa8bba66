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

Loading checks everything it reads and ends in a one-line :class:`CheckpointError` naming the file
and what is wrong: an empty, truncated or foreign ``model.safetensors``, a ``meta.json`` that is not
an object or lacks a field, weights of another network, a damaged ``train_state.pt``. ``meta.json``
stores the tokenizer's vocabulary (``vocab``: its size and :func:`~tunegan.tokenizers.vocab_hash`);
the tokenizer rebuilt at load time (MidiTok rebuilds REMI's) must match it and the network's output
size, so a changed vocabulary fails loudly instead of generating garbage. Checkpoints written before
the hash existed are checked by size alone.

Pruning (``keep``) deletes only intact checkpoints older than the ``keep`` newest intact ones; what
``latest`` and ``best`` point at, and damaged checkpoints, are never deleted (:func:`_prune`).
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .config import DiscriminatorConfig, GeneratorConfig, TrainConfig
from .errors import CheckpointError, TuneganError
from .models import LSTMGenerator, PatchDiscriminator
from .tokenizers import Tokenizer, tokenizer_from_state, vocab_hash

FORMAT = "tunegan-checkpoint-1"
REQUIRED_META = ("tokenizer", "generator_config")  # what loading needs beyond ``format``
TRAIN_STATE = "train_state.pt"
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

    @property
    def repeats(self):
        """The fitted :class:`~tunegan.repetition.RepeatModel` (``meta.json``: ``repeats``), or None."""
        from .repetition import RepeatModel

        d = self.meta.get("repeats")
        return RepeatModel.from_dict(d) if d else None

    @property
    def harmony(self):
        """The fitted :class:`~tunegan.harmony.HarmonyGuard` (``meta.json``: ``harmony``), or None."""
        from .harmony import HarmonyGuard

        d = self.meta.get("harmony")
        return HarmonyGuard.from_dict(d) if d else None


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
                 **meta, "vocab": vocab_record(tokenizer)}
    (tmp / "meta.json").write_text(json.dumps(full_meta, indent=1))
    if train_state is not None:
        torch.save(train_state, tmp / TRAIN_STATE)
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    _atomic_write_text(run / "latest", name)
    if best:
        _atomic_write_text(run / "best", name)
    _prune(run, keep, resumable=train_state is not None)
    return final


def vocab_record(tokenizer: Tokenizer) -> dict:
    """``{"size": vocab_size, "sha1": vocab_hash}``: the vocabulary a checkpoint's network reads."""
    return {"size": tokenizer.vocab_size, "sha1": vocab_hash(tokenizer)}


def read_pointer(path: Path) -> str | None:
    """The checkpoint name in a ``latest``/``best`` pointer file; None when it is missing or unreadable."""
    try:
        name = path.read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None
    return name or None


def _step_of(path: Path) -> int | None:
    tail = path.name[len("step-"):]
    return int(tail) if tail.isdigit() else None


def run_checkpoints(run: str | os.PathLike) -> list[Path]:
    """The ``step-NNNNNNN`` checkpoint folders of a run folder, newest (highest step) first;
    half-written ``*.tmp`` folders are left out. Whether each one loads is not checked."""
    run = Path(run)
    found = [(_step_of(p), p) for p in run.glob("step-*") if p.is_dir()]
    return [p for step, p in sorted(((s, p) for s, p in found if s is not None), reverse=True)]


def _weights_intact(f: Path) -> bool:
    """Cheap check of a safetensors file (header only): its length is what its header says."""
    try:
        size = f.stat().st_size
        with open(f, "rb") as fh:
            (n,) = struct.unpack("<Q", fh.read(8))
            if n > size - 8:
                return False
            header = json.loads(fh.read(n))
        ends = [v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"]
        return size == 8 + n + max(ends, default=0)
    except (OSError, struct.error, ValueError, KeyError, TypeError, IndexError, AttributeError):
        return False


def is_intact(ckpt: Path, *, resumable: bool = False) -> bool:
    """Whether a checkpoint folder looks whole without loading it: ``meta.json`` is an object of this
    format, ``model.safetensors`` is as long as its header says, and (``resumable``) ``train_state.pt``
    is a whole zip archive (what ``torch.save`` writes). Loading checks more (:func:`load_checkpoint`)."""
    try:
        meta = json.loads((ckpt / "meta.json").read_text())
    except (OSError, ValueError):
        return False
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        return False
    if not _weights_intact(ckpt / "model.safetensors"):
        return False
    return not resumable or zipfile.is_zipfile(ckpt / TRAIN_STATE)


def _prune(run: Path, keep: int, *, resumable: bool = False) -> None:
    """Delete checkpoints older than the ``keep`` newest intact ones (``keep=0``: all but the pointed-at).

    Never deleted: what ``latest`` and ``best`` point at, the ``keep`` newest intact checkpoints
    (:func:`is_intact`; with ``resumable``, only those with a whole ``train_state.pt`` count), and any
    checkpoint that is not intact (a damaged one is left for a person to look at; it neither counts
    towards ``keep`` nor pushes a loadable one out). So a run whose newest checkpoints are broken
    never loses the newest ones that still load."""
    protected = {read_pointer(run / p) for p in ("latest", "best")}
    intact = [p for p in run_checkpoints(run) if is_intact(p, resumable=resumable)]
    for p in intact[keep:] if keep else intact:
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
        broken = []
        for ptr in ((which, "latest") if which != "latest" else ("latest",)):
            if (p / ptr).exists():
                name = read_pointer(p / ptr)
                if name and (p / name / "meta.json").exists():
                    return p / name
                broken.append(f"'{ptr}' points at {name or 'nothing readable'}, which has no meta.json")
        if broken:
            raise CheckpointError(f"{p}: {'; '.join(broken)}")
        raise CheckpointError(f"{p}: no checkpoint here (no meta.json, and no 'best' or 'latest' pointer)")
    raise CheckpointError(f"{p}: no such checkpoint")


def load_checkpoint(path: str | os.PathLike | None = None, *, which: str = "best",
                    with_discriminator: bool = True, with_train_state: bool = False,
                    device: str | torch.device | None = "cpu") -> Checkpoint:
    """Rebuild generator (and discriminator), tokenizer and metadata from a checkpoint alone.
    Weights are read on the CPU and moved to ``device`` (``"auto"``, ``"cpu"``, ``"cuda"``...), so a
    checkpoint written on any device loads on any other."""
    ckpt = resolve_checkpoint(path, which)
    meta = read_meta(ckpt)
    tokenizer = _tokenizer(ckpt, meta)
    from .device import resolve_device

    dev = resolve_device(device)
    tensors = _read_weights(ckpt / "model.safetensors")
    gen = _network(LSTMGenerator, GeneratorConfig, "generator", ckpt, meta, tensors)
    _check_vocab(ckpt, meta, tokenizer, gen.config.vocab_size)
    gen.eval()
    disc = None
    if with_discriminator and meta.get("discriminator_config"):
        if any(k.startswith("discriminator.") for k in tensors):
            disc = _network(PatchDiscriminator, DiscriminatorConfig, "discriminator", ckpt, meta, tensors)
            if disc.config.vocab_size != tokenizer.vocab_size:
                raise CheckpointError(f"{ckpt}/meta.json: the discriminator reads {disc.config.vocab_size} tokens, "
                                      f"the '{tokenizer.name}' tokenizer has {tokenizer.vocab_size}")
            disc.eval()
    train_state = _read_train_state(ckpt) if with_train_state else None
    gen.to(dev)
    if disc is not None:
        disc.to(dev)
    return Checkpoint(ckpt, gen, tokenizer, meta, disc, train_state)


def read_meta(ckpt: Path) -> dict:
    """``ckpt/meta.json`` as a dict of this format with the fields loading needs, else CheckpointError."""
    f = ckpt / "meta.json"
    try:
        meta = json.loads(f.read_text())
    except OSError as e:
        raise CheckpointError(f"{f}: cannot be read ({e.strerror or e})") from None
    except UnicodeDecodeError:
        raise CheckpointError(f"{f}: not a text file") from None
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{f}: not valid JSON ({e})") from None
    if not isinstance(meta, dict):
        raise CheckpointError(f"{f}: holds a JSON {type(meta).__name__}, not an object of checkpoint fields")
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{ckpt}: unknown checkpoint format {meta.get('format')!r} (expected {FORMAT})")
    missing = [k for k in REQUIRED_META if not isinstance(meta.get(k), dict)]
    if missing:
        what = "lacks" if all(k not in meta for k in missing) else "has no valid"
        raise CheckpointError(f"{f}: {what} {' and '.join(repr(k) for k in missing)}")
    if meta.get("keys"):
        from .priors import check_key_weights

        try:
            check_key_weights(meta["keys"])
        except CheckpointError as e:
            raise CheckpointError(f"{f}: {e}") from None
    return meta


def _tokenizer(ckpt: Path, meta: dict) -> Tokenizer:
    try:
        return tokenizer_from_state(meta["tokenizer"])
    except TuneganError as e:
        raise CheckpointError(f"{ckpt}/meta.json: its tokenizer cannot be rebuilt ({e})") from None
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"{ckpt}/meta.json: its 'tokenizer' is not a tokenizer state "
                              f"({type(e).__name__}: {e})") from None


def _read_weights(f: Path) -> dict[str, torch.Tensor]:
    if not f.exists():
        raise CheckpointError(f"{f.parent}: model.safetensors is missing")
    if f.stat().st_size == 0:
        raise CheckpointError(f"{f}: the file is empty (0 bytes)")
    try:
        return load_file(str(f), device="cpu")
    except (SafetensorError, OSError, ValueError) as e:
        why = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CheckpointError(f"{f}: not a readable safetensors file, truncated or damaged ({why})") from None


def _network(cls, config_cls, name: str, ckpt: Path, meta: dict, tensors: dict):
    """``cls`` built from ``meta[name + "_config"]`` with its ``name.*`` weights, every key and shape checked."""
    try:
        d = meta[f"{name}_config"]
        if not isinstance(d, dict):
            raise TypeError(f"a JSON {type(d).__name__}")
        net = cls(config_cls.from_dict(d))
    except (TuneganError, TypeError, ValueError) as e:
        raise CheckpointError(f"{ckpt}/meta.json: '{name}_config' is not valid ({e})") from None
    prefix = name + "."
    state = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
    want = net.state_dict()
    f = ckpt / "model.safetensors"
    if not state:
        raise CheckpointError(f"{f}: holds no {name} weights (no '{prefix}*' tensors)")
    missing, extra = [k for k in want if k not in state], [k for k in state if k not in want]
    shapes = [k for k in want if k in state and tuple(state[k].shape) != tuple(want[k].shape)]
    if missing or extra or shapes:
        if shapes:
            k = shapes[0]
            why = f"'{k}' has shape {tuple(state[k].shape)}, the network needs {tuple(want[k].shape)}"
        elif missing:
            why = f"'{missing[0]}' is missing" + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
        else:
            why = f"'{extra[0]}' is not a weight of this network" + (f" (and {len(extra) - 1} more)" if len(extra) > 1 else "")
        raise CheckpointError(f"{f}: the {name} weights are not those of the network in meta.json ({why}); "
                              f"weights of another model?")
    net.load_state_dict(state)
    return net


def _check_vocab(ckpt: Path, meta: dict, tokenizer: Tokenizer, outputs: int) -> None:
    """The rebuilt tokenizer reads ids as the network learned them: its size equals the network's
    output size and, when ``meta.json`` has one, its vocabulary hash equals the stored one."""
    name, V = tokenizer.name, tokenizer.vocab_size
    if V != outputs:
        raise CheckpointError(f"{ckpt}: the '{name}' tokenizer rebuilt from meta.json has {V} tokens but the network "
                              f"has {outputs} outputs (was its tokenizer config edited, or did the library that "
                              f"builds it change?)")
    stored = meta.get("vocab")
    if isinstance(stored, dict) and stored.get("sha1") and stored["sha1"] != vocab_hash(tokenizer):
        raise CheckpointError(f"{ckpt}: the '{name}' vocabulary rebuilt now differs from the one the model was "
                              f"trained with ({V} tokens, other names or order: a tokenizer library release that "
                              f"changed it, or an edited meta.json)")


def _read_train_state(ckpt: Path) -> dict:
    f = ckpt / TRAIN_STATE
    if not f.exists():
        raise CheckpointError(f"{ckpt}: {TRAIN_STATE} is missing, so training cannot resume from it")
    try:
        state = torch.load(f, weights_only=False, map_location="cpu")
    except Exception as e:  # a damaged pickle/zip raises anything (UnpicklingError, RuntimeError, EOFError...)
        why = str(e).splitlines()[0][:120] if str(e) else type(e).__name__
        raise CheckpointError(f"{f}: damaged, cannot be read ({why})") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{f}: holds a {type(state).__name__}, not a training state")
    return state


def load_critic(checkpoint, device="cpu", *, name: str | None = None):
    """``(critic, meta["critic"])`` of a checkpoint made by ``train --mode critic``
    (:mod:`tunegan.training.critic`); one-line :class:`CheckpointError` for one without."""
    ck = load_checkpoint(checkpoint, with_discriminator=True, device=device)
    if ck.discriminator is None or not ck.meta.get("critic"):
        raise CheckpointError(f"{name or ck.path}: no trained critic; make one with 'tunegan train --mode critic "
                              f"--init-from {name or checkpoint or 'default'} -d CACHE -o RUN', then generate with "
                              f"--checkpoint RUN")
    return ck.discriminator, ck.meta["critic"]


class ModelCache:
    """Loaded checkpoints by resolved path, for a process that generates many times (the studio,
    an evaluation). Pass it where it is needed; nothing is cached at module level."""

    def __init__(self, device: str | torch.device | None = "auto"):
        from .device import resolve_device

        self.device = resolve_device(device)
        self._models: dict[str, Checkpoint] = {}
        self._critics: dict[str, tuple] = {}

    def get(self, checkpoint: str | os.PathLike | None = None) -> Checkpoint:
        key = str(resolve_checkpoint(checkpoint).resolve())
        if key not in self._models:
            self._models[key] = load_checkpoint(key, with_discriminator=False, device=self.device)
        return self._models[key]

    def critic(self, checkpoint: str | os.PathLike | None = None) -> tuple:
        """``(critic network, meta["critic"])`` of a checkpoint (see :mod:`tunegan.training.critic`)."""
        key = str(resolve_checkpoint(checkpoint).resolve())
        if key not in self._critics:
            self._critics[key] = load_critic(key, device=self.device, name=str(checkpoint or "default"))
        return self._critics[key]

    def clear(self) -> None:
        self._models.clear()
        self._critics.clear()


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
    meta = read_meta(src)
    meta.update(notes or {})
    meta.setdefault("exported_from", str(src))  # a re-export keeps the run it came from
    (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
    if dst.exists():
        shutil.rmtree(dst)
    os.replace(tmp, dst)
    return dst
