"""The embedder wrappers: shared batches for concurrent questions, and a one-entry memo."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import numpy as np
import pytest

from citeqa.index.embed import BatchingEmbedder, Embedder, RememberLast

from conftest import FakeEmbedder


class GatedEmbedder(FakeEmbedder):
    """Its first call waits for ``release``, so later callers pile up behind it."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()
        self.fail_next = False

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        if not self.entered.is_set():
            self.entered.set()
            assert self.release.wait(10)
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("model failed")
        return super().encode(texts, progress=progress)


def _ask_all(embedder: Embedder, texts: list[str]) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}

    def one(text: str) -> None:
        out[text] = embedder.encode([text])

    threads = [threading.Thread(target=one, args=(t,)) for t in texts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    return out


def _wait_for(condition: object, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_questions_waiting_together_share_one_forward_pass() -> None:
    inner = GatedEmbedder()
    batching = BatchingEmbedder(inner)
    first = threading.Thread(target=batching.encode, args=(["the first question"],))
    first.start()
    assert inner.entered.wait(10)
    texts = [f"question number {n} about studios" for n in range(7)]
    results: dict[str, np.ndarray] = {}
    waiting = threading.Thread(target=lambda: results.update(_ask_all(batching, texts)))
    waiting.start()
    _wait_for(lambda: batching.batcher.waiting() == 7)
    inner.release.set()
    waiting.join(10)
    first.join(10)
    assert inner.calls == [1, 7]
    reference = FakeEmbedder()
    for text in texts:
        assert results[text].shape == (1, inner.dim)
        np.testing.assert_array_equal(results[text], reference.encode([text]))


def test_each_caller_gets_its_own_vector_under_contention() -> None:
    batching = BatchingEmbedder(FakeEmbedder(), max_batch=4)
    texts = [f"distinct text {n} " + "word " * n for n in range(40)]
    results = _ask_all(batching, texts)
    reference = FakeEmbedder()
    assert set(results) == set(texts)
    for text in texts:
        np.testing.assert_array_equal(results[text], reference.encode([text]))


def test_bulk_calls_bypass_the_worker() -> None:
    inner = FakeEmbedder()
    batching = BatchingEmbedder(inner)
    vectors = batching.encode(["one", "two", "three"])
    assert vectors.shape == (3, inner.dim) and inner.calls == [3]
    assert not batching.batcher.running()
    assert batching.fingerprint() == inner.fingerprint() and batching.dim == inner.dim


def test_a_failed_batch_fails_its_callers_and_the_worker_survives() -> None:
    inner = GatedEmbedder()
    inner.fail_next = True
    inner.release.set()
    batching = BatchingEmbedder(inner)
    with pytest.raises(RuntimeError, match="model failed"):
        batching.encode(["doomed"])
    np.testing.assert_array_equal(batching.encode(["fine"]), FakeEmbedder().encode(["fine"]))


def test_remember_last_encodes_a_repeated_question_once() -> None:
    inner = FakeEmbedder()
    memo = RememberLast(inner)
    a = memo.encode(["same question"])
    a[0, 0] = 99.0  # a caller changing its copy must not change the memo
    b = memo.encode(["same question"])
    assert inner.calls == [1]
    np.testing.assert_array_equal(b, inner.encode(["same question"]))
    memo.encode(["another question"])
    memo.encode(["same question"])
    assert inner.calls == [1, 1, 1, 1]


def test_an_idle_worker_stops_and_lets_its_owner_go(monkeypatch: pytest.MonkeyPatch) -> None:
    import gc
    import weakref

    from citeqa import batching

    monkeypatch.setattr(batching, "IDLE_STOP_S", 0.05)

    class Owner:  # as a reader owns its model and the batcher calling it
        def run(self, items: list[int]) -> list[int]:
            return [i * 2 for i in items]

    owner = Owner()
    batcher = batching.MicroBatcher(owner.run, name="test")
    assert batcher(21) == 42 and batcher.running()
    gone = weakref.ref(owner)
    del owner
    deadline = time.monotonic() + 10
    while batcher.running() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not batcher.running()
    assert batcher(2) == 4  # the next call starts a worker again
    del batcher  # its second worker stops too; then nothing holds the owner
    while gone() is not None and time.monotonic() < deadline:
        gc.collect()
        time.sleep(0.05)
    assert gone() is None


def test_one_callers_bad_item_fails_only_that_caller() -> None:
    from concurrent.futures import ThreadPoolExecutor

    from citeqa import batching

    entered, release = threading.Event(), threading.Event()
    calls: list[list[str]] = []

    def fn(items: list[str]) -> list[str]:
        calls.append(items)
        if not entered.is_set():  # hold the worker while the others queue up
            entered.set()
            assert release.wait(10)
        if "poison" in items:
            raise ValueError("bad item")
        return [i.upper() for i in items]

    batcher = batching.MicroBatcher(fn, name="test")
    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(batcher, "first")
        assert entered.wait(10)
        rest = [pool.submit(batcher, item) for item in ("a", "poison", "b")]
        _wait_for(lambda: batcher.waiting() == 3)
        release.set()
        assert first.result(10) == "FIRST"
        assert rest[0].result(10) == "A" and rest[2].result(10) == "B"
        with pytest.raises(ValueError, match="bad item"):
            rest[1].result(10)
    # tried together first (in the order the pool's threads queued them), then each alone
    together = calls[1]
    assert sorted(together) == ["a", "b", "poison"]
    assert calls == [["first"], together, *([item] for item in together)]


def test_a_worker_that_fails_to_start_does_not_hang_later_callers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from citeqa import batching

    real_start = threading.Thread.start
    failed: list[str] = []

    def start_once_failing(self: threading.Thread) -> None:
        if not failed:
            failed.append(self.name)
            raise RuntimeError("can't start new thread")
        real_start(self)

    monkeypatch.setattr(threading.Thread, "start", start_once_failing)
    batcher = batching.MicroBatcher[int, int](lambda items: [i * 2 for i in items], name="test")
    with pytest.raises(RuntimeError, match="can't start new thread"):
        batcher(1)
    answer: list[int] = []
    caller = threading.Thread(target=lambda: answer.append(batcher(21)))
    real_start(caller)
    caller.join(10)
    assert answer == [42]
