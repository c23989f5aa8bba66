"""A critic worth listening to: the PatchGAN discriminator trained post hoc against a frozen generator.

``tunegan train --mode critic --init-from CHECKPOINT -d CACHE -o RUN`` keeps the generator as it
is and trains a discriminator (the paper's design: Conv1D + LeakyReLU over local patches,
averaged, a dense logit; here deeper and dilated by default, :data:`CRITIC_SHAPE`) to tell real
token windows from the generator's. Each epoch draws ``critic_fakes`` fresh samples the way
users get them (:mod:`tunegan.generation`): a ``critic_primed_share`` continue the opening of a
real training piece, the rest open as the piece's genre opens (its keyword, its priors); every
sample asks for the genre of the real piece it was drawn beside, so real and generated music
carry the same mix of styles. Real and generated windows of ``seq_len`` tokens start within the
first ``seq_len`` tokens of their piece (``critic_real_from="anywhere"``: real windows start
anywhere in their piece, as the evaluation's real crops mostly do in long pieces).

Held out: real windows of the validation split against as many fresh samples primed from
validation pieces, each epoch. Training stops once the held-out accuracy has not improved for
``critic_patience`` epochs; the best epoch is saved (the generator unchanged, the critic as the
checkpoint's discriminator) with its held-out accuracy and calibration in ``meta["critic"]``:
expected calibration error over 10 bins and the Brier score. :func:`score_tokens` is how
generation ranks candidates with it.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from ..checkpoint import load_critic  # the critic's loader lives with the other loaders
from ..errors import CheckpointError, DataError

__all__ = ["CRITIC_SHAPE", "train_critic", "load_critic", "score_tokens", "calibration", "generated_windows", "logits_of"]

CRITIC_SHAPE = {"channels": 128, "kernel_size": 5, "num_layers": 3, "dilation": 2}
PRIME_TOKENS = 32  # real tokens a primed sample continues


def _windows(pieces: list[np.ndarray], seq_len: int, rng: np.random.Generator, bos: int, *,
             anywhere: bool = False) -> np.ndarray:
    """One window of ``seq_len`` tokens per piece (BOS left out), starting within its first
    ``seq_len`` (``anywhere``: at any token of the piece)."""
    out = np.empty((len(pieces), seq_len), np.int64)
    for i, p in enumerate(pieces):
        body = p[1:] if len(p) and p[0] == bos else p
        start = int(rng.integers(0, (len(body) - seq_len if anywhere else min(len(body) - seq_len, seq_len)) + 1))
        out[i] = body[start:start + seq_len]
    return out


def _pieces(cache, split: str, seq_len: int) -> tuple[list[np.ndarray], list[str | None]]:
    """Pieces long enough for a window, and their genres."""
    data, labels = cache.split(split), cache.piece_labels(split)
    keep = [i for i in range(len(data)) if len(data.piece(i)) >= seq_len + 1]
    if not keep:
        raise DataError(f"{cache.root}: no {split} piece holds {seq_len} tokens; lower --seq-len")
    return [data.piece(i) for i in keep], [(labels[i] or {}).get("genre") for i in keep]


def generated_windows(model, pieces: list[np.ndarray], genres: list[str | None], n: int, seq_len: int,
                      primed_share: float, seed: int) -> np.ndarray:
    """``n`` windows of fresh samples: beside a random real piece each, asking for its genre; a
    share continuing that piece's first :data:`PRIME_TOKENS` tokens, the rest from the genre's opening."""
    from ..generation import GenerationOptions, sample_pieces, sample_tokens

    rng = np.random.default_rng([seed, 23])
    vocab = model.conditions or {}
    known = {w for w, c in zip(vocab.get("keywords", []), vocab.get("categories", [])) if c == "genre"}
    pick = rng.integers(0, len(pieces), n)
    primed = rng.random(n) < primed_share
    length = 2 * seq_len
    out = np.empty((n, seq_len), np.int64)
    groups: dict = {}
    for i, k in enumerate(pick):
        g = genres[k] if genres[k] in known else None
        groups.setdefault((g, bool(primed[i])), []).append(i)
    for (g, is_primed), rows in groups.items():
        opts = GenerationOptions(length=length, style=(g,) if g else ())
        seeds = [int(seed) * 100_003 + r for r in rows]
        if is_primed:
            primes = np.stack([pieces[pick[r]][:PRIME_TOKENS + 1] for r in rows])
            new = sample_tokens(model, primes, opts, seeds)
            full = [np.concatenate([p[1:], t]) for p, t in zip(primes, new)]
        else:
            full = [np.concatenate([p[1:], t]) for p, t, _ in sample_pieces(model, opts, seeds)]
        for r, f in zip(rows, full):
            f = f[:length] if len(f) >= seq_len else np.concatenate([f, np.full(seq_len - len(f), model.tokenizer.pad_id)])
            start = int(rng.integers(0, min(len(f) - seq_len, seq_len) + 1))
            out[r] = f[start:start + seq_len]
    return out


def _onehot(x: np.ndarray, vocab: int, device) -> torch.Tensor:
    return torch.nn.functional.one_hot(torch.from_numpy(x).to(device), vocab).float()


@torch.no_grad()
def logits_of(critic, windows: np.ndarray, vocab: int, *, batch: int = 64) -> np.ndarray:
    """The critic's logit (> 0: real) for each window ``(n, T)``."""
    critic.eval()
    dev = next(critic.parameters()).device
    return np.concatenate([critic.forward_tokens(torch.from_numpy(windows[i:i + batch]).to(dev)).cpu().numpy()
                           for i in range(0, len(windows), batch)]) if len(windows) else np.zeros(0)


