"""``tunegan train`` and ``tunegan export``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .errors import handle_errors, parse_pairs


@handle_errors
def train(
    cache: Path = typer.Option(..., "--data", "-d", help="cache folder from 'tunegan prepare'"),
    out: Path = typer.Option(..., "--out", "-o", help="run folder for checkpoints and log.jsonl"),
    mode: Optional[str] = typer.Option(None, help="paper | mle | gan | critic | prefer (default mle)"),
    epochs: Optional[int] = typer.Option(None, help="passes over the data (default 10)"),
    batch_size: Optional[int] = typer.Option(None, help="sequences per step (default 64)"),
    seq_len: Optional[int] = typer.Option(None, help="tokens per training sequence (default 64, the paper's)"),
    lr: Optional[float] = typer.Option(None, help="generator learning rate (default 1e-3)"),
    seed: Optional[int] = typer.Option(None, help="random seed (default 0)"),
    threads: Optional[int] = typer.Option(None, help="torch threads (0 = all cores; 1 per rank under torchrun)"),
    device: Optional[str] = typer.Option(None, help="auto | cpu | cuda | cuda:N | mps (default auto)"),
    resume: bool = typer.Option(False, "--resume", help="continue from the run folder's latest checkpoint"),
    init_from: Optional[str] = typer.Option(None, "--init-from",
                                            help="fine-tune: start from this checkpoint's weights ('default', "
                                                 "'pitch-maestro' or a run folder); its network sizes are kept"),
    opt: list[str] = typer.Option([], "--set", help="any TrainConfig field KEY=VALUE (repeatable)"),
    gen_opt: list[str] = typer.Option([], "--gen", help="GeneratorConfig field KEY=VALUE"),
    disc_opt: list[str] = typer.Option([], "--disc", help="DiscriminatorConfig field KEY=VALUE"),
):
    """Train a generator (paper / mle / gan mode) with validation NLL each epoch, a critic of a
    frozen one (critic mode, with --init-from), or tune one towards what its critic prefers
    (prefer mode: DPO, with --init-from)."""
    from rich.console import Console

    from .. import api

    named = {"mode": mode, "epochs": epochs, "batch_size": batch_size, "seq_len": seq_len, "lr": lr, "seed": seed,
             "threads": threads, "device": device, "init_from": init_from}
    overrides = {k: v for k, v in named.items() if v is not None} | parse_pairs(opt)
    m = api.train(cache, out, overrides=overrides, generator=parse_pairs(gen_opt), discriminator=parse_pairs(disc_opt),
                  resume=resume, console=Console(stderr=True))
    if m.get("prefer"):
        c, last = m["critic"], m["prefer"]["rounds"][-1]
        typer.echo(f"done: {m['rounds']} preference rounds; validation NLL {m['prefer']['start_val_nll']:.4f} -> "
                   f"{last['val_nll']:.4f} nats/token; its refreshed critic's held-out accuracy {c['accuracy']:.3f}; "
                   f"saved in {out}", err=True)
    elif m.get("critic"):
        c = m["critic"]
        typer.echo(f"done: critic of step {m['step']}, held-out accuracy {c['accuracy']:.3f} (ECE {c['ece']:.3f}, "
                   f"Brier {c['brier']:.3f}) after {m['epochs']} epochs; saved in {out}", err=True)
    elif m.get("is_main", True):
        typer.echo(f"done: step {m.get('step')}, best validation NLL {m.get('best_val_nll', float('nan')):.4f} "
                   f"nats/token; checkpoints in {out}", err=True)


@handle_errors
def export(
    checkpoint: str = typer.Option(..., help="run folder or checkpoint to export"),
    out: Path = typer.Option(..., "--out", "-o", help="folder to write (e.g. src/tunegan/assets/default)"),
    command: Optional[str] = typer.Option(None, help="the command that trained it, kept in meta.json"),
    priors_from: Optional[Path] = typer.Option(None, "--priors-from", help="a cache whose train split gives the style priors anew"),
    repeats_from: Optional[Path] = typer.Option(None, "--repeats-from", help="a cache whose validation split fits how much the music repeats itself"),
    harmony_from: Optional[Path] = typer.Option(None, "--harmony-from", help="a cache whose train split fits how rarely notes re-strike or clash"),
    fit_keys: bool = typer.Option(False, "--fit-keys", help="fit the key weights alone (done anyway with --harmony-from): "
                                  "samples end in each key as often as the style's pieces"),
):
    """Copy a checkpoint's weights and metadata (no optimizer state) into a folder for shipping."""
    from .. import api
    from ..checkpoint import load_checkpoint

    dst = api.export(checkpoint, out, command=command, priors_from=priors_from, repeats_from=repeats_from,
                     harmony_from=harmony_from, fit_keys=fit_keys, say=lambda m: typer.echo(m, err=True))
    ck = load_checkpoint(dst)
    typer.echo(f"exported step {ck.meta.get('step')} ({ck.tokenizer.name}) to {dst}")
