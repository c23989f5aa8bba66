import json

import numpy as np
import pytest
import torch

from conftest import tiny_discriminator_config, tiny_generator_config, tiny_train_config
from tunegan.api import generate
from tunegan.checkpoint import load_checkpoint
from tunegan.training.adversarial import AdversarialLoss, gumbel_rollout
from tunegan.training.trainer import Trainer


def _trainer(cache, out, **kw):
    return Trainer(tiny_train_config(**kw), cache, out, generator_config=tiny_generator_config(),
                   discriminator_config=tiny_discriminator_config(), quiet=True)


def test_mle_lowers_loss_saves_resumes_generates(tiny_cache, tmp_path):
    out = tmp_path / "run"
    t = _trainer(tiny_cache, out, mode="mle", epochs=2, steps_per_epoch=15)
    m = t.fit()
    log = [json.loads(l) for l in (out / "log.jsonl").read_text().splitlines()]
    nll = [r["nll"] for r in log if "nll" in r and "step" in r and "epoch_end" not in r]
    assert nll[-1] < nll[0] - 0.5
    assert m["val_nll"] < 4.0  # uniform over 89 tokens is 4.49
    assert (out / "latest").exists() and (out / "best").exists()
    ck = load_checkpoint(out, which="latest", with_train_state=True)
    assert ck.meta["step"] == 30 and ck.meta["train_config"]["mode"] == "mle"
    # resume continues from the saved epoch and step
    t2 = Trainer(tiny_train_config(mode="mle", epochs=3, steps_per_epoch=15), tiny_cache, out, resume=True, quiet=True)
    assert t2.step == 30 and t2.epoch == 2
    t2.fit()
    assert load_checkpoint(out, which="latest").meta["step"] == 45
    [song] = generate(checkpoint=out, seed_notes="C4 E4 G4", length=20, seed=3)
    assert song.score.note_num() == 23
    assert list(song.notes()["pitch"][:3]) == [60, 64, 67]


def test_resume_is_deterministic(tiny_cache, tmp_path):
    a = _trainer(tiny_cache, tmp_path / "a", mode="mle", epochs=2)
    a.fit()
    b = _trainer(tiny_cache, tmp_path / "b", mode="mle", epochs=1)
    b.fit()
    b2 = Trainer(tiny_train_config(mode="mle", epochs=2), tiny_cache, tmp_path / "b", resume=True, quiet=True)
    b2.fit()
    wa = load_checkpoint(tmp_path / "a", which="latest").generator.state_dict()
    wb = load_checkpoint(tmp_path / "b", which="latest").generator.state_dict()
    for k in wa:
        assert torch.allclose(wa[k], wb[k], atol=1e-6), k


def test_paper_mode_reports_both_losses(tiny_cache, tmp_path):
    t = _trainer(tiny_cache, tmp_path / "p", mode="paper", epochs=1)
    m = t.fit()
    assert {"g_loss", "d_loss", "d_acc"} <= set(m["train"])
    ck = load_checkpoint(tmp_path / "p")
    assert ck.discriminator is not None


def test_gan_mode_pretrains_then_adversarial(tiny_cache, tmp_path):
    t = _trainer(tiny_cache, tmp_path / "g", mode="gan", epochs=2, pretrain_epochs=1)
    m = t.fit()
    assert m["phase"] == "gan" and {"nll", "g_adv", "d_loss"} <= set(m["train"])
    log = [json.loads(l) for l in (tmp_path / "g" / "log.jsonl").read_text().splitlines()]
    assert {r.get("phase") for r in log} == {"mle", "gan"}
    [song] = generate(checkpoint=tmp_path / "g", length=10, seed=0)
    assert song.score.note_num() == 10


def test_discriminator_step_learns_to_separate():
    torch.manual_seed(0)
    from tunegan.config import DiscriminatorConfig
    from tunegan.models import PatchDiscriminator

    d = PatchDiscriminator(DiscriminatorConfig(vocab_size=10, channels=8, kernel_size=3))
    adv = AdversarialLoss(d, torch.optim.Adam(d.parameters(), lr=1e-2))
    real = torch.nn.functional.one_hot(torch.arange(16).remainder(5).repeat(8, 1), 10).float()
    fake = torch.nn.functional.one_hot(torch.randint(5, 10, (8, 16)), 10).float()
    first = adv.discriminator_step(real, fake)["d_loss"]
    for _ in range(30):
        last = adv.discriminator_step(real, fake)
    assert last["d_loss"] < first and last["d_acc"] == 1.0


