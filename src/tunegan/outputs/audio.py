"""Audio from MIDI: FluidSynth with a General MIDI soundfont, or a built-in numpy synthesizer.

``render_audio`` picks an engine:

* ``"fluidsynth"`` runs the ``fluidsynth`` program (Debian package ``fluidsynth``) on a temporary
  MIDI file. It plays every instrument and drum of the file and returns **stereo**
  float32 audio of shape ``(n_samples, 2)``.
* ``"numpy"`` is a small additive synthesizer that needs nothing installed: each note is a sum of
  harmonics with a piano-like envelope (5 ms attack, pitch-dependent decay, short release after the
  note ends), louder and brighter with velocity. Every pitched note sounds like the same piano;
  drum tracks are left out. It returns **mono** float32 audio of shape ``(n_samples,)``.
* ``"auto"`` (default) uses FluidSynth when the program and a soundfont are found, else numpy.

Audio is normalised so its peak is 0.99 (never clipped). Nothing is downloaded, ever.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import wave
from functools import lru_cache
from pathlib import Path

import numpy as np
import symusic

from ..errors import MIDIError, MusicOptionError, TuneganError
from ..midi import extract_notes
from ..music import as_score, score_notes

ENGINES = ("auto", "fluidsynth", "numpy")
PEAK = 0.99  # normalised peak amplitude
SOUNDFONT_ENV = "TUNEGAN_SOUNDFONT"
# Searched in order. TimGM6mb (6 MB) comes first: it loads in a fraction of a second, so a
# 30 s render takes about 0.5 s; FluidR3_GM (148 MB) sounds fuller but takes over a second
# just to load. Pass ``soundfont=`` (``--soundfont``) or set $TUNEGAN_SOUNDFONT to choose.
SOUNDFONT_PATHS = (
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/soundfonts/default.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/local/share/soundfonts/default.sf2",
    "/opt/homebrew/share/soundfonts/default.sf2",
)
SOUNDFONT_GLOBS = ("/usr/share/soundfonts/*.sf2", "/usr/share/sounds/sf2/*.sf2", "/usr/local/share/soundfonts/*.sf2")
FLUIDSYNTH_TIMEOUT_S = 300

# numpy synthesizer settings
ATTACK_S = 0.005     # linear fade-in, seconds
RELEASE_S = 0.08     # time constant of the fade-out after note off, seconds
TAIL_S = 6 * RELEASE_S  # how long a note sounds after note off (fade to e^-6)
BRIGHT_S = 0.25      # time constant of the upper harmonics' faster decay, seconds
MAX_HARMONICS = 12
TABLE_SIZE = 4096    # samples in one period of a wavetable (power of two)


class AudioError(TuneganError):
    """Audio could not be rendered (a synthesizer failed or is missing)."""


def find_soundfont(path: str | os.PathLike | None = None) -> Path | None:
    """The soundfont to use: ``path`` if given, else ``$TUNEGAN_SOUNDFONT``, else the first of
    :data:`SOUNDFONT_PATHS` / :data:`SOUNDFONT_GLOBS` that exists; ``None`` if there is none.

    A given ``path`` (or the environment variable) that does not exist raises :class:`MusicOptionError`.
    """
    for given, what in ((path, "soundfont"), (os.environ.get(SOUNDFONT_ENV) or None, f"${SOUNDFONT_ENV}")):
        if given is not None:
            p = Path(given).expanduser()
            if not p.is_file():
                raise MusicOptionError(f"{what} '{given}' does not exist")
            return p
    for candidate in SOUNDFONT_PATHS:
        if Path(candidate).is_file():
            return Path(candidate)
    for pattern in SOUNDFONT_GLOBS:
        found = sorted(Path("/").glob(pattern.lstrip("/")))
        if found:
            return found[0]
    return None


def render_audio(
    score_or_path: symusic.Score | str | os.PathLike | bytes,
    *,
    sample_rate: int = 44100,
    soundfont: str | os.PathLike | None = None,
    engine: str = "auto",
) -> np.ndarray:
    """Render MIDI to float32 audio with peak 0.99.

    Returns shape ``(n_samples, 2)`` (stereo) from FluidSynth, ``(n_samples,)`` (mono) from numpy;
    ``n_samples / sample_rate`` is the music's length plus the sound's release.
    Raises ``MIDIError`` for unreadable or empty MIDI, ``MusicOptionError`` for a bad engine or
    soundfont, :class:`AudioError` when FluidSynth was asked for but cannot run.
    """
    if engine not in ENGINES:
        raise MusicOptionError(f"engine '{engine}' is unknown: use one of {', '.join(ENGINES)}")
    if not 8000 <= int(sample_rate) <= 192000:
        raise MusicOptionError(f"sample rate {sample_rate} Hz is outside 8000..192000")
    score, name = as_score(score_or_path)
    score_notes(score, name, include_drums=True)  # raises MIDIError when there are no notes at all
    if engine in ("auto", "fluidsynth"):
        exe = shutil.which("fluidsynth")
        sf2 = find_soundfont(soundfont)
        if exe and sf2:
            return _normalise(_render_fluidsynth(score, exe, sf2, int(sample_rate)))
        if engine == "fluidsynth":
            missing = "the fluidsynth program" if not exe else "a soundfont (.sf2)"
            raise AudioError(f"cannot use fluidsynth: {missing} was not found; install it or use engine 'numpy'")
    pitched = extract_notes(score)  # drums left out
    if len(pitched) == 0:
        raise MIDIError(f"{name}: only drum notes, which the numpy synthesizer cannot play; use fluidsynth")
    return _normalise(synthesize(pitched, sample_rate=int(sample_rate)))


def synthesize(notes: np.ndarray, *, sample_rate: int = 44100) -> np.ndarray:
    """Mono float32 audio, shape ``(n_samples,)``, of ``NOTE_DTYPE`` notes (times in seconds).

    ``n_samples = ceil((max end + TAIL_S) * sample_rate)``; empty input gives shape ``(0,)``.
    Not normalised: one loud note peaks near 1. Vectorised per note, so 30 s take well under a second.
    """
    if len(notes) == 0:
        return np.zeros(0, np.float32)
    sr = float(sample_rate)
    total = int(np.ceil((float(notes["end"].max()) + TAIL_S) * sr))
    out = np.zeros(total, np.float32)
    starts = np.round(notes["start"] * sr).astype(np.int64)
    held = np.maximum(1, np.round((notes["end"] - notes["start"]) * sr).astype(np.int64))
    lengths = np.minimum(held + int(TAIL_S * sr), total - starts)
    pitch = notes["pitch"].astype(np.float64)
    freqs = 440.0 * 2.0 ** ((pitch - 69.0) / 12.0)
    amps = (np.clip(notes["velocity"], 1, 127) / 127.0) ** 1.5
    decay_s = 3.0 * 2.0 ** (-(pitch - 21.0) / 30.0)  # A0 rings ~3 s, C8 ~0.4 s
    idx = np.arange(int(lengths.max()), dtype=np.float64)
    ramp = np.minimum(1.0, np.arange(int(ATTACK_S * sr) + 1, dtype=np.float32) / (ATTACK_S * sr))
    bright_n = int(5 * BRIGHT_S * sr)
    bright_env = np.exp(-np.arange(bright_n, dtype=np.float32) / np.float32(BRIGHT_S * sr))
    for k in range(len(notes)):
        n, s = int(lengths[k]), int(starts[k])
        mellow, bright = _wavetables(_harmonics_for(freqs[k], sr))
        phase = (idx[:n] * (freqs[k] * TABLE_SIZE / sr)).astype(np.int64)
        phase &= TABLE_SIZE - 1
        log_env = idx[:n].astype(np.float32) * np.float32(-1.0 / (decay_s[k] * sr))
        h = int(held[k])
        if h < n:  # release: an extra exponential fade after note off
            log_env[h:] -= np.arange(n - h, dtype=np.float32) / np.float32(RELEASE_S * sr)
        env = np.exp(log_env)
        env *= np.float32(amps[k])
        a = min(len(ramp), n)
        env[:a] *= ramp[:a]
        out[s:s + n] += env * mellow[phase]
        b = min(bright_n, n)
        out[s:s + b] += env[:b] * bright_env[:b] * bright[phase[:b]] * np.float32(amps[k] ** 0.5)
    return out


def _harmonics_for(freq: float, sr: float) -> int:
    """How many harmonics of ``freq`` stay below the Nyquist frequency (1..MAX_HARMONICS)."""
    return int(max(1, min(MAX_HARMONICS, (sr / 2.0) // freq)))


@lru_cache(maxsize=None)
def _wavetables(n_harmonics: int) -> tuple[np.ndarray, np.ndarray]:
    """One period each (float32, shape ``(TABLE_SIZE,)``) of a mellow tone (harmonic k at 1/k²)
    and of the bright upper harmonics (k ≥ 2 at 1/k) that fade out faster."""
    theta = 2.0 * np.pi * np.arange(TABLE_SIZE) / TABLE_SIZE
    ks = np.arange(1, n_harmonics + 1)
    mellow = (np.sin(np.outer(ks, theta)) / (ks[:, None] ** 2)).sum(axis=0)
    bright = (np.sin(np.outer(ks[1:], theta)) / ks[1:, None]).sum(axis=0) if n_harmonics > 1 else np.zeros(TABLE_SIZE)
    scale = 1.0 / np.abs(mellow).max()
    return (mellow * scale).astype(np.float32), (bright * scale * 0.5).astype(np.float32)


def _render_fluidsynth(score: symusic.Score, exe: str, sf2: Path, sample_rate: int) -> np.ndarray:
    """Stereo float32 ``(n_samples, 2)`` from the fluidsynth program, in a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="tunegan-") as tmp:
        mid, wav = Path(tmp) / "in.mid", Path(tmp) / "out.wav"
        score.dump_midi(str(mid))
        cmd = [exe, "-ni", "-q", "-g", "0.5", "-r", str(sample_rate), "-T", "wav", "-O", "s16",
               "-F", str(wav), str(sf2), str(mid)]
        try:
            run = subprocess.run(cmd, capture_output=True, text=True, timeout=FLUIDSYNTH_TIMEOUT_S,
                                 stdin=subprocess.DEVNULL, check=False)
        except subprocess.TimeoutExpired:
            raise AudioError(f"fluidsynth took longer than {FLUIDSYNTH_TIMEOUT_S} s and was stopped") from None
        if run.returncode != 0 or not wav.is_file() or wav.stat().st_size <= 44:
            lines = (run.stderr or run.stdout or "no output").strip().splitlines() or ["no output"]
            raise AudioError(f"fluidsynth failed (exit {run.returncode}): {lines[-1]}")
        audio, _ = read_wav(wav)
    return audio


