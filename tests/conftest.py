"""Shared test helpers: tiny MIDI built in code, tiny model configs, a tiny prepared corpus."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

os.environ.setdefault("TUNEGAN_THREADS", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
torch.set_num_threads(1)

FIXTURES = Path(__file__).parent / "data" / "midi"
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def make_melody(pitches, *, step=0.25, velocity=80, tempo=120.0, time_signature=(4, 4)):
    """A symusic Score of ``pitches`` one after another, ``step`` seconds each."""
    from tunegan.api import seed_score

    return seed_score(list(pitches), tempo=tempo, time_signature=time_signature, beats=step * tempo / 60.0,
                      velocity=velocity)


def write_corpus(root: Path, n_files: int = 24, notes_per_file: int = 120, seed: int = 0) -> Path:
    """A folder of small, learnable MIDI files: scales and arpeggios in random keys."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    patterns = [np.array([0, 2, 4, 5, 7, 9, 11, 12]), np.array([0, 4, 7, 12, 7, 4])]
    for i in range(n_files):
        base = int(rng.integers(48, 72))
        pat = patterns[i % 2]
        pitches = np.tile(base + pat, notes_per_file // len(pat) + 1)[:notes_per_file]
        make_melody(pitches.tolist()).dump_midi(str(root / f"piece_{i:02d}.mid"))
    return root


@pytest.fixture
def tiny_corpus(tmp_path) -> Path:
    return write_corpus(tmp_path / "midi")


@pytest.fixture
def tiny_cache(tmp_path, tiny_corpus) -> Path:
    from tunegan.data.prepare import prepare
    from tunegan.data.sources import MidiFolder
    from tunegan.tokenizers import get_tokenizer

    out = tmp_path / "cache"
    prepare([MidiFolder(str(tiny_corpus))], get_tokenizer("pitch"), out, workers=1, labels=False)
    return out


def tiny_train_config(**kw):
    from tunegan.config import TrainConfig

    base = dict(epochs=2, batch_size=8, seq_len=16, steps_per_epoch=6, val_batches=2, log_every=2, threads=1,
                lr=1e-2, d_lr=1e-3, adv_prefix=4, adv_len=8, pretrain_epochs=1)
    base.update(kw)
    return TrainConfig(**base)


def tiny_generator_config(vocab_size=89, **kw):
    from tunegan.config import GeneratorConfig

    return GeneratorConfig(vocab_size=vocab_size, embed_dim=16, hidden_size=32, **kw)


def tiny_discriminator_config(vocab_size=89, **kw):
    from tunegan.config import DiscriminatorConfig

    return DiscriminatorConfig(vocab_size=vocab_size, channels=8, kernel_size=3, **kw)


@pytest.fixture(scope="session")
def dmajor_run(tmp_path_factory):
    """A tiny REMI model trained briefly on pieces in D major that repeat a motif, with its
    repetition weights fitted and style priors (keys) stored."""
    from tunegan import api
    from tunegan.data.prepare import prepare
    from tunegan.data.sources import MidiFolder
    from tunegan.tokenizers import get_tokenizer
    from tunegan.training.trainer import Trainer

    root = tmp_path_factory.mktemp("dmajor")
    scale = [62, 64, 66, 67, 69, 71, 73, 74]
    rng = np.random.default_rng(0)
    for i in range(40):
        motif = [scale[j] for j in rng.integers(0, 8, 8)]
        s = make_melody((motif + [62, 66, 69, 74]) * 4, velocity=70 + 4 * (i % 5))
        s.dump_midi(str(root / f"d{i:02d}.mid"))
    cache = root / "cache"
    prepare([MidiFolder(str(root))], get_tokenizer("remi"), cache, workers=1, labels=False)
    run = root / "run"
    Trainer(tiny_train_config(mode="mle", epochs=2, steps_per_epoch=4), cache, run,
            generator_config=tiny_generator_config(vocab_size=316), quiet=True).fit()
    out = api.export(run, root / "shipped", repeats_from=cache)
    return cache, out, run
