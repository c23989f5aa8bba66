"""Musical attributes a model can be conditioned on, computed from each training crop itself.

A mood word names a feeling; the music carries it through a few measurable attributes. Piece
labels say "melancholy" for a whole piece, but a crop of it may be a bright, busy passage, so a
model learns the word only loosely (valence was the weak axis). With ``TrainConfig.attributes``
every training crop also gets three keywords measured on its own tokens:

============  =====================================================================================
``mode``      ``major`` / ``minor``: the better Krumhansl-Kessler key of the crop's pitch classes
              (:func:`tunegan.music.mode_margin`); crops with fewer than 8 notes get none
``density``   ``low`` / ``mid`` / ``high``: notes per quarter note between its first and last bar
              line, below :data:`DENSITY_BINS`\\[0], between, or from :data:`DENSITY_BINS`\\[1]
``pace``      ``slow`` / ``mid`` / ``fast``: the last tempo of the crop (else the piece's mean
              tempo), below :data:`PACE_BINS`\\[0] BPM, between, or from :data:`PACE_BINS`\\[1]
============  =====================================================================================

They are dropped at random in training like the other keywords, so each can be left open.
At generation a mood word sets the attributes it implies (:data:`MOOD_ATTRIBUTES`, unless the user
set one: ``--mode minor``, ``--density low``, ``--pace slow``); a ``--tempo`` sets the pace.

====================  ======  =======  =====
mood                  mode    density  pace
====================  ======  =======  =====
upbeat                major   high     fast
calm                  major   low      slow
tense                 minor   high     fast
melancholy            minor   low      slow
====================  ======  =======  =====
"""

from __future__ import annotations

import numpy as np

from .errors import MusicOptionError
from .music.keys import mode_margin

ATTRIBUTES = {"mode": ("major", "minor"), "density": ("low", "mid", "high"), "pace": ("slow", "mid", "fast")}
DENSITY_BINS = (2.0, 4.0)   # notes per quarter note
PACE_BINS = (90.0, 130.0)   # quarter notes per minute
MIN_NOTES = 8
MOOD_ATTRIBUTES = {"upbeat": {"mode": "major", "density": "high", "pace": "fast"},
                   "calm": {"mode": "major", "density": "low", "pace": "slow"},
                   "tense": {"mode": "minor", "density": "high", "pace": "fast"},
                   "melancholy": {"mode": "minor", "density": "low", "pace": "slow"}}


def keyword(name: str, value: str) -> str:
    """``keyword("mode", "minor") == "mode:minor"``: an attribute as a conditioning keyword."""
    return f"{name}:{value}"


ATTRIBUTE_KEYWORDS = [keyword(n, v) for n, vs in ATTRIBUTES.items() for v in vs]


def check_attribute(name: str, value: str | None) -> str | None:
    """A user's attribute value, validated (one-line :class:`MusicOptionError`)."""
    if value is None or str(value).strip() == "":
        return None
    v = str(value).strip().lower()
    if v not in ATTRIBUTES[name]:
        raise MusicOptionError(f"{name} '{value}' is not one of {', '.join(ATTRIBUTES[name])}")
    return v


def knows_attributes(model) -> bool:
    """Whether a checkpoint was trained with attribute keywords."""
    return any(w in (model.meta.get("conditions") or {}).get("keywords", []) for w in ATTRIBUTE_KEYWORDS)


def pace_of(bpm: float) -> str:
    return "slow" if bpm < PACE_BINS[0] else "mid" if bpm < PACE_BINS[1] else "fast"


def density_of(notes_per_quarter: float) -> str:
    return "low" if notes_per_quarter < DENSITY_BINS[0] else "mid" if notes_per_quarter < DENSITY_BINS[1] else "high"


def wanted(mood: str | None, *, mode=None, density=None, pace=None, tempo: float | None = None) -> dict:
    """The attributes a request asks for: set ones, the tempo's pace, then the mood's implied ones."""
    out = {k: v for k, v in (("mode", mode), ("density", density), ("pace", pace)) if v}
    if tempo is not None:
        out.setdefault("pace", pace_of(tempo))
    for k, v in MOOD_ATTRIBUTES.get(mood or "", {}).items():
        out.setdefault(k, v)
    return out


