"""Named errors. Every message is one line that names the bad input.

Single-file calls raise these; dataset builds catch them, skip the file and
record the reason in the manifest (see :mod:`tunegan.data.prepare`).
"""


class TuneganError(Exception):
    """Base class: the CLI prints ``str(err)`` as one line and exits non-zero."""


class MIDIError(TuneganError):
    """A MIDI file that cannot be read or holds nothing usable."""


class NoteNameError(TuneganError, ValueError):
    """A note name or number that is not a key of the piano."""


class ConfigError(TuneganError, ValueError):
    """A config field with a value outside its allowed range."""


class CheckpointError(TuneganError):
    """A checkpoint that is missing, incomplete or of the wrong kind."""


class DataError(TuneganError):
    """A dataset folder or cache that cannot be used."""


class TokenizerMismatchError(TuneganError):
    """A checkpoint and a token cache built with different tokenizers."""


class MusicOptionError(TuneganError, ValueError):
    """A musical option (key, time signature, instrument, tempo...) that makes no sense."""
