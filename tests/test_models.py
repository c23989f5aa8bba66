import pytest
import torch

from tunegan.config import DiscriminatorConfig, GeneratorConfig, TrainConfig
from tunegan.errors import ConfigError
from tunegan.models import LSTMGenerator, PatchDiscriminator


def test_generator_shapes_and_paper_param_count():
    cfg = GeneratorConfig()  # paper size: 89 -> 128 -> LSTM 256 -> 89
    g = LSTMGenerator(cfg)
    n = sum(p.numel() for p in g.parameters())
    V, E, H = 89, 128, 256
    assert n == V * E + (4 * H * (E + H) + 8 * H) + (H * V + V) == LSTMGenerator.expected_num_params(cfg)
    logits, (h, c) = g(torch.randint(0, 89, (3, 64)))
    assert logits.shape == (3, 64, 89) and h.shape == (1, 3, 256)
    p = g.probs(torch.randint(0, 89, (2, 5)))
    assert torch.allclose(p.sum(-1), torch.ones(2, 5), atol=1e-5)


def test_param_count_formula_multilayer():
    cfg = GeneratorConfig(vocab_size=50, embed_dim=16, hidden_size=24, num_layers=3)
    assert sum(p.numel() for p in LSTMGenerator(cfg).parameters()) == LSTMGenerator.expected_num_params(cfg)


def test_soft_forward_matches_hard_forward():
    g = LSTMGenerator(GeneratorConfig(vocab_size=20, embed_dim=8, hidden_size=16))
    x = torch.randint(0, 20, (2, 7))
    a, _ = g(x)
    b, _ = g.forward_soft(torch.nn.functional.one_hot(x, 20).float())
    assert torch.allclose(a, b, atol=1e-5)


def test_discriminator_shapes():
    d = PatchDiscriminator(DiscriminatorConfig())
    assert d(torch.rand(4, 64, 89)).shape == (4,)
    assert d(torch.rand(31, 89)).shape == (1,)  # a single sequence gets a batch dimension
    p = d.prob(torch.rand(2, 10, 89))
    assert ((p >= 0) & (p <= 1)).all()


def test_state_carry_equals_full_run():
    g = LSTMGenerator(GeneratorConfig(vocab_size=20, embed_dim=8, hidden_size=16)).eval()
    x = torch.randint(0, 20, (1, 10))
    full, _ = g(x)
    _, st = g(x[:, :6])
    part, _ = g(x[:, 6:], st)
    assert torch.allclose(full[:, 6:], part, atol=1e-5)


@pytest.mark.parametrize("cls,kw,msg", [
    (GeneratorConfig, {"hidden_size": 0}, "GeneratorConfig.hidden_size must be an integer >= 1 (received 0)"),
    (GeneratorConfig, {"dropout": 1.5}, "GeneratorConfig.dropout must be within [0, 1) (received 1.5)"),
    (DiscriminatorConfig, {"kernel_size": 4}, "DiscriminatorConfig.kernel_size must be an odd integer >= 1 (received 4)"),
    (TrainConfig, {"mode": "wgan"}, "TrainConfig.mode must be one of paper, mle, gan, critic, prefer (received 'wgan')"),
    (TrainConfig, {"lr": -1.0}, "TrainConfig.lr must be > 0 (received -1.0)"),
])
def test_config_errors_name_field_and_value(cls, kw, msg):
    with pytest.raises(ConfigError) as e:
        cls(**kw)
    assert str(e.value) == msg


def test_config_round_trip():
    c = TrainConfig(mode="gan", epochs=3, pretrain_epochs=1)
    assert TrainConfig.from_dict(c.to_dict()) == c
    with pytest.raises(ConfigError, match="unknown field"):
        TrainConfig.from_dict({"nope": 1})


@pytest.mark.parametrize("layers,conds", [(1, 0), (2, 0), (1, 4)])
def test_step_matches_forward(layers, conds):
    g = LSTMGenerator(GeneratorConfig(vocab_size=20, embed_dim=8, hidden_size=16, num_layers=layers,
                                      num_conditions=conds)).eval()
    x = torch.randint(0, 20, (3, 6))
    cond = torch.tensor([[1, 2], [0, 0], [3, 0]]) if conds else None
    full, _ = g(x, cond=cond)
    state = None
    for t in range(6):
        logits, state = g.step(x[:, t], state, cond=cond)
        assert torch.allclose(logits, full[:, t], atol=1e-5)


def test_sampling_matches_the_softmax_distribution():
    """Draws follow softmax(logits / T); forbidden and masked tokens never appear."""
    from tunegan.sampling import TokenStream

    g = LSTMGenerator(GeneratorConfig(vocab_size=6, embed_dim=4, hidden_size=8)).eval()
    prime = torch.zeros(4000, 1, dtype=torch.long)
    rng = torch.Generator().manual_seed(0)
    logits, _ = g(prime[:1])
    for T in (1.0, 0.5):
        p = torch.softmax(logits[0, -1, 1:] / T, -1)  # token 0 forbidden
        draws = TokenStream(g, prime).take(1, temperature=T, forbid=[0], rng=rng)[:, 0]
        freq = torch.bincount(draws, minlength=6)[1:].float() / len(draws)
        assert (draws != 0).all() and torch.allclose(freq, p, atol=0.03)
    mask = torch.tensor([True, True, False, True, False, True])
    draws = TokenStream(g, prime[:200]).take(5, allowed_mask=mask, rng=rng, top_k=2)
    assert not ((draws == 2) | (draws == 4)).any()
    greedy = TokenStream(g, prime[:2]).take(3, temperature=0)
    assert (greedy[0] == greedy[1]).all()
