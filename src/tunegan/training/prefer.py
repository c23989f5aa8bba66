"""Preference fine-tuning: the critic teaches the generator what it prefers (DPO).

``tunegan train --mode prefer --init-from CHECKPOINT -d CACHE -o RUN`` runs
``prefer_rounds`` rounds of (after NotaGen's CLaMP-DPO, with our critic as the judge):

1. **Refresh the critic** against the generator as it now is (:func:`~.critic.fit_critic`,
   at most ``prefer_critic_epochs`` epochs, learning rate ``d_lr``; it starts from the critic of
   ``critic_from``, else of the starting checkpoint, else a new one of
   :data:`~.critic.CRITIC_SHAPE`).
2. **Sample and rank**: ``prefer_samples`` fresh samples the way users get them (beside a random
   training piece each, asking for its genre; ``critic_primed_share`` of them continuing that
   piece's opening, the rest opening as the genre opens), ``2 * seq_len`` tokens each, scored
   by the critic (:func:`~.critic.score_tokens`).
3. **Pairs**: within each genre, the top ``prefer_share`` are *chosen* and the bottom
   ``prefer_share`` *rejected*. A chosen sample that copies training music more than held-out
   music does (its longest run of notes found in the train split, transposed or not, above the
   95th percentile of validation windows of the same length) is dropped. Chosen and rejected
   of a genre are paired at random.
4. **DPO** (Rafailov et al. 2023) against the round's starting generator as the reference:
   ``-log sigmoid(beta * ((log pi(c) - log ref(c)) - (log pi(r) - log ref(r))))``, with the
   log-likelihoods of the sampled tokens only (not the primer), under the keywords each was
   sampled with; optionally plus ``prefer_mle`` x the next-token loss on real training crops.

The validation NLL (nats/token, on fixed validation windows, no keywords) is measured before
and after every round, so a preference that costs likelihood shows. The saved checkpoint holds
the tuned generator, a critic refreshed once more against it (so ``--candidates`` ranks what it
makes), and ``meta["prefer"]``: every round's pairs, losses, reward margins and NLL.
"""

from __future__ import annotations

import json
import time
from copy import deepcopy
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import CheckpointError, DataError
from .critic import (CRITIC_SHAPE, PRIME_TOKENS, _pieces, check_tokenizer, critic_meta, fit_critic, score_tokens,
                     shipped_meta)

__all__ = ["train_prefer", "dpo_loss", "sequence_logprobs", "preference_samples", "pick_pairs"]


