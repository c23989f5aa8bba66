"""LSTM generator: Embedding(V -> E) -> LSTM(H, full sequence out) -> Linear(H -> V).

``forward`` returns logits; the softmax of the published design is applied by the loss
(cross-entropy), by the sampler, and by :meth:`LSTMGenerator.probs`.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..config import GeneratorConfig

State = tuple[torch.Tensor, torch.Tensor]


class LSTMGenerator(nn.Module):
    def __init__(self, config: GeneratorConfig):
        super().__init__()
        self.config = config
        c = config
        self.embed = nn.Embedding(c.vocab_size, c.embed_dim)
        self.lstm = nn.LSTM(c.embed_dim, c.hidden_size, num_layers=c.num_layers, batch_first=True,
                            dropout=c.dropout if c.num_layers > 1 else 0.0)
        self.drop = nn.Dropout(c.dropout)
        self.head = nn.Linear(c.hidden_size, c.vocab_size)
        if c.num_conditions:
            # keyword embeddings (bag of keywords) set the initial LSTM state and bias every input step
            self.cond_embed = nn.EmbeddingBag(c.num_conditions + 1, c.embed_dim, mode="sum", padding_idx=0)
            self.cond_to_state = nn.Linear(c.embed_dim, 2 * c.num_layers * c.hidden_size)

    def initial_state(self, cond: torch.Tensor | None, batch: int) -> State | None:
        """``cond``: int64 ``(batch, n_keywords)`` keyword ids (0 = none) -> LSTM ``(h, c)``, or None."""
        if cond is None or not self.config.num_conditions:
            return None
        e = self.cond_embed(cond)
        s = torch.tanh(self.cond_to_state(e)).view(batch, 2, self.config.num_layers, self.config.hidden_size)
        return s[:, 0].transpose(0, 1).contiguous(), s[:, 1].transpose(0, 1).contiguous()

    def forward(self, tokens: torch.Tensor, state: State | None = None, cond: torch.Tensor | None = None):
        """tokens: int64 ``(batch, time)`` -> logits ``(batch, time, vocab)``, new LSTM state."""
        return self._run(self.embed(tokens), state, cond)

    def forward_soft(self, onehots: torch.Tensor, state: State | None = None, cond: torch.Tensor | None = None):
        """Same as :meth:`forward` for (relaxed) one-hot inputs ``(batch, time, vocab)``: lets
        gradients flow through sampled tokens (straight-through Gumbel-softmax)."""
        return self._run(onehots @ self.embed.weight, state, cond)

    def _run(self, x: torch.Tensor, state: State | None, cond: torch.Tensor | None):
        if self.config.num_conditions and cond is None:
            # "no keywords" is all-zero ids, exactly as keyword dropout presents it in training
            cond = torch.zeros(x.shape[0], 1, dtype=torch.long, device=x.device)
        if cond is not None and self.config.num_conditions:
            x = x + self.cond_embed(cond).unsqueeze(1)
            if state is None:
                state = self.initial_state(cond, x.shape[0])
        out, state = self.lstm(x, state)
        return self.head(self.drop(out)), state

    def step(self, tokens: torch.Tensor, state: State | None, cond: torch.Tensor | None = None, *,
             cond_emb: torch.Tensor | None = None, weights: list | None = None):
        """One token per sequence, for sampling: ``tokens`` int64 ``(batch,)`` -> logits
        ``(batch, vocab)``, new state. Same result as :meth:`forward` on a length-1 sequence, but
        calls the LSTM cell directly, which avoids most of ``nn.LSTM``'s per-call overhead.
        A sampler may pass ``cond_emb`` (``self.cond_embed(cond)``) and ``weights``
        (``self.cell_weights()``) computed once instead of at every step."""
        c = self.config
        x = F.embedding(tokens, self.embed.weight)
        if c.num_conditions:
            if cond is None:
                cond = torch.zeros(x.shape[0], 1, dtype=torch.long, device=x.device)
            x = x + (cond_emb if cond_emb is not None else self.cond_embed(cond))
            if state is None:
                state = self.initial_state(cond, x.shape[0])
        if state is None:
            z = x.new_zeros(c.num_layers, x.shape[0], c.hidden_size)
            state = (z, z)
        weights = weights or self.cell_weights()
        if c.num_layers == 1:
            h, cell = torch.lstm_cell(x, (state[0][0], state[1][0]), *weights[0])
            return F.linear(h, self.head.weight, self.head.bias), (h.unsqueeze(0), cell.unsqueeze(0))
        hs, cs = [], []
        for layer in range(c.num_layers):
            h, cell = torch.lstm_cell(x, (state[0][layer], state[1][layer]), *weights[layer])
            hs.append(h)
            cs.append(cell)
            x = h
        return F.linear(x, self.head.weight, self.head.bias), (torch.stack(hs), torch.stack(cs))

    def cell_weights(self) -> list[tuple[torch.Tensor, ...]]:
        """Per layer: (weight_ih, weight_hh, bias_ih, bias_hh) of the LSTM, for :meth:`step`."""
        p = dict(self.lstm.named_parameters())
        return [tuple(p[f"{k}_l{layer}"] for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
                for layer in range(self.config.num_layers)]

    def probs(self, tokens: torch.Tensor) -> torch.Tensor:
        """Softmax over the vocabulary, ``(batch, time, vocab)`` — the paper's output layer."""
        return F.softmax(self.forward(tokens)[0], dim=-1)

    @torch.no_grad()
    def load_widened(self, old: dict[str, torch.Tensor]) -> None:
        """Fill this generator from the state dict of a narrower one (fewer LSTM units, the same
        vocabulary, embedding and layers) so that it computes the same function: each old unit keeps
        its weights, and the new units start silent. They take input like any unit (their own
        weights keep this module's initialisation) but no old unit, later layer or the output layer
        reads them yet (those weights are 0), and their initial state is 0. Training then gives them
        a part to play. Keyword embeddings (``cond_embed``) are left to the caller, who matches them
        by name."""
        c, L = self.config, self.config.num_layers
        h_old = old["lstm.weight_hh_l0"].shape[1]
        if h_old > c.hidden_size:
            raise ValueError(f"cannot widen {h_old} LSTM units to {c.hidden_size}")
        H, h = c.hidden_size, h_old
        rows = torch.cat([torch.arange(k * H, k * H + h) for k in range(4)])  # old units' rows in each gate block
        for layer in range(L):
            for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                name = f"{kind}_l{layer}"
                new, src = getattr(self.lstm, name), old[f"lstm.{name}"]
                if kind.startswith("bias"):
                    new[rows] = src
                    continue
                cols = src.shape[1]  # the embedding (layer 0's input) or the old units of the layer below
                reads_units = kind == "weight_hh" or layer > 0
                if reads_units:
                    new[rows] = 0.0  # old units read no new unit
                new[rows, :cols] = src
        self.head.weight.zero_()
        self.head.weight[:, :h] = old["head.weight"]
        self.head.bias.copy_(old["head.bias"])
        self.embed.weight.copy_(old["embed.weight"])
        if c.num_conditions and "cond_to_state.weight" in old:
            w = self.cond_to_state.weight.view(2, L, H, -1)
            b = self.cond_to_state.bias.view(2, L, H)
            w.zero_()
            b.zero_()
            w[:, :, :h] = old["cond_to_state.weight"].view(2, L, h, -1)
            b[:, :, :h] = old["cond_to_state.bias"].view(2, L, h)

    @staticmethod
    def expected_num_params(c: GeneratorConfig) -> int:
        """Parameter count by formula (unconditioned): embedding + LSTM layers + dense head.

        LSTM layer l with input width I: 4H(I + H) weights + 8H biases (PyTorch keeps two bias vectors).
        """
        V, E, H, L = c.vocab_size, c.embed_dim, c.hidden_size, c.num_layers
        lstm = sum(4 * H * ((E if l == 0 else H) + H) + 8 * H for l in range(L))
        return V * E + lstm + H * V + V