def test_gumbel_rollout_is_one_hot_and_differentiable():
    from tunegan.models import LSTMGenerator

    g = LSTMGenerator(tiny_generator_config(vocab_size=12))
    out = gumbel_rollout(g, torch.randint(1, 12, (3, 4)), 5, 12, forbid=0)
    assert out.shape == (3, 9, 12)
    assert torch.allclose(out.sum(-1), torch.ones(3, 9))
    assert (out[:, 4:, 0] == 0).all()  # padding never sampled
    out[:, 4:].sum().backward() if False else out[:, 4:, 3].sum().backward()
    assert g.head.weight.grad is not None and g.head.weight.grad.abs().sum() > 0


def test_conditional_training_and_keywords(tmp_path):
    """Two labelled 'corpora' (scales in 4/4 vs arpeggios in 3/4): the model learns their keywords."""
    from conftest import write_corpus
    from tunegan.conditioning import keyword_ids
    from tunegan.data.prepare import prepare
    from tunegan.data.sources import MidiFolder
    from tunegan.errors import MusicOptionError
    from tunegan.tokenizers import get_tokenizer

    root = write_corpus(tmp_path / "midi", n_files=30)
    prepare([MidiFolder(str(root))], get_tokenizer("pitch"), tmp_path / "c", workers=1, labels=True)
    t = Trainer(tiny_train_config(mode="mle", crops=64, conditional=True, min_keyword_count=2, epochs=2,
                                  steps_per_epoch=6, seq_len=32), tmp_path / "c", tmp_path / "run",
                generator_config=tiny_generator_config(), discriminator_config=tiny_discriminator_config(), quiet=True)
    t.fit()
    ck = load_checkpoint(tmp_path / "run")
    kws = ck.conditions["keywords"]
    assert ck.generator.config.num_conditions == len(kws) > 0
    ids = keyword_ids(ck, style=kws[0])
    assert ids[0] == 1 and ids[1:].sum() == 0
    with pytest.raises(MusicOptionError, match="unknown style or mood keyword 'zzz'"):
        keyword_ids(ck, style="zzz")
    [song] = generate(checkpoint=tmp_path / "run", style=kws[0], length=12, seed=0, guidance=2.0)
    assert song.score.note_num() == 12


def test_remi_model_bars_and_metre(tiny_corpus, tmp_path):
    """A bar-based model stops after the asked number of bars and keeps the asked metre."""
    from tunegan.data.prepare import prepare
    from tunegan.data.sources import MidiFolder
    from tunegan.tokenizers import get_tokenizer

    tok = get_tokenizer("remi")
    prepare([MidiFolder(str(tiny_corpus))], tok, tmp_path / "c", workers=1, labels=False)
    t = Trainer(tiny_train_config(mode="mle", epochs=1, steps_per_epoch=3, seq_len=32), tmp_path / "c", tmp_path / "r",
                generator_config=tiny_generator_config(vocab_size=tok.vocab_size),
                discriminator_config=tiny_discriminator_config(vocab_size=tok.vocab_size), quiet=True)
    t.fit()
    [song] = generate(checkpoint=tmp_path / "r", seed_notes="C4 E4 G4", bars=4, time_signature="3/4", seed=0)
    bars = np.flatnonzero(tok.is_bar(song.tokens))
    assert len(bars) == 4
    ts_id = tok.miditok.vocab["TimeSig_3/4"]
    assert all(song.tokens[i + 1] == ts_id for i in bars if i + 1 < len(song.tokens))
    # --key keeps every new note in the scale (A minor: no C#, D#, F#, G#, A#)
    [keyed] = generate(checkpoint=tmp_path / "r", bars=6, key="A minor", seed=1)
    pcs = set((keyed.notes()["pitch"] % 12).tolist())
    assert pcs and pcs <= {9, 11, 0, 2, 4, 5, 7}
    assert song.score.time_signatures[0].numerator == 3


def test_tbptt_carries_state_across_chunks(tiny_cache, tmp_path):
    """Chunks of one crop are learned one update each, the LSTM state flowing from chunk to chunk;
    validation windows span all chunks."""
    tc = tiny_train_config(mode="mle", epochs=3, seq_len=8, tbptt_chunks=4, crops=48, packing=True)
    tr = Trainer(tc, tiny_cache, tmp_path / "run", generator_config=tiny_generator_config(), quiet=True)
    assert tr.train_ds.seq_len == 32 and tr.val_ds.seq_len == 32
    seen = []
    orig = tr.generator.forward

    def spy(tokens, state=None, cond=None):
        seen.append((tokens.shape[1], state is not None and not state[0].requires_grad))
        return orig(tokens, state, cond)

    tr.generator.forward = spy
    x, y = next(iter(torch.utils.data.DataLoader(tr.train_ds, batch_size=4)))
    opt_steps = tr.g_opt.state_dict()["state"]
    tr.mle_step(x, y)
    # four chunks of 8; the first from the initial state, the rest from the previous chunk's detached state
    assert seen == [(8, False), (8, True), (8, True), (8, True)]
    assert int(tr.g_opt.state_dict()["state"][0]["step"]) == 4 and not opt_steps
    tr.generator.forward = orig
    hist = tr.fit()
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    ends = [r for r in log if "epoch_end" in r]
    assert ends[-1]["val_nll"] < ends[0]["val_nll"] and hist["epoch"] == 3
    assert load_checkpoint(tmp_path / "run").meta["train_config"]["tbptt_chunks"] == 4


