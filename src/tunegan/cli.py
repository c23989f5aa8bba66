"""The ``tunegan`` command: a thin layer over :mod:`tunegan.api` and friends.

Every command validates its input, calls the library, and turns a :class:`TuneganError` into one
line on stderr with exit code 1 (never a traceback).
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from .errors import TuneganError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="tunegan: music from a few starting notes, by an LSTM-GAN trained on real MIDI.")
console = Console(stderr=True)


def friendly(fn):
    """Turn library errors into one line on stderr and exit code 1."""

    @functools.wraps(fn)
    def wrapper(*a, **kw):
        try:
            return fn(*a, **kw)
        except TuneganError as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(130) from None

    return wrapper


def _parse_kv(items: list[str]) -> dict:
    out = {}
    for it in items or []:
        if "=" not in it:
            raise TuneganError(f"'{it}' is not KEY=VALUE")
        k, v = it.split("=", 1)
        try:
            out[k] = json.loads(v)
        except json.JSONDecodeError:
            out[k] = v
    return out


@app.command()
@friendly
def prepare(
    sources: list[str] = typer.Argument(..., help="MAESTRO folder, folder of MIDI, or NAME:PATH (maestro, folder, pop909, nottingham, jsb, vgmidi, music21:builtin)"),
    out: Path = typer.Option(..., "--out", "-o", help="cache folder to write"),
    tokenizer: str = typer.Option("pitch", help="representation: pitch (the paper's), remi, performance"),
    tok_opt: list[str] = typer.Option([], "--tok-opt", help="tokenizer config KEY=VALUE (repeatable)"),
    workers: int = typer.Option(0, help="worker processes (0 = all cores)"),
    limit: Optional[int] = typer.Option(None, help="at most this many pieces per source and split"),
    force: bool = typer.Option(False, help="rebuild even if the cache is up to date"),
):
    """Tokenize MIDI into a memmapped cache (reused when inputs and config are unchanged)."""
    from rich.progress import Progress

    from .data.prepare import prepare as run_prepare
    from .tokenizers import get_tokenizer

    tok = get_tokenizer(tokenizer, **_parse_kv(tok_opt))
    with Progress(console=console, transient=True) as prog:
        task = prog.add_task("tokenizing", total=None)
        rep = run_prepare(sources, tok, out, workers=workers or None, force=force, limit=limit,
                          progress=lambda d, t: prog.update(task, completed=d, total=t))
    verb = "reused" if rep.reused else f"built in {rep.seconds:.1f}s"
    console.print(f"cache {rep.out_dir}: {verb}; {rep.pieces} pieces, {rep.skipped} skipped; tokens {rep.tokens}")
    for reason, n in sorted(rep.reasons.items(), key=lambda kv: -kv[1]):
        console.print(f"  skipped {n}: {reason}")


@app.command()
@friendly
def train(
    cache: Path = typer.Option(..., "--data", "-d", help="cache folder from 'tunegan prepare'"),
    out: Path = typer.Option(..., "--out", "-o", help="run folder for checkpoints and log.jsonl"),
    mode: str = typer.Option("mle", help="paper | mle | gan"),
    epochs: int = typer.Option(10),
    batch_size: int = typer.Option(64),
    seq_len: int = typer.Option(64),
    lr: float = typer.Option(1e-3),
    seed: int = typer.Option(0),
    threads: int = typer.Option(0, help="torch threads (0 = all cores; 1 per rank under torchrun)"),
    resume: bool = typer.Option(False, "--resume", help="continue from the run folder's latest checkpoint"),
    init_from: Optional[str] = typer.Option(None, "--init-from",
                                            help="fine-tune: start from this checkpoint's weights ('default', "
                                                 "'pitch-maestro' or a run folder); its network sizes are kept"),
    opt: list[str] = typer.Option([], "--set", help="any TrainConfig field KEY=VALUE (repeatable)"),
    gen_opt: list[str] = typer.Option([], "--gen", help="GeneratorConfig field KEY=VALUE"),
    disc_opt: list[str] = typer.Option([], "--disc", help="DiscriminatorConfig field KEY=VALUE"),
):
    """Train a generator (paper / mle / gan mode) with validation NLL each epoch."""
    from .config import DiscriminatorConfig, GeneratorConfig, TrainConfig
    from .data.dataset import TokenCache
    from .training.trainer import Trainer

    tc = TrainConfig(**{"mode": mode, "epochs": epochs, "batch_size": batch_size, "seq_len": seq_len, "lr": lr,
                        "seed": seed, "threads": threads, **({"init_from": init_from} if init_from else {}),
                        **_parse_kv(opt)})
    data = TokenCache(cache)
    V = data.tokenizer.vocab_size
    gc = GeneratorConfig(**{"vocab_size": V, **_parse_kv(gen_opt)})
    dc = DiscriminatorConfig(**{"vocab_size": V, **_parse_kv(disc_opt)})
    extra = {"data_license": _license_notice(data)}
    trainer = Trainer(tc, data, out, generator_config=gc, discriminator_config=dc, resume=resume,
                      extra_meta=extra, console=console)
    m = trainer.fit()
    if trainer.dist.is_main:
        console.print(f"done: step {m.get('step')}, best validation NLL {m.get('best_val_nll', float('nan')):.4f} "
                      f"nats/token; checkpoints in {out}")


DATA_LICENSES = {
    "maestro": "MAESTRO v3.0.0 (Hawthorne et al., ICLR 2019): CC BY-NC-SA 4.0 (non-commercial, attribution, share-alike)",
    "pop909": "POP909 (Wang et al., ISMIR 2020): MIT",
    "nottingham": "Nottingham Music Database (jukedeck cleaned MIDI): GPL-3.0",
    "jsb": "JSB Chorales (Boulanger-Lewandowski et al., ICML 2012): no licence stated; the music (J.S. Bach) is public domain",
    "vgmidi": "VGMIDI (Ferreira & Whitehead, ISMIR 2019): no licence stated; research and evaluation only",
    "music21": "music21 corpus: licences per repertory (see music21/corpus/license.txt); Essen folk songs non-commercial",
}


def _license_notice(cache) -> str:
    """The licences of the corpora a model learned from (stored in every checkpoint)."""
    names = sorted({s.get("name") for s in cache.manifest.get("sources", [])})
    return "Trained on: " + "; ".join(DATA_LICENSES.get(n, f"{n}: your own data") for n in names) + "."


@app.command()
@friendly
def generate(
    seed_notes: Optional[str] = typer.Option(None, "--seed-notes", help='starting notes, e.g. "C4 E4 G4" or "60 64 67"'),
    primer: Optional[Path] = typer.Option(None, "--primer", help="MIDI file whose opening starts the music"),
    output: Path = typer.Option(Path("out.mid"), "--output", "-o", help="MIDI file to write (with --samples N: out-1.mid ...)"),
    length: Optional[int] = typer.Option(None, help="tokens to generate (default 256)"),
    seconds: Optional[float] = typer.Option(None, help="stop after this many seconds of music"),
    bars: Optional[int] = typer.Option(None, help="stop after this many bars"),
    temperature: float = typer.Option(1.0, help="adventurousness: 0 = safest, 1 = as trained, >1 = wilder"),
    top_k: int = typer.Option(0, help="sample only from the k most likely tokens (0 = off)"),
    top_p: float = typer.Option(1.0, help="nucleus sampling threshold (1 = off)"),
    seed: Optional[int] = typer.Option(None, help="random seed for repeatable results"),
    samples: int = typer.Option(1, help="how many versions (each with its own seed)"),
    checkpoint: Optional[str] = typer.Option(None, help="checkpoint, run folder, or shipped model name (default, pitch-maestro)"),
    key: Optional[str] = typer.Option(None, help='keep new notes in a key, e.g. "A minor"'),
    transpose: int = typer.Option(0, help="move the result by N semitones"),
    tempo: Optional[float] = typer.Option(None, help="tempo in BPM"),
    time_signature: Optional[str] = typer.Option(None, help="e.g. 3/4, 4/4, 6/8"),
    instrument: Optional[str] = typer.Option(None, help="General MIDI instrument name or number"),
    style: Optional[str] = typer.Option(None, help='style keywords, e.g. "folk, waltz" (see tunegan styles)'),
    mood: Optional[str] = typer.Option(None, help="upbeat, calm, tense or melancholy"),
    guidance: float = typer.Option(1.0, help="style strength for keyword models (1 = plain)"),
    wav: Optional[Path] = typer.Option(None, help="also write audio (WAV)"),
    png: Optional[Path] = typer.Option(None, help="also write a piano-roll picture"),
    musicxml: Optional[Path] = typer.Option(None, help="also write sheet music (MusicXML)"),
):
    """Continue your starting notes (or a primer, or nothing) and write MIDI (plus WAV/PNG/MusicXML)."""
    from .api import generate as run_generate

    songs = run_generate(seed_notes=seed_notes, primer=primer, length=length, seconds=seconds, bars=bars,
                         temperature=temperature, top_k=top_k, top_p=top_p, seed=seed, samples=samples,
                         checkpoint=checkpoint, key=key, transpose=transpose, tempo=tempo,
                         time_signature=time_signature, instrument=instrument, style=style, mood=mood,
                         guidance=guidance)

    def numbered(p: Optional[Path], i: int) -> Optional[Path]:
        if p is None or len(songs) == 1:
            return p
        return p.with_name(f"{p.stem}-{i + 1}{p.suffix}")

    for i, song in enumerate(songs):
        path = song.write_midi(numbered(output, i))
        extras = []
        if wav is not None:
            from .outputs.audio import render_wav

            extras.append(str(render_wav(song.score, numbered(wav, i))))
        if png is not None:
            from .outputs.pianoroll import plot_pianoroll

            extras.append(str(plot_pianoroll(song.score, numbered(png, i))))
        if musicxml is not None:
            from .outputs.sheet import to_musicxml

            extras.append(str(to_musicxml(song.score, numbered(musicxml, i))))
        n = song.score.note_num()
        typer.echo(f"wrote {path} ({n} notes, seed {song.seed})" + (f"; {', '.join(extras)}" if extras else ""))


@app.command()
@friendly
def export(
    checkpoint: str = typer.Option(..., help="run folder or checkpoint to export"),
    out: Path = typer.Option(..., "--out", "-o", help="folder to write (e.g. src/tunegan/assets/default)"),
    command: Optional[str] = typer.Option(None, help="the command that trained it, kept in meta.json"),
):
    """Copy a checkpoint's weights and metadata (no optimizer state) into a folder for shipping."""
    from .checkpoint import export_checkpoint, load_checkpoint

    notes = {"trained_by": command} if command else {}
    dst = export_checkpoint(checkpoint, out, notes=notes)
    ck = load_checkpoint(dst)
    typer.echo(f"exported step {ck.meta.get('step')} ({ck.tokenizer.name}) to {dst}")


