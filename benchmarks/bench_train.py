"""Training throughput: ``Trainer.mle_step`` against a bare Embedding + LSTM + Linear loop of the same size.

    python benchmarks/bench_train.py [--rounds 5] [--threads 1] [--json benchmarks/results/train.json]
    python benchmarks/bench_train.py --quick

Cases (the trainer and the bare loop get the same batches of random tokens, the same shapes and
Adam; the bare loop has no gradient clipping and no padding mask, which is the overhead measured):

* ``paper``: vocabulary 89 (pitch), embedding 128, LSTM 256, batch 64 x 64 tokens. Target:
  trainer tokens/s >= 0.8 x the bare loop's.
* ``remi-512``: the REMI vocabulary, same widths, batch 16 x 512 tokens (the "Music with rhythm"
  issue: training throughput at crop length 512 as a ratio to the bare loop). Target >= 0.8.
* ``gan`` / ``paper`` steps of the trainer relative to its ``mle`` step at the paper size (batch
  64 x 64; gan rolls out ``adv_len`` = 48 tokens after a 16-token prefix). Reported, no target.

Each round times ``--steps`` steps of every variant back to back (order alternating), after
warm-up; the ratio is the median of the per-round ratios, so load from other jobs cancels. Process
CPU time is recorded too: with ``--threads 1`` on a shared machine it is the steadier measure
(with more threads than free cores, OpenMP spin-waiting makes wall times erratic).
The trainer needs a token cache: a tiny one is prepared from a few MAESTRO files in a temp dir.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from common import report_targets, save_json  # benchmarks/ is on sys.path when a script runs
import torch.nn as nn
import torch.nn.functional as F

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"  # /work/shared/data next to the repo


class BareLSTM(nn.Module):
    def __init__(self, vocab: int, embed: int, hidden: int):
        super().__init__()
        self.embed, self.lstm, self.head = nn.Embedding(vocab, embed), nn.LSTM(embed, hidden, batch_first=True), nn.Linear(hidden, vocab)

    def forward(self, x):
        return self.head(self.lstm(self.embed(x))[0])


def bare_step_fn(vocab: int, embed: int, hidden: int, lr: float = 1e-3):
    torch.manual_seed(0)
    model = BareLSTM(vocab, embed, hidden)
    opt = torch.optim.Adam(model.parameters(), lr=lr)

    def step(x, y):
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x).reshape(-1, vocab), y.reshape(-1))
        loss.backward()
        opt.step()
        return loss.item()

    return step


def make_trainer(cache: Path, out: Path, seq_len: int, batch: int, threads: int, mode: str = "mle"):
    from tunegan.config import GeneratorConfig, TrainConfig
    from tunegan.data.dataset import TokenCache
    from tunegan.training.trainer import Trainer

    tc = TokenCache(cache)
    cfg = TrainConfig(mode=mode, epochs=2, pretrain_epochs=1, batch_size=batch, seq_len=seq_len, threads=threads)
    gcfg = GeneratorConfig(vocab_size=tc.tokenizer.vocab_size, embed_dim=128, hidden_size=256)
    return Trainer(cfg, tc, out, generator_config=gcfg, quiet=True)


def batches(vocab: int, batch: int, seq_len: int, n: int = 4) -> list:
    g = torch.Generator().manual_seed(0)
    out = []
    for _ in range(n):
        w = torch.randint(1, vocab, (batch, seq_len + 1), generator=g)
        out.append((w[:, :-1].contiguous(), w[:, 1:].contiguous()))
    return out


def interleaved(variants: dict, data: list, rounds: int, steps: int, warmup: int = 1) -> dict[str, list[float]]:
    """Seconds per step of each variant, one value per round; the order alternates every round."""
    names = list(variants)
    for n in names:
        for i in range(warmup):
            variants[n](*data[i % len(data)])
    times: dict[str, list[float]] = {n: [] for n in names}
    cpu: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        for n in (names if r % 2 == 0 else names[::-1]):
            t0, c0 = time.perf_counter(), time.process_time()
            for i in range(steps):
                variants[n](*data[i % len(data)])
            times[n].append((time.perf_counter() - t0) / steps)
            cpu[n].append((time.process_time() - c0) / steps)
    return {"wall": times, "cpu": cpu}


def summary(t: dict, ref: str, tokens_per_step: int) -> list[dict]:
    """Per variant: wall ms (median, best), tokens/s, speed relative to ``ref`` as the median of the
    per-round ratios (wall and CPU time) and as the ratio of best times."""
    rows = []
    for n, ts in t["wall"].items():
        med = lambda k: statistics.median(b / a for a, b in zip(t[k][n], t[k][ref]))  # noqa: E731
        rows.append({"variant": n, "median_ms": statistics.median(ts) * 1e3, "best_ms": min(ts) * 1e3,
                     "cpu_median_ms": statistics.median(t["cpu"][n]) * 1e3,
                     "tokens_per_s": tokens_per_step / statistics.median(ts), f"speed_vs_{ref}_median": med("wall"),
                     f"speed_vs_{ref}_best": min(t["wall"][ref]) / min(ts), f"speed_vs_{ref}_cpu": med("cpu")})
    return rows


def print_rows(title: str, rows: list[dict], ref: str) -> None:
    print(f"\n{title}")
    print(f"  {'variant':<14}{'median ms':>11}{'best ms':>10}{'cpu ms':>9}{'tokens/s':>11}"
          f"{'x ' + ref + ': median':>16}{'best':>7}{'cpu':>7}")
    for r in rows:
        print(f"  {r['variant']:<14}{r['median_ms']:>11.1f}{r['best_ms']:>10.1f}{r['cpu_median_ms']:>9.1f}"
              f"{r['tokens_per_s']:>11,.0f}{r[f'speed_vs_{ref}_median']:>16.2f}{r[f'speed_vs_{ref}_best']:>7.2f}"
              f"{r[f'speed_vs_{ref}_cpu']:>7.2f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA, help="folder holding maestro-v3.0.0/")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    ap.add_argument("--steps", type=int, default=4, help="steps per variant per round (paper size; half that for remi-512 and modes)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="torch threads")
    ap.add_argument("--quick", action="store_true", help="3 rounds of 2 steps")
    ap.add_argument("--json", type=Path, help="save the results here")
    args = ap.parse_args(argv)
    if args.quick:
        args.rounds, args.steps = 3, 2
    torch.set_num_threads(args.threads)
    maestro = args.data / "maestro-v3.0.0"
    if not (maestro / "maestro-v3.0.0.csv").is_file():
        print(f"skipped: MAESTRO not found at {maestro} (pass --data)")
        return 0
    from tunegan.data.prepare import prepare
    from tunegan.tokenizers import get_tokenizer

    print(f"torch {torch.__version__}, {args.threads} threads, {os.cpu_count()} cores, {args.rounds} rounds")
    res: dict = {"threads": args.threads, "rounds": args.rounds, "cases": {}}
    checks = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name, tok_name, batch, seq_len, steps in (("paper", "pitch", 64, 64, args.steps),
                                                        ("remi-512", "remi", 16, 512, max(1, args.steps // 2))):
            tok = get_tokenizer(tok_name)
            prepare([f"maestro:{maestro}"], tok, tmp / tok_name, workers=1, labels=False, limit=2)
            trainer = make_trainer(tmp / tok_name, tmp / f"run-{name}", seq_len, batch, args.threads)
            V = tok.vocab_size
            data = batches(V, batch, seq_len)
            times = interleaved({"bare": bare_step_fn(V, 128, 256), "trainer.mle": trainer.mle_step}, data,
                                args.rounds, steps)
            rows = summary(times, "bare", batch * seq_len)
            print_rows(f"{name}: vocab {V}, embed 128, LSTM 256, batch {batch} x {seq_len}, {steps} steps/round",
                       rows, "bare")
            ratio = rows[1]["speed_vs_bare_median"]
            checks.append((f"{name}: trainer.mle / bare tokens/s", ratio, ">= 0.8", ratio >= 0.8))
            res["cases"][name] = {"vocab": V, "batch": batch, "seq_len": seq_len, "steps_per_round": steps,
                                  "rows": rows, "raw_s_per_step": times}
        gan = make_trainer(tmp / "pitch", tmp / "run-gan", 64, 64, args.threads, mode="gan")
        data = batches(89, 64, 64)
        gsteps = max(1, args.steps // 2)
        times = interleaved({"mle": gan.mle_step, "gan": gan.gan_step, "paper": gan.paper_step}, data, args.rounds, gsteps)
        rows = summary(times, "mle", 64 * 64)
        for r in rows:
            r["cost_vs_mle"] = 1 / r["speed_vs_mle_median"]
        print_rows(f"step cost by mode (paper size, batch 64 x 64, {gsteps} steps/round)", rows, "mle")
        print("  " + ", ".join(f"{r['variant']} step = {r['cost_vs_mle']:.2f} x mle step" for r in rows[1:]))
        res["cases"]["modes"] = {"rows": rows, "raw_s_per_step": times}
    report_targets(res, checks, digits=2)
    save_json(res, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
