"""The render and explain commands, run through a local typer app."""

import json

import pytest
import symusic
import typer
from typer.testing import CliRunner

from tunegan.cli.outputs import explain, render


@pytest.fixture()
def app():
    a = typer.Typer()
    a.command("render")(render)
    a.command("explain")(explain)
    return a


@pytest.fixture()
def midi(tmp_path):
    s = symusic.Score(480)
    s.tempos.append(symusic.Tempo(0, 120.0))
    t = symusic.Track("p", 0, False)
    for i, p in enumerate([60, 62, 64, 65, 67]):
        t.notes.append(symusic.Note(i * 480, 480, p, 80))
    s.tracks.append(t)
    path = tmp_path / "tune.mid"
    s.dump_midi(str(path))
    return path


def test_render_writes_wav_and_png_by_default(app, midi):
    result = CliRunner().invoke(app, ["render", str(midi), "--engine", "numpy"])
    assert result.exit_code == 0, result.output
    assert midi.with_suffix(".wav").is_file() and midi.with_suffix(".png").is_file()
    assert "wrote" in result.output


def test_render_musicxml_only(app, midi, tmp_path):
    out = tmp_path / "out" / "tune.musicxml"
    result = CliRunner().invoke(app, ["render", str(midi), "--musicxml", str(out)])
    assert result.exit_code == 0 and out.is_file() and not midi.with_suffix(".wav").exists()


def test_explain_table_and_json(app, midi):
    result = CliRunner().invoke(app, ["explain", str(midi)])
    assert result.exit_code == 0 and "C major" in result.output and "E4 (64)" in result.output
    result = CliRunner().invoke(app, ["explain", str(midi), "--json"])
    data = json.loads(result.output)
    assert data["summary"]["key"] == "C major" and len(data["notes"]) == 5


@pytest.mark.parametrize("args", [
    ["explain", "{bad}"], ["render", "{bad}", "--engine", "numpy"], ["render", "{midi}", "--engine", "loud"],
    ["render", "{midi}", "--soundfont", "/no/such.sf2", "--engine", "fluidsynth"],
])
def test_errors_are_one_line_without_traceback(app, midi, tmp_path, args):
    bad = tmp_path / "bad.mid"
    bad.write_text("not a midi file")
    args = [a.format(bad=bad, midi=midi) for a in args]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "Traceback" not in result.output