def _normalise(audio: np.ndarray) -> np.ndarray:
    """Scale so the peak is :data:`PEAK`; silence stays silence."""
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    if peak > 0:
        audio = audio * np.float32(PEAK / peak)
    return audio.astype(np.float32, copy=False)


def write_wav(audio: np.ndarray, path: str | os.PathLike, sample_rate: int = 44100) -> Path:
    """Write float audio in [-1, 1] (shape ``(n,)`` mono or ``(n, channels)``) as 16-bit PCM WAV."""
    a = np.asarray(audio, dtype=np.float32)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape[1] not in (1, 2):
        raise MusicOptionError(f"audio of shape {tuple(np.shape(audio))} is neither (n,) nor (n, 1|2)")
    pcm = np.round(np.clip(a, -1.0, 1.0) * 32767.0).astype("<i2")
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(p), "wb") as w:
        w.setnchannels(a.shape[1])
        w.setsampwidth(2)
        w.setframerate(int(sample_rate))
        w.writeframes(pcm.tobytes())
    return p


def read_wav(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """``(audio, sample_rate)`` of a 16-bit PCM WAV: float32 in [-1, 1], shape ``(n,)`` or ``(n, channels)``."""
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2:
            raise AudioError(f"{Path(path).name}: only 16-bit WAV is supported (got {8 * w.getsampwidth()}-bit)")
        channels, sr = w.getnchannels(), w.getframerate()
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    audio = (data.astype(np.float32) / 32768.0).reshape(-1, channels)
    return (audio[:, 0] if channels == 1 else audio), sr


def render_wav(midi: symusic.Score | str | os.PathLike | bytes, wav_path: str | os.PathLike, **kw) -> Path:
    """Render ``midi`` with :func:`render_audio` (same keyword arguments) and write it to ``wav_path``."""
    sample_rate = int(kw.get("sample_rate", 44100))
    return write_wav(render_audio(midi, **kw), wav_path, sample_rate)
