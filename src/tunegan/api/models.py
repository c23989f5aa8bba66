"""Data and models: :func:`prepare` (MIDI -> token cache), :func:`train`, :func:`export`."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from ..errors import ConfigError


def prepare(sources: list[str], out: str | os.PathLike, *, tokenizer: str = "pitch", tokenizer_options: dict | None = None,
            workers: int | None = None, limit: int | None = None, force: bool = False,
            progress: Callable[[int, int], None] | None = None):
    """Tokenize MIDI sources (``"maestro:PATH"``, ``"pop909:PATH"``, a folder...) into a memmapped
    cache at ``out``, reused when inputs and settings are unchanged. Returns the
    :class:`~tunegan.data.prepare.PrepareReport` (pieces, skipped files and why)."""
    from ..data.prepare import prepare as run_prepare
    from ..tokenizers import TOKENIZERS, get_tokenizer

    if not sources:
        raise ConfigError("give at least one source to prepare")
    if workers is not None and workers < 0:
        raise ConfigError(f"workers must be >= 0 (received {workers})")
    if limit is not None and limit < 1:
        raise ConfigError(f"limit must be >= 1 (received {limit})")
    if tokenizer not in TOKENIZERS:
        raise ConfigError(f"unknown tokenizer '{tokenizer}' (known: {', '.join(sorted(TOKENIZERS))})")
    cls = TOKENIZERS[tokenizer]
    opts = cls.config_cls.parse_overrides(tokenizer_options or {})
    tok = get_tokenizer(tokenizer, **opts)
    if tokenizer == "remi-bpe" and not tok.trained:
        # BPE merges are learned from the same sources as plain REMI (their train split), first
        from ..data.dataset import TokenCache
        from ..tokenizers.remi_bpe import train_bpe

        base_opts = {k: v for k, v in opts.items() if k not in ("bpe_vocab", "bpe_model")}
        base_out = Path(out).with_name(Path(out).name + "-base-remi")
        run_prepare(list(sources), get_tokenizer("remi", **base_opts), base_out, workers=workers or None, force=force,
                    limit=limit, progress=progress)
        tok = train_bpe(TokenCache(base_out), tok.config.bpe_vocab)
    return run_prepare(list(sources), tok, out, workers=workers or None, force=force, limit=limit, progress=progress)


def train(data: str | os.PathLike, out: str | os.PathLike, *, overrides: dict | None = None,
          generator: dict | None = None, discriminator: dict | None = None, resume: bool = False,
          console=None, quiet: bool = False) -> dict:
    """Train on a cache from :func:`prepare`; checkpoints and ``log.jsonl`` go to ``out``.

    overrides: any :class:`~tunegan.config.TrainConfig` field (``mode``, ``epochs``, ``lr``,
    ``device``, ``init_from``...), strings or typed values; ``generator``/``discriminator``: fields
    of their configs. Values are converted to each field's type with a one-line error. Returns the
    last metrics (``step``, ``best_val_nll``...).
    """
    from ..config import DiscriminatorConfig, GeneratorConfig, TrainConfig
    from ..data.dataset import TokenCache
    from ..training.distributed import shutdown_distributed
    from ..training.trainer import Trainer

    tc = TrainConfig(**TrainConfig.parse_overrides(overrides or {}))
    cache = TokenCache(data)
    if tc.mode in ("critic", "prefer"):
        from ..training.critic import train_critic
        from ..training.prefer import train_prefer

        say = (lambda m: None) if quiet else (console.print if console is not None else print)
        run = train_critic if tc.mode == "critic" else train_prefer
        metrics = run(tc, cache, out, discriminator=DiscriminatorConfig.parse_overrides(discriminator or {}),
                      resume=resume, say=say)
        return metrics | {"is_main": True}
    V = cache.tokenizer.vocab_size
    gc = GeneratorConfig(**{"vocab_size": V, **GeneratorConfig.parse_overrides(generator or {})})
    dc = DiscriminatorConfig(**{"vocab_size": V, **DiscriminatorConfig.parse_overrides(discriminator or {})})
    trainer = Trainer(tc, cache, out, generator_config=gc, discriminator_config=dc, resume=resume, console=console,
                      quiet=quiet)
    metrics = trainer.fit()
    shutdown_distributed(trainer.dist)  # on success only: a failed rank's peers are stopped by torchrun
    metrics["is_main"] = trainer.dist.is_main
    return metrics


def export(checkpoint: str | os.PathLike, out: str | os.PathLike, *, command: str | None = None,
           priors_from: str | os.PathLike | None = None, repeats_from: str | os.PathLike | None = None,
           harmony_from: str | os.PathLike | None = None, fit_keys: bool = False, say=None) -> Path:
    """Copy a checkpoint's weights and metadata (no optimizer state) to ``out`` for shipping;
    ``command`` (what trained it) is kept in its ``meta.json``; ``priors_from``: a cache (made with the
    checkpoint's tokenizer) whose train split gives the style priors anew (:mod:`tunegan.priors`);
    ``repeats_from``: a cache whose validation split fits the repetition weights
    (:func:`tunegan.repetition.fit_repeats`); ``harmony_from``: a cache whose train split, beside
    the model's own samples (with the priors and repeats above), fits the harmony guard
    (:func:`tunegan.harmony.fit_guard`), after which the repeats' boost is fitted again on
    samples the guard shapes (what users get); then, with ``harmony_from`` or ``fit_keys``, the key
    weights (:func:`tunegan.priors.fit_keys`) on samples made with all of the above, so that
    samples end in each key as often as the style's pieces do (``say``: a line per style).
    Returns the folder."""
    from ..checkpoint import export_checkpoint, load_checkpoint
    from ..data.dataset import TokenCache
    from ..errors import TokenizerMismatchError

    notes = {"trained_by": command} if command else {}
    ck = (load_checkpoint(checkpoint, with_discriminator=False)
          if priors_from or repeats_from or harmony_from or fit_keys else None)

    def cache_of(path):
        cache = TokenCache(path)
        if cache.tokenizer.state() != ck.tokenizer.state():
            raise TokenizerMismatchError(f"{path} was made with another tokenizer than the checkpoint's")
        return cache

    if priors_from is not None:
        from ..priors import opening_priors

        notes["priors"] = opening_priors(cache_of(priors_from), ck.meta.get("conditions"))
        ck.meta = {**ck.meta, "priors": notes["priors"]}
        if ck.meta.get("keys") and harmony_from is None and not fit_keys:
            # weights fitted against the old key counts do not hold for new ones: refit or drop
            notes["keys"] = {}
            if say:
                say("the key weights were fitted for the old priors and are dropped (--fit-keys fits them anew)")
    if repeats_from is not None:
        from ..repetition import fit_repeats

        repeats_cache = cache_of(repeats_from)
        model, report = fit_repeats(ck, repeats_cache)
        notes["repeats"] = model.to_dict() | {"fitted_on": str(repeats_from), "fit": report}
        ck.meta = {**ck.meta, "repeats": notes["repeats"]}
    if harmony_from is not None:
        from ..harmony import fit_guard_and_boost

        notes |= fit_guard_and_boost(ck, cache_of(harmony_from), repeats_cache if repeats_from is not None else None)
        ck.meta = {**ck.meta, **{k: notes[k] for k in ("harmony", "modes", "repeats") if k in notes}}
    if (harmony_from is not None or fit_keys) and ck.tokenizer.has_bars:
        from .. import priors

        notes["keys"] = priors.fit_keys(ck, say=say)
    dst = export_checkpoint(checkpoint, out, notes=notes)
    load_checkpoint(dst)  # what was written loads
    return dst
