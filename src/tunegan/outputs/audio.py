"""Audio from MIDI: FluidSynth with a General MIDI soundfont, or a built-in numpy synthesizer.

``render_wav`` / ``render_audio`` pick an engine:

* ``"fluidsynth"`` runs the ``fluidsynth`` program (Debian package ``fluidsynth``). It plays every
  instrument and drum of the file and gives **stereo** audio.
* ``"numpy"`` is a small additive synthesizer that needs nothing installed: each note is a sum of
  harmonics with a piano-like envelope (5 ms attack, pitch-dependent decay, short release after the
  note ends), louder and brighter with velocity. Every pitched note sounds like the same piano;
  drum tracks are left out. It gives **mono** audio.
* ``"auto"`` (default) uses FluidSynth when the program and a soundfont are found, else numpy.

Both engines hear the same timing: the tempo map is applied once here (symusic's seconds), and
FluidSynth reads a temporary MIDI file on a plain millisecond clock (1000 ticks per quarter at
60 bpm). The file's own tempo events could otherwise reach it wrongly: tempos under 3.6 bpm
overflow the 24-bit MIDI tempo field, and FluidSynth's player races through a stretch of very fast
tempo (3.1 s of audio for 16.8 s of music). Audio lasts as long as the music plus its release:
numpy adds :data:`TAIL_S`; FluidSynth's output is cut where it has decayed by 60 dB, at most
:data:`MAX_TAIL_S` after the last note.

Work is bounded: the music is limited first (:func:`tunegan.outputs.render.limit_score`, default 20
minutes), audio is made in blocks of :data:`BLOCK` frames into a temporary float file and then
normalised (peak 0.99, never clipped) into 16-bit WAV block by block, so memory does not grow with
the length of the piece. Temporary files are removed on every path. Nothing is downloaded, ever.
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
from ..music import extract_notes
from ..music import score_notes
from .limits import MAX_MINUTES, Warn, bounded_score, run_program, warner, writing

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
TIMELINE_TPQ = 1000  # the temporary MIDI for FluidSynth: 1 tick = 1 ms (60 bpm)
DECAYED = 1e-3       # FluidSynth's tail is cut where the sound stays below this share of the peak (-60 dB)
MAX_TAIL_S = 1.0     # ... and at most this long after the last note ends, seconds
FADE_S = 0.05        # fade-out over the last 50 ms after such a cut
BLOCK = 1 << 17      # frames per block, about 3 s at 44.1 kHz

# numpy synthesizer settings
ATTACK_S = 0.005     # linear fade-in, seconds
RELEASE_S = 0.08     # time constant of the fade-out after note off, seconds
TAIL_S = 6 * RELEASE_S  # how long a note sounds after note off (fade to e^-6)
BRIGHT_S = 0.25      # time constant of the upper harmonics' faster decay, seconds
MAX_HARMONICS = 12
TABLE_SIZE = 4096    # samples in one period of a wavetable (power of two)
SILENT_LOG = -10.4   # a note stops being computed once its decay reaches e^-10.4 (-90 dB)


class AudioError(TuneganError):
    """Audio could not be rendered (a synthesizer failed or is missing)."""


def check_soundfont(path: str | os.PathLike) -> Path:
    """``path`` when it is a SoundFont 2 file (a RIFF ``sfbk`` header); else :class:`MusicOptionError`."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise MusicOptionError(f"soundfont '{path}' does not exist")
    try:
        with open(p, "rb") as f:
            head = f.read(12)
    except OSError as e:
        raise MusicOptionError(f"soundfont '{path}' cannot be read ({e.strerror or e})") from None
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"sfbk":
        raise MusicOptionError(f"soundfont '{path}' is not a SoundFont (.sf2) file: no RIFF/sfbk header")
    return p


