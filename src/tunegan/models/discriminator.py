"""PatchGAN discriminator over token sequences.

Input ``(batch, time, vocab)`` one-hot (real) or softmax/one-hot samples (generated); a single
``(time, vocab)`` sequence gets a batch dimension. Conv1D with "same" padding + LeakyReLU scores
local patches (with ``dilation`` > 1, each layer looks further apart: patches at several
scales); global average pooling over time averages the patch features (``pooling="mean_std"``
adds each feature's standard deviation over time, so the dense layer also sees how much the
patches vary across the piece: its spread of pitch, of timing, of loudness); a dense layer gives
one logit per sequence. ``forward`` returns the logit (the loss applies the sigmoid stably);
:meth:`prob` returns the published sigmoid output.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from ..config import DiscriminatorConfig


class PatchDiscriminator(nn.Module):
    def __init__(self, config: DiscriminatorConfig):
        super().__init__()
        self.config = config
        c = config
        layers: list[nn.Module] = []
        width = c.vocab_size
        for i in range(c.num_layers):
            layers += [nn.Conv1d(width, c.channels, c.kernel_size, padding="same", dilation=c.dilation ** i),
                       nn.LeakyReLU(c.negative_slope)]
            width = c.channels
        self.conv = nn.Sequential(*layers)
        pooled = c.channels * (2 if c.pooling == "mean_std" else 1)
        self.out = nn.Linear(pooled, 1)
        if c.num_conditions:  # projection discriminator (Miyato & Koyama 2018)
            self.cond_embed = nn.EmbeddingBag(c.num_conditions + 1, pooled, mode="sum", padding_idx=0)

    def _pool(self, h: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        """Patch features ``(batch, channels, time)`` -> ``(batch, pooled)`` over the kept steps
        (``keep``: ``(batch, 1, time)`` of 0/1, None = all)."""
        if keep is None:
            mean = h.mean(dim=2)
            if self.config.pooling == "mean":
                return mean
            var = h.var(dim=2, unbiased=False)
        else:
            n = keep.sum(dim=2)
            mean = (h * keep).sum(dim=2) / n
            if self.config.pooling == "mean":
                return mean
            var = (((h - mean.unsqueeze(2)) ** 2) * keep).sum(dim=2) / n
        return torch.cat([mean, torch.sqrt(var + 1e-6)], dim=1)

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        """x: ``(batch, time, vocab)`` or ``(time, vocab)`` -> logits ``(batch,)``."""
        if x.dim() == 2:
            x = x.unsqueeze(0)
        h = self._pool(self.conv(x.transpose(1, 2)))  # global pooling over time
        logit = self.out(h).squeeze(-1)
        if cond is not None and self.config.num_conditions:
            logit = logit + (self.cond_embed(cond) * h).sum(-1)
        return logit

    def forward_tokens(self, tokens: torch.Tensor, cond: torch.Tensor | None = None, *,
                       lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Token ids ``(batch, time)`` -> logits ``(batch,)``: the same as :meth:`forward` on their
        one-hot vectors, with the first convolution done as a lookup of its weight columns (a
        one-hot input picks one column per tap), which saves most of the work when scoring.
        ``lengths`` (``(batch,)``): row b is only its first ``lengths[b]`` tokens (the rest is
        batch padding, treated as the zero padding each convolution sees past the end), so rows of
        different lengths score in one batch as each would alone."""
        if tokens.dim() == 1:
            tokens = tokens.unsqueeze(0)
        B, T = tokens.shape
        first = self.conv[0]
        C, V, K = first.weight.shape
        keep = None
        if lengths is not None:
            keep = (torch.arange(T, device=tokens.device)[None, :] < lengths.to(tokens.device)[:, None])
            tokens = tokens.masked_fill(~keep, V)
            keep = keep.unsqueeze(1).to(first.weight.dtype)  # (B, 1, T)
        taps = torch.cat([first.weight.permute(2, 1, 0), first.weight.new_zeros(K, 1, C)], dim=1)  # (K, V + 1, C)
        left = (K - 1) // 2
        padded = nn.functional.pad(tokens, (left, K - 1 - left), value=V)  # V: the zero column, as zero padding
        h = (first.bias + sum(taps[k][padded[:, k:k + T]] for k in range(K))).transpose(1, 2)
        for layer in self.conv[1:]:
            h = layer(h)
            if keep is not None and isinstance(layer, nn.LeakyReLU):
                h = h * keep
        h = self._pool(h, keep)
        logit = self.out(h).squeeze(-1)
        if cond is not None and self.config.num_conditions:
            logit = logit + (self.cond_embed(cond) * h).sum(-1)
        return logit

    def prob(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        """Probability that each sequence is real, ``(batch,)`` in [0, 1]."""
        return torch.sigmoid(self.forward(x, cond))
