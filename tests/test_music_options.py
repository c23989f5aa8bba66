"""Option parsers for ``generate`` and the Score helpers in tunegan.music."""

import pytest
import symusic

from tunegan.errors import MusicOptionError
from tunegan.music import (
    GM_PROGRAMS, bar_grid, parse_instrument, parse_key, parse_tempo, parse_time_signature,
    scale_pitch_classes, set_instrument, set_tempo, set_time_signature, ticks_to_seconds, transpose_score,
)


def _score(pitches=(60, 64, 67), tpq=480):
    s = symusic.Score(tpq)
    s.tempos.append(symusic.Tempo(0, 120.0))
    t = symusic.Track("p", 0, False)
    for i, p in enumerate(pitches):
        t.notes.append(symusic.Note(i * tpq, tpq, p, 80))
    s.tracks.append(t)
    return s


@pytest.mark.parametrize("text, expected", [
    ("A minor", (9, "minor")), ("F# major", (6, "major")), ("Bb", (10, "major")), ("c#m", (1, "minor")),
    ("Am", (9, "minor")), ("E flat major", (3, "major")), ("Cb", (11, "major")), ("d dorian", (2, "dorian")),
    ("bbm", (10, "minor")), ("G MAJOR", (7, "major")),
])
def test_parse_key(text, expected):
    assert parse_key(text) == expected


@pytest.mark.parametrize("bad", ["H major", "", "C blues", "major"])
def test_parse_key_rejects_with_one_line(bad):
    with pytest.raises(MusicOptionError) as e:
        parse_key(bad)
    assert "\n" not in str(e.value) and "is not a key" in str(e.value)


def test_scale_pitch_classes():
    assert scale_pitch_classes(0, "major") == {0, 2, 4, 5, 7, 9, 11}
    assert scale_pitch_classes(*parse_key("A minor")) == {9, 11, 0, 2, 4, 5, 7}
    assert scale_pitch_classes(*parse_key("A harmonic minor")) == {9, 11, 0, 2, 4, 5, 8}  # G#: the leading tone


@pytest.mark.parametrize("text, expected", [("3/4", (3, 4)), ("6/8", (6, 8)), (" 12 / 16 ", (12, 16)), ((5, 4), (5, 4))])
def test_parse_time_signature(text, expected):
    assert parse_time_signature(text) == expected


@pytest.mark.parametrize("bad, word", [("3/5", "bottom"), ("0/4", "top"), ("33/4", "top"), ("4/128", "bottom"), ("waltz", "not a time")])
def test_parse_time_signature_rejects(bad, word):
    with pytest.raises(MusicOptionError, match=word):
        parse_time_signature(bad)


def test_gm_table_is_complete():
    assert len(GM_PROGRAMS) == 128 and len(set(GM_PROGRAMS)) == 128


@pytest.mark.parametrize("text, expected", [
    ("Acoustic Grand Piano", 0), ("violin", 40), ("40", 40), ("VIOLIN", 40), ("acoustic guitar nylon", 24),
    ("nylon", 24), ("piano", 0), ("Lead 2 (sawtooth)", 81), (73, 73), ("Gunshot", 127),
])
def test_parse_instrument(text, expected):
    assert parse_instrument(text) == expected


def test_parse_instrument_suggests_close_names():
    with pytest.raises(MusicOptionError, match="did you mean 'Violin'"):
        parse_instrument("violn")
    with pytest.raises(MusicOptionError, match="0..127"):
        parse_instrument("128")


def test_parse_tempo():
    assert parse_tempo("90") == 90.0
    for bad in ("10", "301", "fast"):
        with pytest.raises(MusicOptionError, match="tempo"):
            parse_tempo(bad)


def test_score_helpers_return_changed_copies():
    s = _score()
    up = transpose_score(s, 2)
    assert [n.pitch for n in up.tracks[0].notes] == [62, 66, 69]
    assert [n.pitch for n in s.tracks[0].notes] == [60, 64, 67]
    with pytest.raises(MusicOptionError):
        transpose_score(s, 100)
    assert set_tempo(s, 60).tempos[0].qpm == pytest.approx(60)
    ts = set_time_signature(s, 3, 4).time_signatures
    assert (len(ts), ts[0].numerator, ts[0].denominator) == (1, 3, 4)
    assert set_instrument(s, "violin").tracks[0].program == 40
    with pytest.raises(MusicOptionError):
        set_time_signature(s, 3, 5)


def test_bar_grid_follows_time_signature_changes():
    s = _score()
    s.time_signatures.append(symusic.TimeSignature(0, 3, 4))
    s.time_signatures.append(symusic.TimeSignature(480 * 6, 6, 8))
    grid = bar_grid(s, 480 * 12)
    assert grid.bars.tolist()[:5] == [0, 1440, 2880, 4320, 5760]
    assert grid.beats.tolist()[:8] == [0, 480, 960, 1440, 1920, 2400, 2880, 3120]
    assert grid.numerators.tolist()[:3] == [3, 3, 6]


def test_ticks_to_seconds_follows_tempo_changes():
    s = _score()
    s.tempos.append(symusic.Tempo(960, 60.0))
    assert ticks_to_seconds(s, [0, 480, 960, 1440]).tolist() == pytest.approx([0, 0.5, 1.0, 2.0])
