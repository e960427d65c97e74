"""``citeqa bench --cold``: medians by stage over fresh processes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence

import pytest

from citeqa.evaluation.bench_cold import STAGES, cold_start, render_cold

from conftest import REPO


class FakeRuns:
    """Stands in for the processes: the stage child reports its stages, ``citeqa ask`` is
    only timed. Each run is slower than the last, so a median differs from a mean."""

    def __init__(self) -> None:
        self.commands: list[list[str]] = []

    def __call__(self, cmd: Sequence[str]) -> tuple[float, str]:
        self.commands.append(list(cmd))
        n = len(self.commands) ** 2
        if cmd[1] == "-c":
            stages = {name: n * (i + 1) / 100 for i, name in enumerate(STAGES)}
            return n / 10 + 1.0, "a warning on stdout\n" + json.dumps(stages) + "\n"
        return n / 10 + 2.0, '{"text": "…"}'


def test_figures_are_medians_of_stages_and_of_whole_processes() -> None:
    runs = FakeRuns()
    cold = cold_start(None, runs=3, reader="sentence", question="Q?", run=runs)
    # the child (runs 1, 3, 5) and citeqa ask (2, 4, 6) alternate
    assert [c[1] for c in runs.commands] == ["-c", "-m"] * 3
    assert runs.commands[1][2:] == ["citeqa.cli", "ask", "Q?", "--json", "--reader", "sentence"]
    assert runs.commands[0][-3:] == ["", "sentence", "Q?"]
    want = {"imports": 0.09, "index_load": 0.18, "models_load": 0.27, "first_answer": 0.36}
    assert cold["stages_s"] == pytest.approx(want)
    assert cold["process_s"] == pytest.approx(1.9) and cold["cold_ask_s"] == pytest.approx(3.6)
    assert cold["load_and_first_answer_s"] == pytest.approx(0.81)


def test_an_index_folder_is_passed_to_both() -> None:
    runs = FakeRuns()
    cold_start(REPO / "index", runs=1, run=runs)
    assert runs.commands[0][-3] == str(REPO / "index")
    assert runs.commands[1][-2:] == ["--index", str(REPO / "index")]


def test_the_rendered_line_names_every_stage() -> None:
    line = render_cold(cold_start(None, runs=3, run=FakeRuns()))
    assert line == (
        "cold start, median of 3: citeqa ask 3.60 s (new process to answer); by stage, s:"
        " imports 0.09, index_load 0.18, models_load 0.27, first_answer 0.36;"
        " load and first answer 0.81 s, whole process 1.90 s"
    )


@pytest.mark.model
def test_bench_cold_runs_real_processes() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "citeqa.cli",
            "bench",
            "--cold",
            "--runs",
            "1",
            "--json",
            "--index",
            str(REPO / "index"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    cold = json.loads(out.stdout)
    assert set(cold["stages_s"]) == set(STAGES) and all(cold["stages_s"].values())
    assert cold["load_and_first_answer_s"] < cold["process_s"]
    assert cold["cold_ask_s"] > 0
