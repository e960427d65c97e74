"""The real app over HTTP: gradio_client against `citeqa serve` in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, make_home

pytestmark = pytest.mark.model
# All but the import check are slow: they start the served app, or a load run of it.


def test_app_module_imports_without_loading_the_model() -> None:
    code = (
        "import sys, citeqa.serve.app, citeqa.serve.chat_format\n"
        "names = ('torch', 'sentence_transformers', 'faiss', 'gradio')\n"
        "heavy = [m for m in names if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.fixture(scope="module")
def client(server):  # type: ignore[no-untyped-def]
    from gradio_client import Client

    url, _ = server
    return Client(url, verbose=False)


@pytest.mark.slow
def test_ask_endpoint_returns_a_cited_answer(client, server) -> None:  # type: ignore[no-untyped-def]
    _, home = server
    ans = client.predict("How much is Alibaba investing in Hong Kong?", api_name="/ask")
    assert not ans["abstained"] and "$640 million" in ans["text"]
    raw = (Path(home) / "seeds" / ans["source"]).read_text(encoding="utf-8")
    assert raw[ans["start"] : ans["end"]] == ans["text"]
    first = ans["citations"][0]
    assert raw[first["start"] : first["end"]] == first["text"]
    assert first["start"] <= ans["start"] < ans["end"] <= first["end"]
    assert ans["sentence"]["text"] == raw[ans["sentence"]["start"] : ans["sentence"]["end"]]


@pytest.mark.slow
def test_ask_endpoint_abstains(client) -> None:  # type: ignore[no-untyped-def]
    ans = client.predict("What is the capital of France?", api_name="/ask")
    assert ans["abstained"] and ans["text"] == "" and ans["related"]


@pytest.mark.slow
def test_ask_endpoint_refuses_bad_input_clearly(client) -> None:  # type: ignore[no-untyped-def]
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="the question is empty"):
        client.predict("   ", api_name="/ask")
    with pytest.raises(AppError, match="limit is 1,000"):
        client.predict("why " * 300, api_name="/ask")


@pytest.mark.slow
def test_chat_endpoint(client) -> None:  # type: ignore[no-untyped-def]
    box, history, sources = client.predict("What is AMEG?", [], api_name="/chat")
    assert box == ""
    assert [m["role"] for m in history] == ["user", "assistant"]
    text = history[-1]["content"]
    text = text[0]["text"] if isinstance(text, list) else text
    assert "<mark>Alibaba Digital Media and Entertainment Group</mark>" in text
    assert "<mark>" in sources and "a&#46;txt" not in sources
    assert "score" not in sources  # a fusion score means nothing to a reader


@pytest.mark.slow
def test_chat_endpoint_error_is_a_message_not_a_traceback(client) -> None:  # type: ignore[no-untyped-def]
    _, history, sources = client.predict("  ", [], api_name="/chat")
    text = history[-1]["content"]
    text = text[0]["text"] if isinstance(text, list) else text
    assert text == "Please type a question." and sources == ""


@pytest.mark.parametrize("path", ["/gradio_api/call/ask", "/api/ask"])
@pytest.mark.slow
def test_oversized_request_body_is_refused_before_any_work(server, path: str) -> None:  # type: ignore[no-untyped-def]
    """The server answers 413 from the declared length alone, before reading the body."""
    import http.client
    from urllib.parse import urlparse

    url = urlparse(server[0])
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    conn.putrequest("POST", path)
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", "2000000")
    conn.endheaders()  # and no body at all: nothing is waited for
    resp = conn.getresponse()
    assert resp.status == 413 and b"request body over" in resp.read()
    conn.close()


@pytest.mark.parametrize("path", ["/gradio_api/call/ask", "/api/ask"])
@pytest.mark.slow
def test_oversized_streamed_body_is_refused_as_too_large(server, path: str) -> None:  # type: ignore[no-untyped-def]
    """Without a declared length the body is counted as it arrives."""
    import http.client
    from urllib.parse import urlparse

    url = urlparse(server[0])
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    chunks = (b'{"question": "' if i == 0 else b"x" * 65536 for i in range(20))
    conn.request(
        "POST",
        path,
        body=chunks,
        headers={"Content-Type": "application/json"},
        encode_chunked=True,
    )
    resp = conn.getresponse()
    assert resp.status == 413 and b"request body over" in resp.read()
    conn.close()


@pytest.mark.slow
def test_plain_http_call_of_the_ask_endpoint(server) -> None:  # type: ignore[no-untyped-def]
    from citeqa.evaluation.loadtest import http_ask

    url, _ = server
    ans = http_ask(url, "What is AMEG?")
    assert ans["text"] == "Alibaba Digital Media and Entertainment Group"


@pytest.mark.slow
def test_json_api_answers_and_refuses_bad_input(server) -> None:  # type: ignore[no-untyped-def]
    import urllib.error
    import urllib.request

    from citeqa.evaluation.loadtest import api_ask

    url, _ = server
    ans = api_ask(url, "What is AMEG?")
    assert ans["text"] == "Alibaba Digital Media and Entertainment Group"
    raw = (REPO / "seeds" / ans["source"]).read_text(encoding="utf-8")
    assert raw[ans["start"] : ans["end"]] == ans["text"]
    assert api_ask(url, "What is the capital of France?")["abstained"] is True
    for body, reason in [
        (b"not json", b"must be JSON"),
        (b'{"q": "x"}', b"question"),
        (b'{"question": "   "}', b"empty"),
        (b'{"question": 7}', b"must be a string, not int"),
        (json.dumps({"question": "x" * 1001}).encode(), b"limit is 1,000"),
        (b"[" * 100_000, b"must be JSON"),  # nested past Python's recursion limit
    ]:
        req = urllib.request.Request(url + "api/ask", body, {"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=30)
        assert err.value.code == 400 and reason in err.value.read()
    # a lone surrogate (valid JSON) is echoed back encodable
    assert api_ask(url, "\ud800 What is AMEG?")["question"] == "? What is AMEG?"


@pytest.mark.slow
def test_load_command_code_path(tmp_path: Path) -> None:
    """`citeqa bench --load`, tiny: both kinds of client get answers, nothing fails."""
    from citeqa.evaluation.loadtest import load_figures

    fig = load_figures(make_home(tmp_path) / "index", clients=2, seconds=4, max_requests=40)
    assert fig["errors"] == {} and 0 < fig["requests"] <= 40
    assert set(fig["p95_ms_by_client"]) == {"gradio_client", "json_api"}
    assert fig["rss_mb_start"] > 0 and fig["rss_mb_end"] > 0
