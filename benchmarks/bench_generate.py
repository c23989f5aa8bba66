"""Generation speed of the paper-size generator (vocab 89, embedding 128, LSTM 256).

    python benchmarks/bench_generate.py [--rounds 3] [--threads 1] [--json benchmarks/results/generate.json]
    python benchmarks/bench_generate.py --quick

Measures, interleaved over ``--rounds`` rounds (best and median kept; ``--api-rounds`` for the api):

* 1,000 tokens for one sequence through :class:`tunegan.sampling.TokenStream` (target < 0.5 s),
  next to a bare loop on the same modules (embed -> LSTM -> head -> softmax -> multinomial) that
  shows the floor;
* two candidate fixes for the single-sequence case: TokenStream with oneDNN disabled
  (``torch.backends.mkldnn.flags(enabled=False)``), and the bare loop stepping ``torch.lstm_cell``;
* tokens/s for a batch of 64 sequences of 1,000 tokens;
* ``tunegan.api.generate(bars=32)`` + ``write_midi``, "32 bars generated and written as MIDI in
  under 1 s": pitch tokenizer with random weights saved by ``save_checkpoint``, and REMI with a
  paper-size model trained ``--remi-steps`` MLE steps on a few MAESTRO files (random weights
  hardly ever emit Bar tokens, so the script also reports Bar tokens per 1,000 sampled by random
  weights, and tokens per bar in the data). "cold" clears the api's model cache first (checkpoint
  load included, Python and torch imports not); "warm" reuses the loaded model.

Wall time and the process CPU time are both shown: with ``--threads 1`` CPU time is close to what
an idle core would take, so on a shared machine it separates our cost from other jobs' load.
The model speed does not depend on training, except through how many tokens REMI needs per bar.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from common import report_targets, save_json  # benchmarks/ is on sys.path when a script runs
import torch

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"  # /work/shared/data next to the repo


def timed(fn):
    """(result, wall seconds, process CPU seconds)."""
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


@torch.no_grad()
def bare_sample(g, batch: int, steps: int) -> torch.Tensor:
    """The floor: the generator's own modules, no filtering, masking or guidance."""
    x, state, out = torch.ones(batch, 1, dtype=torch.long), None, []
    for _ in range(steps):
        h, state = g.lstm(g.embed(x), state)
        x = torch.multinomial(torch.softmax(g.head(h[:, -1]), -1), 1)
        out.append(x)
    return torch.cat(out, 1)


@torch.no_grad()
def cell_sample(g, batch: int, steps: int) -> torch.Tensor:
    """Candidate: the bare loop stepping ``torch.lstm_cell`` with the LSTM's own weights (one layer),
    which skips nn.LSTM's per-call oneDNN set-up."""
    L = g.lstm
    x, h, c, out = torch.ones(batch, dtype=torch.long), torch.zeros(batch, L.hidden_size), torch.zeros(batch, L.hidden_size), []
    for _ in range(steps):
        h, c = torch.lstm_cell(g.embed(x), (h, c), L.weight_ih_l0, L.weight_hh_l0, L.bias_ih_l0, L.bias_hh_l0)
        x = torch.multinomial(torch.softmax(g.head(h), -1), 1)[:, 0]
        out.append(x)
    return torch.stack(out, 1)


def stream_sample(g, batch: int, steps: int, onednn: bool = True) -> torch.Tensor:
    import warnings

    from tunegan.sampling import TokenStream

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns about TF32 when the oneDNN flags are touched
        with torch.backends.mkldnn.flags(enabled=onednn):
            return TokenStream(g, torch.zeros(batch, 1, dtype=torch.long)).take(steps, forbid=[0])


def rounds_of(variants: dict, rounds: int) -> dict:
    """Run every variant once per round, order alternating; keep wall and CPU seconds."""
    names, res = list(variants), {n: {"wall": [], "cpu": [], "last": None} for n in variants}
    for r in range(rounds):
        for n in (names if r % 2 == 0 else names[::-1]):
            out, w, c = timed(variants[n])
            res[n]["wall"].append(w)
            res[n]["cpu"].append(c)
            res[n]["last"] = out
    return res


