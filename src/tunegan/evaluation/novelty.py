"""Transposition-invariant novelty: how much of a sample is copied from the training set.

A piece is reduced to its **melodic pitch sequence**: every note's MIDI pitch, notes
ordered by onset and ties (chord notes) by pitch (:func:`pitch_sequence`). Its
**interval sequence** is the successive differences in semitones, so a passage and
any transposition of it give the same intervals. A run of ``n`` notes is ``n - 1``
intervals.

:class:`NoveltyIndex` concatenates the interval sequences of all training pieces,
each followed by a separator symbol of its own (so no match crosses two pieces), and
builds a suffix array over them with numpy prefix doubling (``O(N log N)`` per
round, about log2 of the longest repeat rounds). For MAESTRO's train split (~5M
notes) that is two int32 arrays, ~40 MB, saved as one ``.npy`` of shape (2, N).

A query computes *matching statistics*: for every position of the sample, the
longest run of its intervals that also occurs somewhere in training, found by
binary search in the suffix array. From them:

* :meth:`NoveltyIndex.longest_copied_run` — the longest run of notes (in notes)
  that appears, possibly transposed, in a training piece;
* :meth:`NoveltyIndex.ngram_overlap` — the share of the sample's ``n``-note windows
  found in training (1.0 = every 8-note phrase exists in the data).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ..errors import DataError

_OFFSET = 128  # interval +d is stored as symbol d + 128 (1..255); separators are >= 256
_SEPARATOR_BASE = 256


def pitch_sequence(notes: np.ndarray) -> np.ndarray:
    """Melodic pitch sequence of a ``NOTE_DTYPE`` array: pitches by onset, ties by pitch, int16."""
    if len(notes) == 0:
        return np.empty(0, np.int16)
    order = np.lexsort((notes["pitch"], notes["start"]))
    return notes["pitch"][order].astype(np.int16)


def interval_sequence(pitches: np.ndarray) -> np.ndarray:
    """Signed semitone steps between successive pitches, shape (n-1,), int32."""
    p = np.asarray(pitches, dtype=np.int32).ravel()
    return np.diff(p) if len(p) > 1 else np.empty(0, np.int32)


def suffix_array(text: np.ndarray) -> np.ndarray:
    """Suffix array (int32 start positions in lexicographic order) of an integer array.

    Prefix doubling with numpy sorts; a shorter suffix sorts before a longer one that it
    prefixes.
    """
    n = len(text)
    if n == 0:
        return np.empty(0, np.int32)
    rank = np.unique(np.asarray(text), return_inverse=True)[1].astype(np.int64).ravel() + 1
    k = 1
    while True:
        second = np.zeros(n, np.int64)
        second[: n - k] = rank[k:] if k < n else second[:0]
        key = rank * (n + 2) + second
        sa = np.argsort(key)  # ties get equal ranks, so any order will do
        sk = key[sa]
        new_sorted = np.empty(n, np.int64)
        new_sorted[0] = 1
        np.cumsum(sk[1:] != sk[:-1], out=new_sorted[1:])
        new_sorted[1:] += 1
        rank = np.empty(n, np.int64)
        rank[sa] = new_sorted
        if new_sorted[-1] == n or k >= n:
            return sa.astype(np.int32)
        k *= 2


class NoveltyIndex:
    """Suffix array over the training set's interval sequences (see module docstring).

    ``text`` holds the symbols (interval + 128, or a piece separator >= 256) and ``sa``
    the suffix array, both int32 of length N = total intervals + number of pieces.
    """

    def __init__(self, text: np.ndarray, sa: np.ndarray):
        if text.shape != sa.shape or text.ndim != 1:
            raise DataError(f"novelty index arrays disagree: text {text.shape}, suffix array {sa.shape}")
        self.text = text
        self.sa = sa

    @classmethod
    def build(cls, pieces: Iterable[np.ndarray]) -> NoveltyIndex:
        """Index training pieces given as melodic pitch sequences (:func:`pitch_sequence`).

        Pieces with fewer than two notes add nothing but a separator.
        """
        parts = []
        for i, pitches in enumerate(pieces):
            iv = interval_sequence(pitches) + _OFFSET
            parts.append(np.append(iv.astype(np.int32), np.int32(_SEPARATOR_BASE + i)))
        text = np.concatenate(parts).astype(np.int32) if parts else np.empty(0, np.int32)
        return cls(text, suffix_array(text))

    @property
    def n_pieces(self) -> int:
        """Number of indexed training pieces."""
        return int(np.count_nonzero(self.text >= _SEPARATOR_BASE))

    @property
    def n_intervals(self) -> int:
        """Number of indexed intervals (notes minus one per piece)."""
        return int(len(self.text) - self.n_pieces)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the index as one ``.npy`` int32 array of shape (2, N): text, suffix array."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        np.save(p, np.stack([self.text, self.sa]))
        return p

    @classmethod
    def load(cls, path: str | os.PathLike, *, mmap: bool = False) -> NoveltyIndex:
        """Read an index written by :meth:`save` (memory-mapped when ``mmap``).

        Raises :class:`DataError` for a missing file or an array of the wrong shape.
        """
        p = Path(path)
        if not p.is_file():
            raise DataError(f"{p}: no novelty index there (build one with NoveltyIndex.build(...).save)")
        try:
            arr = np.load(p, mmap_mode="r" if mmap else None, allow_pickle=False)
        except ValueError as e:
            raise DataError(f"{p}: not a novelty index ({e})") from None
        if arr.ndim != 2 or arr.shape[0] != 2 or arr.dtype != np.int32:
            raise DataError(f"{p}: not a novelty index (expected int32 shape (2, N), got {arr.dtype} {arr.shape})")
        return cls(arr[0], arr[1])

    # --- search ---------------------------------------------------------------------

    def _compare(self, pos: int, pattern: np.ndarray, depth: int) -> int:
        """Sign of suffix ``pos`` vs ``pattern`` on characters ``depth..len(pattern)``."""
        seg = self.text[pos + depth: pos + len(pattern)]
        want = pattern[depth: depth + len(seg)]
        diff = np.flatnonzero(seg != want)
        if len(diff):
            return -1 if seg[diff[0]] < want[diff[0]] else 1
        return -1 if len(seg) < len(pattern) - depth else 0

    def _bound(self, lo: int, hi: int, pattern: np.ndarray, depth: int, upper: bool) -> int:
        """First index in ``sa[lo:hi]`` whose suffix is >= (or > when ``upper``) the pattern."""
        while lo < hi:
            mid = (lo + hi) // 2
            c = self._compare(int(self.sa[mid]), pattern, depth)
            if c < 0 or (upper and c == 0):
                lo = mid + 1
            else:
                hi = mid
        return lo

    def matching_statistics(self, pitches: np.ndarray) -> np.ndarray:
        """For each interval position ``i`` of the sample, the length (in intervals) of the
        longest run starting there that occurs in the training set. Shape (n-1,), int64."""
        q = interval_sequence(pitches) + _OFFSET
        m = len(q)
        ms = np.zeros(m, np.int64)
        n = len(self.sa)
        if m == 0 or n == 0:
            return ms
        length = 0
        lo, hi = 0, n
        for i in range(m):
            if i > 0:
                length = max(length - 1, 0)
                pat = q[i:i + length]
                lo = self._bound(0, n, pat, 0, upper=False)
                hi = self._bound(lo, n, pat, 0, upper=True)
            while i + length < m:  # extend by one interval within the current range
                pat = q[i:i + length + 1]
                nlo = self._bound(lo, hi, pat, length, upper=False)
                nhi = self._bound(nlo, hi, pat, length, upper=True)
                if nlo >= nhi:
                    break
                lo, hi, length = nlo, nhi, length + 1
            ms[i] = length
        return ms

    def longest_copied_run(self, pitches: np.ndarray) -> int:
        """Length in notes of the longest run of the sample found (maybe transposed) in training.

        0 for an empty sample; any single note counts as a run of 1.
        """
        p = np.asarray(pitches).ravel()
        if len(p) == 0:
            return 0
        ms = self.matching_statistics(p)
        return int(ms.max()) + 1 if len(ms) else 1

    def ngram_overlap(self, pitches: np.ndarray, n: int = 8) -> float:
        """Share (0..1) of the sample's ``n``-note windows that occur, maybe transposed, in training.

        NaN when the sample has fewer than ``n`` notes.
        """
        if n < 2:
            raise ValueError(f"n must be >= 2 notes (received {n})")
        ms = self.matching_statistics(pitches)
        windows = len(ms) - (n - 1) + 1
        if windows < 1:
            return math.nan
        return float(np.mean(ms[:windows] >= n - 1))
