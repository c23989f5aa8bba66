"""Sampling from a generator: the LSTM state is carried from step to step (the prefix is run once).

``temperature`` divides the logits (0 = always the most likely token); ``top_k`` keeps the k most
likely tokens; ``top_p`` keeps the smallest set whose probability reaches p (nucleus sampling).
With keyword conditioning, ``guidance`` mixes conditional and unconditional logits:
``uncond + guidance * (cond - uncond)`` (1 = plain conditional, > 1 = stronger style).
With ``repeats`` (:mod:`tunegan.repetition`), each row's probabilities are mixed with what
followed the same context earlier in that row's piece, after temperature and filtering.
"""

from __future__ import annotations

import torch

from .models import LSTMGenerator


def filter_logits(logits: torch.Tensor, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0) -> torch.Tensor:
    """``(batch, vocab)`` logits -> logits with excluded tokens at ``-inf``, scaled by temperature."""
    if temperature <= 0:
        keep = logits.argmax(-1, keepdim=True)
        return torch.full_like(logits, float("-inf")).scatter(-1, keep, 0.0)
    logits = logits / temperature
    if top_k and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, idx = torch.sort(logits, descending=True, dim=-1)
        cum = torch.softmax(sorted_logits, -1).cumsum(-1)
        drop = cum - torch.softmax(sorted_logits, -1) >= top_p  # keep the first token that crosses p
        sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
        logits = torch.full_like(logits, float("-inf")).scatter(-1, idx, sorted_logits)
    return logits


def _uniforms(n: int, batch: int, rng) -> torch.Tensor:
    """Uniform draws ``(n, batch)`` in [0, 1) on the CPU, one per row and step: from one generator,
    or one per row (a list), so row b of a batch draws exactly what it would draw alone with
    generator b."""
    if isinstance(rng, (list, tuple)):
        return torch.stack([torch.rand(n, generator=g) for g in rng], dim=1)
    return torch.rand(n, batch, generator=rng)


