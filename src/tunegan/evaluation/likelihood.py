"""Likelihood of held-out music under a generator, beside n-gram baselines, and how well the
model's own discriminator separates real from generated sequences.

Targets are the tokens of non-overlapping windows of ``seq_len`` over the split's token stream
(the same windows the trainer validates on); padding targets are excluded. NLL is in nats per
token; perplexity is ``exp(NLL)``. ``nll_per_note`` is the total NLL of the targets over the notes
they start: the one figure comparable across tokenizers.

A checkpoint with fitted repetition weights (:mod:`tunegan.repetition`) generates with its piece
memory mixed in: its ``generator`` row is that mixture (the cache sees the piece before each
window, as generation does; top-1/top-5 stay the network's), and ``network alone`` is the LSTM.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..checkpoint import Checkpoint
from ..data.dataset import SplitData, WindowDataset
from .baselines import Scores, fit_baselines


@torch.no_grad()
def model_scores(ckpt: Checkpoint, data: SplitData, seq_len: int, *, batch_size: int = 64,
                 max_windows: int | None = None) -> tuple[Scores, np.ndarray, np.ndarray]:
    """-> (scores, targets, stream positions of the targets), padding targets dropped."""
    ds = WindowDataset(data, seq_len)
    n = len(ds) if max_windows is None else min(len(ds), max_windows)
    pad = ckpt.tokenizer.pad_id
    logps, top5s, tgts, poss = [], [], [], []
    g = ckpt.generator.eval()
    dev = next(g.parameters()).device
    for lo in range(0, n, batch_size):
        idx = range(lo, min(n, lo + batch_size))
        x = torch.stack([ds[i][0] for i in idx])
        y = torch.stack([ds[i][1] for i in idx])
        logits, _ = g(x.to(dev))
        lp = F.log_softmax(logits.float(), -1).cpu()
        mask = (y != pad).reshape(-1).numpy()
        true = lp.gather(-1, y.unsqueeze(-1)).reshape(-1).numpy()
        top5 = lp.topk(5, -1).indices.reshape(-1, 5).numpy()
        pos = (np.asarray(list(idx))[:, None] * seq_len + 1 + np.arange(seq_len)[None, :]).reshape(-1)
        logps.append(true[mask]); top5s.append(top5[mask]); tgts.append(y.reshape(-1).numpy()[mask]); poss.append(pos[mask])
    return (Scores(np.concatenate(logps), np.concatenate(top5s)), np.concatenate(tgts), np.concatenate(poss))


def likelihood_table(ckpt: Checkpoint, train: SplitData, valid: SplitData | None, test: SplitData, seq_len: int,
                     *, max_windows: int | None = None) -> dict:
    """Generator and baselines on the same targets: ``{name: {nll, perplexity, top1, top5, tokens}}``."""
    scores, targets, positions = model_scores(ckpt, test, seq_len, max_windows=max_windows)
    notes = ckpt.tokenizer.note_counts()
    out = generator_rows(ckpt, test, scores, targets, positions)
    stream = np.asarray(test.tokens, dtype=np.int64)
    ok = positions >= 2
    V, pad = ckpt.tokenizer.vocab_size, ckpt.tokenizer.pad_id
    valid_stream = np.asarray(valid.tokens, dtype=np.int64) if valid is not None and valid.n_tokens > 3 else None
    for name, model in fit_baselines(np.asarray(train.tokens, dtype=np.int64), valid_stream, V, pad).items():
        out[name] = model.score(stream, positions[ok]).summary(targets[ok], notes)
    return out


def generator_rows(ckpt: Checkpoint, data: SplitData, scores: Scores, targets: np.ndarray,
                   positions: np.ndarray) -> dict:
    """``{"generator": ...}``, and with repetition weights also ``"network alone"`` (module docstring)."""
    from ..repetition import ANY_STYLE, mixed_logp, split_cache_stats

    notes = ckpt.tokenizer.note_counts()
    rm = ckpt.repeats
    if rm is None or not any(rm.weights_for([])):
        return {"generator": scores.summary(targets, notes)}
    _, order, prob = split_cache_stats(rm, data, positions)
    mixed = Scores(mixed_logp(scores.logp, order, prob, rm.weights_for([ANY_STYLE])), scores.top5)
    return {"generator": mixed.summary(targets, notes), "network alone": scores.summary(targets, notes)}


@torch.no_grad()
def discriminator_accuracy(ckpt: Checkpoint, data: SplitData, seq_len: int, *, n: int = 128, seed: int = 0,
                           temperature: float = 1.0) -> dict:
    """The checkpoint's own discriminator on ``n`` real windows vs ``n`` generated sequences
    (sampled from BOS, same length). Reports accuracy, and precision/recall for the "real" class."""
    from ..generation import GenerationOptions, sample_tokens

    if ckpt.discriminator is None:
        return {}
    V = ckpt.tokenizer.vocab_size
    ds = WindowDataset(data, seq_len)
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(ds), size=min(n, len(ds)), replace=False)
    real = torch.stack([ds[int(i)][0] for i in idx])
    prime = np.full((len(idx), 1), ckpt.tokenizer.bos_id, dtype=np.int64)
    fake = torch.from_numpy(np.stack(sample_tokens(ckpt, prime, GenerationOptions(length=seq_len, temperature=temperature),
                                                   seed)))
    d = ckpt.discriminator.eval()
    dev = next(d.parameters()).device
    pr = d.prob(F.one_hot(real, V).float().to(dev)).cpu().numpy()
    pf = d.prob(F.one_hot(fake, V).float().to(dev)).cpu().numpy()
    tp, fn = int((pr > 0.5).sum()), int((pr <= 0.5).sum())
    fp, tn = int((pf > 0.5).sum()), int((pf <= 0.5).sum())
    return {"accuracy": (tp + tn) / (tp + tn + fp + fn), "precision_real": tp / max(tp + fp, 1),
            "recall_real": tp / max(tp + fn, 1), "n_real": len(pr), "n_fake": len(pf),
            "mean_p_real": float(pr.mean()), "mean_p_fake": float(pf.mean())}