class CropAttributes:
    """Writes a crop's measured attribute keywords into the last :data:`len(ATTRIBUTES)` slots of
    its keyword ids (``TrainConfig.attributes``; a ``relabel`` for :class:`~tunegan.data.dataset.CropDataset`).

    ``tokenizer`` must have bars and pitches (REMI). ``piece_tempos``: mean tempo (BPM) of each
    train piece, for crops without a tempo token of their own.
    """

    def __init__(self, vocab: dict, tokenizer, piece_tempos: np.ndarray, inner=None):
        index = {w: i + 1 for i, w in enumerate(vocab["keywords"])}
        self.ids = {k: index[k] for k in ATTRIBUTE_KEYWORDS if k in index}
        self.pitches = tokenizer.token_pitches()
        self.bar_id = tokenizer.bar_id
        self.tempo = token_tempos(tokenizer)
        self.bar_quarters = np.full(tokenizer.vocab_size, np.nan)
        for i, ts in tokenizer.tokens_of_kind("TimeSig").items():
            self.bar_quarters[i] = _ts_quarters(ts)
        self.piece_tempos = np.asarray(piece_tempos, dtype=np.float64)
        self.inner = inner  # another relabel applied first (CropMood)

    def measure(self, window: np.ndarray, piece: int) -> dict:
        """``{"mode": ..., "density": ..., "pace": ...}`` of a crop (a key left out when unmeasurable)."""
        w = np.asarray(window, dtype=np.int64)
        p = self.pitches[w]
        notes = p[p >= 0]
        out = {}
        if len(notes) >= MIN_NOTES:
            out["mode"] = "major" if mode_margin(np.bincount(notes % 12, minlength=12).astype(float)) >= 0 else "minor"
        bars = np.flatnonzero(w == self.bar_id)
        if len(bars) >= 2:
            q = self.bar_quarters[w]
            per_bar = q[~np.isnan(q)]
            quarters = (len(bars) - 1) * (float(per_bar[-1]) if len(per_bar) else 4.0)
            inside = p[bars[0]:bars[-1]]
            out["density"] = density_of(float((inside >= 0).sum()) / max(quarters, 1e-9))
        t = self.tempo[w]
        t = t[~np.isnan(t)]
        bpm = float(t[-1]) if len(t) else float(self.piece_tempos[piece])
        if not np.isnan(bpm):
            out["pace"] = pace_of(bpm)
        return out

    def __call__(self, window: np.ndarray, piece: int, ids: np.ndarray) -> np.ndarray:
        out = (self.inner(window, piece, ids) if self.inner is not None else ids).copy()
        found = self.measure(window, piece)
        for slot, name in enumerate(ATTRIBUTES, start=len(out) - len(ATTRIBUTES)):
            out[slot] = self.ids.get(keyword(name, found[name]), 0) if name in found else 0
        return out


def token_tempos(tokenizer) -> np.ndarray:
    """float64 ``(vocab_size,)``: the BPM of each ``Tempo`` token, NaN for every other token."""
    out = np.full(tokenizer.vocab_size, np.nan)
    for i, v in tokenizer.tokens_of_kind("Tempo").items():
        out[i] = float(v)
    return out


def _ts_quarters(text: str) -> float:
    num, _, den = text.partition("/")
    return int(num) * 4.0 / int(den)


def piece_mean_tempos(split, tokenizer) -> np.ndarray:
    """Mean of each piece's tempo tokens (BPM; NaN without any), float64 ``(n_pieces,)``."""
    tempo = token_tempos(tokenizer)
    out = np.full(len(split), np.nan)
    for i in range(len(split)):
        t = tempo[split.piece(i)]
        t = t[~np.isnan(t)]
        if len(t):
            out[i] = float(t.mean())
    return out
