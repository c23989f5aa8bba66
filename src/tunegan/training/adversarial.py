"""The whole adversarial update in one object, kept out of the training loop.

:class:`AdversarialLoss` owns the discriminator and its optimizer. The loop calls
:meth:`~AdversarialLoss.discriminator_step` with real and (detached) generated sequences, then
adds :meth:`~AdversarialLoss.generator_loss` of the (attached) generated sequences to the
generator's objective. Losses are binary cross-entropy on the discriminator's logits:

    d_loss = BCE(D(real), 1) + BCE(D(fake), 0)        g_loss = BCE(D(fake), 1)

The two ways of making "fake" sequences live here too: :func:`paper_fakes` (the published
step: the generator's softmax over random token noise) and :func:`gumbel_rollout` (sampled
autoregressively with a straight-through Gumbel-softmax, so the discriminator sees one-hot
tokens and gradients still reach the generator).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class AdversarialLoss:
    """``dist`` (a :class:`~.distributed.DistInfo`): under ``torchrun`` the discriminator's gradients
    are averaged across ranks before each step, so every rank keeps the same discriminator."""

    def __init__(self, discriminator: nn.Module, optimizer: torch.optim.Optimizer, grad_clip: float = 0.0,
                 dist=None):
        from .distributed import DistInfo

        self.discriminator = discriminator
        self.optimizer = optimizer
        self.grad_clip = grad_clip
        self.dist = dist or DistInfo()

    def _bce(self, logits: torch.Tensor, target: float) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))

    def discriminator_step(self, real: torch.Tensor, fake: torch.Tensor, cond: torch.Tensor | None = None) -> dict:
        """One optimizer step on ``real`` / ``fake`` ``(batch, time, vocab)``; returns floats."""
        self.discriminator.train()
        self.optimizer.zero_grad(set_to_none=True)
        lr, lf = self.discriminator(real, cond), self.discriminator(fake.detach(), cond)
        loss = self._bce(lr, 1.0) + self._bce(lf, 0.0)
        loss.backward()
        from .distributed import average_gradients

        average_gradients(self.discriminator, self.dist)
        if self.grad_clip:
            nn.utils.clip_grad_norm_(self.discriminator.parameters(), self.grad_clip)
        self.optimizer.step()
        acc = 0.5 * ((lr > 0).float().mean() + (lf < 0).float().mean())
        return {"d_loss": loss.item(), "d_acc": acc.item()}

    def generator_loss(self, fake: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        """BCE(D(fake), 1): differentiable w.r.t. the generator (the discriminator is not stepped)."""
        return self._bce(self.discriminator(fake, cond), 1.0)


def paper_fakes(generator: nn.Module, like: torch.Tensor, vocab_size: int, g: torch.Generator | None = None,
                cond: torch.Tensor | None = None):
    """The published step: random token noise shaped like ``like`` -> the generator's softmax
    ``(batch, time, vocab)``."""
    noise = torch.randint(1, vocab_size, like.shape, generator=g, device=like.device)
    logits, _ = generator(noise, cond=cond)
    return F.softmax(logits, dim=-1)


def gumbel_rollout(generator: nn.Module, prefix: torch.Tensor, steps: int, vocab_size: int, tau: float = 1.0,
                   cond: torch.Tensor | None = None, forbid: int | None = None) -> torch.Tensor:
    """Continue ``prefix`` ``(batch, P)`` by ``steps`` sampled tokens.

    Returns ``(batch, P + steps, vocab)``: the prefix one-hot, then straight-through Gumbel-softmax
    samples (one-hot forward, soft gradients backward). ``forbid`` (e.g. padding) is never sampled.
    """
    logits, state = generator(prefix, cond=cond)
    last = logits[:, -1]
    outs = [F.one_hot(prefix, vocab_size).float()]
    for _ in range(steps):
        if forbid is not None:
            last = last.index_fill(1, torch.tensor([forbid], device=last.device), float("-inf"))
        y = F.gumbel_softmax(last, tau=tau, hard=True)
        outs.append(y.unsqueeze(1))
        logits, state = generator.forward_soft(y.unsqueeze(1), state, cond=cond)
        last = logits[:, -1]
    return torch.cat(outs, dim=1)
