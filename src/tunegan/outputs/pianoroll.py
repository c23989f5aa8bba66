"""A piano-roll picture of a piece: one bar per note, time across, pitch up.

The x axis is in seconds; solid lines mark bars and faint lines beats, both taken from the
score's time signatures and tempo changes. The y axis names every C (``"C4 (60)"``) and, when
the range is small, every note. Colour shows velocity (1..127) with a colour bar.
The image is exactly ``width * dpi`` by ``height * dpi`` pixels.

Up to :data:`MAX_RECTS` notes each get a rectangle; a longer piece is drawn downsampled as an image
of one row per pitch and about one column per pixel (the loudest note sounding in each cell), so
drawing time and memory stay flat. The music is first limited like every render
(:func:`tunegan.outputs.render.limit_score`, default 20 minutes).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import symusic

from ..errors import MusicOptionError
from ..music import bar_grid, first_tempo, first_time_signature, note_name, score_notes, ticks_to_seconds
from .limits import MAX_MINUTES, Warn, bounded_score, writing

MAX_BAR_NUMBERS = 64  # bar numbers are written above the plot up to this many bars
MAX_BAR_LINES = 150  # above this many bars, only every k-th bar line is drawn (and k is said on the axis)
MAX_GRID_LINES = 400  # above this many beats, beat lines are left out (they would be a grey wash)
MAX_RECTS = 4000  # above this many notes, the roll is drawn as a downsampled image


def plot_pianoroll(
    score_or_path: symusic.Score | str | os.PathLike | bytes,
    path: str | os.PathLike,
    *,
    width: float = 12,
    height: float = 5,
    dpi: int = 100,
    title: str | None = None,
    name: str | None = None,
    max_minutes: float | None = MAX_MINUTES,
    on_warning: Warn | None = None,
    phrases: tuple[str, int] | None = None,
) -> Path:
    """Draw the notes of ``score_or_path`` to a PNG (or .pdf/.svg, any format matplotlib knows by suffix).

    ``width``/``height`` are in inches, ``dpi`` in pixels per inch; ``name`` is what the default title
    calls the piece; ``phrases`` = ``(form letters, bars per phrase)`` shades and letters the
    phrases. Raises ``MIDIError`` for an unreadable or empty file. Returns the written path.
    """
    fig = pianoroll_figure(score_or_path, width=width, height=height, dpi=dpi, title=title, name=name,
                           max_minutes=max_minutes, on_warning=on_warning, phrases=phrases)
    with writing(path) as part:
        fig.savefig(str(part), dpi=dpi)
    return Path(path)


def pianoroll_figure(score_or_path, *, width: float = 12, height: float = 5, dpi: int = 100, title: str | None = None,
                     name: str | None = None, max_minutes: float | None = MAX_MINUTES, on_warning: Warn | None = None,
                     phrases: tuple[str, int] | None = None):
    """The :class:`matplotlib.figure.Figure` that :func:`plot_pianoroll` saves (not tied to pyplot)."""
    if width <= 0 or height <= 0 or dpi <= 0:
        raise MusicOptionError(f"picture size {width}x{height} in at {dpi} dpi must be positive")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    score, read_name = bounded_score(score_or_path, max_minutes, on_warning)
    name = name or read_name
    notes = score_notes(score, name)
    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)

    lo, hi = int(notes["pitch"].min()), int(notes["pitch"].max())
    end_s = max(float(notes["end"].max()), 1e-3)
    drawn = _draw_notes(ax, notes, lo, hi, end_s, int(width * dpi)) if len(notes) > MAX_RECTS else _draw_rects(ax, notes)
    fig.colorbar(drawn, ax=ax, pad=0.01, fraction=0.04, label="velocity (loudness)")
    _draw_grid(ax, score, end_s)
    if phrases and phrases[0]:
        _draw_phrases(ax, score, end_s, *phrases)
    ax.set_xlim(0, end_s * 1.01)
    ax.set_ylim(lo - 1.5, hi + 1.5)
    ticks = range(lo, hi + 1) if hi - lo <= 14 else [p for p in range(lo - 1, hi + 2) if p % 12 == 0]
    ticks = list(ticks) or [lo]
    ax.set_yticks(ticks)
    ax.set_yticklabels([f"{note_name(int(p))} ({p})" for p in ticks], fontsize=8)
    ax.set_xlabel("time (seconds)")
    ax.set_ylabel("pitch")
    num, den = first_time_signature(score)
    label = "" if name.startswith("<") else f"{name}: "
    ax.set_title(title or f"{label}{len(notes)} notes, {num}/{den}, {first_tempo(score):.0f} bpm", fontsize=10, pad=14)
    fig.subplots_adjust(left=0.09, right=0.99, bottom=0.11, top=0.92)
    return fig


def _draw_rects(ax, notes: np.ndarray):
    """One rectangle per note, coloured by velocity; returns the collection (for the colour bar)."""
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Rectangle

    cmap, norm = _velocity_colours()
    rects = [Rectangle((s, p - 0.4), max(e - s, 1e-3), 0.8) for p, s, e in zip(notes["pitch"], notes["start"], notes["end"])]
    bars = PatchCollection(rects, cmap=cmap, norm=norm, edgecolor="black", linewidth=0.3)
    bars.set_array(notes["velocity"].astype(float))
    ax.add_collection(bars)
    return bars


def _draw_notes(ax, notes: np.ndarray, lo: int, hi: int, end_s: float, columns: int):
    """Downsampled roll: an image of shape ``(hi - lo + 1, columns)``, each cell the loudest velocity
    sounding in it (empty cells transparent); returns the image (for the colour bar)."""
    cmap, norm = _velocity_colours()
    columns = max(16, columns)
    img = np.zeros((hi - lo + 1, columns), np.float32)
    c0 = np.clip((notes["start"] / end_s * columns).astype(np.int64), 0, columns - 1)
    c1 = np.clip(np.ceil(notes["end"] / end_s * columns).astype(np.int64), c0 + 1, columns)
    for row, a, b, v in zip(notes["pitch"] - lo, c0, c1, notes["velocity"].astype(np.float32)):
        cells = img[row, a:b]
        np.maximum(cells, v, out=cells)
    return ax.imshow(np.ma.masked_equal(img, 0), aspect="auto", origin="lower", interpolation="nearest",
                     extent=(0, end_s, lo - 0.5, hi + 0.5), cmap=cmap, norm=norm)


def _velocity_colours():
    """Colour map and 1..127 normalisation for velocities."""
    from matplotlib import colormaps
    from matplotlib.colors import Normalize

    return colormaps["viridis"], Normalize(vmin=1, vmax=127)


def _draw_phrases(ax, score: symusic.Score, end_s: float, letters: str, phrase_bars: int) -> None:
    """Each phrase shaded by its letter (a returning letter in the same colour), its letter on top."""
    grid = bar_grid(score, int(score.end()) + 1)
    starts = ticks_to_seconds(score, grid.bars[::phrase_bars][:len(letters) + 1])
    edges = list(starts[:len(letters)]) + [end_s]
    colours = ("#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860")
    for i, letter in enumerate(letters[:len(edges) - 1]):
        a, b = edges[i], edges[i + 1]
        colour = colours[(ord(letter) - ord("A")) % len(colours)]
        ax.axvspan(a, b, color=colour, alpha=0.08, zorder=0, linewidth=0)
        ax.text((a + b) / 2, 0.97, letter, transform=ax.get_xaxis_transform(), ha="center", va="top",
                fontsize=12, fontweight="bold", color=colour)


def _draw_grid(ax, score: symusic.Score, end_s: float) -> None:
    """Bar lines (solid) and beat lines (faint) up to ``end_s`` seconds."""
    end_tick = int(score.end()) + 1
    grid = bar_grid(score, end_tick)
    bar_ticks, beat_ticks = grid.bars, grid.beats
    bar_s = ticks_to_seconds(score, bar_ticks)
    beat_s = ticks_to_seconds(score, beat_ticks)
    bar_s, beat_s = bar_s[bar_s <= end_s], beat_s[beat_s <= end_s]
    if len(beat_s) <= MAX_GRID_LINES:
        for x in np.setdiff1d(beat_s, bar_s):
            ax.axvline(x, color="0.85", linewidth=0.5, zorder=0)
    every = -(-len(bar_s) // MAX_BAR_LINES)
    if every > 1:
        ax.text(1.0, -0.09, f"a line every {every} bars", transform=ax.transAxes, fontsize=7, color="0.3", ha="right")
    for i, x in enumerate(bar_s):
        if i % every:
            continue
        ax.axvline(x, color="0.45", linewidth=0.9, zorder=0)
        if len(bar_s) <= MAX_BAR_NUMBERS:  # bar numbers just above the plot
            ax.text(x, 1.0, f" {i + 1}", transform=ax.get_xaxis_transform(), fontsize=7, color="0.3", va="bottom")