def find_soundfont(path: str | os.PathLike | None = None) -> Path | None:
    """The soundfont to use: ``path`` if given, else ``$TUNEGAN_SOUNDFONT``, else the first of
    :data:`SOUNDFONT_PATHS` / :data:`SOUNDFONT_GLOBS` that exists; ``None`` if there is none.

    A given ``path`` (or the environment variable) that does not exist or is not a SoundFont raises
    :class:`MusicOptionError`.
    """
    for given, what in ((path, "soundfont"), (os.environ.get(SOUNDFONT_ENV) or None, f"${SOUNDFONT_ENV}")):
        if given is not None:
            try:
                return check_soundfont(given)
            except MusicOptionError as e:
                raise MusicOptionError(str(e).replace(f"soundfont '{given}'", f"{what} '{given}'", 1)) from None
    for candidate in SOUNDFONT_PATHS:
        if Path(candidate).is_file():
            return Path(candidate)
    for pattern in SOUNDFONT_GLOBS:
        found = sorted(Path("/").glob(pattern.lstrip("/")))
        if found:
            return found[0]
    return None


def render_wav(
    midi: symusic.Score | str | os.PathLike | bytes,
    wav_path: str | os.PathLike,
    *,
    sample_rate: int = 44100,
    soundfont: str | os.PathLike | None = None,
    engine: str = "auto",
    max_minutes: float | None = MAX_MINUTES,
    on_warning: Warn | None = None,
) -> Path:
    """Render ``midi`` to a 16-bit WAV at ``wav_path`` (stereo from FluidSynth, mono from numpy).

    Memory stays flat whatever the length (block by block). ``max_minutes=None`` skips the limits
    (the caller has applied them). Errors as :func:`render_audio`.
    """
    with tempfile.TemporaryDirectory(prefix="tunegan-audio-") as tmp:
        raw = _render_raw(midi, Path(tmp), int(sample_rate), soundfont, engine, max_minutes, on_warning)
        with writing(wav_path) as part, wave.open(str(part), "wb") as w:
            w.setnchannels(raw.channels)
            w.setsampwidth(2)
            w.setframerate(int(sample_rate))
            for block in raw.blocks():
                w.writeframes(_pcm16(block).tobytes())
    return Path(wav_path)


def render_audio(
    score_or_path: symusic.Score | str | os.PathLike | bytes,
    *,
    sample_rate: int = 44100,
    soundfont: str | os.PathLike | None = None,
    engine: str = "auto",
    max_minutes: float | None = MAX_MINUTES,
    on_warning: Warn | None = None,
) -> np.ndarray:
    """Render MIDI to float32 audio with peak 0.99, held in memory (use :func:`render_wav` for long pieces).

    Returns shape ``(n_samples, 2)`` (stereo) from FluidSynth, ``(n_samples,)`` (mono) from numpy;
    ``n_samples / sample_rate`` is the music's length plus the sound's release.
    Raises ``MIDIError`` for unreadable or empty MIDI, ``MusicOptionError`` for a bad engine or
    soundfont, :class:`AudioError` when FluidSynth was asked for but cannot run.
    """
    with tempfile.TemporaryDirectory(prefix="tunegan-audio-") as tmp:
        raw = _render_raw(score_or_path, Path(tmp), int(sample_rate), soundfont, engine, max_minutes, on_warning)
        audio = np.concatenate(list(raw.blocks())) if raw.frames else np.zeros((0, raw.channels), np.float32)
    return audio[:, 0] if raw.channels == 1 else audio


class _Raw:
    """Float32 audio in a temporary file: ``frames`` x ``channels`` samples, scaled by ``PEAK / peak`` when read."""

    def __init__(self, path: Path, channels: int, frames: int, peak: float, fade: int = 0):
        self.path, self.channels, self.frames, self.peak, self.fade = path, channels, frames, peak, fade

    def blocks(self, frames: int = BLOCK):
        """Normalised float32 blocks, shape ``(<= frames, channels)``, in order."""
        scale = np.float32(PEAK / self.peak) if self.peak > 0 else np.float32(1.0)
        with open(self.path, "rb") as f:
            for at in range(0, self.frames, frames):
                n = min(frames, self.frames - at)
                block = np.fromfile(f, "<f4", count=n * self.channels).reshape(-1, self.channels) * scale
                fade_from = self.frames - self.fade - at
                if self.fade and fade_from < n:
                    k = np.arange(max(0, fade_from), n)
                    block[k] *= ((self.frames - at - k) / self.fade)[:, None].astype(np.float32)
                yield block


