"""Requests that arrive together are generated together.

The studio handles several requests at once (one thread each). Each asks
:class:`GenerationBatcher` for its piece; the batcher's own thread waits up to ``window``
seconds after the first waiting request for others (at most ``max_batch``), then makes every
group of requests that differ only in their seed as one :func:`tunegan.api.generate` call
(``seeds=[...]``, one batch through the model). A request gets exactly the piece it would get
alone. An error is given to every request of its group (they share all their settings), and
never stops the batcher. Rendering is at most :data:`RENDER_SLOTS` requests at once: the audio
in the request's thread (fluidsynth runs as its own process), the piano roll, MusicXML and sheet
music in :func:`picture_pool`'s worker processes, so rendering uses every core while the
serving process answers pages and the model samples. Sheet music is engraved by
:class:`SheetBatcher`: every score waiting when MuseScore is free goes into its next run.
"""

from __future__ import annotations

import json
import os
import queue
import threading
import time
from concurrent.futures import Future

__all__ = ["GenerationBatcher", "SheetBatcher", "RENDER_SLOTS", "render_slots", "picture_pool"]

RENDER_SLOTS = max(1, os.cpu_count() or 1)  # requests rendering at once
render_slots = threading.BoundedSemaphore(RENDER_SLOTS)


def picture_pool(warm: bool = True):
    """Worker processes (one per core) that draw piano rolls and sheet music
    (:func:`tunegan.studio.handlers.draw_pictures`) outside the serving process. ``spawn``: a
    worker never inherits the model or the server's threads. ``warm``: the workers start now and
    load their drawing libraries in the background, so the first visitors do not wait for that."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(max_workers=RENDER_SLOTS, mp_context=multiprocessing.get_context("spawn"))
    if warm:
        from .handlers import warm_up

        for _ in range(RENDER_SLOTS):
            pool.submit(warm_up)
    return pool


class GenerationBatcher:
    """``submit(kwargs)`` -> one :class:`~tunegan.api.Generation`, made in a batch with the
    requests that arrive with it. ``kwargs`` are :func:`tunegan.api.generate`'s with a ``seed``
    (an int) and no ``samples``; ``generate`` is the function called (``api.generate`` with the
    studio's checkpoint and model cache)."""

    def __init__(self, generate, *, window: float = 0.05, max_batch: int = 8):
        self.generate, self.window, self.max_batch = generate, window, max_batch
        self.queue: queue.Queue = queue.Queue()
        self.batches: list[int] = []  # sizes of the calls made (for tests and the benchmark)
        self.seconds: list[float] = []  # how long each call took
        self._thread = threading.Thread(target=self._loop, name="tunegan-batcher", daemon=True)
        self._thread.start()

    def submit(self, kwargs: dict):
        if not isinstance(kwargs.get("seed"), int) or "samples" in kwargs or "seeds" in kwargs:
            raise ValueError("a batched request names its seed (an int) and no samples or seeds")
        done: Future = Future()
        self.queue.put((kwargs, done))
        return done.result()

    def _loop(self) -> None:
        while True:
            batch = [self.queue.get()]
            deadline = time.monotonic() + self.window
            while len(batch) < self.max_batch and (left := deadline - time.monotonic()) > 0:
                try:
                    batch.append(self.queue.get(timeout=left))
                except queue.Empty:
                    break
            groups: dict[str, list] = {}
            for kwargs, done in batch:
                key = json.dumps({k: v for k, v in kwargs.items() if k != "seed"}, sort_keys=True, default=str)
                groups.setdefault(key, []).append((kwargs, done))
            for items in groups.values():
                self._run(items)

    def _run(self, items: list) -> None:
        kwargs = {k: v for k, v in items[0][0].items() if k != "seed"}
        t0 = time.perf_counter()
        try:
            songs = self.generate(seeds=[kw["seed"] for kw, _ in items], **kwargs)
            self.batches.append(len(items))
            self.seconds.append(time.perf_counter() - t0)
        except BaseException as e:  # noqa: BLE001 - handed to the waiting requests
            for _, done in items:
                done.set_exception(e)
            return
        for (_, done), song in zip(items, songs):
            done.set_result(song)


class SheetBatcher:
    """``engrave(musicxml, png)`` -> the pages, or a :class:`~tunegan.outputs.NotationError`:
    MuseScore engraves every score waiting when it is free in one run
    (:func:`tunegan.outputs.engrave.engrave_files`, at most ``max_batch``), so it starts once for
    several requests. Its own thread waits on MuseScore, which runs as its own process."""

    def __init__(self, *, max_batch: int = 8, dpi: int = 150):
        self.max_batch, self.dpi = max_batch, dpi
        self.queue: queue.Queue = queue.Queue()
        self.batches: list[int] = []
        self._thread = threading.Thread(target=self._loop, name="tunegan-sheets", daemon=True)
        self._thread.start()

    def engrave(self, musicxml, png):
        done: Future = Future()
        self.queue.put(((musicxml, png), done))
        return done.result()

    def _loop(self) -> None:
        from ..outputs.engrave import engrave_files

        while True:
            batch = [self.queue.get()]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            try:
                results = engrave_files([item for item, _ in batch], dpi=self.dpi)
                self.batches.append(len(batch))
            except BaseException as e:  # noqa: BLE001 - handed to the waiting requests
                results = [e] * len(batch)
            for (_, done), got in zip(batch, results):
                done.set_result(got)
