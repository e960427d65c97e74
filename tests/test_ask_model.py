"""ask() end to end with the real MiniLM, on a copy of the committed index and seeds."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import citeqa.pipeline as pipeline
from citeqa import ask

pytestmark = pytest.mark.model
# `make test` keeps one question of the first test: the one real-model run through ask()
# there, the real embedder and span reader over the committed index (the slow part is
# loading them once). The rest are left to `make test-all`.


@pytest.fixture(autouse=True)
def use_home(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITEQA_HOME", str(home))


def raw(home: Path, source: str) -> str:
    return (home / "seeds" / source).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("How much is Alibaba investing in Hong Kong?", "$640 million"),
        pytest.param(
            "In what areas does Alibaba Pictures have established expertise?",
            "production, promotion, and distribution",
            marks=pytest.mark.slow,
        ),
        pytest.param(
            "What is AMEG?", "Alibaba Digital Media and Entertainment Group", marks=pytest.mark.slow
        ),
        pytest.param(
            "What does FILMART stand for?",
            "Hong Kong International Film & TV Market",
            marks=pytest.mark.slow,
        ),
    ],
)
def test_short_verbatim_cited_answers(home: Path, question: str, expected: str) -> None:
    ans = ask(question)
    assert not ans.abstained
    assert expected in ans.text and len(ans.text) <= len(expected) + 25
    assert raw(home, ans.source)[ans.start : ans.end] == ans.text
    assert (
        ans.citations[0].text
        == raw(home, ans.source)[ans.citations[0].start : ans.citations[0].end]
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    "question",
    [
        "Who is the CEO of Alibaba?",
        "What is the capital of France?",
        "How much did Tencent invest?",
        "Which cookies are always active?",
    ],
)
def test_abstains_on_what_the_documents_do_not_say(question: str) -> None:
    ans = ask(question)
    assert ans.abstained and ans.related


@pytest.mark.slow
def test_one_qa_per_index_folder(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "_DEFAULTS", {})
    ask("What is AMEG?")
    (loaded,) = pipeline._DEFAULTS.values()  # the real index and model, loaded once
    ask("What is Damai?")
    (again,) = pipeline._DEFAULTS.values()
    assert again is loaded


def cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CITEQA_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "citeqa.cli", "ask", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


@pytest.mark.slow
def test_cli_human_output(home: Path) -> None:
    out = cli(home, "How much is Alibaba investing in Hong Kong?")
    assert out.returncode == 0, out.stderr
    answer = re.search(r"^Answer: (.+?)   \(confidence [\d.]+\)$", out.stdout, re.M)
    assert answer and re.match(r"(US)?\$640 million", answer[1])
    assert f"**{answer[1]}**" in out.stdout  # marked in its sentence
    # cited as file:start-end; both articles that give the amount are right
    assert re.search(r"^  00[12]_[0-9a-f]+\.txt:\d+-\d+ · ", out.stdout, re.M)


@pytest.mark.slow
def test_cli_json_and_abstention(home: Path) -> None:
    out = cli(home, "What is the capital of France?", "--json", "--top-k", "2")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["abstained"] is True and len(data["related"]) == 2
    out = cli(home, "What is the capital of France?")
    assert out.returncode == 0 and "The documents don't say." in out.stdout


def test_cli_bad_question_exit_2(home: Path) -> None:
    out = cli(home, "   ")
    assert out.returncode == 2 and "the question is empty" in out.stderr
    out = cli(home, "x" * 1001)
    assert out.returncode == 2 and "limit is 1,000" in out.stderr


def test_cli_missing_named_index(home: Path, tmp_path: Path) -> None:
    out = cli(home, "What is AMEG?", "--index", str(tmp_path / "nowhere"))
    assert out.returncode == 1 and f"no index at {tmp_path / 'nowhere'}" in out.stderr