def _render_raw(source, tmp: Path, sample_rate: int, soundfont, engine: str, max_minutes, on_warning) -> _Raw:
    """Check the options, bound the music and render it with the chosen engine into ``tmp``."""
    if engine not in ENGINES:
        raise MusicOptionError(f"engine '{engine}' is unknown: use one of {', '.join(ENGINES)}")
    if not 8000 <= sample_rate <= 192000:
        raise MusicOptionError(f"sample rate {sample_rate} Hz is outside 8000..192000")
    sf2 = find_soundfont(soundfont) if engine != "numpy" else None
    score, name = bounded_score(source, max_minutes, on_warning)
    raw = _render_score(score, name, tmp, sample_rate, sf2, soundfont, engine, on_warning)
    from ..music.form import loop_end
    from ..music.timing import ticks_to_seconds

    if (end := loop_end(score)) is not None and end > 0:
        return _wrap_loop(raw, int(round(float(ticks_to_seconds(score, np.array([end]))[0]) * sample_rate)), tmp)
    return raw


def _wrap_loop(raw: _Raw, frames: int, tmp: Path) -> _Raw:
    """A loop's audio: exactly ``frames`` long (the loop's length), the sound ringing on past its
    end added onto its start, as it sounds when the loop plays again."""
    audio = np.concatenate(list(raw.blocks())) if raw.frames else np.zeros((0, raw.channels), np.float32)
    out = np.zeros((frames, raw.channels), np.float32)
    for at in range(0, len(audio), max(frames, 1)):
        part = audio[at:at + frames]
        out[:len(part)] += part
    path = tmp / "loop.f32"
    out.astype("<f4").tofile(path)
    return _Raw(path, raw.channels, frames, float(np.abs(out).max()) if frames else 0.0)


def _render_score(score, name, tmp: Path, sample_rate: int, sf2, soundfont, engine: str, on_warning) -> _Raw:
    all_notes = score_notes(score, name, include_drums=True)  # raises MIDIError when there are no notes at all
    if engine != "numpy":
        exe = shutil.which("fluidsynth")
        if exe and sf2:
            return _fluidsynth_raw(score, exe, sf2, sample_rate, tmp, float(all_notes["end"].max()))
        missing = "the fluidsynth program" if not exe else "a soundfont (.sf2)"
        if engine == "fluidsynth":
            raise AudioError(f"cannot use fluidsynth: {missing} was not found; install it or use engine 'numpy'")
        if soundfont is not None:
            warner(on_warning)(f"{missing} was not found: the numpy synthesizer played it without the soundfont")
    pitched = extract_notes(score)  # drums left out
    if len(pitched) == 0:
        raise MIDIError(f"{name}: only drum notes, which the numpy synthesizer cannot play; use fluidsynth")
    path, frames, peak = tmp / "numpy.f32", 0, 0.0
    with open(path, "wb") as f:
        for block in synth_blocks(pitched, sample_rate=sample_rate):
            block.astype("<f4", copy=False).tofile(f)
            frames += len(block)
            peak = max(peak, float(np.abs(block).max()))
    return _Raw(path, 1, frames, peak)


def timeline_score(score: symusic.Score) -> symusic.Score:
    """A copy of a tick-based score on a millisecond clock: :data:`TIMELINE_TPQ` ticks per quarter at 60 bpm.

    Every event keeps its time in seconds (to 1 ms); the file's tempo events are gone.
    """
    sec = score.to("second")
    sec.tempos.clear()
    sec.tempos.append(symusic.Tempo(0.0, 60.0, ttype="second"))
    sec.ticks_per_quarter = TIMELINE_TPQ
    return sec.to("tick")


