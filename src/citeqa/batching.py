"""Micro-batching: many threads' model calls served by one worker, in shared batches.

Under concurrent questions the web server runs several ``QA.ask`` calls at once: their
query encodes (``embed.BatchingEmbedder``) and the span reader's passes over their passages
(``span_reader``) go through here. Letting each thread run its own forward pass has two
costs: a lone forward pass is mostly fixed overhead (one MiniLM query encode is ~11 ms,
eight together ~37 ms), and every thread's
forward pass asks for all cores, so they fight over two. Here a caller hands its item to
one worker thread and waits; the worker runs everything waiting at that moment as one
batch. A lone caller never waits for company, so a single user sees no added latency.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Generic, TypeVar

IDLE_STOP_S = 2.0
"""An idle worker stops after this long, and the next call starts another. A worker that
never stopped would keep its batcher, and whatever ``fn`` belongs to (a model), alive for
as long as the process."""

T = TypeVar("T")
R = TypeVar("R")


class MicroBatcher(Generic[T, R]):
    """``batcher(item)`` returns ``fn([..., item, ...])[i]``, where ``fn`` is called on
    whatever items are waiting (at most ``max_batch``) in one worker thread."""

    def __init__(
        self, fn: Callable[[list[T]], Sequence[R]], *, max_batch: int = 32, name: str = "batch"
    ) -> None:
        self.fn = fn
        self.max_batch = max_batch
        self.name = name
        self._queue: queue.SimpleQueue[tuple[T, Future[R]]] = queue.SimpleQueue()
        self._worker: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def __call__(self, item: T) -> R:
        done: Future[R] = Future()
        with self._start_lock:  # against a worker deciding to stop as this arrives
            self._queue.put((item, done))
            if self._worker is None:
                worker = threading.Thread(target=self._run, name=f"citeqa-{self.name}", daemon=True)
                worker.start()  # recorded once running: a failed start must not look like one
                self._worker = worker
        return done.result()

    def waiting(self) -> int:
        """Items queued and not yet taken by the worker."""
        return self._queue.qsize()

    def running(self) -> bool:
        return self._worker is not None

    def _run(self) -> None:
        while True:
            try:
                batch = [self._queue.get(timeout=IDLE_STOP_S)]
            except queue.Empty:
                with self._start_lock:
                    if self._queue.empty():
                        self._worker = None
                        return
                continue
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                results = self._call([item for item, _ in batch])
            except BaseException as exc:  # every waiting caller gets an answer, not a hang
                if len(batch) == 1:
                    batch[0][1].set_exception(exc)
                    continue
                # One caller's item may be what failed: each alone, so only it fails.
                for item, done in batch:
                    try:
                        done.set_result(self._call([item])[0])
                    except BaseException as own:
                        done.set_exception(own)
                continue
            for (_, done), result in zip(batch, results, strict=True):
                done.set_result(result)

    def _call(self, items: list[T]) -> Sequence[R]:
        results = self.fn(items)
        if len(results) != len(items):
            raise RuntimeError(f"{self.name}: {len(results)} results for {len(items)}")
        return results
