"""TEMPORARY: note names moved to :mod:`tunegan.music.names`."""

from .music.names import NAMES_SHARP, PIANO_HIGH, PIANO_LOW, note_name, parse_note, parse_notes  # noqa: F401
