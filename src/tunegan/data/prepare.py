"""Prepare once: tokenize every piece of one or more sources into memmapped shards plus a manifest.

Layout of a cache folder::

    manifest.json          tokenizer state, sources, per-piece status/reason/hash/labels, counts
    train.tokens.u16       all train pieces back to back, each as [BOS, t1, t2, ...] (uint16)
    train.offsets.npy      int64, shape (n_pieces + 1,): piece i is tokens[offsets[i]:offsets[i+1]]
    train.pieces.npy       int64, shape (n_pieces,): index of each piece in manifest["pieces"]
    (same for validation and test)

Files are tokenized in parallel worker processes; the parent only appends finished arrays, so
memory stays at one piece per worker. For a bar-based tokenizer (REMI) each score is first made
ready for bars (:func:`.openings.for_bar_tokens`: metres without a token rewritten as metres with
one, the tempo and metre at tick 0, no leading empty bars). A piece that fails (corrupt, empty,
drum-only, or a bar no supported metre can fill) is skipped with its reason in the manifest, and so
is a piece that is mostly empty time: one where more than :data:`MAX_EMPTY_SECONDS` (3 minutes) pass
without a new note, from its first onset to the end of its last note (a 155-hour held note would
otherwise become half a million tokens of empty bars; the longest such stretch in MAESTRO v3 is 49 s).
Labels (:mod:`.labels`) that cannot be derived for a piece (a named :class:`~tunegan.errors.TuneganError`)
fall back to the source's own, with the reason on the piece's row (``label_error``) and counted in
the manifest (``label_errors``); any other exception is a bug and stops the build. Re-running
with the same sources and the same tokenizer config reuses the cache: files whose size and mtime
are unchanged are not read again, others are compared by content hash (computed by the workers
from the bytes they parse, so a build reads each file once).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import os
import shutil
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError, MIDIError, TuneganError
from ..midi import require_pitched_notes
from ..music.score import tick_notes
from ..music.timing import ticks_to_seconds
from ..tokenizers import Tokenizer, tokenizer_from_state
from .labels import labels_for
from .openings import for_bar_tokens
from .registry import open_source
from .sources import SPLITS, Piece, Source

MANIFEST = "manifest.json"
CACHE_VERSION = 3  # 2: bar-based caches get fitted metres and fixed openings (.openings);
                   # 3: unreleased notes ended (tunegan.midi), mostly-empty pieces skipped
MAX_EMPTY_SECONDS = 180.0  # a piece with a longer stretch without a new note is skipped as mostly empty
EMPTY_REASON = "mostly empty time: over 3 minutes without a new note"
TOKEN_DTYPE = np.uint16

# Errors that mean "this one file is bad": skipped and counted, never fatal for a dataset build.
BAD_FILE_ERRORS = (TuneganError, ValueError, RuntimeError, IndexError, KeyError, OverflowError,
                   ZeroDivisionError, EOFError, UnicodeDecodeError)

_worker_tok: Tokenizer | None = None


def _init_worker(tok_state: dict) -> None:
    global _worker_tok
    _worker_tok = tokenizer_from_state(tok_state)


def longest_empty_stretch(score) -> float:
    """Seconds of the longest stretch without a new note onset (drum tracks left out), from the
    first onset to the end of the last note: gaps between consecutive onsets, and the last onset to
    the last offset. 0 for a score without notes."""
    n = tick_notes(score)
    if len(n) == 0:
        return 0.0
    onsets = np.unique(n["time"]).astype(np.int64)
    end = int((n["time"].astype(np.int64) + n["duration"]).max())
    secs = ticks_to_seconds(score, np.append(onsets, max(end, int(onsets[-1]))))
    return float(np.diff(secs).max()) if len(secs) > 1 else 0.0


def _check_piece(score, name: str) -> float:
    """Raise MIDIError for a piece with nothing to learn from: no pitched notes, or mostly empty time
    (see the module docstring). Returns its longest stretch without a new note (seconds)."""
    require_pitched_notes(score, name)
    empty = longest_empty_stretch(score)
    if empty > MAX_EMPTY_SECONDS:
        raise MIDIError(EMPTY_REASON)
    return empty


def _labels_for(piece: Piece, score) -> tuple[dict, str | None]:
    """``(labels, None)``, or the source's own labels and the reason when they cannot be derived
    (a named error: an unreadable composer table, a source label that is not a number...)."""
    try:
        return labels_for(piece, score), None
    except TuneganError as e:
        return dict(piece.labels), _one_line(e)


def _one_line(e: BaseException) -> str:
    return str(e).splitlines()[0] if str(e) else type(e).__name__


def _encode_one(job: tuple[int, Source, Piece, bool]):
    """Worker: load + fingerprint + tokenize one piece -> (index, tokens | None, reason, labels, sha1,
    extra fields for the piece's manifest row)."""
    i, source, piece, want_labels = job
    sha1 = None
    name = str(piece.path if piece.path else piece.id)
    try:
        score, sha1 = source.load_fingerprinted(piece)
        empty = _check_piece(score, name)
        score = for_bar_tokens(score, _worker_tok)
        tokens = _worker_tok.encode(score)
    except BAD_FILE_ERRORS as e:
        reason = _one_line(e)
        # drop the file name: the manifest row already names the piece
        for prefix in {name, str(piece.path)}:
            if prefix and reason.startswith(prefix + ":"):
                reason = reason[len(prefix):].lstrip(": ")
        if sha1 is None:
            sha1 = _safe_fingerprint(source, piece)
        return i, None, reason, None, sha1, {}
    if len(tokens) == 0:
        return i, None, "no tokens", None, sha1, {}
    extra = {"longest_empty_s": round(empty, 2)}
    labels = dict(piece.labels)
    if want_labels:  # outside the bad-file net: a bug in labelling stops the build
        labels, problem = _labels_for(piece, score)
        if problem:
            extra["label_error"] = problem
    return i, np.asarray(tokens, dtype=TOKEN_DTYPE), None, labels, sha1, extra


def _safe_fingerprint(source: Source, piece: Piece) -> str:
    try:
        return source.fingerprint(piece)
    except (OSError, *BAD_FILE_ERRORS):
        return "unreadable"


@dataclass
class PrepareReport:
    out_dir: Path
    reused: bool
    pieces: int
    skipped: int
    tokens: dict
    seconds: float
    reasons: dict


def _cache_key(tok_state: dict, rows: list[dict], seq_meta: dict, field: str = "sha1") -> str:
    """Hash of the tokenizer, the options and every piece's ``field``: ``sha1`` (content, the
    manifest's ``key``) or ``stat`` (size and mtime, the ``stat_key`` that skips hashing)."""
    h = hashlib.sha1()
    h.update(json.dumps({"v": CACHE_VERSION, "tok": tok_state, "meta": seq_meta}, sort_keys=True).encode())
    for r in rows:
        h.update(f"{r['corpus']}|{r['id']}|{r['split']}|{r[field]}\n".encode())
    return h.hexdigest()


def _reusable(out: Path, tok_state: dict, jobs: list[tuple[Source, Piece]], meta: dict) -> dict | None:
    """The old manifest if the cache at ``out`` was built from the same pieces and config.

    Files whose size and mtime are unchanged are trusted without reading them (like git's index);
    otherwise every file is hashed and compared by content, so a copied or touched dataset is still
    reused. A reused manifest gets the new stats, so the next run is cheap again."""
    path = out / MANIFEST
    if not path.exists():
        return None
    try:
        old = json.loads(path.read_text())
        if not all((out / f"{sp}.tokens.u16").exists() for sp in old["counts"]):
            return None
        rows = [{"corpus": p.corpus, "id": p.id, "split": p.split, "stat": s.stat(p)} for s, p in jobs]
        stat_key = _cache_key(tok_state, rows, meta, "stat")
        if old.get("stat_key") == stat_key:
            return old
        for r, (src, piece) in zip(rows, jobs):
            r["sha1"] = _safe_fingerprint(src, piece)
        if old.get("key") != _cache_key(tok_state, rows, meta):
            return None
        for new_row, old_row in zip(rows, old["pieces"]):
            old_row["stat"] = new_row["stat"]
        old["stat_key"] = stat_key
        path.write_text(json.dumps(old, indent=1))
        return old
    except (json.JSONDecodeError, KeyError, TypeError):
        return None


def prepare(
    sources: list[str | Source],
    tokenizer: Tokenizer,
    out_dir: str | os.PathLike,
    *,
    workers: int | None = None,
    force: bool = False,
    labels: bool = True,
    limit: int | None = None,
    progress=None,
) -> PrepareReport:
    """Tokenize ``sources`` into a cache at ``out_dir`` (see module docstring).

    sources:  source specs (``"maestro:PATH"``, ``"pop909:PATH"``, a folder) or Source objects.
    workers:  processes for tokenizing (default: all cores).
    labels:   derive per-piece labels (key, mood...) from the music as well as the metadata.
    limit:    keep at most this many pieces per source and split (for quick experiments).
    progress: optional callable(done, total) for a progress bar.
    """
    t0 = time.perf_counter()
    out = Path(out_dir)
    srcs = [open_source(s) if isinstance(s, str) else s for s in sources]
    jobs: list[tuple[Source, Piece]] = []
    for src in srcs:
        pieces = src.pieces()
        if limit is not None:
            per: Counter = Counter()
            kept = []
            for p in pieces:
                if per[p.split] < limit:
                    per[p.split] += 1
                    kept.append(p)
            pieces = kept
        jobs.extend((src, p) for p in pieces)
    if not jobs:
        raise DataError(f"no MIDI pieces found in {', '.join(str(s.root) for s in srcs)}")

    tok_state, meta = tokenizer.state(), {"labels": labels}
    if not force:
        old = _reusable(out, tok_state, jobs, meta)
        if old is not None:
            return PrepareReport(out, True, old["n_ok"], old["n_skipped"],
                                 {k: v["tokens"] for k, v in old["counts"].items()},
                                 time.perf_counter() - t0, old["skip_reasons"])
    # content hashes come back from the workers, which read each file once
    rows = [{"corpus": p.corpus, "id": p.id, "split": p.split, "sha1": None, "stat": s.stat(p)} for s, p in jobs]

    tmp = out.with_name(out.name + ".building")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    files = {sp: open(tmp / f"{sp}.tokens.u16", "wb") for sp in SPLITS}
    offsets = {sp: [0] for sp in SPLITS}
    piece_ix = {sp: [] for sp in SPLITS}
    bos = np.array([tokenizer.bos_id], dtype=TOKEN_DTYPE)
    reasons: Counter = Counter()
    label_errors: Counter = Counter()
    workers = workers or os.cpu_count() or 1
    ctx = mp.get_context("fork" if hasattr(os, "fork") else "spawn")
    job_args = [(i, s, p, labels) for i, (s, p) in enumerate(jobs)]
    pool = None
    try:
        if workers > 1:
            pool = ctx.Pool(workers, initializer=_init_worker, initargs=(tok_state,))
            results = pool.imap(_encode_one, job_args, chunksize=4)
        else:
            _init_worker(tok_state)
            results = map(_encode_one, job_args)
        for done, (i, tokens, reason, lab, sha1, extra) in enumerate(results, 1):
            row = rows[i]
            row["sha1"] = sha1
            row.update(extra)
            if "label_error" in extra:
                label_errors[extra["label_error"]] += 1
            if tokens is None:
                row.update(status="skipped", reason=reason)
                reasons[reason] += 1
            else:
                sp = row["split"]
                files[sp].write(bos.tobytes())
                files[sp].write(tokens.tobytes())
                offsets[sp].append(offsets[sp][-1] + len(tokens) + 1)
                piece_ix[sp].append(i)
                row.update(status="ok", tokens=int(len(tokens)), labels=lab or {})
            if progress:
                progress(done, len(jobs))
        if pool is not None:
            pool.close()
            pool.join()
    finally:
        if pool is not None:  # after an error (a bug surfacing from a worker): stop the others
            pool.terminate()
        for f in files.values():
            f.close()

    counts = {}
    for sp in SPLITS:
        np.save(tmp / f"{sp}.offsets.npy", np.asarray(offsets[sp], dtype=np.int64))
        np.save(tmp / f"{sp}.pieces.npy", np.asarray(piece_ix[sp], dtype=np.int64))
        counts[sp] = {"pieces": len(piece_ix[sp]), "tokens": int(offsets[sp][-1])}
    n_ok = sum(c["pieces"] for c in counts.values())
    # per corpus and split: what balanced sampling (TrainConfig.corpus_balance) weighs
    corpora: dict = {}
    for r in rows:
        if r.get("status") == "ok":
            c = corpora.setdefault(r["corpus"], {}).setdefault(r["split"], {"pieces": 0, "tokens": 0})
            c["pieces"] += 1
            c["tokens"] += r["tokens"] + 1
    manifest = {
        "version": CACHE_VERSION, "key": _cache_key(tok_state, rows, meta),
        "stat_key": _cache_key(tok_state, rows, meta, "stat"), "tokenizer": tok_state,
        "vocab_size": tokenizer.vocab_size, "bos_id": tokenizer.bos_id, "pad_id": tokenizer.pad_id,
        "sources": [s.spec() for s in srcs], "counts": counts, "corpora": corpora, "n_ok": n_ok,
        "n_skipped": len(jobs) - n_ok, "skip_reasons": dict(reasons), "label_errors": dict(label_errors),
        "seconds": round(time.perf_counter() - t0, 3), "pieces": rows,
    }
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1))
    # swap the finished cache in (a half-built cache is never left under the real name)
    if out.exists():
        old = out.with_name(out.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        out.rename(old)
        tmp.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp.rename(out)
    return PrepareReport(out, False, n_ok, len(jobs) - n_ok, {k: v["tokens"] for k, v in counts.items()},
                         time.perf_counter() - t0, dict(reasons))
