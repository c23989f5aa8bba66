"""tunegan: music from a few starting notes, by an LSTM generator and a PatchGAN discriminator."""

__version__ = "0.1.0"
