"""Mood words: the four quadrants of valence (major/minor, pleasant) and arousal (energy)."""

from __future__ import annotations

MOODS = ("upbeat", "calm", "tense", "melancholy")
#: (valence >= 0, arousal >= 0) -> mood word
MOOD_QUADRANTS = {(True, True): "upbeat", (True, False): "calm", (False, True): "tense", (False, False): "melancholy"}


def mood_word(valence: float, arousal: float) -> str:
    """Quadrant word: upbeat (+v,+a), calm (+v,-a), tense (-v,+a), melancholy (-v,-a); 0 counts as +."""
    return MOOD_QUADRANTS[(valence >= 0, arousal >= 0)]


def mood_signs(mood: str) -> tuple[bool, bool]:
    """``(valence positive, arousal positive)`` a mood word stands for: ``"tense" -> (False, True)``."""
    return next(k for k, v in MOOD_QUADRANTS.items() if v == mood)
