"""The training loop. It does not know which tokenizer it trains on: it reads vocabulary size,
padding and BOS ids from the cache, and the adversarial update from :mod:`.adversarial`.

Modes (``TrainConfig.mode``):

* ``paper``: the published step: the generator maps random token noise to softmax sequences,
  the PatchGAN judges real one-hot vs generated softmax; BCE losses, Adam for both.
* ``mle``: teacher-forced next-token cross-entropy for the generator alone.
* ``gan``: ``pretrain_epochs`` of MLE, then each step: roll the generator out from a real prefix
  with straight-through Gumbel-softmax samples, step the discriminator on real vs sampled one-hot
  sequences, and train the generator on ``mle_weight * CE + adv_weight * BCE(D(fake), 1)``.
"""

from __future__ import annotations

import json
import math
import random
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader

from ..checkpoint import save_checkpoint, weights_hash
from ..config import DiscriminatorConfig, GeneratorConfig, TrainConfig
from ..data.dataset import CropDataset, TokenCache
from ..data.licenses import license_notice
from ..device import autocast
from ..errors import DataError
from .adversarial import gumbel_rollout, paper_fakes
from .setup import TRAIN_STATE_KEYS, RunSetup, init_weights  # noqa: F401  (part of this module's API)
from .distributed import (DistInfo, all_mean, average_gradients, barrier, init_distributed, replica_difference,
                          set_threads)


def sequence_nll(generator: nn.Module, x: torch.Tensor, y: torch.Tensor, pad_id: int, cond=None, state=None):
    """Mean next-token cross-entropy in nats over non-padding targets, and the LSTM state at the end."""
    logits, state = generator(x, state, cond=cond)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), ignore_index=pad_id), state




def detach_state(state):
    """Cut the graph at a chunk border (truncated backprop); the values carry over."""
    return None if state is None else tuple(s.detach() for s in state)


