"""Honest evaluation of generated music: pure functions, no model or training code.

* :mod:`.musical` — per-piece metrics on a tick-based ``symusic.Score``: MusPy's
  definitions (pitch range, entropies, scale consistency, polyphony, empty beats and
  measures, groove consistency) and Yang & Lerch (2018)'s features (:func:`piece_features`).
* :mod:`.distribution` — Yang & Lerch's set comparison: intra-set vs inter-set distance
  densities, their overlapping area and KL divergence (:func:`compare_sets`).
* :mod:`.novelty` — how much of a sample is copied, maybe transposed, from the training
  set: a suffix array over interval sequences (:class:`NoveltyIndex`).
* :mod:`.twosample` — can a fresh classifier tell real from generated crops?
  (:func:`classifier_two_sample_test`: cross-validated accuracy with a 95% interval).
* :mod:`.plots` — the quality/diversity figure and the per-feature overlap bars.

Model-based scores (likelihoods, n-gram baselines) live in :mod:`.likelihood` and
:mod:`.baselines`, which need torch and are not imported here.
"""

from .distribution import (
    compare_feature,
    compare_sets,
    inter_set_distances,
    intra_set_distances,
    kde_on_grid,
    overlap_and_kl,
    scott_bandwidth,
)
from .musical import (
    IOI_BIN_EDGES,
    NOTE_LENGTH_CLASSES,
    empty_beat_rate,
    empty_measure_rate,
    groove_consistency,
    inter_onset_intervals,
    ioi_histogram,
    measure_ticks,
    melodic_order,
    n_pitch_classes_used,
    n_pitches_used,
    note_length_histogram,
    piece_features,
    pitch_class_entropy,
    pitch_class_histogram,
    pitch_entropy,
    pitch_interval_histogram,
    pitch_intervals,
    pitch_range,
    polyphony,
    polyphony_rate,
    scale_consistency,
)
from .novelty import NoveltyIndex, interval_sequence, pitch_sequence, suffix_array
from .plots import plot_feature_distributions, plot_quality_diversity
from .twosample import (
    binomial_p_value,
    classifier_two_sample_test,
    crop_features,
    fit_logistic,
    predict_logistic,
    wilson_interval,
)

__all__ = [
    "IOI_BIN_EDGES", "NOTE_LENGTH_CLASSES", "NoveltyIndex",
    "binomial_p_value", "classifier_two_sample_test", "compare_feature", "compare_sets",
    "crop_features", "empty_beat_rate", "empty_measure_rate", "fit_logistic",
    "groove_consistency", "inter_onset_intervals", "inter_set_distances", "interval_sequence",
    "intra_set_distances", "ioi_histogram", "kde_on_grid", "measure_ticks", "melodic_order",
    "n_pitch_classes_used", "n_pitches_used", "note_length_histogram", "overlap_and_kl",
    "piece_features", "pitch_class_entropy", "pitch_class_histogram", "pitch_entropy",
    "pitch_interval_histogram", "pitch_intervals", "pitch_range", "pitch_sequence",
    "plot_feature_distributions", "plot_quality_diversity", "polyphony", "polyphony_rate",
    "predict_logistic", "scale_consistency", "scott_bandwidth", "suffix_array",
    "wilson_interval",
]
