"""Music repeats itself: a cache of the piece's own continuations, mixed into the generator's prediction.

An LSTM of our size forgets what it played eight bars ago, so its music never returns to a
motif, while real music of every style does (folk tunes most of all). This package is the
classic *cache language model* (Kuhn & De Mori, 1990; the neural cache of Grave et al., ICLR
2017) made for music tokens:

* At each step, the last ``k`` tokens of the piece are looked up among all earlier places of the
  same piece, for each order ``k`` in :attr:`RepeatModel.orders`. Velocity tokens match any
  velocity (a motif played louder is the same motif). The **longest** order with a match gives
  the cache's proposal: the tokens that followed those earlier places, by how often.
* The prediction is ``(1 - w) * p_model + w * p_cache``, where ``w`` depends on the matched order
  (a longer match is trusted more) and on the style, and is 0 when nothing matches.
* The weights are **fitted on validation** music by maximum likelihood (:func:`fit_weights`):
  the cache is used exactly as much as it makes real held-out music more likely, per style. The
  mixture is then a better model of music by the likelihood measure (``tunegan evaluate``
  reports NLL per note with and without it), and its samples return to their motifs (folk
  nearly as often as real folk tunes; pop and classical still less often than real music:
  ``docs/results.md``).

Two things act only when sampling (likelihoods keep the fitted weights):

* :class:`BarRecall`: at each bar line, a bar may replay a whole earlier bar (1 to 16 bars back),
  with chances counted per style on training music (:func:`fit_recall`): a network sampling
  token by token seldom *starts* a repeat, which the memory then carries on.
* ``RepeatModel.boost``: the weights become ``1 - (1 - w) ** boost``, with the boost per style
  whose samples repeat their 4-note interval patterns as often as real validation music of
  the style (:func:`fit_boost`).

The cache sees only the piece being made: it never copies training music.

``memory`` holds the cache and its mixing, ``recall`` the bars that come back, ``fit`` the fitting.
"""

from .fit import BOOST_GRID, DISTINCT_4GRAM, WEIGHT_GRID, fit_boost, fit_repeats, fit_weights, self_repetition, with_repeats
from .memory import (ANY_STYLE, MAX_WEIGHT, ORDERS, Memories, RepeatModel, mix_probs, mixed_logp, piece_cache_stats,
                     split_cache_stats)
from .recall import RECALL_LAGS, BarRecall, Recalls, bar_signatures, fit_recall, recall_counts, repeated_lag

__all__ = ["ANY_STYLE", "BOOST_GRID", "DISTINCT_4GRAM", "MAX_WEIGHT", "ORDERS", "RECALL_LAGS", "WEIGHT_GRID", "BarRecall",
           "Memories", "Recalls", "RepeatModel", "bar_signatures", "fit_boost", "fit_recall", "fit_repeats", "fit_weights",
           "mix_probs", "mixed_logp", "piece_cache_stats", "recall_counts", "repeated_lag", "self_repetition",
           "split_cache_stats", "with_repeats"]
