"""How pieces open in a bar-based cache, measured per corpus (see :mod:`.openings` for the fix).

    python -m tunegan.data.opening_report CACHE [CACHE ...] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter

import numpy as np

from ..errors import DataError, TuneganError


def _token_tables(tok) -> dict:
    """Per-id arrays of a REMI tokenizer: is a Bar / TimeSig / Tempo / Pitch; quarters in a bar of a
    TimeSig; the tempo (qpm) of a Tempo token."""
    names = [tok.describe(i) for i in range(tok.vocab_size)]
    kind = np.array([n.split("_", 1)[0] for n in names])
    quarters = np.zeros(len(names))
    tempo = np.full(len(names), np.nan)
    for i, ts in tok.tokens_of_kind("TimeSig").items():
        num, den = ts.split("/")
        quarters[i] = 4 * int(num) / int(den)
    for i, qpm in tok.tokens_of_kind("Tempo").items():
        tempo[i] = float(qpm)
    return {"bar": kind == "Bar", "ts": kind == "TimeSig", "tempo": kind == "Tempo", "pitch": kind == "Pitch",
            "quarters": quarters, "qpm": tempo, "names": names}


def piece_opening(tokens: np.ndarray, tables: dict, bos_id: int) -> dict:
    """What one piece's opening carries: ``{"bar_first", "time_signature", "tempo": bool,
    "tempo_qpm": float | None, "metre": "n/d" | None, "quarters": float}``."""
    t = np.asarray(tokens, dtype=np.int64)
    if len(t) and t[0] == bos_id:
        t = t[1:]
    pitch = np.flatnonzero(tables["pitch"][t])
    head = t[: pitch[0]] if len(pitch) else t[:8]
    ts = head[tables["ts"][head]]
    tempo = head[tables["tempo"][head]]
    return {"bar_first": bool(len(head) and tables["bar"][head[0]]), "time_signature": bool(len(ts)),
            "tempo": bool(len(tempo)), "tempo_qpm": float(tables["qpm"][tempo[0]]) if len(tempo) else None,
            "metre": tables["names"][ts[0]].split("_", 1)[1] if len(ts) else None,
            "quarters": float(tables["quarters"][t].sum())}


def opening_report(cache) -> dict:
    """``{corpus: {"pieces", "opens_with_bar", "time_signature", "tempo", "both", "tempo_120",
    "tokens_per_quarter", "metres"}}`` over every split of a REMI cache (a path or a
    :class:`~tunegan.data.dataset.TokenCache`); shares in [0, 1]. ``both``: opens with a Bar and
    carries a TimeSig and a Tempo before the first note; ``tempo_120``: the opening tempo is the
    bin nearest 120 BPM (MIDI's default, or MidiTok's when a file has none); ``metres``: the five
    most common opening metres with their shares."""
    from .dataset import TokenCache

    cache = cache if isinstance(cache, TokenCache) else TokenCache(cache)
    tok = cache.tokenizer
    if not tok.own_metre:  # REMI and its BPE form: bar, metre and tempo tokens
        raise DataError(f"{cache.root}: opening_report needs a REMI cache (this one is '{tok.name}')")
    tables = _token_tables(tok)
    default_qpm = float(tok.miditok.default_tempo)
    rows = cache.manifest["pieces"]
    acc: dict[str, dict] = {}
    for split in cache.manifest["counts"]:
        data = cache.split(split)
        for j, i in enumerate(data.pieces):
            toks = data.piece(j)
            o = piece_opening(toks, tables, tok.bos_id)
            a = acc.setdefault(rows[int(i)]["corpus"], {"n": 0, "bar": 0, "ts": 0, "tempo": 0, "both": 0,
                                                        "t120": 0, "tokens": 0, "quarters": 0.0,
                                                        "metres": Counter()})
            a["n"] += 1
            a["bar"] += o["bar_first"]
            a["ts"] += o["time_signature"]
            a["tempo"] += o["tempo"]
            a["both"] += o["bar_first"] and o["time_signature"] and o["tempo"]
            a["t120"] += o["tempo_qpm"] is not None and abs(o["tempo_qpm"] - default_qpm) < 1e-6
            a["tokens"] += len(toks) - 1
            a["quarters"] += o["quarters"]
            a["metres"][o["metre"]] += 1
    out = {}
    for corpus, a in sorted(acc.items()):
        n = a["n"]
        out[corpus] = {"pieces": n, "opens_with_bar": a["bar"] / n, "time_signature": a["ts"] / n,
                       "tempo": a["tempo"] / n, "both": a["both"] / n, "tempo_120": a["t120"] / n,
                       "tokens_per_quarter": a["tokens"] / a["quarters"] if a["quarters"] else None,
                       "metres": {str(m): c / n for m, c in a["metres"].most_common(5)}}
    return out


def format_report(report: dict) -> str:
    """The report as a text table, one row per corpus."""
    lines = [f"{'corpus':<12} {'pieces':>6} {'bar':>6} {'timesig':>7} {'tempo':>6} {'both':>6} {'@120':>6} "
             f"{'tok/qn':>6}  opening metres"]
    for corpus, r in report.items():
        metres = ", ".join(f"{m} {s:.0%}" for m, s in r["metres"].items())
        tpq = f"{r['tokens_per_quarter']:.2f}" if r["tokens_per_quarter"] else "-"
        lines.append(f"{corpus:<12} {r['pieces']:>6} {r['opens_with_bar']:>6.1%} {r['time_signature']:>7.1%} "
                     f"{r['tempo']:>6.1%} {r['both']:>6.1%} {r['tempo_120']:>6.1%} {tpq:>6}  {metres}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tunegan.data.openings", description=__doc__.splitlines()[0])
    parser.add_argument("caches", nargs="+", help="REMI cache folders from 'tunegan prepare'")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    try:
        for path in args.caches:
            report = opening_report(path)
            print(json.dumps({os.fspath(path): report}, indent=1) if args.json else f"{path}\n{format_report(report)}")
    except TuneganError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
