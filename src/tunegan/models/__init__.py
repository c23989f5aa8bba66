"""The two networks, as pure modules (they know nothing about training)."""

from .discriminator import PatchDiscriminator
from .generator import LSTMGenerator

__all__ = ["LSTMGenerator", "PatchDiscriminator"]