def row(name: str, r: dict, **extra) -> dict:
    return {"variant": name, "best_s": min(r["wall"]), "median_s": statistics.median(r["wall"]),
            "cpu_best_s": min(r["cpu"]), **extra}


def api_variant(ckpt: Path | None, out: Path, cold: bool):
    """cold: the checkpoint is loaded by the call, as in a fresh process; warm: from a ModelCache."""
    from tunegan import api

    models = None if cold else api.ModelCache("cpu")

    def run():
        [g] = api.generate(bars=32, checkpoint=ckpt, seed=0, models=models, device="cpu")
        g.write_midi(out)
        return g
    return run


def train_remi(maestro: Path, tmp: Path, steps: int, threads: int):
    """A paper-size REMI generator after ``steps`` MLE steps on 2 MAESTRO pieces per split."""
    from tunegan.config import GeneratorConfig, TrainConfig
    from tunegan.data.dataset import TokenCache
    from tunegan.data.prepare import prepare
    from tunegan.tokenizers import get_tokenizer
    from tunegan.training.trainer import Trainer

    tok = get_tokenizer("remi")
    prepare([f"maestro:{maestro}"], tok, tmp / "remi-cache", workers=1, labels=False, limit=2)
    tc = TokenCache(tmp / "remi-cache")
    cfg = TrainConfig(epochs=1, steps_per_epoch=steps, crops=16 * steps, seq_len=128, batch_size=16, lr=3e-3,
                      val_batches=1, threads=threads)
    tr = Trainer(cfg, tc, tmp / "remi-run", generator_config=GeneratorConfig(vocab_size=tok.vocab_size), quiet=True)
    tr.fit()
    data = np.asarray(tc.split("train").tokens)
    return tmp / "remi-run", tok, len(data) / max(1, tok.count_bars(data))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA, help="folder holding maestro-v3.0.0/ (for the REMI model)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds of the sampling loops")
    ap.add_argument("--api-rounds", type=int, default=2, help="rounds of the api.generate calls")
    ap.add_argument("--tokens", type=int, default=1000, help="tokens per sequence")
    ap.add_argument("--remi-steps", type=int, default=40, help="MLE steps for the REMI model (0 = skip REMI)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="torch threads")
    ap.add_argument("--quick", action="store_true", help="1 round, 300 tokens, 20 REMI steps")
    ap.add_argument("--json", type=Path, help="save the results here")
    args = ap.parse_args(argv)
    if args.quick:
        args.rounds, args.api_rounds, args.remi_steps, args.tokens = 1, 1, min(args.remi_steps, 20), min(args.tokens, 300)
    torch.set_num_threads(args.threads)
    from tunegan.checkpoint import save_checkpoint
    from tunegan.config import GeneratorConfig
    from tunegan.models import LSTMGenerator
    from tunegan.tokenizers import get_tokenizer

    print(f"torch {torch.__version__}, {args.threads} threads, {os.cpu_count()} cores, {args.rounds} rounds, "
          f"load average {os.getloadavg()[0]:.1f}")
    torch.manual_seed(0)
    g = LSTMGenerator(GeneratorConfig(vocab_size=89, embed_dim=128, hidden_size=256)).eval()
    T = args.tokens
    res = rounds_of({"TokenStream 1": lambda: stream_sample(g, 1, T), "bare 1": lambda: bare_sample(g, 1, T),
                     "TokenStream 1, oneDNN off": lambda: stream_sample(g, 1, T, onednn=False),
                     "bare 1, lstm_cell": lambda: cell_sample(g, 1, T),
                     "TokenStream 64": lambda: stream_sample(g, 64, T), "bare 64": lambda: bare_sample(g, 64, T)},
                     args.rounds)
    rows = [row(n, r, tokens_per_s=(64 if "64" in n else 1) * T / min(r["wall"])) for n, r in res.items()]
    print(f"\nsampling {T} tokens (paper-size model)")
    print(f"  {'variant':<27}{'best s':>9}{'median s':>10}{'cpu s':>8}{'tokens/s':>11}")
    for r in rows:
        print(f"  {r['variant']:<27}{r['best_s']:>9.3f}{r['median_s']:>10.3f}{r['cpu_best_s']:>8.3f}{r['tokens_per_s']:>11,.0f}")
    out: dict = {"threads": args.threads, "rounds": args.rounds, "loadavg": os.getloadavg()[0], "sampling": rows}
    checks = [(f"{T} tokens, 1 sequence (wall, s)", rows[0]["best_s"], "< 0.5", rows[0]["best_s"] < 0.5),
              (f"{T} tokens, 1 sequence (CPU, s)", rows[0]["cpu_best_s"], "< 0.5", rows[0]["cpu_best_s"] < 0.5)]

    api_rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cases = []
        pitch = get_tokenizer("pitch")
        save_checkpoint(tmp / "pitch-run", step=0, generator=g, tokenizer=pitch, meta={"note": "random weights"})
        cases.append(("pitch", tmp / "pitch-run", pitch))
        maestro = args.data / "maestro-v3.0.0"
        if args.remi_steps and (maestro / "maestro-v3.0.0.csv").is_file():
            remi_run, remi, data_tpb = train_remi(maestro, tmp, args.remi_steps, args.threads)
            cases.append(("remi", remi_run, remi))
            torch.manual_seed(0)
            rnd = LSTMGenerator(GeneratorConfig(vocab_size=remi.vocab_size))
            bars = remi.count_bars(stream_sample(rnd, 1, 1000)[0].numpy())
            out["remi_random_weights_bars_per_1000_tokens"] = bars
            out["remi_data_tokens_per_bar"] = round(data_tpb, 1)
            print(f"\nREMI: random weights give {bars} Bar tokens per 1,000 sampled (~{32 * 1000 / max(bars, 1):,.0f} "
                  f"tokens for 32 bars); the data has {data_tpb:.1f} tokens per bar (~{32 * data_tpb:,.0f} for 32 bars)")
        elif args.remi_steps:
            print(f"\nREMI: skipped (MAESTRO not found at {maestro}; pass --data)")
        from tunegan.checkpoint import load_checkpoint

        cases.append(("shipped default", None, load_checkpoint(None).tokenizer))
        for name, ckpt, tok in cases:
            r = rounds_of({"cold": api_variant(ckpt, tmp / f"{name}.mid", True),
                           "warm": api_variant(ckpt, tmp / f"{name}.mid", False)}, args.api_rounds)
            gen = r["warm"]["last"]
            new = gen.tokens[gen.prime_len:]
            bars = tok.count_bars(new) if tok.has_bars else None
            _, samp_s, _ = timed(lambda: stream_sample(LSTMGenerator(GeneratorConfig(vocab_size=tok.vocab_size)), 1, len(new)))
            for v in ("cold", "warm"):
                api_rows.append(row(f"{name} {v}", r[v], tokens=len(new), bar_tokens=bars,
                                    music_s=round(gen.score.to("second").end(), 1), sampling_only_s=samp_s))
            checks.append((f"32 bars -> MIDI, {name}, cold (wall, s)", api_rows[-2]["best_s"], "< 1", api_rows[-2]["best_s"] < 1))
            checks.append((f"32 bars -> MIDI, {name}, warm (CPU, s)", api_rows[-1]["cpu_best_s"], "< 1",
                           api_rows[-1]["cpu_best_s"] < 1))
    print("\napi.generate(bars=32) + write_midi")
    print(f"  {'variant':<22}{'best s':>8}{'median s':>10}{'cpu s':>8}{'tokens':>8}{'Bar tok':>8}{'music s':>9}{'sampling only s':>17}")
    for r in api_rows:
        print(f"  {r['variant']:<22}{r['best_s']:>8.3f}{r['median_s']:>10.3f}{r['cpu_best_s']:>8.3f}{r['tokens']:>8}"
              f"{str(r['bar_tokens'] if r['bar_tokens'] is not None else '-'):>8}{r['music_s']:>9}{r['sampling_only_s']:>17.3f}")
    out["api"] = api_rows
    report_targets(out, checks)
    save_json(out, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
