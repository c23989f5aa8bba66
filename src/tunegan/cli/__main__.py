"""``python -m tunegan.cli ...`` (how ``torchrun`` starts training: ``torchrun ... -m tunegan.cli train ...``)."""

from . import main

main()