class Trainer(RunSetup):
    """Train a generator (and discriminator) on a token cache, writing checkpoints to ``out_dir``.

    ``extra_meta`` is stored in every checkpoint (e.g. data licence, keyword vocabulary).
    ``piece_weights`` (per train piece) balances corpora when ``crops`` sampling is used.
    """

    def __init__(self, config: TrainConfig, cache: TokenCache | str | Path, out_dir: str | Path, *,
                 generator_config: GeneratorConfig | None = None,
                 discriminator_config: DiscriminatorConfig | None = None,
                 resume: bool = False, extra_meta: dict | None = None,
                 piece_weights: np.ndarray | None = None, cond_fn=None, console=None, quiet: bool = False):
        self.cfg = config
        self.cache = cache if isinstance(cache, TokenCache) else TokenCache(cache)
        self.tok = self.cache.tokenizer
        self.out = Path(out_dir)
        self.dist: DistInfo = init_distributed(config.device)
        self.device = self.dist.device
        self.threads = set_threads(config.threads, self.dist)
        self.quiet = quiet or not self.dist.is_main
        self.console = console
        self.extra_meta = {"data_license": license_notice(self.cache.manifest), **(extra_meta or {})}
        self.cond_fn = cond_fn  # optional: (split, piece_index_batch) -> keyword ids; see conditioning
        train = self.cache.split("train")
        if len(train) == 0:
            raise DataError(f"{self.cache.root}: the train split is empty")
        self.labels = self.cache.piece_labels("train")

        gcfg, dcfg, init_ck = self._network_configs(generator_config, discriminator_config, resume)
        gcfg, dcfg, cond_table = self._keywords(gcfg, dcfg)
        piece_weights = self._balance(train, piece_weights)
        self.step, self.epoch, self.best_val = 0, 0, math.inf
        resume_state = self._find_resume(gcfg, dcfg) if resume else None
        if resume_state is not None:
            gcfg = resume_state.generator.config
            dcfg = resume_state.discriminator.config if resume_state.discriminator is not None else dcfg
        self._build_networks(gcfg, dcfg)
        self.init_report = None
        if resume_state is not None:
            self._restore(resume_state)
        elif init_ck is not None:
            self.init_report = init_weights(self.generator, self.discriminator, init_ck,
                                            (self.extra_meta.get("conditions") or {}).get("keywords", []))
            # what it started from (step and weights), even after that folder is overwritten
            self.extra_meta["lineage"] = {"path": str(init_ck.path), "step": init_ck.meta.get("step"),
                                          "weights_sha256": weights_hash(init_ck.path),
                                          "parent": init_ck.meta.get("lineage")}
        self._datasets(train, piece_weights, cond_table)
        if self.tok.has_bars and self.dist.is_main:  # how each style opens, for generation (tunegan.priors)
            from ..priors import opening_priors

            self.extra_meta["priors"] = opening_priors(self.cache, self.extra_meta.get("conditions"))
        self.log_path = self.out / "log.jsonl"

    # -- state ---------------------------------------------------------------------------------
    @staticmethod
    def _seed_everything(seed: int) -> None:
        random.seed(seed)
        np.random.seed(seed % 2**32)
        torch.manual_seed(seed)

    def _restore(self, ck) -> None:
        self.generator.load_state_dict(ck.generator.state_dict())
        if ck.discriminator is not None:
            self.discriminator.load_state_dict(ck.discriminator.state_dict())
        st = ck.train_state
        self.g_opt.load_state_dict(st["g_opt"])
        self.d_opt.load_state_dict(st["d_opt"])
        self.step, self.epoch, self.best_val = st["step"], st["epoch"], st["best_val"]
        rng = st["rng"][min(self.dist.rank, len(st["rng"]) - 1)]
        torch.set_rng_state(rng["torch"])
        np.random.set_state(rng["numpy"])
        random.setstate(rng["python"])

    def _train_state(self) -> dict:
        return {"g_opt": self.g_opt.state_dict(), "d_opt": self.d_opt.state_dict(), "step": self.step,
                "epoch": self.epoch, "best_val": self.best_val,
                "rng": [{"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}]}

    def _save(self, metrics: dict, best: bool) -> None:
        if not self.dist.is_main:
            return
        meta = {"train_config": self.cfg.to_dict(), "epoch": self.epoch, "metrics": metrics,
                "cache": {"root": str(self.cache.root), "key": self.cache.manifest.get("key"),
                          "sources": self.cache.manifest.get("sources")}, **self.extra_meta}
        save_checkpoint(self.out, step=self.step, generator=self.generator, discriminator=self.discriminator,
                        tokenizer=self.tok, meta=meta, train_state=self._train_state(), best=best,
                        keep=self.cfg.keep_checkpoints)

    def _fit_repeats(self) -> None:
        """How much the music repeats itself (:func:`tunegan.repetition.fit_repeats`), fitted on the
        validation split for the best checkpoint and written into its ``meta.json``, so the
        trained model generates with its piece memory; when validation is too short, the reason is
        written there instead (``repeats_skipped``). Then its harmony guard
        (:func:`tunegan.harmony.fit_guard_and_boost`)."""
        import json

        from ..checkpoint import _atomic_write_text, load_checkpoint, read_meta, resolve_checkpoint
        from ..errors import DataError
        from ..harmony import fit_guard_and_boost
        from ..repetition import fit_repeats

        best = resolve_checkpoint(self.out, "best")
        meta = read_meta(best)
        ck = load_checkpoint(best, with_discriminator=False, device="cpu")
        try:
            model, report = fit_repeats(ck, self.cache)
            meta["repeats"] = model.to_dict() | {"fitted_on": str(self.cache.root), "fit": report}
        except DataError as e:
            meta["repeats_skipped"] = str(e)
        # then the harmony guard (bar-based tokens), and the boost again on the samples it shapes
        ck.meta = meta
        meta |= fit_guard_and_boost(ck, self.cache, self.cache if "repeats" in meta else None)
        _atomic_write_text(best / "meta.json", json.dumps(meta, indent=1))

    def _log(self, record: dict) -> None:
        if self.dist.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
            with open(self.log_path, "a") as f:
                f.write(json.dumps(record) + "\n")

    def _out_of_budget(self) -> bool:
        """Process CPU time past ``max_cpu_minutes`` (the same stop on every rank: rank 0 decides)."""
        if not self.cfg.max_cpu_minutes:
            return False
        over = time.process_time() / 60.0 >= self.cfg.max_cpu_minutes
        return bool(all_mean({"o": float(over)}, self.dist)["o"] > 0) if self.dist.world_size > 1 else over

    # -- steps ---------------------------------------------------------------------------------
    def _clip_step(self, module: nn.Module, opt: torch.optim.Optimizer) -> None:
        average_gradients(module, self.dist)
        if self.cfg.grad_clip:
            nn.utils.clip_grad_norm_(module.parameters(), self.cfg.grad_clip)
        opt.step()

    def _chunks(self, x, y):
        """(x, y) split into ``tbptt_chunks`` consecutive pieces along time."""
        k = self.cfg.tbptt_chunks
        return list(zip(x.chunk(k, dim=1), y.chunk(k, dim=1))) if k > 1 else [(x, y)]

    def mle_step(self, x, y, cond=None) -> dict:
        """Teacher-forced cross-entropy. With ``tbptt_chunks`` > 1: one update per chunk, the LSTM
        state carried (detached) from chunk to chunk, so the model learns from context older than
        the span it backpropagates through."""
        self.generator.train()
        state, total = None, 0.0
        chunks = self._chunks(x, y)
        for xc, yc in chunks:
            self.g_opt.zero_grad(set_to_none=True)
            loss, state = sequence_nll(self.generator, xc, yc, self.tok.pad_id, cond, state)
            loss.backward()
            self._clip_step(self.generator, self.g_opt)
            state = detach_state(state)
            total += loss.item()
        return {"nll": total / len(chunks)}

    def _carried_nll(self, x, y, cond=None):
        """Mean NLL over the chunks of (x, y), the state detached at chunk borders (one backward)."""
        state, losses = None, []
        for xc, yc in self._chunks(x, y):
            loss, state = sequence_nll(self.generator, xc, yc, self.tok.pad_id, cond, state)
            losses.append(loss)
            state = detach_state(state)
        return torch.stack(losses).mean()

    def paper_step(self, x, y, cond=None) -> dict:
        V = self.tok.vocab_size
        self.generator.train()
        real = F.one_hot(x, V).float()
        fake = paper_fakes(self.generator, x, V, cond=cond)
        d = self.adv.discriminator_step(real, fake, cond)
        self.g_opt.zero_grad(set_to_none=True)
        g_loss = self.adv.generator_loss(fake, cond)
        g_loss.backward()
        self._clip_step(self.generator, self.g_opt)
        return {"g_loss": g_loss.item(), **d}

    def gan_step(self, x, y, cond=None) -> dict:
        c, V = self.cfg, self.tok.vocab_size
        P = min(c.adv_prefix, x.shape[1] - 1)
        L = min(c.adv_len, x.shape[1] + 1 - P)
        self.generator.train()
        fake = gumbel_rollout(self.generator, x[:, :P], L, V, tau=c.gumbel_tau, cond=cond, forbid=self.tok.pad_id)
        full = torch.cat([x, y[:, -1:]], dim=1)[:, :P + L]
        real = F.one_hot(full, V).float()
        for _ in range(c.d_steps):
            d = self.adv.discriminator_step(real, fake, cond)
        self.g_opt.zero_grad(set_to_none=True)
        adv = self.adv.generator_loss(fake, cond)
        nll = self._carried_nll(x, y, cond)
        loss = c.adv_weight * adv + c.mle_weight * nll
        loss.backward()
        self._clip_step(self.generator, self.g_opt)
        return {"nll": nll.item(), "g_adv": adv.item(), **d}

    @torch.no_grad()
    def validate(self) -> float:
        """Mean NLL (nats/token) of the generator on validation windows."""
        if self.val_ds is None:
            return float("nan")
        self.generator.eval()
        loader = DataLoader(self.val_ds, batch_size=self.cfg.batch_size, shuffle=False)
        total, count = 0.0, 0
        for i, (x, y) in enumerate(loader):
            if self.cfg.val_batches and i >= self.cfg.val_batches:
                break
            x, y = x.to(self.device), y.to(self.device)
            with autocast(self.device, self.cfg.amp):
                logits, _ = self.generator(x)
            mask = y != self.tok.pad_id
            nll = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="none")
            total += float((nll * mask.reshape(-1)).sum())
            count += int(mask.sum())
        return total / max(count, 1)

    # -- loop ----------------------------------------------------------------------------------
    def fit(self) -> dict:
        """Run the remaining epochs; returns the last metrics (val_nll, best_val, step, seconds)."""
        c = self.cfg
        g = torch.Generator()
        g.manual_seed(c.seed)
        loader = DataLoader(self.train_ds, batch_size=c.batch_size, sampler=self.sampler,
                            num_workers=c.num_workers, drop_last=len(self.train_ds) >= c.batch_size * self.dist.world_size,
                            generator=g)
        steps_per_epoch = len(loader) if not c.steps_per_epoch else min(len(loader), c.steps_per_epoch)
        progress = None if self.quiet else _make_progress(self.console)
        metrics: dict = {}
        t_start = time.perf_counter()
        if isinstance(self.train_ds, CropDataset):
            # what packing saves here: random crops pad only pieces shorter than a crop
            self._log({"start": True, "step": self.step, "crop_tokens": self.train_ds.seq_len,
                       "packing": self.train_ds.pack, "padding_share": round(self.train_ds.padding_share(), 5)})
        if self.init_report is not None and self.step == 0:
            self._log({**self.init_report, "val_nll_at_init": self.validate()})
        if progress:
            progress.start()
            task = progress.add_task("train", total=(c.epochs - self.epoch) * steps_per_epoch, losses="")
        try:
            while self.epoch < c.epochs:
                self.sampler.set_epoch(self.epoch)
                self.train_ds.epoch = self.epoch
                phase = c.mode if not (c.mode == "gan" and self.epoch < c.pretrain_epochs) else "mle"
                step_fn = {"paper": self.paper_step, "mle": self.mle_step, "gan": self.gan_step}[phase]
                sums: dict[str, float] = {}
                n = 0
                t0 = time.perf_counter()
                tokens = 0
                for i, batch in enumerate(loader):
                    if i >= steps_per_epoch or self._out_of_budget():
                        break
                    with autocast(self.device, c.amp):
                        out = step_fn(*(b.to(self.device, non_blocking=True) for b in batch))
                    self.step += 1
                    n += 1
                    tokens += batch[0].numel()
                    for k, v in out.items():
                        sums[k] = sums.get(k, 0.0) + v
                    if self.step % c.log_every == 0 or i == steps_per_epoch - 1:
                        self._log({"step": self.step, "epoch": self.epoch, "phase": phase, **out})
                    if progress:
                        progress.update(task, advance=1, description=f"epoch {self.epoch + 1}/{c.epochs} {phase}",
                                        losses="  ".join(f"{k} {v:.3f}" for k, v in out.items()))
                epoch_means = all_mean({k: v / max(n, 1) for k, v in sums.items()}, self.dist)
                val = all_mean({"v": self.validate()}, self.dist)["v"]
                self.epoch += 1
                best = val < self.best_val or (math.isnan(val) and self.dist.is_main)
                if val < self.best_val:
                    self.best_val = val
                secs = time.perf_counter() - t0
                metrics = {"epoch": self.epoch, "step": self.step, "phase": phase, "val_nll": val,
                           "best_val_nll": self.best_val, "train": epoch_means,
                           "tokens_per_s": tokens * self.dist.world_size / max(secs, 1e-9), "seconds": secs}
                self._log({"epoch_end": self.epoch, **metrics})
                self._save(metrics, best=best)
                barrier(self.dist)
                if self._out_of_budget():
                    self._log({"stopped": "max_cpu_minutes", "cpu_minutes": round(time.process_time() / 60, 2)})
                    break
                if progress:
                    progress.console.print(f"epoch {self.epoch}: val NLL {val:.4f} nats/token  "
                                           + "  ".join(f"{k} {v:.3f}" for k, v in epoch_means.items()))
        finally:
            if progress:
                progress.stop()
        if self.dist.is_main and self.step > 0:
            self._fit_repeats()
        metrics["total_seconds"] = time.perf_counter() - t_start
        if self.dist.world_size > 1:  # data parallelism keeps one network: say so, measured
            self._log({"replica_difference": {"generator": replica_difference(self.generator, self.dist),
                                              "discriminator": replica_difference(self.discriminator, self.dist)}})
        return metrics


def _make_progress(console=None):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TimeRemainingColumn(), TextColumn("{task.fields[losses]}"), console=console)