def calibration(p_real: np.ndarray, is_real: np.ndarray, bins: int = 10) -> dict:
    """Accuracy at 0.5, expected calibration error (``bins`` equal-width bins of the probability of
    the predicted class) and Brier score of probabilities ``p_real`` for labels ``is_real``."""
    p_real, is_real = np.asarray(p_real, float), np.asarray(is_real, bool)
    pred = p_real >= 0.5
    conf = np.where(pred, p_real, 1 - p_real)
    correct = pred == is_real
    edges = np.linspace(0.5, 1.0, bins + 1)
    which = np.clip(np.searchsorted(edges, conf, side="right") - 1, 0, bins - 1)
    ece = sum(abs(correct[which == b].mean() - conf[which == b].mean()) * np.mean(which == b)
              for b in range(bins) if np.any(which == b))
    return {"accuracy": float(correct.mean()), "ece": float(ece), "brier": float(np.mean((p_real - is_real) ** 2)),
            "n": int(len(p_real))}


def fit_critic(model, critic, tc, train: tuple, val: tuple, *, epochs: int | None = None, seed: int | None = None,
               say=print) -> tuple[dict, list[dict]]:
    """Train ``critic`` against fresh samples of ``model`` (frozen) until its held-out accuracy
    stops improving (``tc.critic_patience`` epochs); it ends with the weights of its best epoch.
    ``train``/``val``: ``(pieces, genres)`` of :func:`_pieces`. Returns the best epoch's
    calibration (with ``epoch``) and the per-epoch history."""
    from copy import deepcopy

    from .adversarial import AdversarialLoss

    seed = tc.seed if seed is None else seed
    device = next(critic.parameters()).device
    V = model.tokenizer.vocab_size
    opt = torch.optim.Adam(critic.parameters(), lr=tc.lr, betas=tc.betas)
    loss = AdversarialLoss(critic, opt, grad_clip=tc.grad_clip)
    (train_p, train_g), (val_p, val_g) = train, val
    n_val = tc.critic_val
    anywhere = tc.critic_real_from == "anywhere"
    val_real = _windows([val_p[i] for i in np.random.default_rng([seed, 5]).integers(0, len(val_p), n_val)],
                        tc.seq_len, np.random.default_rng([seed, 6]), model.tokenizer.bos_id, anywhere=anywhere)
    best, best_state, history, t0 = None, None, [], time.perf_counter()
    for epoch in range(1, (epochs or tc.epochs) + 1):
        rng = np.random.default_rng([seed, epoch])
        n = tc.critic_fakes
        real = _windows([train_p[i] for i in rng.integers(0, len(train_p), n)], tc.seq_len, rng, model.tokenizer.bos_id,
                        anywhere=anywhere)
        fake = generated_windows(model, train_p, train_g, n, tc.seq_len, tc.critic_primed_share, seed + epoch)
        losses = []
        order = rng.permutation(n)
        critic.train()
        for b in range(0, n, tc.batch_size):
            idx = order[b:b + tc.batch_size]
            losses.append(loss.discriminator_step(_onehot(real[idx], V, device), _onehot(fake[idx], V, device))["d_loss"])
        held = generated_windows(model, val_p, val_g, n_val, tc.seq_len, tc.critic_primed_share, 10**6 + seed + epoch)
        p = 1 / (1 + np.exp(-np.concatenate([logits_of(critic, val_real, V), logits_of(critic, held, V)])))
        cal = calibration(p, np.r_[np.ones(n_val, bool), np.zeros(n_val, bool)])
        row = {"epoch": epoch, "loss": float(np.mean(losses)), **{f"val_{k}": v for k, v in cal.items()},
               "seconds": round(time.perf_counter() - t0, 1)}
        history.append(row)
        say(f"epoch {epoch}: critic loss {row['loss']:.4f}, held-out accuracy {cal['accuracy']:.3f}, "
            f"ECE {cal['ece']:.3f}, Brier {cal['brier']:.3f}")
        if best is None or cal["accuracy"] > best["accuracy"]:
            best, best_state = {**cal, "epoch": epoch}, deepcopy(critic.state_dict())
        elif epoch - best["epoch"] >= tc.critic_patience:
            say(f"held-out accuracy has not improved for {tc.critic_patience} epochs: stopping")
            break
    critic.load_state_dict(best_state)
    return best, history


