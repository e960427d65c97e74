"""The trace where people meet it: ``citeqa ask --explain`` (plain words and JSON),
``/api/ask?explain=1`` and the chat's collapsed "Why?" panel. Sentence reader and fake
embedder, over a small corpus with a hostile document."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from citeqa import QA, cli
from citeqa.cli import common
from citeqa.index.build import build_index
from citeqa.serve import chat_format as fmt

from conftest import FakeEmbedder

DOCS = {
    "festival.txt": (
        "Harbour Festival <script>alert('title')</script> Draws Record Crowd\n\n"
        "The Harbour Festival opened on Friday in Kowloon. <script>alert('doc')</script>"
        " The festival drew 12,000 visitors over the weekend, organisers said.\n"
    ),
    "ferry.txt": (
        "Ferry Fares Rise\n\nThe Star Ferry raised its fares on Monday. The new fare is"
        " HK$5 on weekdays, the company said.\n"
    ),
}
VISITORS = "How many visitors did the Harbour Festival draw?"
CHAIRMAN = "Who is the chairman of Tencent?"


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("faces")
    (home / "corpus").mkdir()
    for name, text in DOCS.items():
        (home / "corpus" / name).write_text(text, encoding="utf-8")
    build_index(home / "corpus", home / "index", FakeEmbedder())
    return home / "index"


@pytest.fixture(scope="module")
def qa(index_dir: Path) -> QA:
    return QA.load(index_dir, reader="sentence", embedder=FakeEmbedder())


def ask(
    index_dir: Path, question: str, *flags: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str]:
    import contextlib
    import io

    monkeypatch.setattr(common, "make_embedder", FakeEmbedder)
    out = io.StringIO()
    argv = ["ask", question, "--index", str(index_dir), "--reader", "sentence", *flags]
    with contextlib.redirect_stdout(out):
        code = cli.main(argv)
    return code, out.getvalue()


def test_ask_explain_shows_the_stages_in_order(
    index_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out = ask(index_dir, CHAIRMAN, "--explain", monkeypatch=monkeypatch)
    assert code == 0
    assert out.startswith("The documents don't say.")
    assert 'No document mentions "Tencent".' in out.splitlines()[1]
    stages = ["Why no answer?", "Retrieval:", "Reading (sentence reader)", "Abstention:",
              "Verdict:"]  # fmt: skip
    at = [out.index(s) for s in stages]
    assert at == sorted(at)
    assert "in no document: chairman, tencent" in out
    assert 'Verdict: the documents never mention "Tencent" (look at: documents)' in out


def test_ask_without_explain_shows_no_trace(
    index_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, out = ask(index_dir, VISITORS, monkeypatch=monkeypatch)
    assert "12,000" in out and "Why this answer?" not in out and "Verdict" not in out


def test_ask_json_explain_carries_the_trace(
    index_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, plain = ask(index_dir, VISITORS, "--json", monkeypatch=monkeypatch)
    _, out = ask(index_dir, VISITORS, "--json", "--explain", monkeypatch=monkeypatch)
    data, without = json.loads(out), json.loads(plain)
    trace = data.pop("trace")
    assert data == without  # the same answer, with the trace beside it
    assert trace["verdict"] == {"stage": "answered", "text": "answered", "reason": ""}
    assert trace["candidates"][0]["source"] == "festival.txt"
    assert "reason" in without and without["reason"] == ""


def test_api_explain_adds_the_trace(qa: QA) -> None:
    from starlette.testclient import TestClient

    from citeqa.serve.api import json_api

    client = TestClient(json_api(qa))
    plain = client.post("/api/ask", json={"question": CHAIRMAN}).json()
    explained = client.post("/api/ask?explain=1", json={"question": CHAIRMAN}).json()
    trace = explained.pop("trace")
    assert explained == plain and "trace" not in plain
    assert plain["reason"] == 'No document mentions "Tencent".'
    assert trace["verdict"]["stage"] == "documents"


def test_the_chat_panel_is_collapsed_and_escaped(qa: QA) -> None:
    answer, trace = qa.explain(VISITORS)
    message = fmt.chat_markdown(answer, trace)
    assert message.startswith(fmt.chat_markdown(answer))  # the answer itself unchanged
    panel = message.split("\n")[-1]
    assert panel.startswith("<details class='citeqa-why'><summary>Why this answer?</summary>")
    assert "<details" not in fmt.chat_markdown(answer)
    assert fmt.escape("[1] festival.txt") in panel  # the candidates are listed
    assert "<script" not in message


def test_a_script_in_a_documents_title_is_text_in_the_panel(qa: QA) -> None:
    _, trace = qa.explain(VISITORS)
    panel = fmt.why_html(trace)
    assert "<script>" in trace.candidates[0].title
    assert "<script" not in panel and "&#60;script&#62;alert" in panel
    assert panel.count("<details") == 1 and panel.count("</details>") == 1


def test_an_abstentions_reason_is_in_the_chat(qa: QA) -> None:
    answer, trace = qa.explain(CHAIRMAN)
    message = fmt.chat_markdown(answer, trace)
    assert fmt.escape('No document mentions "Tencent".') in message
    assert "<summary>Why no answer?</summary>" in message