class TokenStream:
    """Feeds ``prime`` (int64 ``(batch, P)``, P >= 1) once, then hands out tokens on demand,
    carrying the LSTM state (and, with guidance, the unconditional state) between calls.
    Runs on the generator's device; random numbers are drawn on the CPU, so a seed gives the
    same music on every device."""

    @torch.no_grad()
    def __init__(self, generator: LSTMGenerator, prime: torch.Tensor, *, cond: torch.Tensor | None = None,
                 guidance: float = 1.0, repeats=None, guard=None, guard_seeds=None):
        """``repeats``: ``(RepeatModel, weights)`` to mix each row's piece memory in
        (:mod:`tunegan.repetition`; weights per matched order, for every row), or None.
        ``guard``: ``(GuardTables, StyleGuard)``, one style's guard for every row (:mod:`tunegan.harmony`),
        or None; ``guard_seeds``: each row's seed, from which a guard with span draws draws the row's span."""
        generator.eval()
        self.device = next(generator.parameters()).device
        prime = prime.to(self.device)
        cond = cond.to(self.device) if cond is not None else None
        self.g, self.cond, self.guidance = generator, cond, guidance
        self.use_guidance = cond is not None and guidance != 1.0
        logits, self.state = generator(prime, cond=cond)
        self.last = logits[:, -1]
        self.prev = prime[:, -1]
        # per-step constants, computed once: LSTM weights and keyword embeddings
        self.weights = generator.cell_weights()
        self.cond_emb = self.u_cond_emb = None
        if generator.config.num_conditions:
            zeros = torch.zeros(prime.shape[0], 1, dtype=torch.long, device=self.device)
            self.cond_emb = generator.cond_embed(cond if cond is not None else zeros)
            self.u_cond_emb = generator.cond_embed(zeros)
        if self.use_guidance:
            u, self.u_state = generator(prime)
            self.u_last = u[:, -1]
        self.memories = self.repeat_weights = self.recalls = None
        if repeats is not None and any(repeats[1]):
            model, weights = repeats[:2]
            self.memories = model.memories(prime.shape[0], self.last.shape[1])
            self.memories.extend(prime.cpu().numpy())
            self.repeat_weights = [tuple(weights)] * prime.shape[0]
        if repeats is not None and len(repeats) > 2 and repeats[2] is not None and repeats[0].recall is not None:
            from .repetition import Recalls

            self.recalls = Recalls(repeats[0].recall, [repeats[2]] * prime.shape[0])
            self.recalls.prime(prime.cpu().numpy())
        self.guards = None
        if guard is not None:
            from .harmony import Guards

            self.guards = Guards.of(*guard, prime.shape[0], seeds=guard_seeds)
            self.guards.prime(prime.cpu().numpy())

    @classmethod
    def merge(cls, streams: list[TokenStream]) -> TokenStream:
        """One stream whose rows are those of ``streams`` (one generator, each primed on its own, so
        primes of different lengths and different keywords share every sampling step after them).
        Row b of the result draws what it would draw in its own stream with the same row generator."""
        s0 = streams[0]
        if len(streams) == 1:
            return s0
        if any(s.g is not s0.g or s.use_guidance != s0.use_guidance or s.guidance != s0.guidance for s in streams):
            raise ValueError("streams merged into one must share a generator and guidance")
        m = cls.__new__(cls)
        m.device, m.g, m.guidance, m.use_guidance, m.weights = s0.device, s0.g, s0.guidance, s0.use_guidance, s0.weights
        m.cond = None  # each row's keywords live on in its keyword embedding
        cat = lambda name: None if getattr(s0, name) is None else torch.cat([getattr(s, name) for s in streams])
        state = lambda name: None if getattr(s0, name, None) is None else tuple(
            torch.cat([getattr(s, name)[k] for s in streams], dim=1) for k in range(2))
        m.last, m.prev, m.cond_emb, m.u_cond_emb = cat("last"), cat("prev"), cat("cond_emb"), cat("u_cond_emb")
        m.state = state("state")
        m.memories = m.repeat_weights = None
        if (first := next((s for s in streams if s.memories is not None), None)) is not None:
            from .repetition import Memories

            zero = (0.0,) * len(first.memories.orders)
            parts, m.repeat_weights = [], []
            for s in streams:  # rows without repeats get an empty memory they never use
                rows = s.last.shape[0]
                parts.append(s.memories if s.memories is not None else
                             Memories(first.memories.orders, (), rows, s.last.shape[1]))
                m.repeat_weights += s.repeat_weights if s.memories is not None else [zero] * rows
            m.memories = Memories.cat(parts)
        m.recalls = None
        if (first := next((s for s in streams if getattr(s, "recalls", None) is not None), None)) is not None:
            from .repetition import Recalls

            m.recalls = Recalls.cat([s.recalls if s.recalls is not None else
                                     Recalls(first.recalls.r, [None] * s.last.shape[0]) for s in streams])
        m.guards = None
        if (first := next((s for s in streams if getattr(s, "guards", None) is not None), None)) is not None:
            from .harmony import Guards

            m.guards = Guards.cat([s.guards if s.guards is not None else Guards(first.guards.t, [None] * s.last.shape[0])
                                   for s in streams])
        if m.use_guidance:
            m.u_last, m.u_state = cat("u_last"), state("u_state")
        return m

    def select(self, rows: list[int]) -> TokenStream:
        """A stream of ``rows`` only (in that order), each carrying on exactly as it would in this
        one: a batch drops the rows that are done, and the rest sample on at their own pace."""
        m = TokenStream.__new__(TokenStream)
        m.__dict__.update(self.__dict__)
        idx = torch.as_tensor(rows, dtype=torch.long, device=self.device)
        for name in ("last", "prev", "cond", "cond_emb", "u_cond_emb", "u_last"):
            if getattr(self, name, None) is not None:
                setattr(m, name, getattr(self, name).index_select(0, idx))
        for name in ("state", "u_state"):
            if getattr(self, name, None) is not None:
                setattr(m, name, tuple(x.index_select(1, idx) for x in getattr(self, name)))
        if self.memories is not None:
            m.memories = self.memories.select(rows)
            m.repeat_weights = [self.repeat_weights[r] for r in rows]
        if self.recalls is not None:
            m.recalls = self.recalls.select(rows)
        if self.guards is not None:
            m.guards = self.guards.select(rows)
        return m

    @torch.no_grad()
    def take(self, steps: int, *, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0,
             forbid: list[int] | None = None, allowed_mask: torch.Tensor | None = None,
             rng: torch.Generator | list[torch.Generator] | None = None,
             force: dict[int, int] | list[dict[int, int]] | None = None, until: int | None = None) -> torch.Tensor:
        """Sample ``steps`` more tokens -> int64 ``(batch, steps)`` (on the CPU).

        forbid:       token ids never sampled (e.g. padding).
        allowed_mask: optional bool ``(vocab,)``, or ``(batch, vocab)`` for one per row; tokens outside
                      it are never sampled (e.g. a key's scale).
        rng:          a CPU generator for the whole batch, or one per row.
        force:        ``{previous id: next id}``: after ``previous`` the next token is ``next`` (e.g. a
                      metre's time-signature token after every bar line); or a list of one per row.
        until:        stop early, once every row has sampled this token (fewer columns are returned).
        """
        B, V = self.last.shape
        dev = self.device
        out = torch.empty(B, steps, dtype=torch.long, device=dev)
        bias = torch.zeros(V)  # 0, or -inf for tokens that may not be sampled
        if forbid:
            bias[list(forbid)] = float("-inf")
        if allowed_mask is not None:
            bias = bias.masked_fill(~allowed_mask.cpu(), float("-inf"))
        bias = bias.to(dev)
        table = None  # force as a (batch, vocab) lookup of the next id (-1: free)
        if force:
            table = torch.full((B, V), -1, dtype=torch.long)
            for b, f in enumerate(force if isinstance(force, (list, tuple)) else [force] * B):
                for prev_id, next_id in (f or {}).items():
                    table[b, prev_id] = next_id
            table = table.to(dev)
            rows = torch.arange(B, device=dev)
        filtering = bool(top_k) or top_p < 1.0
        greedy = temperature <= 0
        scale = 1.0 if greedy or temperature == 1.0 else 1.0 / temperature
        block = 256  # random numbers are drawn for this many steps at once
        may = torch.isfinite(bias).to(self.last.dtype) if self.memories is not None else None
        done = torch.zeros(B, dtype=torch.bool, device=dev) if until is not None else None
        recalls = self.recalls
        if recalls is not None and recalls.rngs is None:  # each row's own seed (a batch's: one per row)
            if isinstance(rng, (list, tuple)):
                recalls.seed([g.initial_seed() for g in rng])
            else:
                base = rng.initial_seed() if rng is not None else 0
                recalls.seed([base + b for b in range(B)])
        for t in range(steps):
            if t % block == 0 and not greedy:
                u = _uniforms(min(block, steps - t), B, rng).to(dev)
            last = self.last
            if self.use_guidance:
                last = self.u_last + self.guidance * (last - self.u_last)
            guard = self.guards.multipliers(V) if self.guards is not None else None
            keep = None
            if guard is not None:
                guard = torch.from_numpy(guard).to(dev)
                keep = [(torch.as_tensor(ids, device=dev), torch.from_numpy(rows).to(dev))
                        for ids, rows in self.guards.kept_mass()] or None
            if self.memories is not None:
                p = self._repeat_mixed(filter_logits(last + bias, temperature, top_k, top_p)
                                       if filtering or greedy else (last * scale if scale != 1.0 else last) + bias,
                                       may, guard, keep)
                if greedy:
                    nxt = p.argmax(-1)
                else:
                    cdf = p.cumsum_(-1)
                    nxt = torch.searchsorted(cdf, u[t % block].unsqueeze(1) * cdf[:, -1:], right=True).squeeze(1)
                    nxt.clamp_(max=V - 1)
            elif greedy:
                z = last + bias
                nxt = (z if guard is None else _guarded(torch.softmax(z, -1), guard, keep)).argmax(-1)
            else:
                # inverse CDF: the first token whose cumulative probability passes a uniform draw
                # (one random number per row and step, whatever the vocabulary)
                z = filter_logits(last + bias, temperature, top_k, top_p) if filtering else \
                    (last * scale if scale != 1.0 else last) + bias
                p = torch.softmax(z, -1)
                cdf = (p if guard is None else _guarded(p, guard, keep)).cumsum_(-1)
                nxt = torch.searchsorted(cdf, u[t % block].unsqueeze(1) * cdf[:, -1:], right=True).squeeze(1)
                nxt.clamp_(max=V - 1)
            if table is not None:
                forced = table[rows, self.prev]
                nxt = torch.where(forced >= 0, forced, nxt)
            if recalls is not None and (replay := recalls.forced()):
                nxt = nxt.clone()
                nxt[torch.tensor(list(replay), device=dev)] = torch.tensor(list(replay.values()), device=dev)
            out[:, t] = nxt
            self._advance(nxt)
            if done is not None:
                done |= nxt == until
                if bool(done.all()):
                    return out[:, :t + 1].cpu()
        return out.cpu()

    @torch.no_grad()
    def feed(self, tokens) -> None:
        """Run given tokens (int64 ``(batch, n)``, or a sequence of ids for a batch of one) through
        the model as if they had been sampled: the next :meth:`take` continues after them."""
        tokens = torch.as_tensor(tokens, dtype=torch.long).to(self.device)
        if tokens.dim() == 1:
            tokens = tokens.unsqueeze(0)
        for t in range(tokens.shape[1]):
            self._advance(tokens[:, t])

    def _repeat_mixed(self, z: torch.Tensor, may: torch.Tensor, guard: torch.Tensor | None = None,
                      keep: tuple | None = None) -> torch.Tensor:
        """Probabilities ``softmax(z)`` mixed row by row with the row's piece memory; tokens outside
        ``may`` (1/0, ``(vocab,)`` or ``(batch, vocab)``) stay impossible (the cache may propose them:
        they are dropped, and the inverse CDF renormalises the rest). ``guard`` (factors ``(batch,
        vocab)``) applies to the network's probabilities, before the mixing: what the piece itself
        played before may come back as it was."""
        from .repetition import mix_probs

        p = torch.softmax(z, -1)
        if guard is not None:
            p = _guarded(p, guard, keep)
            p = p / p.sum(-1, keepdim=True)
        return mix_probs(p, self.memories.proposals(), self.repeat_weights).mul_(may)

    def _advance(self, nxt: torch.Tensor) -> None:
        """One step of the LSTM (and of the unconditional one, with guidance) on tokens ``(batch,)``."""
        if self.memories is not None or self.recalls is not None or self.guards is not None:
            arr = nxt.cpu().numpy()
            if self.memories is not None:
                self.memories.push(arr)
            if self.recalls is not None:
                self.recalls.push(arr)
            if self.guards is not None:
                self.guards.push(arr)
        self.prev = nxt
        self.last, self.state = self.g.step(nxt, self.state, cond=self.cond, cond_emb=self.cond_emb,
                                            weights=self.weights)
        if self.use_guidance:
            self.u_last, self.u_state = self.g.step(nxt, self.u_state, cond_emb=self.u_cond_emb,
                                                    weights=self.weights)


