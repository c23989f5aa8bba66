"""Ways to hear and see a piece: audio (WAV), a piano-roll picture (PNG) and sheet music.

One module per format: :mod:`.audio`, :mod:`.pianoroll`, :mod:`.sheet`. Each takes a
:class:`symusic.Score`, a MIDI path or MIDI bytes.
"""

from .audio import AudioError, find_soundfont, read_wav, render_audio, render_wav, synthesize, write_wav
from .pianoroll import plot_pianoroll
from .sheet import NotationError, find_musescore, render_sheet, to_musicxml

__all__ = [
    "AudioError", "find_soundfont", "read_wav", "render_audio", "render_wav", "synthesize", "write_wav",
    "plot_pianoroll",
    "NotationError", "find_musescore", "render_sheet", "to_musicxml",
]
