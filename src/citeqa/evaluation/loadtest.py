"""Figures for the served app: start-up, memory, browser latency, and load.

Everything runs against a real ``citeqa serve`` subprocess on 127.0.0.1; every loop here is
bounded in both count and time, and stops by itself.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from citeqa.evaluation.bench import QUESTIONS

WARM_UP_S = 10.0


@dataclass(frozen=True)
class Served:
    url: str
    pid: int
    startup_s: float


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def served(
    index_dir: Path | None,
    timeout: float = 300,
    *,
    env: dict[str, str] | None = None,
    log: Path | None = None,
    args: Sequence[str] = (),
) -> Iterator[Served]:
    """``citeqa serve`` on a free loopback port, for as long as the block runs; its output
    goes to ``log`` when given, and ``args`` are added to its command line."""
    port = free_port()
    cmd = [sys.executable, "-m", "citeqa.cli", "serve", "--port", str(port)]
    if index_dir is not None:
        cmd += ["--index", str(index_dir)]
    cmd += list(args)
    out = log.open("w") if log is not None else subprocess.DEVNULL
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/"
    started = time.perf_counter()
    try:
        while True:
            try:
                urllib.request.urlopen(url, timeout=2).close()
                break
            except OSError:
                if proc.poll() is not None or time.perf_counter() - started > timeout:
                    detail = log.read_text() if log is not None else ""
                    raise RuntimeError(f"citeqa serve did not start\n{detail}") from None
                time.sleep(0.3)
        yield Served(url, proc.pid, time.perf_counter() - started)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        if log is not None:
            out.close()  # type: ignore[union-attr]


CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def ui_figures(index_dir: Path | None, questions: int = 10) -> dict[str, Any]:
    """Server RSS after start-up, then Enter-to-answer time in headless Chromium (Debian's,
    at /usr/bin/chromium) over warm questions."""
    from playwright.sync_api import sync_playwright

    with served(index_dir) as srv, sync_playwright() as pw, tempfile.TemporaryDirectory() as prof:
        rss = rss_mb(srv.pid)
        ctx = pw.chromium.launch_persistent_context(
            prof, executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_FLAGS
        )
        page = ctx.new_page()
        page.goto(srv.url)
        box = page.locator("#citeqa-question textarea")
        times = []
        for n in range(questions + 1):
            before = page.locator("#citeqa-chat .message").count()
            box.fill(QUESTIONS[n % len(QUESTIONS)])
            started = time.perf_counter()
            box.press("Enter")
            page.wait_for_function(
                f"document.querySelectorAll('#citeqa-chat .message').length >= {before + 2}"
            )
            if n:  # the first question warms the page and the queue
                times.append((time.perf_counter() - started) * 1000)
        ctx.close()
        return {
            "startup_s": srv.startup_s,
            "server_rss_mb_after_start": rss,
            "enter_to_answer_p50_ms": float(np.percentile(times, 50)),
            "enter_to_answer_p95_ms": float(np.percentile(times, 95)),
        }


def http_ask(url: str, question: str, timeout: float = 30) -> dict[str, Any]:
    """One call of the /ask endpoint over plain HTTP (Gradio's two-step call API)."""
    body = json.dumps({"data": [question]}).encode()
    req = urllib.request.Request(
        url + "gradio_api/call/ask", body, {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        event = json.loads(resp.read())["event_id"]
    with urllib.request.urlopen(f"{url}gradio_api/call/ask/{event}", timeout=timeout) as resp:
        kind = ""
        for raw in resp:
            line = raw.decode().strip()
            if line.startswith("event:"):
                kind = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and kind in ("complete", "error"):
                if kind == "error":
                    raise RuntimeError(f"server error: {line[5:].strip()[:200]}")
                data: list[dict[str, Any]] = json.loads(line[5:])
                return data[0]
    raise RuntimeError("stream ended without a result")


def api_ask(url: str, question: str, timeout: float = 30) -> dict[str, Any]:
    """One call of the JSON API, ``POST /api/ask``."""
    body = json.dumps({"question": question}).encode()
    req = urllib.request.Request(url + "api/ask", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        answer: dict[str, Any] = json.loads(resp.read())
        return answer


def load_figures(
    index_dir: Path | None,
    clients: int = 50,
    seconds: float = 60,
    max_requests: int = 100_000,
) -> dict[str, Any]:
    """``clients`` closed-loop clients for ``seconds`` (or ``max_requests`` in all): half
    use gradio_client (the chat queue's ``/ask``), half plain HTTP to ``POST /api/ask``;
    questions mix answerable and unanswerable."""
    from gradio_client import Client

    with served(index_dir) as srv:
        rss_start = rss_mb(srv.pid)
        load = _Load(srv.url, Client, time.perf_counter() + seconds, max_requests)
        threads = [
            threading.Thread(target=load.client, args=(n,), daemon=True) for n in range(clients)
        ]
        started = time.perf_counter()
        for t in threads:
            t.start()
        # Memory a server takes on at its first concurrent requests (batch buffers, worker
        # threads) is not growth under load; RSS after a warm-up shows the difference.
        time.sleep(min(WARM_UP_S, seconds / 4))
        rss_warm = rss_mb(srv.pid)
        for t in threads:
            t.join(timeout=seconds + 120)
        elapsed = time.perf_counter() - started
        rss_end = rss_mb(srv.pid)
    return {
        "clients": clients,
        "seconds": round(elapsed, 1),
        **load.figures(elapsed),
        "rss_mb_start": rss_start,
        "rss_mb_after_warm_up": rss_warm,
        "rss_mb_end": rss_end,
        "rss_growth": rss_end / rss_start - 1 if rss_start else float("nan"),
        "rss_growth_after_warm_up": rss_end / rss_warm - 1 if rss_warm else float("nan"),
    }


class _Load:
    """The clients' shared tally: latencies by kind of client, errors, and the budget."""

    def __init__(self, url: str, client: Any, deadline: float, max_requests: int) -> None:
        self.url, self.make_client, self.deadline = url, client, deadline
        self.questions = list(QUESTIONS)  # answerable and not, as in `citeqa bench`
        self.by_kind: dict[str, list[float]] = {"gradio_client": [], "json_api": []}
        self.errors: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.budget = iter(range(max_requests))

    def client(self, n: int) -> None:
        """Client ``n``: ask, wait for the answer, ask again, until time or budget ends."""
        # Plain http on loopback: nothing to verify, and with verification on, httpx
        # builds an SSL context from the CA bundle on every call (65 ms of the load
        # generator's CPU per question, taken from the server it is measuring).
        client = self.make_client(self.url, verbose=False, ssl_verify=False) if n % 2 == 0 else None
        kind = "json_api" if client is None else "gradio_client"
        i = n
        while time.perf_counter() < self.deadline:
            with self.lock:
                if next(self.budget, None) is None:
                    return
            question = self.questions[i % len(self.questions)]
            i += 1
            started = time.perf_counter()
            try:
                if client is not None:
                    ans = client.predict(question, api_name="/ask")
                else:
                    ans = api_ask(self.url, question)
                if not isinstance(ans, dict) or "abstained" not in ans:
                    raise ValueError("malformed answer")
                ms = (time.perf_counter() - started) * 1000
                with self.lock:
                    self.by_kind[kind].append(ms)
            except Exception as exc:
                with self.lock:
                    self.errors[type(exc).__name__] += 1

    def figures(self, elapsed: float) -> dict[str, Any]:
        latencies = [ms for kind in self.by_kind.values() for ms in kind]
        done = len(latencies)

        def pct(q: int) -> float:
            return float(np.percentile(latencies, q)) if done else float("nan")

        return {
            "requests": done,
            "throughput_rps": done / elapsed if elapsed else 0.0,
            "p50_ms": pct(50),
            "p95_ms": pct(95),
            "p99_ms": pct(99),
            "p95_ms_by_client": {
                kind: float(np.percentile(ms, 95)) for kind, ms in self.by_kind.items() if ms
            },
            "errors": dict(self.errors),
        }