def dpo_loss(pi_chosen: torch.Tensor, pi_rejected: torch.Tensor, ref_chosen: torch.Tensor,
             ref_rejected: torch.Tensor, beta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean DPO loss over pairs of sequence log-likelihoods, and each pair's reward margin
    ``beta * ((pi_c - ref_c) - (pi_r - ref_r))`` (> 0: the policy prefers the chosen one more
    than the reference does)."""
    margin = beta * ((pi_chosen - ref_chosen) - (pi_rejected - ref_rejected))
    return -F.logsigmoid(margin).mean(), margin.detach()


def sequence_logprobs(generator, seqs: list[np.ndarray], starts: list[int], conds: torch.Tensor, pad_id: int,
                      device) -> torch.Tensor:
    """Sum of log p(token) over positions ``starts[i]..`` of each sequence (BOS first), under its
    keywords ``conds[i]``: the likelihood of what was sampled, given its primer. ``(n,)``."""
    T = max(len(s) for s in seqs)
    x = torch.full((len(seqs), T), pad_id, dtype=torch.long)
    for i, s in enumerate(seqs):
        x[i, :len(s)] = torch.as_tensor(s)
    x = x.to(device)
    logits, _ = generator(x[:, :-1], cond=conds.to(device))
    lp = torch.log_softmax(logits.float(), -1).gather(-1, x[:, 1:, None]).squeeze(-1)
    pos = torch.arange(T - 1, device=device)[None, :]
    starts_t = torch.as_tensor(starts, device=device)[:, None]
    ends = torch.as_tensor([len(s) - 1 for s in seqs], device=device)[:, None]
    mask = (pos >= starts_t - 1) & (pos < ends)  # target t + 1 is a sampled token
    return (lp * mask).sum(-1)


def preference_samples(model, pieces: list[np.ndarray], genres: list[str | None], n: int, length: int,
                       primed_share: float, seed: int) -> list[dict]:
    """``n`` fresh samples as users get them (module docstring, step 2): each a dict with ``seq``
    (BOS, primer, new tokens), ``start`` (index of the first new token), ``cond`` (its keyword
    ids) and ``genre``. All are sampled as one batch (:func:`~tunegan.generation.sample_groups`)."""
    from ..conditioning import MAX_KEYWORDS
    from ..generation import (GenerationOptions, build_constraints, for_model, opened_options, plan_opening,
                              prime_tokens, sample_groups)

    rng = np.random.default_rng([seed, 31])
    vocab = model.conditions or {}
    known = {w for w, c in zip(vocab.get("keywords", []), vocab.get("categories", [])) if c == "genre"}
    pick = rng.integers(0, len(pieces), n)
    primed = rng.random(n) < primed_share
    rows = []
    for i, k in enumerate(pick):
        g = genres[k] if genres[k] in known else None
        opts = for_model(model, GenerationOptions(length=length, style=(g,) if g else ()))
        row_seed = int(seed) * 100_003 + i
        if primed[i]:
            prime = np.asarray(pieces[k][:PRIME_TOKENS + 1], np.int64)
        else:
            o = plan_opening(model, opts, row_seed)
            opts = opened_options(model, opts, o)
            prime = prime_tokens(model, tempo=o.tempo, time_signature=o.time_signature)
        rows.append((g, prime, opts, row_seed))
    groups: dict = {}
    for r, (g, prime, opts, _) in enumerate(rows):
        groups.setdefault((len(prime), opts), []).append(r)
    jobs = [(np.stack([rows[r][1] for r in rs]), key[1], [rows[r][3] for r in rs]) for key, rs in groups.items()]
    out: list = [None] * n
    for rs, got in zip(groups.values(), sample_groups(model, jobs)):
        for r, new in zip(rs, got):
            g, prime, opts, _ = rows[r]
            c = build_constraints(model, opts).cond
            cond = torch.zeros(MAX_KEYWORDS, dtype=torch.long) if c is None else c
            out[r] = {"seq": np.concatenate([prime, new]).astype(np.int64), "start": len(prime), "cond": cond,
                      "genre": g}
    return out


def pick_pairs(scores: np.ndarray, genres: list, share: float, rng: np.random.Generator,
               copies=None) -> list[tuple[int, int]]:
    """(chosen, rejected) index pairs: per genre, the top ``share`` of ``scores`` against the
    bottom ``share`` (at least one each when the genre has two samples), chosen ones for which
    ``copies(index)`` is true dropped, paired at random."""
    pairs = []
    for g in dict.fromkeys(genres):
        idx = np.array([i for i, x in enumerate(genres) if x == g])
        if len(idx) < 2:
            continue
        k = max(1, int(round(share * len(idx))))
        order = idx[np.argsort(scores[idx], kind="stable")]
        rejected, chosen = list(order[:k]), [i for i in order[::-1][:k] if copies is None or not copies(int(i))]
        m = min(len(chosen), len(rejected))
        chosen = [chosen[j] for j in rng.permutation(len(chosen))[:m]]
        rejected = [rejected[j] for j in rng.permutation(len(rejected))[:m]]
        pairs += [(int(c), int(r)) for c, r in zip(chosen, rejected)]
    return pairs


def _pitches(tok, tokens: np.ndarray) -> np.ndarray:
    from ..evaluation.novelty import pitch_sequence
    from ..music import extract_notes

    return pitch_sequence(extract_notes(tok.decode(tokens)))


class _Novelty:
    """Copying from training: a sample copies when its longest run of notes found in the train
    split exceeds the 95th percentile of that run for held-out validation music."""

    def __init__(self, cache, tok, val_pieces: list[np.ndarray], length: int, rng: np.random.Generator, say):
        from ..evaluation.suite import matching_statistics, novelty_index

        self.index, _ = novelty_index(cache, "train", log=say)
        self.ms, self.tok = matching_statistics, tok
        runs = [self.run(p[1:length + 1]) for p in (val_pieces[i] for i in rng.integers(0, len(val_pieces), 64))]
        self.limit = float(np.percentile(runs, 95))

    def run(self, tokens: np.ndarray) -> int:
        p = _pitches(self.tok, tokens)
        return int(self.ms(self.index, p).max()) + 1 if len(p) >= 2 else len(p)

    def copies(self, tokens: np.ndarray) -> bool:
        return self.run(tokens) > self.limit


def _val_windows(val: list[np.ndarray], seq_len: int, n: int, seed: int) -> torch.Tensor:
    rng = np.random.default_rng([seed, 41])
    rows = [p[:seq_len + 1] for p in (val[i] for i in rng.integers(0, len(val), n))]
    return torch.from_numpy(np.stack(rows))


@torch.no_grad()
def _val_nll(generator, windows: torch.Tensor, pad_id: int, device) -> float:
    generator.eval()
    x = windows.to(device)
    logits, _ = generator(x[:, :-1])
    y = x[:, 1:]
    nll = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="none")
    mask = (y != pad_id).reshape(-1).float()
    return float((nll * mask).sum() / mask.sum())


def train_prefer(tc, cache, out, *, discriminator: dict | None = None, resume: bool = False, say=print) -> dict:
    """The whole run (module docstring); returns ``{step, rounds, best_val_nll, critic, prefer}``."""
    from ..checkpoint import load_checkpoint, save_checkpoint
    from ..config import DiscriminatorConfig
    from ..data.dataset import CropDataset
    from ..device import resolve_device
    from ..models import PatchDiscriminator
    from .trainer import sequence_nll

    if resume:
        raise CheckpointError("preference fine-tuning starts from its checkpoint each time: leave --resume out")
    torch.set_num_threads(tc.threads or torch.get_num_threads())
    device = resolve_device(tc.device)
    model = load_checkpoint(tc.init_from, device=device)
    check_tokenizer(model, cache)
    tok, V = model.tokenizer, model.tokenizer.vocab_size
    torch.manual_seed(tc.seed)
    critic, info = None, {}
    if tc.critic_from:
        from .critic import load_critic

        critic, info = load_critic(tc.critic_from, device)
    elif model.discriminator is not None and model.meta.get("critic"):
        critic, info = model.discriminator, model.meta["critic"]
    if critic is None:
        shape = {**CRITIC_SHAPE, **(discriminator or {}), "vocab_size": V, "num_conditions": 0}
        critic = PatchDiscriminator(DiscriminatorConfig(**shape)).to(device)
    elif critic.config.vocab_size != V:
        raise CheckpointError(f"{tc.critic_from}: its critic reads {critic.config.vocab_size} tokens, the generator "
                              f"{V}: use a critic of the same tokenizer")
    seq_len = int(info.get("seq_len") or tc.seq_len)
    ctc = replace(tc, lr=tc.d_lr, seq_len=seq_len)  # the critic's own settings
    train, val = _pieces(cache, "train", seq_len), _pieces(cache, "validation", seq_len)
    windows = _val_windows(val[0], seq_len, 64, tc.seed)
    rng = np.random.default_rng([tc.seed, 43])
    novelty = _Novelty(cache, tok, val[0], 2 * seq_len, rng, say)
    say(f"novelty: a chosen sample copies when its longest run found in training exceeds {novelty.limit:.0f} notes "
        f"(95th percentile of validation music)")
    real = None
    if tc.prefer_mle > 0:
        split = cache.split("train")
        real = CropDataset(split, tc.seq_len, n_crops=4096, tokenizer=tok, start_share=0.1, seed=tc.seed)
    policy = model.generator
    opt = torch.optim.Adam(policy.parameters(), lr=tc.lr, betas=tc.betas)
    rounds, t0 = [], time.perf_counter()
    nll0 = _val_nll(policy, windows, tok.pad_id, device)
    say(f"start: validation NLL {nll0:.4f} nats/token")
    for r in range(1, tc.prefer_rounds + 1):
        cbest, chist = fit_critic(model, critic, ctc, train, val, epochs=tc.prefer_critic_epochs,
                                  seed=tc.seed + 1000 * r, say=say)
        samples = preference_samples(model, *train, tc.prefer_samples, 2 * seq_len, tc.critic_primed_share,
                                     tc.seed + 7919 * r)
        scores = score_tokens(critic, seq_len, V, [s["seq"][1:] for s in samples], tok.pad_id)
        genres = [s["genre"] for s in samples]
        dropped: list[int] = []

        def copies(i: int) -> bool:
            if novelty.copies(samples[i]["seq"][1:]):
                dropped.append(i)
                return True
            return False

        pairs = pick_pairs(scores, genres, tc.prefer_share, rng, copies)
        if not pairs:
            raise DataError(f"round {r}: no preference pairs (too few samples per genre): raise prefer_samples")
        ref = deepcopy(policy).eval()
        for p in ref.parameters():
            p.requires_grad_(False)
        seqs = [s["seq"] for s in samples]
        starts = [s["start"] for s in samples]
        conds = torch.stack([s["cond"] for s in samples])
        paired = sorted({i for pair in pairs for i in pair})  # the reference scores only what DPO reads
        ref_lp = torch.zeros(len(seqs))
        with torch.no_grad():
            for lo in range(0, len(paired), 64):
                rows = paired[lo:lo + 64]
                ref_lp[rows] = sequence_logprobs(ref, [seqs[i] for i in rows], [starts[i] for i in rows], conds[rows],
                                                 tok.pad_id, device).cpu()
        losses, margins, half = [], [], max(1, tc.batch_size // 2)
        policy.train()
        for _ in range(tc.prefer_epochs):
            shuffled = [pairs[j] for j in rng.permutation(len(pairs))]
            for lo in range(0, len(shuffled), half):
                chunk = shuffled[lo:lo + half]
                idx = [c for c, _ in chunk] + [rj for _, rj in chunk]
                lp = sequence_logprobs(policy, [seqs[i] for i in idx], [starts[i] for i in idx], conds[idx],
                                       tok.pad_id, device)
                k = len(chunk)
                loss, margin = dpo_loss(lp[:k], lp[k:], ref_lp[idx[:k]].to(device), ref_lp[idx[k:]].to(device),
                                        tc.prefer_beta)
                if real is not None:
                    crops = [real[int(j)][:2] for j in rng.integers(0, len(real), half)]
                    x = torch.stack([torch.as_tensor(a) for a, _ in crops]).to(device)
                    y = torch.stack([torch.as_tensor(b) for _, b in crops]).to(device)
                    mle, _ = sequence_nll(policy, x, y, tok.pad_id)
                    loss = loss + tc.prefer_mle * mle
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if tc.grad_clip:
                    torch.nn.utils.clip_grad_norm_(policy.parameters(), tc.grad_clip)
                opt.step()
                losses.append(float(loss.detach()))
                margins.append(float(margin.mean()))
        nll = _val_nll(policy, windows, tok.pad_id, device)
        row = {"round": r, "critic": {k: v for k, v in cbest.items()}, "critic_epochs": len(chist),
               "pairs": len(pairs), "copied_dropped": len(dropped),
               "score_chosen": float(np.mean([scores[c] for c, _ in pairs])),
               "score_rejected": float(np.mean([scores[rj] for _, rj in pairs])),
               "loss_first": losses[0], "loss_last": float(np.mean(losses[-max(1, len(losses) // 4):])),
               "margin_last": float(np.mean(margins[-max(1, len(margins) // 4):])), "val_nll": nll,
               "seconds": round(time.perf_counter() - t0, 1)}
        rounds.append(row)
        say(f"round {r}: critic held-out accuracy {cbest['accuracy']:.3f}; {len(pairs)} pairs "
            f"({len(dropped)} copying samples dropped); DPO loss {row['loss_first']:.4f} -> {row['loss_last']:.4f}, "
            f"margin {row['margin_last']:+.3f}; validation NLL {nll:.4f}")
        (Path(out)).mkdir(parents=True, exist_ok=True)
        (Path(out) / "prefer_log.json").write_text(json.dumps({"start_val_nll": nll0, "rounds": rounds}, indent=1))
    cbest, chist = fit_critic(model, critic, ctc, train, val, epochs=tc.prefer_critic_epochs,
                              seed=tc.seed + 1000 * (tc.prefer_rounds + 1), say=say)
    meta = shipped_meta(model)
    meta["critic"] = critic_meta(model, cbest, chist, ctc) | {"trained_against": "this checkpoint's tuned generator"}
    meta["prefer"] = {"start_val_nll": nll0, "rounds": rounds, "beta": tc.prefer_beta, "share": tc.prefer_share,
                      "samples": tc.prefer_samples, "reference": "each round's starting generator",
                      "novelty_limit_notes": novelty.limit, "trained_from": str(model.path)}
    step = int(model.meta.get("step") or 0)
    save_checkpoint(out, step=step, generator=policy, discriminator=critic, tokenizer=tok, meta=meta, best=True, keep=1)
    return {"step": step, "rounds": len(rounds), "best_val_nll": rounds[-1]["val_nll"],
            "critic": {k: v for k, v in cbest.items() if k != "epoch"}, "prefer": meta["prefer"]}
