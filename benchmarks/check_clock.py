"""Does the harmony guard's clock hear what the decoder writes? Its counts against the decoded notes'.

    python benchmarks/check_clock.py --data CACHE [--split validation] [--every 7] [--json PATH]

For every ``--every``-th piece of a bar-based cache's split, the note starts, re-strikes, clashes
and wide clashes that :func:`tunegan.harmony.start_counts` counts on the tokens, beside the same
counts made on the notes the tokenizer decodes (a note re-strikes when the same pitch still sounds
where it starts, or starts there too; clashes by a semitone, or a semitone in pitch class an
octave or more away, against any such note; re-attacks when it does not re-strike and a note of
its pitch ends where it starts; steps in unison when it is the lowest note of its onset and the
note before it in melodic order, the highest of the onset before, has its pitch), and the bins of
the intervals from the note before in melodic order (:func:`tunegan.harmony.interval_bins`),
the scale degrees in the running key (:func:`tunegan.harmony.degree_bins`, from the 9th note on;
pitch classes weighted by duration in seconds, the clock's in positions: the same at one tempo),
and how many onsets have a gap from the onset before (the gap bins themselves are in positions,
which the decoded seconds do not hold across tempo changes). The notes are decoded as the tokens
hold them, before decoding ends re-struck notes (:func:`tunegan.tokenizers.remi.end_restruck_notes`).
Printed: the pieces whose counts differ.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from common import save_json  # benchmarks/ is on sys.path when a script runs


def note_counts(notes) -> dict[str, int]:
    """The six counts made on decoded notes (``NOTE_DTYPE``, seconds), note by note in onset order."""
    from tunegan.harmony import KINDS, MIN_KEY_NOTES, N_DEGREES, N_INTERVALS, WIDE_SET, degree_bins, interval_bins, running_keys

    n = notes[np.lexsort((notes["pitch"], notes["start"]))]
    out = {"starts": len(n), **{k: 0 for k in KINDS}}
    iv, dg, pch = np.zeros(N_INTERVALS, np.int64), np.zeros(N_DEGREES, np.int64), np.zeros(12)
    for i in range(len(n)):
        if i >= MIN_KEY_NOTES:
            dg[int(degree_bins(int(n["pitch"][i]) % 12, running_keys(pch)[0]))] += 1
        pch[int(n["pitch"][i]) % 12] += float(n["end"][i] - n["start"][i])
        same = np.abs(n["start"][:i] - n["start"][i]) < 1e-9
        on = same | ((n["start"][:i] < n["start"][i]) & (n["end"][:i] > n["start"][i] + 1e-9))
        d = np.abs(n["pitch"][:i][on].astype(np.int64) - int(n["pitch"][i]))
        out["restrike"] += bool((d == 0).any())
        out["clash"] += bool((d == 1).any())
        out["wide_clash"] += any(int(x) in WIDE_SET for x in d)
        same_pitch = n["pitch"][:i] == n["pitch"][i]
        out["reattack"] += bool(not (d == 0).any() and (np.abs(n["end"][:i][same_pitch] - n["start"][i]) < 1e-9).any())
        out["unison_step"] += bool(i > 0 and not same[-1] and n["pitch"][i - 1] == n["pitch"][i])  # opens an onset
        if i > 0:  # from the note before in melodic order: the highest of its onset so far, or of the onset before
            if (b := int(interval_bins(int(n["pitch"][i]) - int(n["pitch"][i - 1]), bool(same[-1])))) >= 0:
                iv[b] += 1
    return out | {"intervals": iv.tolist(), "degrees": dg.tolist(), "gapped_onsets": max(len(np.unique(n["start"])) - 1, 0)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="a bar-based (REMI) prepared cache")
    ap.add_argument("--split", default="validation")
    ap.add_argument("--every", type=int, default=7)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    from tunegan.data.dataset import TokenCache
    from tunegan.harmony import guard_tables, start_counts
    from tunegan.music import extract_notes

    # the clock counts the notes as the tokens hold them; decoding then ends a note where its pitch
    # is struck again (a re-strike becomes a re-attack), so the notes are compared before that rule
    import tunegan.tokenizers.remi as remi

    remi.end_restruck_notes = lambda track: None

    cache = TokenCache(args.data)
    tok, data = cache.tokenizer, cache.split(args.split)
    tables = guard_tables(tok)
    if tables is None:
        raise SystemExit(f"{args.data}: '{tok.name}' tokens have no bars and durations for the clock")
    rows, differ = [], 0
    for k in range(0, len(data), args.every):
        tokens = data.piece(k)[1:]
        clock, decoded = start_counts(tables, [tokens]), note_counts(extract_notes(tok.decode(tokens)))
        clock["gapped_onsets"] = sum(clock.pop("gaps"))
        # the kinds the decoded notes are counted for (the clock also counts its register bands,
        # bar tails, durations and interval pairs, which the decoded side does not recount)
        shared = {kind: clock[kind] for kind in decoded}
        rows.append({"piece": k, "clock": shared, "decoded": decoded})
        if shared != decoded:
            differ += 1
            print(f"piece {k}: " + ", ".join(f"{kind} clock {shared[kind]} decoded {decoded[kind]}"
                                             for kind in decoded if shared[kind] != decoded[kind]))
    print(f"{len(rows)} pieces of {args.split}, {differ} with different counts")
    save_json({"data": str(args.data), "split": args.split, "pieces": len(rows), "differ": differ, "rows": rows},
              args.json)


if __name__ == "__main__":
    main()
