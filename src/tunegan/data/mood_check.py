"""How well the rule-based mood (:func:`.labels.mood_from_music`) agrees with VGMIDI's human labels.

Protocol (so that nothing is tuned on the numbers it reports):

1. VGMIDI phrases are split by a hash of their piece (:class:`.corpora.VGMidi`), so the phrases
   of one piece share a split.
2. With ``calibrate=True`` the two reference constants of the arousal rule are set by a fixed,
   label-free rule on the **train** phrases only: ``density_ref`` = median notes/s and
   ``tempo_ref`` = median tempo. The valence rule has no fitted constant (its threshold is 0:
   major vs minor). The human labels are never read for calibration.
3. Agreement is reported on the **held-out** phrases (validation + test). The majority-class
   baselines take the majority label of the train phrases and score it on the held-out phrases.

Run: ``python -m tunegan.data.mood_check /path/to/vgmidi`` (prints JSON).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path

import numpy as np

from ..errors import DataError, MIDIError
from ..music.mood import MOOD_QUADRANTS as MOODS
from ..music.mood import mood_word
from .labels import MoodConstants, mood_from_features, music_features

QUADRANTS = ("upbeat", "calm", "tense", "melancholy")


def _accuracy(pred: list, true: list) -> float | None:
    return round(float(np.mean([p == t for p, t in zip(pred, true)])), 4) if true else None


def _majority(values: list):
    return Counter(values).most_common(1)[0][0] if values else None


def calibrate_constants(features: list) -> MoodConstants:
    """Default constants with ``density_ref`` / ``tempo_ref`` set to the medians of ``features``."""
    if not features:
        return MoodConstants()
    density = float(np.median([f.density for f in features]))
    tempo = float(np.median([f.tempo for f in features]))
    return dataclasses.replace(MoodConstants(), density_ref=max(density, 0.05), tempo_ref=tempo)


def agreement(predicted: list[dict], human: list[tuple[int, int]], baseline_from: list[tuple[int, int]]) -> dict:
    """Accuracies, counts and confusion of predicted vs human (valence, arousal) in {-1, 1}.

    baseline_from: the human labels whose majority class is the baseline (the train split).
    """
    hv = [v > 0 for v, _ in human]
    ha = [a > 0 for _, a in human]
    hq = [MOODS[(v, a)] for v, a in zip(hv, ha)]
    pv = [p["valence"] >= 0 for p in predicted]
    pa = [p["arousal"] >= 0 for p in predicted]
    pq = [p["mood"] for p in predicted]
    bv = _majority([v > 0 for v, _ in baseline_from])
    ba = _majority([a > 0 for _, a in baseline_from])
    bq = _majority([MOODS[(v > 0, a > 0)] for v, a in baseline_from])
    confusion = {h: {p: sum(1 for x, y in zip(hq, pq) if x == h and y == p) for p in QUADRANTS}
                 for h in QUADRANTS}
    return {
        "n": len(human),
        "valence_accuracy": _accuracy(pv, hv),
        "arousal_accuracy": _accuracy(pa, ha),
        "quadrant_accuracy": _accuracy(pq, hq),
        "baseline": {
            "valence": {"label": "positive" if bv else "negative", "accuracy": _accuracy([bv] * len(hv), hv)},
            "arousal": {"label": "high" if ba else "low", "accuracy": _accuracy([ba] * len(ha), ha)},
            "quadrant": {"label": bq, "accuracy": _accuracy([bq] * len(hq), hq)},
        },
        "human_counts": {q: hq.count(q) for q in QUADRANTS},
        "predicted_counts": {q: pq.count(q) for q in QUADRANTS},
        "confusion_human_rows_predicted_columns": confusion,
    }


def check_mood_mapping(vgmidi_root: str | Path, *, calibrate: bool = True) -> dict:
    """Agreement of the rule-based mood with VGMIDI's human valence/arousal on held-out phrases.

    Returns a JSON-ready dict: the constants used, counts per split, skipped files, and for the
    held-out phrases (validation + test): valence / arousal / 4-quadrant accuracy, the
    majority-class baselines, label counts and the quadrant confusion matrix. Also reports the
    same numbers on the train phrases (``train_agreement``) and on all phrases (``all_agreement``),
    for reference: the labels are never fitted, only the two medians come from the train phrases.
    """
    from .corpora import VGMidi

    root = Path(vgmidi_root)
    if not root.is_dir():
        raise DataError(f"{root}: no such folder")
    source = VGMidi(str(root))
    rows = {"train": [], "held_out": []}
    skipped = []
    for piece in source.pieces():
        try:
            feats = music_features(source.load(piece))
        except MIDIError as e:
            skipped.append(str(e))
            continue
        human = (int(piece.labels["valence"]), int(piece.labels["arousal"]))
        rows["train" if piece.split == "train" else "held_out"].append((feats, human))
    if not rows["held_out"]:
        raise DataError(f"{root}: no held-out (validation/test) phrases could be read")
    constants = calibrate_constants([f for f, _ in rows["train"]]) if calibrate else MoodConstants()
    train_human = [h for _, h in rows["train"]]
    result = {
        "protocol": ("constants: medians of train-split phrases (label-free); agreement on validation+test"
                     if calibrate else "constants: fixed defaults; agreement on validation+test"),
        "constants": dataclasses.asdict(constants),
        "n_train": len(rows["train"]),
        "n_held_out": len(rows["held_out"]),
        "skipped": skipped,
    }
    rows["all"] = rows["train"] + rows["held_out"]
    for key, name in (("held_out", "agreement"), ("train", "train_agreement"), ("all", "all_agreement")):
        preds = [mood_from_features(f, constants) for f, _ in rows[key]]
        result[name] = agreement(preds, [h for _, h in rows[key]], train_human)
    result["quadrant_words"] = {f"valence={v:+d},arousal={a:+d}": mood_word(v, a) for v in (1, -1) for a in (1, -1)}
    return result


def main(argv: list[str] | None = None) -> int:
    """``python -m tunegan.data.mood_check VGMIDI_ROOT``: print the agreement as JSON."""
    import argparse
    import json
    import sys

    from ..errors import TuneganError

    ap = argparse.ArgumentParser(prog="python -m tunegan.data.mood_check",
                                 description="agreement of the rule-based mood with VGMIDI's human labels")
    ap.add_argument("vgmidi_root")
    ap.add_argument("--no-calibrate", action="store_true",
                    help="use the fixed default constants instead of medians of the train split")
    args = ap.parse_args(argv)
    try:
        result = check_mood_mapping(args.vgmidi_root, calibrate=not args.no_calibrate)
    except TuneganError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
