"""Ways to hear and see a piece: audio (WAV), a piano-roll picture (PNG) and sheet music.

One module per format: :mod:`.audio`, :mod:`.pianoroll`, :mod:`.sheet`. Each takes a
:class:`symusic.Score`, a MIDI path or MIDI bytes. :mod:`.render` writes several at once with the
paths checked first and the work bounded: ``from tunegan.outputs.render import render`` (the
function is not re-exported here, so ``tunegan.outputs.render`` stays the module).
"""

from .audio import (AudioError, check_soundfont, find_soundfont, read_wav, render_audio, render_wav, synthesize,
                    write_wav)
from .pianoroll import plot_pianoroll
from .limits import MAX_MINUTES, RenderWarning, check_output, limit_score
from .render import RenderReport
from .engrave import engrave_files, find_musescore, render_sheet, write_sheet_xml
from .sheet import NotationError, to_musicxml

__all__ = [
    "AudioError", "check_soundfont", "find_soundfont", "read_wav", "render_audio", "render_wav", "synthesize", "write_wav",
    "plot_pianoroll",
    "MAX_MINUTES", "RenderReport", "RenderWarning", "check_output", "limit_score",
    "NotationError", "engrave_files", "find_musescore", "render_sheet", "to_musicxml", "write_sheet_xml",
]
