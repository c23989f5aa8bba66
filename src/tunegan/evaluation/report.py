"""``tunegan evaluate``: one checkpoint on one data set, as a JSON-able dict, and a report folder.

The data may be a MAESTRO copy, any folder of MIDI, or a cache from ``tunegan prepare``; raw
folders are tokenized with the checkpoint's own tokenizer into a cache under
``$TUNEGAN_CACHE`` (default ``~/.cache/tunegan``), reused on later runs.

What is scored is one split of the data, or with ``split="all"`` every piece of it (a folder of
held-out files). The training reference (the n-gram baselines are fitted on it, the suite's novelty
looks for copying in it) is the data's own train split, or with ``baselines_from`` the train split
of other data (e.g. the checkpoint's training cache). With ``split="all"`` the data's own train split
is being scored, so only ``baselines_from`` gives a reference. Without a usable one the baselines
(and the sample suite, whose novelty test needs it) are left out and ``notes`` says why, instead of
failing.

:func:`evaluate` measures next-token likelihood beside n-gram baselines and the checkpoint's own
discriminator (:mod:`.likelihood`), and with ``suite=True`` the sample-based suite of
:mod:`.suite` (musical statistics, novelty, two-sample test, quality–diversity sweep).
:func:`write_report` puts it in a folder::

    report.json            everything, NaN written as null
    report.md              the tables below, in Markdown (:func:`format_markdown`)
    quality_diversity.png  two-sample accuracy vs diversity per sampling setting
    feature_overlap.png    overlapping area per musical feature, primed and unconditioned
    samples/               a few generated continuations and the real ones, as MIDI
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..checkpoint import load_checkpoint
from ..errors import DataError
from .data import ALL, EvalData, all_pieces, open_data

PAPER_CLAIM = {
    "value": 0.9182,
    "text": "91.82% precision after 50 epochs (paper; metric not defined)",
    "our_reading": "The paper does not define it. The nearest quantities we can measure are the "
                   "discriminator's precision for the 'real' class on real vs generated sequences, and the "
                   "generator's next-token top-1 accuracy; both are reported here.",
}
MIDI_EXAMPLES = 4  # samples of each set written as MIDI into the report folder


def model_name(checkpoint_dir: str | os.PathLike) -> str:
    """A short name for legends: ``RUN/step-NNNNNNN`` for a checkpoint inside a run folder."""
    p = Path(checkpoint_dir)
    parent = p.parent
    if any((parent / ptr).exists() for ptr in ("best", "latest")):
        return f"{parent.name}/{p.name}"
    return p.name


def evaluate(checkpoint: str | os.PathLike | None, data: str | os.PathLike, *, split: str = "test",
             cache_dir: str | os.PathLike | None = None, max_windows: int | None = None, n_disc: int = 128,
             seed: int = 0, samples: int = 200, suite: bool = True, suite_config=None,
             out: str | os.PathLike | None = None, name: str | None = None,
             log: Callable[[str], None] | None = None, context: int | None = None,
             device: str | None = "auto", baselines_from: str | os.PathLike | None = None) -> dict:
    """Evaluate one checkpoint on one split, or every piece (``split="all"``), networks on ``device``.

    Always: next-token NLL (nats/token), perplexity, top-1/top-5 of the generator beside
    baselines fitted on the training reference (``likelihood``; see the module docstring and
    ``baselines``), and the discriminator's accuracy on real vs generated sequences
    (``discriminator``). With ``suite``: the sample-based suite of
    :func:`tunegan.evaluation.suite.run_suite` (key ``suite``) with ``samples`` samples per set; a
    ``suite_config`` (:class:`~.suite.SuiteConfig`) replaces ``samples`` and ``seed`` there. With
    ``out``: the report folder of :func:`write_report`. ``baselines_from``: a cache or a MIDI source
    whose train split is the training reference. ``max_windows`` caps the windows scored for the
    likelihood (a quick look; the report says so). ``timing`` gives the seconds of each stage.
    ``context``: tokens per scored window (default: the span the model trained on, ``seq_len`` x
    ``tbptt_chunks``); each window starts from the initial state, so a longer one gives the model
    more music to predict from. ``notes`` lists what was left out and why.
    """
    from .likelihood import discriminator_accuracy, generator_rows, likelihood_table, model_scores

    say = log or (lambda msg: None)
    t0 = time.perf_counter()
    ckpt = load_checkpoint(checkpoint, device=device)
    cache = open_data(data, ckpt, cache_dir=cache_dir)
    test = all_pieces(cache) if split == ALL else cache.split(split)
    if test.n_tokens < 3:
        raise DataError(f"{data}: the '{split}' split has no usable music")
    reference, ref_name, notes = _training_reference(ckpt, cache, data, split, baselines_from, cache_dir)
    tc = ckpt.meta.get("train_config") or {}
    seq_len = int(context or int(tc.get("seq_len", 64)) * int(tc.get("tbptt_chunks", 1)))
    if seq_len < 2:
        raise DataError(f"context must be at least 2 tokens (received {seq_len})")
    name = name or model_name(ckpt.path)
    seconds = {"data": round(time.perf_counter() - t0, 2)}
    what = "every piece" if split == ALL else f"the {split} split"
    if reference is not None:
        say(f"{name}: likelihood of {what} beside n-gram baselines fitted on {ref_name}")
        valid = reference.split("validation") if not (reference is cache and split == "validation") else None
        table = likelihood_table(ckpt, reference.split("train"), valid, test, seq_len, max_windows=max_windows)
    else:
        say(f"{name}: likelihood of {what} (no baselines: {notes[0]})")
        scores, targets, positions = model_scores(ckpt, test, seq_len, max_windows=max_windows)
        table = generator_rows(ckpt, test, scores, targets, positions)
    disc = discriminator_accuracy(ckpt, test, seq_len, n=n_disc, seed=seed)
    seconds["likelihood"] = round(time.perf_counter() - t0 - seconds["data"], 2)
    rep = {
        "checkpoint": str(ckpt.path), "name": name, "tokenizer": ckpt.tokenizer.state(), "data": str(data),
        "cache": str(cache.root), "split": split, "seq_len": seq_len, "pieces": len(test), "tokens": test.n_tokens,
        "max_windows": max_windows, "baselines_from": ref_name,
        "mode": (ckpt.meta.get("train_config") or {}).get("mode"), "step": ckpt.meta.get("step"),
        "likelihood": table, "discriminator": disc, "paper_claim": PAPER_CLAIM, "suite": None, "notes": notes,
        "critic": {k: v for k, v in (ckpt.meta.get("critic") or {}).items() if k != "history"} or None,
    }
    ev = None
    if suite and reference is None:
        notes.append("The sample-based suite was left out too: its novelty test looks for copying in the "
                     "training data.")
    elif suite:
        from .suite import SuiteConfig, run_suite

        config = suite_config or SuiteConfig(samples=samples, seed=seed)
        view = cache if (reference is cache and split != ALL) else EvalData(split, test, reference, ckpt.tokenizer)
        rep["suite"], ev = run_suite(ckpt, view, split, config, model=name, log=say)
    seconds["total"] = round(time.perf_counter() - t0, 2)
    rep["seconds"] = seconds["total"]
    rep["timing"] = seconds | ({f"suite_{k}": v for k, v in rep["suite"]["seconds"].items()} if rep["suite"] else {})
    if out is not None:
        write_report(rep, out, samples=ev, tokenizer=ckpt.tokenizer)
    return rep


def _training_reference(ckpt, cache, data, split: str, baselines_from, cache_dir):
    """``(cache whose train split is the reference, or None; what to call it; notes)``."""
    notes: list[str] = []
    hint = ""
    trained_on = (ckpt.meta.get("cache") or {}).get("root")
    if trained_on:
        hint = f" (this checkpoint was trained on `{trained_on}`)"
    if baselines_from is not None:
        ref = open_data(baselines_from, ckpt, cache_dir=None if cache_dir is None else Path(cache_dir) / "baselines")
        if ref.split("train").n_tokens >= 3:
            return ref, f"the train split of {baselines_from}", notes
        notes.append(f"No baselines: the train split of {baselines_from} has no music.")
        return None, None, notes
    if split == ALL:
        notes.append("No baselines: every piece of the data is scored, so none is left to fit them on; pass "
                     f"--baselines-from CACHE_OR_SOURCE{hint}.")
        return None, None, notes
    if cache.split("train").n_tokens < 3:
        notes.append(f"No baselines: the data's train split is empty; pass --baselines-from CACHE_OR_SOURCE{hint}, "
                     f"or --split all to score every piece.")
        return None, None, notes
    return cache, "the data's train split", notes


# --- writing -----------------------------------------------------------------------------


def to_jsonable(x):
    """Numpy arrays and scalars to lists and numbers, NaN and inf to None, recursively."""
    if isinstance(x, dict):
        return {str(k): to_jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [to_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return to_jsonable(x.tolist())
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def write_report(rep: dict, out: str | os.PathLike, *, samples=None, tokenizer=None) -> list[Path]:
    """Write ``report.json``, ``report.md``, the plots and (given the :class:`EvalSamples` and the
    tokenizer) a few MIDI samples into ``out``; returns the paths, also listed in ``rep["files"]``."""
    from .plots import plot_feature_distributions, plot_quality_diversity

    d = Path(out)
    d.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    s = rep.get("suite")
    if s:
        if s.get("sweep"):
            files.append(plot_quality_diversity(plot_points(s["sweep"]), d / "quality_diversity.png",
                                                quality_label=QUALITY_LABEL,
                                                diversity_label=diversity_label(s)))
        overlap = {k: {f: r for f, r in rows.items() if not r.get("constant")} for k, rows in s["musical"].items()}
        if any(overlap.values()):
            files.append(plot_feature_distributions(overlap, d / "feature_overlap.png"))
    if samples is not None:
        from ..midi import write_midi

        sd = d / "samples"
        for i in range(min(MIDI_EXAMPLES, len(samples.real))):
            files.append(write_midi(samples.real.scores[i], sd / f"real_{i:02d}.mid"))
            files.append(write_midi(samples.primed.scores[i], sd / f"primed_{i:02d}.mid"))
            files.append(write_midi(samples.unconditioned.scores[i], sd / f"unconditioned_{i:02d}.mid"))
            if tokenizer is not None:  # the primer too, so a listener hears what was continued
                files.append(write_midi(tokenizer.decode(samples.real.primers[i]), sd / f"primer_{i:02d}.mid"))
    files += [d / "report.md", d / "report.json"]
    rep["files"] = [str(f) for f in files]
    (d / "report.md").write_text(format_markdown(rep))
    (d / "report.json").write_text(json.dumps(to_jsonable(rep), indent=1))
    return files


# --- Markdown ----------------------------------------------------------------------------

QUALITY_LABEL = "two-sample accuracy (0.5 = indistinguishable from data)"


def plot_points(points: list[dict]) -> list[dict]:
    """Sweep points for :func:`plot_quality_diversity`: a top-p setting gets a line of its own
    (``"MODEL, top-p 0.9"``) instead of zigzagging through the temperature line."""
    return [p | {"model": p["model"] + ("" if p.get("top_p") is None else f", top-p {p['top_p']:g}")}
            for p in points]


def diversity_label(suite: dict) -> str:
    c = suite["config"]
    ref = suite["diversity"].get("held-out data")
    return (f"diversity: distinct {c['diversity_n']}-note patterns in {c['diversity_draws']}"
            + ("" if _nan(ref) else f" (held-out data: {ref:.2f})"))


def _nan(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def fmt(x, spec: str = ".3f", missing: str = "–") -> str:
    """Format a number for a table; None/NaN give ``missing``."""
    return missing if _nan(x) else format(x, spec)


def format_markdown(rep: dict) -> str:
    """The report of :func:`evaluate` as Markdown."""
    lines = [f"# Evaluation of `{rep['checkpoint']}`", "",
             f"Data: `{rep['data']}` {_split_words(rep['split'])}: {rep['pieces']} pieces, {rep['tokens']} tokens; "
             f"representation `{rep['tokenizer']['name']}`, windows of {rep['seq_len']}.", "",
             "## Next-token prediction", "",
             "| model | NLL (nats/token) | NLL per note (nats) | perplexity | top-1 | top-5 |",
             "|---|---|---|---|---|---|"]
    for name, m in rep["likelihood"].items():
        lines.append(f"| {name} | {fmt(m['nll'])} | {fmt(m.get('nll_per_note', math.nan))} | "
                     f"{fmt(m['perplexity'], '.2f')} | {fmt(m['top1'], '.1%')} | {fmt(m['top5'], '.1%')} |")
    lines += ["", "NLL per note is the total NLL of the scored tokens over the notes they start: the figure to "
              "compare across representations (per token only within one)."]
    if "network alone" in rep["likelihood"]:
        lines += ["", "`generator` mixes the network's prediction with what followed the same music earlier in "
                  "the piece, at the weights fitted on validation music (`tunegan.repetition`), as generation "
                  "does; `network alone` is the LSTM by itself. Top-1/top-5 are the network's in both rows."]
    if rep.get("baselines_from"):
        lines += ["", f"Baselines fitted on {rep['baselines_from']}."]
    if c := rep.get("critic"):
        lines += ["", f"Critic (`train --mode critic`, epoch {c.get('epoch')}): held-out accuracy "
                      f"{fmt(c['accuracy'], '.1%')} on {c.get('n')} validation windows and fresh samples, "
                      f"ECE {fmt(c['ece'], '.3f')}, Brier {fmt(c['brier'], '.3f')}; it is this checkpoint's "
                      "discriminator below."]
    if rep.get("max_windows"):
        lines += ["", f"Only the first {rep['max_windows']} windows were scored (`--max-windows`)."]
    for note in rep.get("notes") or []:
        lines += ["", note]
    d = rep.get("discriminator") or {}
    if d:
        lines += ["", f"Discriminator on {d['n_real']} real vs {d['n_fake']} generated sequences: accuracy "
                      f"{d['accuracy']:.1%}, precision (real) {d['precision_real']:.1%}, "
                      f"recall (real) {d['recall_real']:.1%}."]
    if rep.get("suite"):
        lines += [""] + suite_markdown(rep["suite"])
    lines += ["", f"Paper's claim: {rep['paper_claim']['text']}. {rep['paper_claim']['our_reading']}"]
    if rep.get("timing"):
        lines += ["", "Time (s): " + ", ".join(f"{k} {v:g}" for k, v in rep["timing"].items()) + "."]
    return "\n".join(lines) + "\n"


def _split_words(split: str) -> str:
    return "every piece (`--split all`)" if split == ALL else f"split `{split}`"


def suite_markdown(s: dict) -> list[str]:
    """The sample-based sections of the report."""
    c = s["config"]
    top_p = "" if c["top_p"] >= 1 else f", top-p {c['top_p']:g}"
    lines = ["## Samples", "",
             f"{s['n']} crops of held-out pieces: a primer of {c['primer_len']} tokens and the real continuation "
             f"of {c['length']} tokens. The generator continued each primer (*primed*) and, separately, started "
             f"{s['n']} pieces from nothing (*unconditioned*), at temperature {c['temperature']:g}{top_p}, seed "
             f"{c['seed']}. Both sets are compared with the real continuations, decoded the same way.", "",
             "### Can a classifier tell generated from real?", "",
             "A logistic regression on per-crop features (pitch-class and interval histograms, pitch "
             f"statistics, repetition, timing), {c['folds']}-fold cross-validated. 0.5 = cannot tell them apart; "
             "1.0 = trivially told apart.", "",
             "| set | accuracy | 95% interval | permutation p |", "|---|---|---|---|"]
    for name, r in s["two_sample"].items():
        lines.append(f"| {name} | {fmt(r['accuracy'], '.1%')} | {fmt(r['ci_low'], '.1%')} – "
                     f"{fmt(r['ci_high'], '.1%')} | {fmt(r['permutation_p'], '.3f')} |")
    ng = c["ngram"]
    lines += ["", "### Copying from the training set", "",
              f"Longest run of notes found, possibly transposed, in a training piece, and the share of {ng}-note "
              "phrases found there. The held-out data is the reference: what unseen music shares by chance.", "",
              f"| set | median longest run (notes) | max | mean share of {ng}-note phrases in training |",
              "|---|---|---|---|"]
    for name, r in s["novelty"].items():
        if name != "index":
            lines.append(f"| {name} | {fmt(r['median_run'], 'g')} | {r['max_run']} | {fmt(r['ngram_share'], '.1%')} |")
    sets = list(s["musical"])
    lines += ["", "### Musical statistics", "",
              "Overlapping area (OA) of the distance distributions (Yang & Lerch 2018): 1 = the generated pieces "
              "sit among the real ones as the real ones sit among themselves. Means are per piece; for histograms "
              "the last columns give the distance between the mean histograms.", "",
              "| feature | " + " | ".join(f"OA {k}" for k in sets) + " | mean real | "
              + " | ".join(f"mean {k}" for k in sets) + " |",
              "|---|" + "---|" * (2 * len(sets) + 1)]
    first = s["musical"][sets[0]] if sets else {}
    constant = [f for f, r in first.items() if all(s["musical"][k].get(f, {}).get("constant") for k in sets)]
    for f, r in first.items():
        if f in constant:
            continue
        rows = [s["musical"][k].get(f, {}) for k in sets]
        oas = " | ".join(fmt(x.get("oa"), ".2f") for x in rows)
        if _is_number(r.get("mean_real")):
            means = f"{fmt(r['mean_real'], '.3g')} | " + " | ".join(fmt(x.get('mean_gen'), '.3g') for x in rows)
        else:
            means = "(histogram) | " + " | ".join(f"Δ {fmt(x.get('diff'), '.3f')}" for x in rows)
        lines.append(f"| {f} | {oas} | {means} |")
    if constant:
        lines += ["", "Same value in every real and generated piece in this representation (not informative): "
                      + ", ".join(constant) + "."]
    lines += ["", "![feature overlap](feature_overlap.png)"]
    if s.get("sweep"):
        lines += ["", "### Quality and diversity by sampling setting", "",
                  f"Primed samples at each setting. Quality: {QUALITY_LABEL}. Diversity: share of distinct "
                  f"{c['diversity_n']}-note interval patterns among {c['diversity_draws']} drawn from all samples "
                  f"(held-out data: {fmt(s['diversity'].get('held-out data'), '.3f')}).", "",
                  "| temperature | top-p | two-sample accuracy | 95% interval | diversity |", "|---|---|---|---|---|"]
        for p in s["sweep"]:
            lines.append(f"| {p['temperature']:g} | {'–' if p['top_p'] is None else format(p['top_p'], 'g')} | "
                         f"{fmt(p['quality'], '.1%')} | {fmt(p['ci_low'], '.1%')} – {fmt(p['ci_high'], '.1%')} | "
                         f"{fmt(p['diversity'], '.3f')} |")
        lines += ["", "![quality vs diversity](quality_diversity.png)"]
    return lines


def _is_number(x) -> bool:
    return x is None or isinstance(x, (int, float, np.integer, np.floating))
