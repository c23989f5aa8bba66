"""How a training run is set up, one role per method: network sizes (or a fine-tuning start),
keywords, corpus balance, resuming, the networks and their optimizers, the datasets.
:class:`~tunegan.training.trainer.Trainer` runs them in its ``__init__``; the loop lives there."""

from __future__ import annotations

import sys
from dataclasses import replace

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DistributedSampler

from ..checkpoint import load_checkpoint, read_pointer, run_checkpoints
from ..config import DiscriminatorConfig, GeneratorConfig
from ..data.dataset import CropDataset, WindowDataset
from ..errors import CheckpointError, ConfigError, DataError
from ..models import LSTMGenerator, PatchDiscriminator
from .adversarial import AdversarialLoss


TRAIN_STATE_KEYS = ("g_opt", "d_opt", "step", "epoch", "best_val", "rng")  # what Trainer._restore reads


def init_weights(generator: nn.Module, discriminator: nn.Module, ck, keywords: list[str]) -> dict:
    """Fine-tuning: copy a checkpoint's weights into freshly built networks of the same shape.

    The keyword embeddings are matched by keyword name, so a model can be fine-tuned on data with
    more (or fewer) keywords than it was trained with: known keywords keep what they learned, new
    ones start from their random initialisation. ``ck`` is a loaded
    :class:`~tunegan.checkpoint.Checkpoint`. Returns what was copied, for the run's log.
    """
    old_kw = list((ck.meta.get("conditions") or {}).get("keywords", []))
    rows = [(i + 1, old_kw.index(w) + 1) for i, w in enumerate(keywords) if w in old_kw]
    copied = []
    for name, net, old in (("generator", generator, ck.generator), ("discriminator", discriminator, ck.discriminator)):
        if old is None:
            continue
        old_state = old.state_dict()
        if name == "generator" and net.config.hidden_size != old.config.hidden_size:
            net.load_widened(old_state)  # grow_hidden: the same function, new units silent
            old_state = {k: v for k, v in net.state_dict().items() if not k.startswith("cond_embed.")} | {
                k: v for k, v in old_state.items() if k.startswith("cond_embed.")}
        new_state = net.state_dict()
        for k, v in new_state.items():
            if k.startswith("cond_embed."):
                if k in old_state and rows:
                    dst, src = zip(*rows)
                    v[list(dst)] = old_state[k][list(src)]
                continue
            if k.startswith("cond_") and k not in old_state:
                continue  # a keyword model fine-tuned from one without keywords: learned from scratch
            if k not in old_state or old_state[k].shape != v.shape:
                got = tuple(old_state[k].shape) if k in old_state else "none"
                raise CheckpointError(f"{ck.path}: {name} weight '{k}' has shape {got}, this run needs "
                                      f"{tuple(v.shape)}; fine-tune with the checkpoint's network sizes")
            v.copy_(old_state[k])
        net.load_state_dict(new_state)
        copied.append(name)
    return {"init_from": str(ck.path), "init_step": ck.meta.get("step"), "networks": copied,
            "keywords_kept": len(rows), "keywords_new": [w for w in keywords if w not in old_kw]}


