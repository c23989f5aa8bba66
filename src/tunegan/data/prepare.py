"""Prepare once: tokenize every piece of one or more sources into memmapped shards plus a manifest.

Layout of a cache folder::

    manifest.json          tokenizer state, sources, per-piece status/reason/hash/labels, counts
    train.tokens.u16       all train pieces back to back, each as [BOS, t1, t2, ...] (uint16)
    train.offsets.npy      int64, shape (n_pieces + 1,): piece i is tokens[offsets[i]:offsets[i+1]]
    train.pieces.npy       int64, shape (n_pieces,): index of each piece in manifest["pieces"]
    (same for validation and test)

Files are tokenized in parallel worker processes; the parent only appends finished arrays, so
memory stays at one piece per worker. A piece that fails (corrupt, empty, drum-only, or a time
signature the tokenizer can't represent) is skipped with its reason in the manifest. Re-running
with the same sources (by content hash) and the same tokenizer config reuses the cache.
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

from ..errors import DataError, TuneganError
from ..tokenizers import Tokenizer, tokenizer_from_state
from .sources import SPLITS, Piece, Source, open_source

MANIFEST = "manifest.json"
CACHE_VERSION = 1
TOKEN_DTYPE = np.uint16

# Errors that mean "this one file is bad": skipped and counted, never fatal for a dataset build.
BAD_FILE_ERRORS = (TuneganError, ValueError, RuntimeError, IndexError, KeyError, OverflowError,
                   ZeroDivisionError, EOFError, UnicodeDecodeError)

_worker_tok: Tokenizer | None = None


def _init_worker(tok_state: dict) -> None:
    global _worker_tok
    _worker_tok = tokenizer_from_state(tok_state)


def _labels_for(piece: Piece, score) -> dict:
    try:
        from .labels import labels_for
    except ImportError:
        return dict(piece.labels)
    try:
        return labels_for(piece, score)
    except Exception:  # labels are a bonus; never lose a piece over them
        return dict(piece.labels)


def _encode_one(job: tuple[int, Source, Piece, bool]):
    """Worker: load + tokenize one piece -> (index, tokens | None, reason, labels)."""
    i, source, piece, want_labels = job
    try:
        score = source.load(piece)
        tokens = _worker_tok.encode(score)
        if len(tokens) == 0:
            return i, None, "no tokens", None
        labels = _labels_for(piece, score) if want_labels else dict(piece.labels)
        return i, np.asarray(tokens, dtype=TOKEN_DTYPE), None, labels
    except BAD_FILE_ERRORS as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        # drop the file name: the manifest row already names the piece
        if piece.path and reason.startswith(str(piece.path)):
            reason = reason[len(str(piece.path)):].lstrip(": ")
        return i, None, reason, None


@dataclass
class PrepareReport:
    out_dir: Path
    reused: bool
    pieces: int
    skipped: int
    tokens: dict
    seconds: float
    reasons: dict


def _cache_key(tok_state: dict, rows: list[dict], seq_meta: dict) -> str:
    h = hashlib.sha1()
    h.update(json.dumps({"v": CACHE_VERSION, "tok": tok_state, "meta": seq_meta}, sort_keys=True).encode())
    for r in rows:
        h.update(f"{r['corpus']}|{r['id']}|{r['split']}|{r['sha1']}\n".encode())
    return h.hexdigest()


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

    rows = [{"corpus": p.corpus, "id": p.id, "split": p.split, "sha1": s.fingerprint(p)} for s, p in jobs]
    tok_state = tokenizer.state()
    key = _cache_key(tok_state, rows, {"labels": labels})
    manifest_path = out / MANIFEST
    if not force and manifest_path.exists():
        try:
            old = json.loads(manifest_path.read_text())
            if old.get("key") == key and all((out / f"{sp}.tokens.u16").exists() for sp in old["counts"]):
                return PrepareReport(out, True, old["n_ok"], old["n_skipped"],
                                     {k: v["tokens"] for k, v in old["counts"].items()},
                                     time.perf_counter() - t0, old["skip_reasons"])
        except (json.JSONDecodeError, KeyError):
            pass

    tmp = out.with_name(out.name + ".building")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    files = {sp: open(tmp / f"{sp}.tokens.u16", "wb") for sp in SPLITS}
    offsets = {sp: [0] for sp in SPLITS}
    piece_ix = {sp: [] for sp in SPLITS}
    bos = np.array([tokenizer.bos_id], dtype=TOKEN_DTYPE)
    reasons: Counter = Counter()
    workers = workers or os.cpu_count() or 1
    ctx = mp.get_context("fork" if hasattr(os, "fork") else "spawn")
    job_args = [(i, s, p, labels) for i, (s, p) in enumerate(jobs)]
    try:
        if workers > 1:
            pool = ctx.Pool(workers, initializer=_init_worker, initargs=(tok_state,))
            results = pool.imap(_encode_one, job_args, chunksize=4)
        else:
            pool = None
            _init_worker(tok_state)
            results = map(_encode_one, job_args)
        for done, (i, tokens, reason, lab) in enumerate(results, 1):
            row = rows[i]
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
        "version": CACHE_VERSION, "key": key, "tokenizer": tok_state,
        "vocab_size": tokenizer.vocab_size, "bos_id": tokenizer.bos_id, "pad_id": tokenizer.pad_id,
        "sources": [s.spec() for s in srcs], "counts": counts, "corpora": corpora, "n_ok": n_ok,
        "n_skipped": len(jobs) - n_ok, "skip_reasons": dict(reasons),
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
