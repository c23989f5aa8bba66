"""Typed configs, validated on construction, saved in every checkpoint.

A bad value raises :class:`~tunegan.errors.ConfigError` naming the field and the value,
e.g. ``GeneratorConfig.hidden_size must be >= 1 (received 0)``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from .errors import ConfigError


class ConfigBase:
    """Shared by every config: JSON round trip and the one-line validation message."""

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict):
        known = {f.name for f in fields(cls)}
        extra = set(d) - known
        if extra:
            raise ConfigError(f"{cls.__name__}: unknown field(s) {sorted(extra)}")
        return cls(**d)

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    @classmethod
    def parse_overrides(cls, items: dict) -> dict:
        """``{field: value}`` with every value converted to its field's type: strings from the
        command line (``"lr=abc"``) get a one-line :class:`ConfigError` naming field and value;
        booleans are ``true``/``false`` (or 1/0), nothing else; unknown fields are listed
        with the known ones."""
        types = {f.name: str(f.type) for f in fields(cls)}
        out = {}
        for key, value in items.items():
            if key not in types:
                import difflib

                close = difflib.get_close_matches(key, list(types), n=3)
                hint = f"did you mean {', '.join(close)}? " if close else ""
                raise ConfigError(f"{cls.__name__} has no field '{key}'; {hint}known: {', '.join(types)}")
            out[key] = _convert(cls.__name__, key, types[key], value)
        return out

    def _check(self, name: str, ok: bool, expected: str) -> None:
        if not ok:
            raise ConfigError(f"{type(self).__name__}.{name} must be {expected} (received {getattr(self, name)!r})")


_TRUE, _FALSE = {"true", "1"}, {"false", "0"}


def _convert(owner: str, name: str, type_text: str, value):
    """One override value converted to the field type ``type_text`` (an annotation string)."""
    bad = ConfigError
    optional = "None" in type_text
    base = type_text.replace("| None", "").replace("None |", "").strip()
    if value is None or (optional and isinstance(value, str) and value.strip().lower() in ("none", "null", "")):
        if optional:
            return None
        raise bad(f"{owner}.{name} needs a value of type {base} (received none)")
    if not isinstance(value, str):
        text = None
    else:
        text = value.strip()
    try:
        if base == "bool":
            if isinstance(value, bool):
                return value
            low = (text if text is not None else str(value)).lower()
            if low in _TRUE:
                return True
            if low in _FALSE:
                return False
            raise ValueError
        if base == "int":
            if isinstance(value, bool):
                raise ValueError
            if text is None:
                if isinstance(value, float) and not value.is_integer():
                    raise ValueError
                return int(value)
            return int(text)
        if base == "float":
            if isinstance(value, bool):
                raise ValueError
            return float(text if text is not None else value)
        if base == "str":
            return text if text is not None else str(value)
        if base.startswith("tuple"):
            import json

            items = json.loads(text) if text is not None and text.startswith("[") else (
                text.split(",") if text is not None else list(value))
            inner = _first_type_argument(base)
            if inner is None:  # a bare tuple: nested lists become tuples, the config validates the rest
                return _as_tuples(items)
            return tuple(_convert(owner, name, inner, v) for v in items)
    except (ValueError, TypeError):  # json.JSONDecodeError is a ValueError
        pass
    raise bad(f"{owner}.{name} must be {'true or false' if base == 'bool' else 'a' + ('n' if base[0] in 'aeiou' else '') + ' ' + base} (received {value!r})")


def _first_type_argument(type_text: str) -> str | None:
    """``"tuple[float, float]" -> "float"``; ``"tuple[tuple[int, int], ...]" -> "tuple[int, int]"``; None for ``tuple``."""
    if "[" not in type_text:
        return None
    inside, depth = type_text[type_text.index("[") + 1:-1], 0
    for i, ch in enumerate(inside):
        depth += ch == "["
        depth -= ch == "]"
        if ch == "," and depth == 0:
            return inside[:i].strip()
    return inside.strip()


def _as_tuples(x):
    """Lists -> tuples, recursively; a string item that reads as JSON (a number) becomes that value."""
    if isinstance(x, (list, tuple)):
        return tuple(_as_tuples(v) for v in x)
    if isinstance(x, str):
        import json

        try:
            v = json.loads(x.strip())
            return v if isinstance(v, (int, float)) and not isinstance(v, bool) else x.strip()
        except ValueError:
            return x.strip()
    return x


@dataclass(frozen=True)
class GeneratorConfig(ConfigBase):
    """LSTM generator. Paper size: vocab 89, embedding 128, one LSTM layer of 256 units."""

    vocab_size: int = 89      # from the tokenizer (pitch: 88 keys + padding)
    embed_dim: int = 128      # embedding width ("latent_dim" in the paper)
    hidden_size: int = 256    # LSTM units
    num_layers: int = 1       # stacked LSTM layers
    dropout: float = 0.0      # between LSTM layers and before the output layer
    num_conditions: int = 0   # size of the keyword vocabulary for conditioning (0 = unconditioned)

    def __post_init__(self):
        self._check("vocab_size", isinstance(self.vocab_size, int) and self.vocab_size >= 2, "an integer >= 2")
        self._check("embed_dim", isinstance(self.embed_dim, int) and self.embed_dim >= 1, "an integer >= 1")
        self._check("hidden_size", isinstance(self.hidden_size, int) and self.hidden_size >= 1, "an integer >= 1")
        self._check("num_layers", isinstance(self.num_layers, int) and 1 <= self.num_layers <= 8, "an integer within 1 and 8")
        self._check("dropout", 0.0 <= self.dropout < 1.0, "within [0, 1)")
        self._check("num_conditions", isinstance(self.num_conditions, int) and self.num_conditions >= 0, "an integer >= 0")


POOLINGS = ("mean", "mean_std")


@dataclass(frozen=True)
class DiscriminatorConfig(ConfigBase):
    """PatchGAN discriminator: Conv1D ("same" padding) + LeakyReLU, global average pool, dense."""

    vocab_size: int = 89      # input features per step (one-hot or softmax over the vocabulary)
    channels: int = 64        # Conv1D filters
    kernel_size: int = 5      # patch width in tokens
    num_layers: int = 1       # stacked conv layers (the paper: 1)
    negative_slope: float = 0.2  # LeakyReLU slope
    num_conditions: int = 0   # keyword vocabulary for a projection discriminator (0 = unconditioned)
    dilation: int = 1         # layer i looks dilation**i tokens apart: patches at several scales (1 = plain)
    pooling: str = "mean"     # over time: "mean" (the paper's global average) or "mean_std" (mean and spread)

    def __post_init__(self):
        self._check("pooling", self.pooling in POOLINGS, f"one of {', '.join(POOLINGS)}")
        self._check("vocab_size", isinstance(self.vocab_size, int) and self.vocab_size >= 2, "an integer >= 2")
        self._check("dilation", isinstance(self.dilation, int) and 1 <= self.dilation <= 4, "an integer within 1 and 4")
        self._check("channels", isinstance(self.channels, int) and self.channels >= 1, "an integer >= 1")
        self._check("kernel_size", isinstance(self.kernel_size, int) and self.kernel_size >= 1 and self.kernel_size % 2 == 1,
                    "an odd integer >= 1")
        self._check("num_layers", isinstance(self.num_layers, int) and 1 <= self.num_layers <= 8, "an integer within 1 and 8")
        self._check("negative_slope", 0.0 <= self.negative_slope < 1.0, "within [0, 1)")
        self._check("num_conditions", isinstance(self.num_conditions, int) and self.num_conditions >= 0, "an integer >= 0")


MODES = ("paper", "mle", "gan", "critic", "prefer")


@dataclass(frozen=True)
class TrainConfig(ConfigBase):
    """Training run. ``mode``: ``paper`` (the published GAN step), ``mle`` (teacher forcing),
    ``gan`` (MLE pretraining, then Gumbel-softmax adversarial fine-tuning), ``critic`` (a
    discriminator trained post hoc against the frozen generator of ``init_from``:
    :mod:`tunegan.training.critic`)."""

    mode: str = "mle"
    epochs: int = 10                # passes over the data (gan: total, including pretraining)
    pretrain_epochs: int = 5        # gan only: MLE epochs before the adversarial phase
    batch_size: int = 64
    seq_len: int = 64               # tokens per training sequence (the paper: 64)
    crops: int = 0                  # > 0: draw this many random crops per epoch instead of fixed windows
    steps_per_epoch: int = 0        # > 0: stop each epoch after this many steps (quick runs)
    lr: float = 1e-3                # generator Adam learning rate
    d_lr: float = 1e-4              # discriminator Adam learning rate
    betas: tuple[float, float] = (0.9, 0.999)
    grad_clip: float = 1.0          # max gradient norm (0 = off)
    mle_weight: float = 1.0         # gan: weight of the MLE term in the generator loss
    adv_weight: float = 0.1         # gan: weight of the adversarial term
    gumbel_tau: float = 1.0         # gan: Gumbel-softmax temperature
    adv_prefix: int = 16            # gan: real tokens given before the generator samples
    adv_len: int = 48               # gan: tokens the generator samples per adversarial sequence
    d_steps: int = 1                # discriminator steps per generator step
    max_transpose: int = 0          # augmentation: random transposition up to +-N semitones
    time_stretch: float = 0.0       # augmentation: random time stretch +-fraction (performance only)
    velocity_shift: int = 2         # augmentation: all velocity tokens of a crop louder/softer by one random
                                    # shift of up to +-N bins (REMI: 8 velocities a bin, performance: 4; 0 = off;
                                    # tokens without velocities, like pitch, are left as they are)
    val_batches: int = 50           # validation batches for the per-epoch NLL (0 = whole split)
    seed: int = 0
    threads: int = 0                # torch threads (0 = all cores, 1 per rank under torchrun)
    num_workers: int = 0            # DataLoader workers
    log_every: int = 10             # steps between progress updates
    keep_checkpoints: int = 2       # step checkpoints kept besides 'best'
    conditional: bool = False       # learn style/mood keywords from the cache's labels (needs crops > 0)
    keyword_dropout: float = 0.3    # conditional: chance of dropping each keyword of a crop
    uncond_prob: float = 0.2        # conditional: chance of dropping all keywords of a crop
    min_keyword_count: int = 5      # conditional: keywords on fewer train pieces are not learned
    corpus_balance: float = 1.0     # corpus c is sampled in proportion to its tokens ** corpus_balance
    mood_balance: float = 1.0       # within a corpus, mood m is sampled in proportion to its tokens ** mood_balance
                                    # (1 = by size, 0 = every mood equally often)
    crop_moods: bool = False        # conditional: a crop's mood keyword takes its valence (major/minor) from the
                                    # crop's own notes, its arousal from the piece (see conditioning.CropMood)
    init_from: str = ""             # start from this checkpoint's weights (a fresh optimizer): fine-tuning;
                                    # keywords are matched by name, new ones are learned from scratch
    grow_hidden: int = 0            # fine-tuning: widen the generator's LSTM to this many units; the new units
                                    # start silent, so it begins as the same function (0 = keep the size)
    tune_dropout: float = 0.0       # fine-tuning: the generator's dropout before its output layer (0 = keep its own)
    start_share: float = 0.1        # crops: share of crops that begin at a piece's start (its BOS), so the model
                                    # learns how pieces open (metre, tempo) and generation from BOS alone works
    packing: bool = False           # crops: a piece shorter than a crop continues into the next pieces (no padding)
    tbptt_chunks: int = 1           # > 1: crops of tbptt_chunks x seq_len tokens, learned seq_len at a time with
                                    # the LSTM state carried across chunks (truncated backprop; mle and gan)
    device: str = "auto"            # auto (CUDA, then Apple MPS, then CPU) | cpu | cuda | cuda:N | mps;
                                    # under torchrun with CUDA each rank takes cuda:LOCAL_RANK
    amp: bool = False               # CUDA only: mixed precision (bfloat16/float16 autocast) for the forward passes
    attributes: bool = False        # conditional: each crop also gets the mode, density and pace measured on its own
                                    # tokens as keywords (tunegan.attributes; bar-based tokenizers with pitches)
    critic_fakes: int = 512         # critic: fresh samples of the frozen generator each epoch (as many real crops)
    critic_patience: int = 3        # critic: stop after this many epochs without a better held-out accuracy
    critic_primed_share: float = 0.5  # critic: share of samples continuing a real opening (the rest from the style's own)
    critic_val: int = 256           # critic: held-out real crops (validation split) and as many held-out samples
    critic_real_from: str = "opening"  # critic: real windows start within a piece's first seq_len tokens, or "anywhere"
                                       # (an experiment: samples are openings, so their first tokens become a tell)
    prefer_rounds: int = 3          # prefer: rounds of sample -> rank by the critic -> DPO (critic refreshed each round)
    prefer_samples: int = 512       # prefer: fresh samples ranked per round
    prefer_share: float = 0.1       # prefer: top and bottom share of each genre's ranking: chosen and rejected
    prefer_beta: float = 0.1        # prefer: DPO temperature (how far from the reference a preference may pull)
    prefer_epochs: int = 2          # prefer: passes over a round's pairs
    prefer_mle: float = 0.0         # prefer: weight of an MLE term on real training crops beside the DPO loss
    critic_from: str = ""           # critic, prefer: start the critic from this checkpoint's critic (prefer, by
                                    # default: init_from's, if it has one; else a new critic)
    prefer_critic_epochs: int = 6   # prefer: most epochs of each round's critic refresh (critic_patience applies)
    max_cpu_minutes: float = 0.0    # > 0: stop (validate and save) once the process has used this much CPU time:
                                    # runs compared "at equal CPU time" get the same budget on a busy machine

    def __post_init__(self):
        self._check("mode", self.mode in MODES, f"one of {', '.join(MODES)}")
        for name in ("epochs", "batch_size", "seq_len", "d_steps", "log_every", "keep_checkpoints", "tbptt_chunks"):
            self._check(name, isinstance(getattr(self, name), int) and getattr(self, name) >= 1, "an integer >= 1")
        for name in ("pretrain_epochs", "crops", "steps_per_epoch", "max_transpose", "val_batches", "threads",
                     "num_workers", "seed"):
            self._check(name, isinstance(getattr(self, name), int) and getattr(self, name) >= 0, "an integer >= 0")
        self._check("pretrain_epochs", self.mode != "gan" or self.pretrain_epochs < self.epochs,
                    f"< epochs ({self.epochs}) in gan mode")
        for name in ("lr", "d_lr", "gumbel_tau"):
            self._check(name, getattr(self, name) > 0, "> 0")
        for name in ("grad_clip", "mle_weight", "adv_weight"):
            self._check(name, getattr(self, name) >= 0, ">= 0")
        self._check("adv_prefix", self.adv_prefix >= 1, ">= 1")
        self._check("adv_len", self.adv_len >= 2, ">= 2")
        self._check("time_stretch", 0 <= self.time_stretch < 0.5, "within [0, 0.5)")
        self._check("velocity_shift", isinstance(self.velocity_shift, int) and 0 <= self.velocity_shift <= 16,
                    "an integer within 0 and 16 (bins)")
        self._check("keyword_dropout", 0 <= self.keyword_dropout < 1, "within [0, 1)")
        self._check("uncond_prob", 0 <= self.uncond_prob < 1, "within [0, 1)")
        self._check("corpus_balance", 0 <= self.corpus_balance <= 1, "within [0, 1]")
        self._check("mood_balance", 0 <= self.mood_balance <= 1, "within [0, 1]")
        self._check("start_share", 0 <= self.start_share <= 1, "within [0, 1]")
        self._check("crop_moods", not self.crop_moods or self.conditional, "false unless conditional")
        self._check("mood_balance", self.mood_balance == 1 or self.crops > 0, "1 unless crops > 0 (moods belong to pieces)")
        self._check("crops", not self.conditional or self.crops > 0, "> 0 when conditional (keywords belong to pieces)")
        self._check("packing", not self.packing or (self.crops > 0 and not self.conditional),
                    "false unless crops > 0 and conditional is false (a packed crop would mix pieces' keywords)")
        self._check("tbptt_chunks", self.tbptt_chunks == 1 or self.mode in ("mle", "gan"),
                    "1 in paper mode (its step has no next-token loss to carry state for)")
        self._check("max_cpu_minutes", self.max_cpu_minutes >= 0, ">= 0")
        self._check("grow_hidden", isinstance(self.grow_hidden, int) and self.grow_hidden >= 0, "an integer >= 0")
        self._check("grow_hidden", not self.grow_hidden or bool(self.init_from), "0 unless fine-tuning (--init-from)")
        self._check("tune_dropout", 0 <= self.tune_dropout < 1, "within [0, 1)")
        self._check("tune_dropout", not self.tune_dropout or bool(self.init_from), "0 unless fine-tuning (--init-from)")
        for name in ("critic_fakes", "critic_patience", "critic_val"):
            self._check(name, isinstance(getattr(self, name), int) and getattr(self, name) >= 1, "an integer >= 1")
        self._check("critic_primed_share", 0 <= self.critic_primed_share <= 1, "within [0, 1]")
        self._check("critic_real_from", self.critic_real_from in ("opening", "anywhere"), "opening or anywhere")
        self._check("init_from", self.mode not in ("critic", "prefer") or bool(self.init_from),
                    f"the generator to start from in {self.mode} mode (--init-from default, or a run folder)")
        for name in ("prefer_rounds", "prefer_samples", "prefer_epochs", "prefer_critic_epochs"):
            self._check(name, isinstance(getattr(self, name), int) and getattr(self, name) >= 1, "an integer >= 1")
        self._check("prefer_share", 0 < self.prefer_share <= 0.5, "within 0 (excluded) and 0.5")
        self._check("prefer_beta", self.prefer_beta > 0, "> 0")
        self._check("prefer_mle", self.prefer_mle >= 0, ">= 0")
        self._check("attributes", not self.attributes or self.conditional, "false unless conditional")
        self._check("device", isinstance(self.device, str) and self.device.split(":")[0] in ("auto", "cpu", "cuda", "mps"),
                    "auto, cpu, cuda, cuda:N or mps")
        object.__setattr__(self, "betas", tuple(self.betas))
        self._check("betas", len(self.betas) == 2 and all(isinstance(b, (int, float)) and 0 <= b < 1 for b in self.betas),
                    "two numbers within [0, 1), like 0.9,0.999")