class RunSetup:
    """The set-up half of :class:`~tunegan.training.trainer.Trainer` (a mixin: it reads ``self.cfg``,
    ``self.cache``, ``self.tok``, ``self.out``, ``self.dist``, ``self.labels``, ``self.extra_meta``)."""

    def _network_configs(self, gcfg, dcfg, resume: bool):
        """Network sizes: as given, or (fine-tuning) those of the checkpoint it starts from."""
        V = self.tok.vocab_size
        gcfg = gcfg or GeneratorConfig(vocab_size=V)
        dcfg = dcfg or DiscriminatorConfig(vocab_size=V)
        init_ck = None
        if self.cfg.init_from and not (resume and run_checkpoints(self.out)):
            init_ck = load_checkpoint(self.cfg.init_from)
            if init_ck.tokenizer.state() != self.tok.state():
                raise CheckpointError(f"{self.cfg.init_from}: its tokenizer '{init_ck.tokenizer.name}' differs from "
                                      f"the cache's '{self.tok.name}'; fine-tune on a cache made with the same one")
            gcfg = replace(init_ck.generator.config, num_conditions=0)
            if self.cfg.grow_hidden:
                if self.cfg.grow_hidden < gcfg.hidden_size:
                    raise ConfigError(f"grow_hidden {self.cfg.grow_hidden} is below {self.cfg.init_from}'s "
                                      f"{gcfg.hidden_size} LSTM units; a network can only be widened")
                gcfg = replace(gcfg, hidden_size=self.cfg.grow_hidden)
            if self.cfg.tune_dropout:
                gcfg = replace(gcfg, dropout=self.cfg.tune_dropout)
            if init_ck.discriminator is not None:
                dcfg = replace(init_ck.discriminator.config, num_conditions=0)
        for name, c in (("generator", gcfg), ("discriminator", dcfg)):
            if c.vocab_size != V:
                raise ConfigError(f"{name} vocab_size {c.vocab_size} does not match the cache's tokenizer "
                                  f"'{self.tok.name}' ({V} tokens)")
        return gcfg, dcfg, init_ck

    def _keywords(self, gcfg, dcfg):
        """Conditional training: the keyword vocabulary of the train pieces and each piece's ids."""
        if not self.cfg.conditional:
            return gcfg, dcfg, None
        from ..conditioning import build_vocabulary, keyword_table

        if self.cfg.attributes:  # measured on crops' tokens: bars and pitches needed
            self.tok.require("bars", "attributes=true")
            self.tok.require("pitches", "attributes=true")
        vocab = build_vocabulary(self.labels, self.cfg.min_keyword_count, attributes=self.cfg.attributes)
        if not vocab["keywords"]:
            raise DataError(f"{self.cache.root}: no keyword is on {self.cfg.min_keyword_count}+ train pieces")
        self.extra_meta["conditions"] = vocab
        n = len(vocab["keywords"])
        return replace(gcfg, num_conditions=n), replace(dcfg, num_conditions=n), keyword_table(self.labels, vocab)

    def _balance(self, train, piece_weights):
        """Per-piece sampling weights that balance corpora (and moods) for random crops."""
        c = self.cfg
        corpora = [lab["corpus"] for lab in self.labels]
        if piece_weights is not None or not c.crops or (len(set(corpora)) <= 1 and c.mood_balance >= 1):
            return piece_weights
        from ..conditioning import corpus_weights, label_shares

        moods = [lab.get("mood") for lab in self.labels] if c.mood_balance < 1 else None
        lengths = np.diff(train.offsets)
        piece_weights, shares = corpus_weights(corpora, lengths, c.corpus_balance, moods=moods,
                                               mood_power=c.mood_balance)
        self.extra_meta["corpus_shares"] = shares  # share of training crops drawn from each corpus
        if moods is not None:
            self.extra_meta["mood_shares"] = label_shares(moods, lengths, piece_weights)
        return piece_weights

    def _find_resume(self, gcfg, dcfg):
        """The checkpoint to resume from, with its training state: the one ``latest`` points at or,
        when that one is missing or damaged, the newest checkpoint of the run that loads (said on the
        console and in ``log.jsonl``). None for a run folder without checkpoints (a new run); a
        one-line CheckpointError when it has checkpoints and none of them loads, so work is never
        silently started over."""
        latest = read_pointer(self.out / "latest")
        found = run_checkpoints(self.out)  # newest first
        if not found:
            return None  # a new run (a 'latest' pointing at nothing has nothing to resume)
        order = ([self.out / latest] if latest else []) + [p for p in found if p.name != latest]
        problems = []
        for path in order:
            try:
                ck = load_checkpoint(path, with_train_state=True)
                missing = [k for k in TRAIN_STATE_KEYS if k not in ck.train_state]
                if missing:
                    raise CheckpointError(f"{path}/train_state.pt: lacks {', '.join(missing)}")
            except CheckpointError as e:
                problems.append(str(e).splitlines()[0])
                continue
            if ck.tokenizer.state() != self.tok.state():
                raise CheckpointError(f"{path}: checkpoint tokenizer differs from the cache's; cannot resume")
            if problems:
                self._resume_fallback(ck, latest, problems)
            return ck
        raise CheckpointError(f"{self.out}: none of its {len(found)} checkpoint(s) can be resumed from "
                              f"({problems[0]}); move the run folder away to start over")

    def _resume_fallback(self, ck, latest: str | None, problems: list[str]) -> None:
        """Say that resuming skipped broken checkpoints: on the console and in ``log.jsonl``."""
        msg = (f"resuming from {ck.path.name} (step {ck.train_state['step']}): 'latest' ({latest or 'no pointer'}) "
               f"cannot be resumed from: {problems[0]}"
               + (f"; {len(problems) - 1} other damaged checkpoint(s) skipped" if len(problems) > 1 else ""))
        if self.dist.is_main and not self.quiet:
            if self.console is not None:
                self.console.print(msg, markup=False, highlight=False)
            else:
                print(msg, file=sys.stderr)
        self.log_path = self.out / "log.jsonl"  # logged before __init__ ends
        self._log({"resume_fallback": {"from": ck.path.name, "latest": latest, "problems": problems}})

    def _build_networks(self, gcfg, dcfg) -> None:
        """The two networks on the run's device (identical initial weights on every rank), their
        optimizers, and the adversarial update."""
        c = self.cfg
        self._seed_everything(c.seed)
        self.generator = LSTMGenerator(gcfg).to(self.device)
        self.discriminator = PatchDiscriminator(dcfg).to(self.device)
        self._seed_everything(c.seed + self.dist.rank)  # then per-rank noise (Gumbel, paper noise)
        self.g_opt = torch.optim.Adam(self.generator.parameters(), lr=c.lr, betas=c.betas)
        self.d_opt = torch.optim.Adam(self.discriminator.parameters(), lr=c.d_lr, betas=c.betas)
        self.adv = AdversarialLoss(self.discriminator, self.d_opt, c.grad_clip, dist=self.dist)

    def _datasets(self, train, piece_weights, cond_table) -> None:
        """Training crops (or windows), the distributed sampler, and validation windows."""
        c = self.cfg
        relabel = None
        if c.crop_moods:
            from ..conditioning import CropMood

            relabel = CropMood(self.extra_meta["conditions"], self.labels, self.tok.token_pitches())
        if c.attributes:
            from ..attributes import CropAttributes, piece_mean_tempos

            relabel = CropAttributes(self.extra_meta["conditions"], self.tok, piece_mean_tempos(train, self.tok),
                                     inner=relabel)
        span = c.seq_len * c.tbptt_chunks  # with truncated backprop an item holds tbptt_chunks chunks
        if c.crops:
            self.train_ds = CropDataset(train, span, n_crops=c.crops, tokenizer=self.tok,
                                        piece_weights=piece_weights, max_transpose=c.max_transpose,
                                        time_stretch=c.time_stretch, seed=c.seed, cond_table=cond_table,
                                        keyword_dropout=c.keyword_dropout, uncond_prob=c.uncond_prob,
                                        pack=c.packing, start_share=c.start_share, relabel=relabel,
                                        velocity_shift=c.velocity_shift)
        else:
            self.train_ds = WindowDataset(train, span, tokenizer=self.tok, max_transpose=c.max_transpose,
                                          velocity_shift=c.velocity_shift, seed=c.seed)
        if len(self.train_ds) < 1:
            raise DataError(f"{self.cache.root}: the train split has fewer than {span + 1} tokens")
        self.sampler = DistributedSampler(self.train_ds, num_replicas=self.dist.world_size, rank=self.dist.rank,
                                          shuffle=True, seed=c.seed, drop_last=False)
        val = self.cache.split("validation")
        # validation windows as long as the context the model learns from (all chunks of a crop)
        self.val_ds = WindowDataset(val, span) if val.n_tokens > span else None
