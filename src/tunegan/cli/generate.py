"""``tunegan generate`` and ``tunegan styles``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from .errors import handle_errors

CHECKPOINT_HELP = "checkpoint, run folder, or shipped model name (default, pitch-maestro)"


def _given(**kw) -> dict:
    """Only the options the user gave: the library owns every default."""
    return {k: v for k, v in kw.items() if v is not None}


@handle_errors
def generate(
    seed_notes: Optional[str] = typer.Option(None, "--seed-notes", help='starting notes, e.g. "C4 E4 G4" or "60 64 67"'),
    primer: Optional[Path] = typer.Option(None, "--primer", help="MIDI file whose opening starts the music"),
    output: Path = typer.Option(Path("out.mid"), "--output", "-o", help="MIDI file to write (with --samples N: out-1.mid ...)"),
    length: Optional[int] = typer.Option(None, help="tokens to generate (default 256)"),
    seconds: Optional[float] = typer.Option(None, help="stop after this many seconds of music"),
    bars: Optional[int] = typer.Option(None, help="stop after this many bars"),
    temperature: Optional[float] = typer.Option(None, help="adventurousness: 0 = safest, 1 = as trained (default), >1 = wilder"),
    top_k: Optional[int] = typer.Option(None, help="sample only from the k most likely tokens (default 0 = off)"),
    top_p: Optional[float] = typer.Option(None, help="nucleus sampling threshold (default 1 = off)"),
    seed: Optional[str] = typer.Option(None, help="random seed for repeatable results (0 .. 2**63-1)"),
    samples: Optional[int] = typer.Option(None, help="how many versions, each with its own seed (default 1)"),
    checkpoint: Optional[str] = typer.Option(None, help=CHECKPOINT_HELP),
    key: Optional[str] = typer.Option(None, help='keep new notes in a key, e.g. "A minor" or "A harmonic minor"'),
    transpose: Optional[int] = typer.Option(None, help="move the result by N semitones"),
    tempo: Optional[float] = typer.Option(None, help="tempo in BPM (held through the piece)"),
    hold_tempo: Optional[bool] = typer.Option(None, "--hold-tempo/--free-tempo", help="keep the tempo the piece "
                                              "opens with (drawn from its style) through it (default: free)"),
    time_signature: Optional[str] = typer.Option(None, help="e.g. 3/4, 4/4, 6/8"),
    instrument: Optional[str] = typer.Option(None, help="General MIDI instrument name or number"),
    style: Optional[str] = typer.Option(None, help='style keywords, e.g. "folk, waltz" (see tunegan styles)'),
    mood: Optional[str] = typer.Option(None, help="upbeat, calm, tense or melancholy"),
    guidance: Optional[float] = typer.Option(None, help="style strength for keyword models (default 1 = plain)"),
    mode: Optional[str] = typer.Option(None, help="major or minor (models trained with attributes)"),
    density: Optional[str] = typer.Option(None, help="low, mid or high: notes per beat (models trained with attributes)"),
    pace: Optional[str] = typer.Option(None, help="slow, mid or fast (models trained with attributes)"),
    form: Optional[str] = typer.Option(None, help="phrases that return: AABA, ABAB, AABB, ABAC, verse-chorus..."),
    phrase_bars: Optional[int] = typer.Option(None, "--phrase-bars", help="bars per phrase of --form (default by style: 4, or 8 for folk)"),
    variation: Optional[float] = typer.Option(None, help="0..1: how much a returning phrase changes (default 0 = exact)"),
    ending: Optional[str] = typer.Option(None, help="cadence (default: end on the tonic, held) or none"),
    loop: Optional[bool] = typer.Option(None, "--loop/--no-loop", help="music whose last bar leads back into its first"),
    repeats: Optional[bool] = typer.Option(None, "--repeats/--no-repeats", help="let the music return to what it "
                                           "played before, as much as the model learned (default on)"),
    harmony: Optional[bool] = typer.Option(None, "--harmony/--no-harmony", help="no key struck again while it "
                                           "sounds, semitone clashes as rare as in the style (default on)"),
    candidates: Optional[int] = typer.Option(None, help="make N candidates per sample, keep the one the critic finds "
                                                        "most real (a checkpoint from 'train --mode critic')"),
    device: Optional[str] = typer.Option(None, help="auto | cpu | cuda | mps (default auto)"),
    wav: Optional[Path] = typer.Option(None, help="also write audio (WAV)"),
    png: Optional[Path] = typer.Option(None, help="also write a piano-roll picture"),
    musicxml: Optional[Path] = typer.Option(None, help="also write sheet music (MusicXML)"),
):
    """Continue your starting notes (or a primer, or nothing) and write MIDI (plus WAV/PNG/MusicXML)."""
    from .. import api

    api.check_outputs(midi=output, wav=wav, png=png, musicxml=musicxml)  # before any work
    songs = api.generate(**_given(seed_notes=seed_notes, primer=primer, length=length, seconds=seconds, bars=bars,
                                  temperature=temperature, top_k=top_k, top_p=top_p, seed=seed, samples=samples,
                                  checkpoint=checkpoint, key=key, transpose=transpose, tempo=tempo, hold_tempo=hold_tempo,
                                  time_signature=time_signature, instrument=instrument, style=style, mood=mood,
                                  guidance=guidance, mode=mode, density=density, pace=pace, form=form,
                                  phrase_bars=phrase_bars, variation=variation, ending=ending, loop=loop,
                                  repeats=repeats, harmony=harmony, candidates=candidates, device=device))

    def numbered(p: Optional[Path], i: int) -> Optional[Path]:
        if p is None or len(songs) == 1:
            return p
        return p.with_name(f"{p.stem}-{i + 1}{p.suffix}")

    for i, song in enumerate(songs):
        path = song.write_midi(numbered(output, i))
        extras = []
        if wav or png or musicxml:
            rep = api.render(song.score, wav=numbered(wav, i), png=numbered(png, i), musicxml=numbered(musicxml, i))
            extras = [str(p) for p in rep.written]
            for w in rep.warnings:
                typer.echo(f"warning: {w}", err=True)
        shape = f", form {song.options['form']}" if song.options.get("form") else ""
        shape += ", loops" if song.options.get("loop") else ""
        opening = song.options.get("opening") or {}
        shape += f", in {opening['key']} (a key of the style)" if opening.get("key") else ""
        shape += f", moved into {opening['mode']} as asked" if opening.get("mode_changed") else ""
        typer.echo(f"wrote {path} ({song.score.note_num()} notes, seed {song.seed}{shape})"
                   + (f"; {', '.join(extras)}" if extras else ""))


@handle_errors
def styles(
    checkpoint: Optional[str] = typer.Option(None, help=CHECKPOINT_HELP),
    json_out: bool = typer.Option(False, "--json", help="print JSON for programs"),
):
    """List the style and mood keywords a model knows, with how many training pieces carry each."""
    from rich.console import Console
    from rich.table import Table

    from .. import api

    rows = api.styles(checkpoint)
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