@app.command()
@friendly
def styles(
    checkpoint: Optional[str] = typer.Option(None, help="checkpoint, run folder, or shipped model name (default, pitch-maestro)"),
    json_out: bool = typer.Option(False, "--json", help="print JSON for programs"),
):
    """List the style and mood keywords a model knows, with how many training pieces carry each."""
    from rich.table import Table

    from .api import load_model
    from .conditioning import describe_vocabulary

    rows = describe_vocabulary(load_model(checkpoint).conditions)
    if json_out:
        typer.echo(json.dumps(rows, indent=1))
        return
    if not rows:
        typer.echo("this model was trained without keywords")
        return
    table = Table("keyword", "category", "training pieces")
    for r in rows:
        table.add_row(r["keyword"], r["category"], str(r["pieces"]))
    Console().print(table)


from .cli_outputs import explain as _explain_cmd, render as _render_cmd  # noqa: E402
from .cli_studio import studio as _studio_cmd  # noqa: E402
from .cli_eval import compare as _compare_cmd, evaluate as _evaluate_cmd  # noqa: E402
from .cli_style import style_eval as _style_eval_cmd  # noqa: E402

app.command("evaluate", help="Evaluate a checkpoint: likelihood beside baselines, musical statistics, novelty, "
            "a two-sample test and a quality-diversity sweep (JSON, Markdown, PNG).")(_evaluate_cmd)
app.command("style-eval", help="Do style and mood keywords work? A genre classifier trained on real music "
            "judges samples made with each keyword.")(_style_eval_cmd)
app.command("compare", help="Several checkpoints and the baselines in one table and one plot.")(_compare_cmd)

app.command("render", help="Render a MIDI file to WAV audio, a piano-roll PNG, MusicXML or sheet music.")(_render_cmd)
app.command("studio", help="Start the web studio (Gradio) on http://127.0.0.1:7860.")(_studio_cmd)
app.command("explain", help="Explain a MIDI file: notes with names, beats and note values, key, tempo, motifs.")(_explain_cmd)


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