def test_tbptt_and_packing_config_errors():
    from tunegan.errors import ConfigError

    with pytest.raises(ConfigError, match="tbptt_chunks"):
        tiny_train_config(mode="paper", tbptt_chunks=2)
    with pytest.raises(ConfigError, match="packing"):
        tiny_train_config(packing=True)  # crops = 0: windows are never padded anyway
    with pytest.raises(ConfigError, match="packing"):
        tiny_train_config(packing=True, crops=10, conditional=True)


def test_init_weights_matches_keywords_by_name():
    """Fine-tuning onto a larger keyword vocabulary keeps each known keyword's embedding."""
    from types import SimpleNamespace

    from tunegan.models import LSTMGenerator, PatchDiscriminator
    from tunegan.training.trainer import init_weights

    torch.manual_seed(0)
    old_g = LSTMGenerator(tiny_generator_config(num_conditions=2))
    old_d = PatchDiscriminator(tiny_discriminator_config(num_conditions=2))
    ck = SimpleNamespace(path="old", meta={"step": 7, "conditions": {"keywords": ["calm", "4/4"]}},
                         generator=old_g, discriminator=old_d)
    new_g = LSTMGenerator(tiny_generator_config(num_conditions=3))
    new_d = PatchDiscriminator(tiny_discriminator_config(num_conditions=3))
    fresh = new_g.cond_embed.weight[2].detach().clone()
    report = init_weights(new_g, new_d, ck, ["4/4", "game", "calm"])
    assert report["keywords_kept"] == 2 and report["keywords_new"] == ["game"]
    for new, old in ((new_g, old_g), (new_d, old_d)):
        assert torch.equal(new.cond_embed.weight[1], old.cond_embed.weight[2])  # 4/4
        assert torch.equal(new.cond_embed.weight[3], old.cond_embed.weight[1])  # calm
    assert torch.equal(new_g.cond_embed.weight[2], fresh)  # game: learned from scratch
    assert torch.equal(new_g.lstm.weight_hh_l0, old_g.lstm.weight_hh_l0)
    assert torch.equal(new_g.cond_to_state.weight, old_g.cond_to_state.weight)


@pytest.mark.parametrize("layers", [1, 2])
def test_widened_generator_computes_the_same_function(layers):
    """load_widened: more LSTM units, the same logits and states for the old units, by forward and by step."""
    from tunegan.models import LSTMGenerator

    torch.manual_seed(0)
    old = LSTMGenerator(tiny_generator_config(num_conditions=3, num_layers=layers)).eval()
    from dataclasses import replace

    wide = LSTMGenerator(replace(old.config, hidden_size=old.config.hidden_size + 5)).eval()
    wide.cond_embed.weight.data.copy_(old.cond_embed.weight)
    wide.load_widened(old.state_dict())
    x = torch.randint(0, old.config.vocab_size, (3, 12))
    cond = torch.tensor([[1, 2], [3, 0], [0, 0]])
    a, (ha, ca) = old(x, cond=cond)
    b, (hb, cb) = wide(x, cond=cond)
    assert torch.allclose(a, b, atol=1e-5)
    h = old.config.hidden_size
    assert torch.allclose(ha, hb[..., :h], atol=1e-5) and torch.allclose(ca, cb[..., :h], atol=1e-5)
    assert hb[..., h:].abs().sum() > 0  # the new units do run: they are only not read yet
    sa, sb = None, None
    for t in range(x.shape[1]):
        la, sa = old.step(x[:, t], sa, cond)
        lb, sb = wide.step(x[:, t], sb, cond)
        assert torch.allclose(la, lb, atol=1e-5)
    with pytest.raises(ValueError, match="cannot widen"):
        old.load_widened(wide.state_dict())


