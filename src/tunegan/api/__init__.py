"""The Python API: everything the CLI and the web studio do, as plain functions that validate
their input and raise :class:`~tunegan.errors.TuneganError` with a one-line message.

    >>> from tunegan import api
    >>> [song] = api.generate(seed_notes="C4 E4 G4", length=128, seed=1)
    >>> song.write_midi("out.mid")

* making music (:mod:`.music`): :func:`generate` (through :mod:`tunegan.generation`, the one
  sampling path), :func:`render`, :func:`explain`, :func:`styles`;
* data and models (:mod:`.models`): :func:`prepare`, :func:`train`, :func:`export`;
* measuring (:mod:`.measure`): :func:`evaluate`, :func:`style_eval`, :func:`compare`.

A process that generates many times passes a :class:`~tunegan.checkpoint.ModelCache`
(``models=``) so each checkpoint is loaded once; nothing is cached at module level.
"""

from ..checkpoint import ModelCache
from .measure import compare, evaluate, style_eval
from .models import export, prepare, train
from .music import Generation, check_outputs, explain, generate, load_model, prime_tokens, render, seed_score, styles

__all__ = ["ModelCache", "Generation", "generate", "check_outputs", "render", "explain", "styles", "load_model", "prime_tokens",
           "seed_score", "prepare", "train", "export", "evaluate", "style_eval", "compare"]
