"""Does the web studio hold up under a burst? Many clients asking for music at once.

    python benchmarks/bench_studio_load.py [--checkpoint PATH] [--requests 50] [--clients 8] [--json]

Starts the studio in this process on 127.0.0.1 (loopback only, a free port), then sends
``--requests`` generation requests through its public API (``/generate``) from ``--clients``
concurrent ``gradio_client`` clients, each waiting at most ``--timeout`` seconds per request. It
stops by itself when all requests are answered. Prints errors (target: 0), median, 95th-percentile
and worst latency (seconds from submitting to having the files) and throughput.

Without ``--checkpoint`` it uses the shipped model; with ``--tiny`` (or when the shipped model is
missing from this install) it trains a tiny model for a few steps first. The report names the model.
The studio handles ``--concurrency`` requests at once (its pieces generated as one batch, see
:mod:`tunegan.studio.batching`) with room for ``--max-queue`` waiting requests, as ``tunegan
studio`` does by default; ``--concurrency 1`` is the old one-at-a-time studio. Polishing (best of
4 by the critic) is on unless ``--no-polish``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"


def tiny_model(root: Path) -> Path:
    """Train a tiny pitch-token LSTM (16-dim embedding, 32 hidden) for 10 steps on scales and arpeggios."""
    from tunegan.config import DiscriminatorConfig, GeneratorConfig, TrainConfig
    from tunegan.data.prepare import prepare
    from tunegan.data.sources import MidiFolder
    from tunegan.midi import NOTE_DTYPE, notes_to_score
    from tunegan.tokenizers import get_tokenizer
    from tunegan.training.trainer import Trainer

    rng = np.random.default_rng(0)
    (root / "midi").mkdir(parents=True, exist_ok=True)
    for i in range(24):
        pattern = np.array([0, 2, 4, 5, 7, 9, 11, 12] if i % 2 == 0 else [0, 4, 7, 12, 7, 4])
        pitches = np.tile(int(rng.integers(48, 72)) + pattern, 16)[:120]
        n = np.zeros(len(pitches), NOTE_DTYPE)
        n["pitch"], n["velocity"] = pitches, 80
        n["start"] = np.arange(len(pitches)) * 0.25
        n["end"] = n["start"] + 0.25
        notes_to_score(n).dump_midi(str(root / "midi" / f"piece_{i:02d}.mid"))
    tok = get_tokenizer("pitch")
    prepare([MidiFolder(str(root / "midi"))], tok, root / "cache", workers=1, labels=False)
    cfg = TrainConfig(mode="mle", epochs=1, batch_size=8, seq_len=16, steps_per_epoch=10, val_batches=2, threads=1)
    Trainer(cfg, root / "cache", root / "run", generator_config=GeneratorConfig(vocab_size=tok.vocab_size, embed_dim=16, hidden_size=32),
            discriminator_config=DiscriminatorConfig(vocab_size=tok.vocab_size, channels=8, kernel_size=3), quiet=True).fit()
    return root / "run"


def client_process(url: str, request: dict, n_requests: int, n_clients: int, timeout: float, downloads: str,
                   kind: str = "http") -> dict:
    """``n_clients`` clients (threads) sending ``n_requests`` requests in all, one after another each:
    ``{latencies, errors, cpu_s}`` (this process's CPU seconds).

    ``kind="http"``: as a browser page does, one POST to the endpoint and its event stream
    (Gradio's REST API), then the audio, piano roll and sheet music the page shows are fetched;
    ``"gradio"``: ``gradio_client``, which also downloads every file (and polls)."""
    import resource

    import httpx
    from gradio_client import Client

    todo = iter(range(n_requests))
    lock = threading.Lock()
    latencies, errors = [], []
    info = Client(url, verbose=False).view_api(return_format="dict", print_info=False)
    params = info["named_endpoints"]["/" + request["api_name"].strip("/")]["parameters"]

    def check(out) -> None:
        path = lambda f: f and (f.get("path") if isinstance(f, dict) else f)
        if not (out[0] and len(out[6]) == 3):
            raise RuntimeError("answer without audio or downloads")
        if request["sheet_music"] and not path(out[2]):
            raise RuntimeError(f"answer without sheet music: {out[3]}")

    def http_call(http: httpx.Client, i: int) -> None:
        given = {k: v for k, v in request.items() if k != "api_name"} | {"seed": i}
        data = [given.get(p["parameter_name"], p.get("parameter_default")) for p in params]
        api = f"{url}gradio_api/call/{request['api_name'].strip('/')}"
        event = http.post(api, json={"data": data}).raise_for_status().json()["event_id"]
        out, kind_seen = None, None
        with http.stream("GET", f"{api}/{event}", timeout=timeout) as stream:
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    kind_seen = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and kind_seen in ("complete", "error"):
                    payload = json.loads(line.split(":", 1)[1])
                    if kind_seen == "error":
                        raise RuntimeError(f"studio error: {payload}")
                    out = payload
                    break
        if out is None:
            raise RuntimeError("the event stream ended without a result")
        check(out)
        for f in (out[0], out[1], out[2]):  # what the page shows: the audio and the pictures
            if f:
                http.get(f["url"]).raise_for_status()

    def client_loop(_):
        http = httpx.Client(timeout=timeout) if kind == "http" else None
        client = Client(url, verbose=False, download_files=downloads) if kind == "gradio" else None
        while True:
            with lock:
                i = next(todo, None)
            if i is None:
                return
            t = time.perf_counter()
            try:
                if client is not None:
                    out = client.submit(seed=i, **request).result(timeout=timeout)
                    check(out)
                else:
                    http_call(http, i)
                with lock:
                    latencies.append(time.perf_counter() - t)
            except Exception as e:  # noqa: BLE001 - counted and reported
                with lock:
                    errors.append(f"{type(e).__name__}: {str(e)[:120]}")

    with ThreadPoolExecutor(n_clients) as pool:
        list(pool.map(client_loop, range(n_clients)))
    r = resource.getrusage(resource.RUSAGE_SELF)
    return {"latencies": latencies, "errors": errors, "cpu_s": r.ru_utime + r.ru_stime}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(args) -> dict:
    from tunegan.checkpoint import DEFAULT_MODEL
    from tunegan.studio.app import build_studio, launch_studio

    tmp = Path(tempfile.mkdtemp(prefix="tunegan-bench-studio-"))
    checkpoint, model = args.checkpoint, str(args.checkpoint)
    if checkpoint is None and not args.tiny:
        if (DEFAULT_MODEL / "meta.json").exists():
            model = "shipped default model"
        else:
            args.tiny = True
    if args.tiny:
        checkpoint, model = tiny_model(tmp / "tiny"), "tiny test model (embed 16, hidden 32)"
    t0 = time.perf_counter()
    demo = build_studio(checkpoint, work_dir=tmp / "work")
    port = free_port()
    from tunegan.studio.app import DEFAULT_CONCURRENCY

    args.concurrency = args.concurrency or DEFAULT_CONCURRENCY
    launch_studio(demo, host="127.0.0.1", port=port, block=False, quiet=True,
                  concurrency=args.concurrency, max_queue=args.max_queue)
    start_s = time.perf_counter() - t0
    url = f"http://127.0.0.1:{port}/"
    request = dict(notes="C4 E4 G4", bars=args.bars, tempo=120, own_tempo=True, sheet_music=not args.no_sheet, polish=args.polish,
                   api_name="/generate")

    import multiprocessing
    import resource
    from concurrent.futures import ProcessPoolExecutor

    def usage():
        return [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]

    cpu = lambda r: r.ru_utime + r.ru_stime
    before = usage()
    t1 = time.perf_counter()
    # the clients live in a process of their own, as browsers do: they do not hold the studio's
    # Python lock, and their CPU is counted apart (they still share this machine's cores)
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as clients:
        got = clients.submit(client_process, url, request, args.requests, args.clients, args.timeout,
                             str(tmp / "downloads"), args.client).result()
    wall = time.perf_counter() - t1
    latencies, errors = got["latencies"], got["errors"]
    with contextlib.redirect_stdout(sys.stderr):  # gradio prints "Closing server"; keep --json output clean
        demo.close()
    demo.picture_pool.shutdown()
    after = usage()
    lat = np.array(latencies) if latencies else np.array([np.nan])
    return {
        "model": model, "requests": args.requests, "clients": args.clients, "client": args.client, "concurrency": args.concurrency,
        "max_queue": args.max_queue, "bars": args.bars, "sheet_music": not args.no_sheet, "polish": args.polish,
        "batch_sizes": dict(sorted(Counter(demo.batcher.batches).items())),
        "generating_s": round(sum(demo.batcher.seconds), 1),
        "sheet_batches": dict(sorted(Counter(demo.sheets.batches).items())),
        # CPU seconds while the requests ran: the studio's process (server, model), the clients'
        # process, and the studio's helpers (picture workers, MuseScore, fluidsynth; their start included)
        "cpu_s": {"studio": round(cpu(after[0]) - cpu(before[0]), 1), "clients": round(got["cpu_s"], 1),
                  "helpers": round(cpu(after[1]) - cpu(before[1]) - got["cpu_s"], 1)},
        "ok": len(latencies), "errors": len(errors), "error_kinds": sorted(set(errors)),
        "median_s": round(float(np.median(lat)), 2), "p95_s": round(float(np.percentile(lat, 95)), 2),
        "max_s": round(float(lat.max()), 2), "wall_s": round(wall, 1),
        "per_minute": round(len(latencies) / wall * 60, 1), "startup_s": round(start_s, 1), "cpus": os.cpu_count(),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", type=Path, default=None, help="model (default: shipped, else a tiny one)")
    p.add_argument("--tiny", action="store_true", help="train and use a tiny model (also when the shipped one is missing)")
    p.add_argument("--requests", type=int, default=50)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--bars", type=int, default=4, help="length of each piece")
    p.add_argument("--no-sheet", action="store_true", help="skip MuseScore sheet music (faster)")
    p.add_argument("--concurrency", type=int, default=None, help="requests handled at once (default: the studio's)")
    p.add_argument("--no-polish", dest="polish", action="store_false",
                   help="plain samples (default: polish on, the best of 4 by the critic)")
    p.add_argument("--max-queue", type=int, default=16, help="waiting requests the studio accepts")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds one request may take")
    p.add_argument("--client", choices=("http", "gradio"), default="http",
                   help="http: a page's requests (POST, event stream, the audio and pictures shown); "
                        "gradio: gradio_client, which downloads every file")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    args = p.parse_args()
    r = run(args)
    if args.json:
        print(json.dumps(r, indent=2))
        return
    print(f"model: {r['model']}; studio started in {r['startup_s']} s on {r['cpus']} CPUs")
    print(f"{r['requests']} requests ({r['bars']} bars, sheet music {'on' if r['sheet_music'] else 'off'}) from "
          f"{r['clients']} clients ({r['client']}); concurrency {r['concurrency']}, queue {r['max_queue']}, polish {r['polish']}; "
          f"batch sizes {r['batch_sizes']}; the model generated for {r['generating_s']} s of the {r['wall_s']} s; "
          f"MuseScore runs by sheets engraved {r['sheet_batches']}; CPU seconds {r['cpu_s']}")
    print(f"{'ok':>4} {'errors':>6} {'median s':>9} {'p95 s':>7} {'max s':>7} {'wall s':>7} {'per min':>8}")
    print(f"{r['ok']:>4} {r['errors']:>6} {r['median_s']:>9} {r['p95_s']:>7} {r['max_s']:>7} {r['wall_s']:>7} {r['per_minute']:>8}")
    for kind in r["error_kinds"]:
        print(f"  error: {kind}")


if __name__ == "__main__":
    main()
