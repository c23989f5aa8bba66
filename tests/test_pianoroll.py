"""Piano-roll pictures."""

import matplotlib.image
import pytest
import symusic

from tunegan.errors import MIDIError
from tunegan.outputs.pianoroll import pianoroll_figure, plot_pianoroll


def _score(ts=(3, 4)):
    s = symusic.Score(480)
    s.tempos.append(symusic.Tempo(0, 100.0))
    s.time_signatures.append(symusic.TimeSignature(0, *ts))
    t = symusic.Track("p", 0, False)
    for i, p in enumerate([48, 60, 64, 67, 72, 76, 79]):
        t.notes.append(symusic.Note(i * 480, 480, p, 15 * i + 20))
    s.tracks.append(t)
    return s


@pytest.mark.parametrize("width, height, dpi", [(12, 5, 100), (6, 3, 50)])
def test_png_has_the_asked_pixel_size(tmp_path, width, height, dpi):
    path = plot_pianoroll(_score(), tmp_path / "roll.png", width=width, height=height, dpi=dpi)
    img = matplotlib.image.imread(str(path))
    assert img.shape[:2] == (height * dpi, width * dpi)


def test_axes_name_the_c_notes_and_draw_bars(tmp_path):
    fig = pianoroll_figure(_score())
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert {"C3 (48)", "C4 (60)", "C5 (72)"} <= set(labels)
    assert len(fig.axes) == 2  # the plot and the velocity colour bar
    bar_lines = [ln for ln in ax.lines if ln.get_color() == "0.45"]
    assert len(bar_lines) == 3  # 7 quarter notes in 3/4 at 100 bpm: bars at 0, 1.8, 3.6 s


def test_empty_or_bad_midi_is_a_named_error(tmp_path):
    empty = symusic.Score(480)
    with pytest.raises(MIDIError, match="no notes"):
        plot_pianoroll(empty, tmp_path / "x.png")
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"hello")
    with pytest.raises(MIDIError, match="bad.mid"):
        plot_pianoroll(bad, tmp_path / "x.png")
