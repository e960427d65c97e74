"""Cold start: fresh processes from start to their first answer, by stage.

Each run is a new ``python -c`` process that loads as ``citeqa ask`` does and reports how
long each stage took; another is ``citeqa ask`` itself, timed whole from outside. Figures
are medians over the runs: one cold start is noisy (the disk cache, other processes).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from citeqa.answer.readers import DEFAULT_READER

QUESTION = "How much is Alibaba investing in Hong Kong?"
STAGES = ("imports", "index_load", "models_load", "first_answer")
"""citeqa's modules for asking (not torch: the models load it); the index, checked fresh;
the embedder's and the reader's models, as ``QA.from_index`` loads them; one answer."""

# What the child runs: the stages of ``citeqa ask`` (cli/ask.py, QA.load), one at a time.
_CHILD = """
import json, sys, time
clock = time.perf_counter
t0 = clock()
import citeqa.cli
from citeqa.cli import common
from citeqa.pipeline import QA, checked_index
t1 = clock()
embedder = common.make_embedder()
index = checked_index(sys.argv[1] or None, embedder)
t2 = clock()
qa = QA.from_index(index, embedder, reader=sys.argv[2])
t3 = clock()
qa.ask(sys.argv[3])
t4 = clock()
print(json.dumps({"imports": t1 - t0, "index_load": t2 - t1, "models_load": t3 - t2,
                  "first_answer": t4 - t3}))
"""

Runner = Callable[[Sequence[str]], tuple[float, str]]
"""Runs a command; its wall seconds and its stdout."""


def run_timed(cmd: Sequence[str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        list(cmd), check=True, capture_output=True, text=True, env=os.environ.copy()
    )
    return time.perf_counter() - started, done.stdout


def cold_start(
    index_dir: Path | None,
    *,
    runs: int = 5,
    reader: str = DEFAULT_READER,
    question: str = QUESTION,
    run: Runner = run_timed,
) -> dict[str, Any]:
    """Median seconds of each stage over ``runs`` fresh processes, of those processes
    whole (``process_s``: the stages plus starting and leaving Python), and of ``citeqa
    ask`` as a whole process (``cold_ask_s``), each run alternating the two."""
    index_arg = str(index_dir) if index_dir is not None else ""
    stages: list[dict[str, float]] = []
    process, ask = [], []
    ask_cmd = [sys.executable, "-m", "citeqa.cli", "ask", question, "--json", "--reader", reader]
    if index_dir is not None:
        ask_cmd += ["--index", index_arg]
    for _ in range(runs):
        wall, out = run([sys.executable, "-c", _CHILD, index_arg, reader, question])
        stages.append(json.loads(out.strip().splitlines()[-1]))
        process.append(wall)
        ask.append(run(ask_cmd)[0])
    result: dict[str, Any] = {
        "runs": runs,
        "stages_s": {s: statistics.median(r[s] for r in stages) for s in STAGES},
        "process_s": statistics.median(process),
        "cold_ask_s": statistics.median(ask),
    }
    result["load_and_first_answer_s"] = sum(
        result["stages_s"][s] for s in ("index_load", "models_load", "first_answer")
    )
    return result


def render_cold(cold: dict[str, Any]) -> str:
    stages = ", ".join(f"{name} {seconds:.2f}" for name, seconds in cold["stages_s"].items())
    return (
        f"cold start, median of {cold['runs']}: citeqa ask {cold['cold_ask_s']:.2f} s"
        f" (new process to answer); by stage, s: {stages};"
        f" load and first answer {cold['load_and_first_answer_s']:.2f} s,"
        f" whole process {cold['process_s']:.2f} s"
    )