def test_fine_tune_grows_the_generator(tiny_cache, tmp_path):
    """grow_hidden: fine-tuning into a wider LSTM starts at the checkpoint's validation NLL, then trains."""
    from tunegan.errors import ConfigError

    src = tmp_path / "src"
    _trainer(tiny_cache, src, mode="mle", epochs=1, steps_per_epoch=20).fit()
    ck = load_checkpoint(src)
    wide = ck.generator.config.hidden_size + 8
    out = tmp_path / "wide"
    t = Trainer(tiny_train_config(mode="mle", epochs=1, steps_per_epoch=5, init_from=str(src), grow_hidden=wide,
                                  tune_dropout=0.1), tiny_cache, out, quiet=True)
    assert t.generator.config.hidden_size == wide and t.generator.config.dropout == 0.1
    t.fit()
    log = [json.loads(l) for l in (out / "log.jsonl").read_text().splitlines()]
    [init] = [r for r in log if "init_from" in r]
    assert init["val_nll_at_init"] == pytest.approx(ck.meta["metrics"]["val_nll"], abs=1e-5)
    grown = load_checkpoint(out)
    assert grown.generator.config.hidden_size == wide
    assert grown.generator.head.weight[:, ck.generator.config.hidden_size:].abs().sum() > 0  # the new units learned a part
    with pytest.raises(ConfigError, match="can only be widened"):
        Trainer(tiny_train_config(init_from=str(src), grow_hidden=2), tiny_cache, tmp_path / "narrow", quiet=True)
    with pytest.raises(ConfigError, match="grow_hidden"):
        tiny_train_config(grow_hidden=64)  # not fine-tuning


def test_fine_tune_from_checkpoint(tiny_cache, tmp_path):
    """init_from starts where the checkpoint ended (same validation NLL), with its network sizes."""
    from tunegan.errors import CheckpointError

    src = tmp_path / "src"
    _trainer(tiny_cache, src, mode="mle", epochs=1, steps_per_epoch=20).fit()
    src_val = load_checkpoint(src).meta["metrics"]["val_nll"]
    out = tmp_path / "ft"
    # the generator config passed here is ignored: the networks take the checkpoint's sizes
    t = Trainer(tiny_train_config(mode="gan", pretrain_epochs=0, epochs=1, steps_per_epoch=3, init_from=str(src)),
                tiny_cache, out, generator_config=tiny_generator_config(num_layers=2), quiet=True)
    assert t.generator.config == load_checkpoint(src).generator.config
    t.fit()
    log = [json.loads(l) for l in (out / "log.jsonl").read_text().splitlines()]
    [init] = [r for r in log if "init_from" in r]
    assert init["init_step"] == load_checkpoint(src).meta["step"] and init["networks"] == ["generator", "discriminator"]
    assert init["val_nll_at_init"] == pytest.approx(src_val, abs=1e-5)
    assert load_checkpoint(out).meta["train_config"]["init_from"] == str(src)
    # a checkpoint made with another tokenizer cannot be fine-tuned on this cache
    from tunegan.data.prepare import prepare
    from tunegan.data.sources import MidiFolder
    from tunegan.tokenizers import get_tokenizer

    from conftest import write_corpus

    prepare([MidiFolder(str(write_corpus(tmp_path / "m", n_files=4)))], get_tokenizer("remi"), tmp_path / "remi",
            workers=1, labels=False)
    with pytest.raises(CheckpointError, match="tokenizer 'pitch' differs from the cache's 'remi'"):
        Trainer(tiny_train_config(init_from=str(src)), tmp_path / "remi", tmp_path / "bad", quiet=True)


def test_crop_mood_takes_valence_from_the_crop():
    """A major passage of a piece labelled tense is learned as upbeat; human labels are kept."""
    from tunegan.conditioning import CropMood
    from tunegan.tokenizers import get_tokenizer

    tok = get_tokenizer("pitch")
    vocab = {"keywords": ["pop", "calm", "melancholy", "tense", "upbeat"]}
    labels = [{"mood": "tense", "arousal": 0.5, "mood_source": "estimated"},
              {"mood": "tense", "arousal": 0.5, "mood_source": "human"}]
    cm = CropMood(vocab, labels, tok.token_pitches())
    ids = np.array([1, 4, 0, 0, 0])  # pop, tense
    major = tok.encode(notes_score([60, 64, 67] * 6))
    minor = tok.encode(notes_score([57, 60, 64] * 6))
    assert cm(major, 0, ids).tolist() == [1, 5, 0, 0, 0]  # upbeat
    assert cm(minor, 0, ids).tolist() == [1, 4, 0, 0, 0]  # stays tense
    assert cm(major, 1, ids).tolist() == [1, 4, 0, 0, 0]  # a human label is kept
    assert cm(major[:5], 0, ids).tolist() == [1, 4, 0, 0, 0]  # too few notes to tell
    assert cm(major, 0, np.array([1, 0, 0, 0, 0])).tolist() == [1, 0, 0, 0, 0]  # no mood to relabel


def notes_score(pitches):
    from conftest import make_melody

    return make_melody(pitches, step=0.25)