def _guarded(p: torch.Tensor, guard: torch.Tensor, keep: list | None = None) -> torch.Tensor:
    """Probabilities ``p`` times the guard's factors; a row the guard would leave with nothing
    keeps its probabilities as they were (the inverse CDF renormalises either way). ``keep``
    (groups of ``(token ids, bool rows)``, :meth:`tunegan.harmony.Guards.kept_mass`): in those
    rows the group's tokens are scaled back to the mass ``p`` gave the group, so the guard moves
    probability within the group (a group it would leave with nothing keeps ``p``)."""
    q = p * guard
    for ids, rows in keep or ():
        before, after = p[:, ids].sum(-1, keepdim=True), q[:, ids].sum(-1, keepdim=True)
        scale = torch.where(rows.unsqueeze(1) & (after > 0), before / after.clamp_min(1e-30), torch.ones_like(after))
        back = rows.unsqueeze(1) & (after <= 0)
        q[:, ids] = torch.where(back, p[:, ids], q[:, ids] * scale)
    empty = q.sum(-1, keepdim=True) <= 0
    return torch.where(empty, p, q) if bool(empty.any()) else q


def sample(generator: LSTMGenerator, prime: torch.Tensor, steps: int, *, cond: torch.Tensor | None = None,
           guidance: float = 1.0, **kw) -> torch.Tensor:
    """Continue ``prime`` ``(batch, P)`` by ``steps`` tokens -> ``(batch, steps)``; see :meth:`TokenStream.take`."""
    return TokenStream(generator, prime, cond=cond, guidance=guidance).take(steps, **kw)