def _fluidsynth_raw(score: symusic.Score, exe: str, sf2: Path, sample_rate: int, tmp: Path, end_s: float) -> _Raw:
    """Stereo float32 from the fluidsynth program into ``tmp``, its tail cut at -60 dB after ``end_s``."""
    mid, out = tmp / "in.mid", tmp / "fluidsynth.f32"
    timeline_score(score).dump_midi(str(mid))
    cmd = [exe, "-ni", "-q", "-g", "0.5", "-r", str(sample_rate), "-T", "raw", "-O", "float", "-E", "little",
           "-F", str(out), str(sf2), str(mid)]
    try:  # fluidsynth is killed on any exception, Ctrl-C included
        run = run_program(cmd, timeout=FLUIDSYNTH_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise AudioError(f"fluidsynth took longer than {FLUIDSYNTH_TIMEOUT_S} s and was stopped") from None
    frames = out.stat().st_size // 8 if out.is_file() else 0
    if run.returncode != 0 or frames == 0:
        lines = (run.stderr or run.stdout or "no output").strip().splitlines() or ["no output"]
        raise AudioError(f"fluidsynth failed (exit {run.returncode}): {lines[-1]}")
    maxima = []  # loudest sample of each block
    with open(out, "rb") as f:
        for _ in range(0, frames, BLOCK):
            block = np.fromfile(f, "<f4", count=2 * BLOCK)
            maxima.append(float(np.abs(block).max()) if block.size else 0.0)
    peak = max(maxima)
    if peak == 0:
        raise AudioError(f"fluidsynth played only silence: does the soundfont '{sf2.name}' have these instruments?")
    loud = [i for i, m in enumerate(maxima) if m > DECAYED * peak][-1]  # the last block with audible sound
    with open(out, "rb") as f:
        f.seek(loud * BLOCK * 8)
        env = np.abs(np.fromfile(f, "<f4", count=2 * BLOCK).reshape(-1, 2)).max(axis=1)
    last = loud * BLOCK + int(np.nonzero(env > DECAYED * peak)[0][-1]) + 1
    end = int(np.ceil(end_s * sample_rate))
    keep = min(frames, end + int(MAX_TAIL_S * sample_rate), max(last, end))
    return _Raw(out, 2, keep, peak, fade=min(keep, int(FADE_S * sample_rate)) if keep < frames else 0)


def synthesize(notes: np.ndarray, *, sample_rate: int = 44100) -> np.ndarray:
    """Mono float32 audio, shape ``(n_samples,)``, of ``NOTE_DTYPE`` notes (times in seconds).

    ``n_samples = ceil((max end + TAIL_S) * sample_rate)``; empty input gives shape ``(0,)``.
    Not normalised: one loud note peaks near 1. Held in memory: :func:`synth_blocks` streams.
    """
    blocks = [b[:, 0] for b in synth_blocks(notes, sample_rate=sample_rate)]
    return np.concatenate(blocks) if blocks else np.zeros(0, np.float32)


def synth_blocks(notes: np.ndarray, *, sample_rate: int = 44100, block: int = BLOCK):
    """:func:`synthesize` in order as float32 blocks of shape ``(<= block, 1)``; memory ~ one block.

    A note is computed until its decay reaches -90 dB (:data:`SILENT_LOG`) or its release ends.
    """
    if len(notes) == 0:
        return
    sr = float(sample_rate)
    total = int(np.ceil((float(notes["end"].max()) + TAIL_S) * sr))
    order = np.argsort(notes["start"], kind="stable")
    notes = notes[order]
    starts = np.round(notes["start"] * sr).astype(np.int64)
    held = np.maximum(1, np.round((notes["end"] - notes["start"]) * sr).astype(np.int64))
    pitch = notes["pitch"].astype(np.float64)
    freqs = 440.0 * 2.0 ** ((pitch - 69.0) / 12.0)
    amps = (np.clip(notes["velocity"], 1, 127) / 127.0) ** 1.5
    decay_s = 3.0 * 2.0 ** (-(pitch - 21.0) / 30.0)  # A0 rings ~3 s, C8 ~0.4 s
    audible = np.ceil(-SILENT_LOG * decay_s * sr).astype(np.int64)
    lengths = np.maximum(1, np.minimum(np.minimum(held + int(TAIL_S * sr), audible), total - starts))
    ramp = np.minimum(1.0, np.arange(int(ATTACK_S * sr) + 1, dtype=np.float32) / (ATTACK_S * sr))
    bright_n = int(5 * BRIGHT_S * sr)
    bright_env = np.exp(-np.arange(bright_n, dtype=np.float32) / np.float32(BRIGHT_S * sr))
    longest = int(lengths.max())
    for b0 in range(0, total, block):
        b1 = min(total, b0 + block)
        out = np.zeros(b1 - b0, np.float32)
        lo, hi = np.searchsorted(starts, [b0 - longest, b1])
        for k in range(lo, hi):
            s, n = int(starts[k]), int(lengths[k])
            g0, g1 = max(s, b0), min(s + n, b1)
            if g1 <= g0:
                continue
            _add_note(out, g0 - b0, np.arange(g0 - s, g1 - s, dtype=np.float64), freqs[k], float(amps[k]),
                      float(decay_s[k]), int(held[k]), sr, ramp, bright_env)
        yield out[:, None]


def _add_note(out, at: int, idx: np.ndarray, freq: float, amp: float, decay_s: float, held: int, sr: float,
              ramp: np.ndarray, bright_env: np.ndarray) -> None:
    """Add samples ``idx`` (0 = the note's onset) of one note to ``out[at:]``, in place."""
    mellow, bright = _wavetables(_harmonics_for(freq, sr))
    phase = (idx * (freq * TABLE_SIZE / sr)).astype(np.int64)
    phase &= TABLE_SIZE - 1
    log_env = idx.astype(np.float32) * np.float32(-1.0 / (decay_s * sr))
    released = idx >= held
    if released.any():  # release: an extra exponential fade after note off
        log_env[released] -= (idx[released] - held).astype(np.float32) / np.float32(RELEASE_S * sr)
    env = np.exp(log_env)
    env *= np.float32(amp)
    first = int(idx[0])
    if first < len(ramp):
        a = min(len(ramp) - first, len(idx))
        env[:a] *= ramp[first:first + a]
    n = len(idx)
    out[at:at + n] += env * mellow[phase]
    if first < len(bright_env):
        b = min(len(bright_env) - first, n)
        out[at:at + b] += env[:b] * bright_env[first:first + b] * bright[phase[:b]] * np.float32(amp ** 0.5)


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


def _pcm16(audio: np.ndarray) -> np.ndarray:
    """Float audio in [-1, 1] as little-endian int16 PCM (clipped at full scale), shape kept."""
    return np.round(np.clip(audio, -1.0, 1.0) * 32767.0).astype("<i2")


def write_wav(audio: np.ndarray, path: str | os.PathLike, sample_rate: int = 44100) -> Path:
    """Write float audio in [-1, 1] (shape ``(n,)`` mono or ``(n, channels)``) as 16-bit PCM WAV."""
    a = np.asarray(audio, dtype=np.float32)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape[1] not in (1, 2):
        raise MusicOptionError(f"audio of shape {tuple(np.shape(audio))} is neither (n,) nor (n, 1|2)")
    with writing(path) as part, wave.open(str(part), "wb") as w:
        w.setnchannels(a.shape[1])
        w.setsampwidth(2)
        w.setframerate(int(sample_rate))
        for at in range(0, len(a), BLOCK):
            w.writeframes(_pcm16(a[at:at + BLOCK]).tobytes())
    return Path(path)


def read_wav(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """``(audio, sample_rate)`` of a 16-bit PCM WAV: float32 in [-1, 1], shape ``(n,)`` or ``(n, channels)``."""
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2:
            raise AudioError(f"{Path(path).name}: only 16-bit WAV is supported (got {8 * w.getsampwidth()}-bit)")
        channels, sr = w.getnchannels(), w.getframerate()
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    audio = (data.astype(np.float32) / 32768.0).reshape(-1, channels)
    return (audio[:, 0] if channels == 1 else audio), sr