def critic_meta(model, best: dict, history: list, tc) -> dict:
    """What a checkpoint records of its critic (``meta["critic"]``)."""
    return {**best, "seq_len": tc.seq_len, "trained_against": str(model.path), "fakes_per_epoch": tc.critic_fakes,
            "primed_share": tc.critic_primed_share, "real_from": tc.critic_real_from, "history": history}


def shipped_meta(model) -> dict:
    """A checkpoint's meta without what :func:`~tunegan.checkpoint.save_checkpoint` writes anew."""
    return {k: v for k, v in model.meta.items() if k not in ("format", "step", "tokenizer", "generator_config",
                                                              "discriminator_config", "vocab", "critic")}


def train_critic(tc, cache, out, *, discriminator: dict | None = None, resume: bool = False, say=print) -> dict:
    """The whole run (module docstring); returns ``{step, epochs, critic: {...}}``."""
    from ..checkpoint import load_checkpoint, save_checkpoint
    from ..config import DiscriminatorConfig
    from ..device import resolve_device
    from ..models import PatchDiscriminator

    if resume:
        raise CheckpointError("critic training starts from its generator each time (it takes minutes): leave --resume out")
    torch.set_num_threads(tc.threads or torch.get_num_threads())
    device = resolve_device(tc.device)
    model = load_checkpoint(tc.init_from, with_discriminator=False, device=device)
    check_tokenizer(model, cache)
    shape = {**CRITIC_SHAPE, **(discriminator or {}), "vocab_size": model.tokenizer.vocab_size, "num_conditions": 0}
    torch.manual_seed(tc.seed)
    critic = PatchDiscriminator(DiscriminatorConfig(**shape)).to(device)
    if tc.critic_from:  # go on from another checkpoint's critic (e.g. one of the generator this one was tuned from)
        start, _ = load_critic(tc.critic_from, device)
        if start.config != critic.config:
            raise CheckpointError(f"{tc.critic_from}: its critic's shape differs from this run's; leave --disc out or "
                                  f"train a new critic without critic_from")
        critic.load_state_dict(start.state_dict())
    best, history = fit_critic(model, critic, tc, _pieces(cache, "train", tc.seq_len),
                               _pieces(cache, "validation", tc.seq_len), say=say)
    meta = shipped_meta(model) | {"critic": critic_meta(model, best, history, tc)}
    save_checkpoint(out, step=int(model.meta.get("step") or 0), generator=model.generator, discriminator=critic,
                    tokenizer=model.tokenizer, meta=meta, best=True, keep=1)
    (Path(out) / "critic_log.json").write_text(__import__("json").dumps(history, indent=1))
    return {"step": int(model.meta.get("step") or 0), "epochs": len(history),
            "critic": {k: v for k, v in best.items() if k != "epoch"}, "best_val_nll": float("nan")}


def check_tokenizer(model, cache) -> None:
    if model.tokenizer.state() != cache.tokenizer.state():
        raise DataError(f"{cache.root} was tokenized with '{cache.tokenizer.name}', the generator reads "
                        f"'{model.tokenizer.name}' tokens: prepare the data with the generator's tokenizer")


def score_tokens(critic, seq_len: int, vocab: int, pieces: list[np.ndarray], pad_id: int = 0, *,
                 batch: int = 64) -> np.ndarray:
    """How real the critic finds each piece (tokens, no BOS; a piece shorter than ``seq_len`` is
    padded to it, as in training): its patch features pooled over the whole piece, then the
    dense logit. With mean pooling the logit is linear in that average, so this is the mean logit
    of the ``seq_len`` windows that tile the piece, up to their edges, with each token looked at
    once; with ``mean_std`` pooling the spread is the whole piece's.
    Pieces are scored in batches; a piece scores the same in any batch."""
    critic.eval()
    dev = next(critic.parameters()).device
    pieces = [np.asarray(p, np.int64) for p in pieces]
    pieces = [p if len(p) >= seq_len else np.concatenate([p, np.full(seq_len - len(p), pad_id, np.int64)])
              for p in pieces]
    out = np.zeros(len(pieces))
    order = np.argsort([len(p) for p in pieces], kind="stable")  # similar lengths share a batch
    groups, cur = [], []
    for i in order:  # a batch ends at ``batch`` pieces, or before its padding would pass a quarter of its tokens
        n = len(pieces[i])
        if cur and (len(cur) == batch or n * (len(cur) + 1) > 1.25 * (sum(len(pieces[k]) for k in cur) + n)):
            groups.append(cur)
            cur = []
        cur.append(i)
    if cur:
        groups.append(cur)
    with torch.no_grad():
        for idx in groups:
            idx = np.asarray(idx)
            T = max(len(pieces[i]) for i in idx)
            x = np.full((len(idx), T), pad_id, np.int64)
            for r, i in enumerate(idx):
                x[r, :len(pieces[i])] = pieces[i]
            lengths = torch.tensor([len(pieces[i]) for i in idx])
            out[idx] = critic.forward_tokens(torch.from_numpy(x).to(dev), lengths=lengths).cpu().numpy()
    return out
