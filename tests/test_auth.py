"""Sign-in, the API token and the rate limit: auth.py on its own, the command's usage errors,
and a real `citeqa serve` with a token and a rate limit, over HTTP."""

from __future__ import annotations

import hmac
import http.client
import json
import os
import secrets
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlparse

import pytest

from citeqa.cli import main
from citeqa.serve.app import EXAMPLES
from citeqa.serve.auth import (
    AuthConfigError,
    Rate,
    RateLimiter,
    Token,
    exposure_warning,
    parse_bearer,
    parse_rate,
    read_token,
    retry_after,
)

from conftest import SEEDS

TOKEN = "tok-" + secrets.token_urlsafe(24)
"""Fresh each run, so finding it in the server's output can only mean the server wrote it."""
AMEG = "Alibaba Digital Media and Entertainment Group"


# --- auth.py ---------------------------------------------------------------------------


def test_token_compare_is_constant_time_on_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[object, object]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)  # the module auth.py compares with
    token = Token.from_text("s3cret-value")
    assert token.matches("s3cret-value") is True
    assert token.matches("s3cret-valuE") is False
    assert calls == [(b"s3cret-value", b"s3cret-value"), (b"s3cret-valuE", b"s3cret-value")]


@pytest.mark.parametrize("given", ["", "s3cret", "s3cret-value-and-more", "S3CRET-VALUE", "é"])
def test_token_refuses_anything_but_itself(given: str) -> None:
    assert Token.from_text("s3cret-value").matches(given) is False


def test_token_never_shows_in_its_repr() -> None:
    token = Token.from_text("s3cret-value")
    assert "s3cret" not in repr(token) and "s3cret" not in str(token)


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc.DEF-123", "abc.DEF-123"),
        ("bearer abc", "abc"),
        ("BEARER abc", "abc"),
        ("  Bearer \t abc  ", "abc"),
        (None, None),
        ("", None),
        ("Bearer", None),
        ("Bearer ", None),
        ("Bearerabc", None),
        ("Basic dXNlcjpwYXNz", None),
        ("Bearer abc def", None),
        ("abc", None),
    ],
)
def test_parse_bearer(header: str | None, token: str | None) -> None:
    assert parse_bearer(header) == token


def test_read_token_from_a_file_strips_the_newline(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("s3cret-value\n", encoding="utf-8")
    token = read_token(path, {})
    assert token is not None and token.matches("s3cret-value")


def test_read_token_file_wins_over_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("from-the-file", encoding="utf-8")
    token = read_token(path, {"CITEQA_TOKEN": "from-the-env"})
    assert token is not None and token.matches("from-the-file")
    assert not token.matches("from-the-env")


def test_read_token_from_the_environment_or_none() -> None:
    token = read_token(None, {"CITEQA_TOKEN": " from-the-env "})
    assert token is not None and token.matches("from-the-env")
    assert read_token(None, {"OTHER": "x"}) is None


@pytest.mark.parametrize("content", ["", "\n", "  \n\t"])
def test_empty_token_file_is_an_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "token"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(AuthConfigError, match=r"^the token file .*token is empty$"):
        read_token(path, {"CITEQA_TOKEN": "not-used-when-a-file-is-given"})


def test_unreadable_token_files_are_errors(tmp_path: Path) -> None:
    with pytest.raises(AuthConfigError, match=r"cannot read the token file .*missing: No such"):
        read_token(tmp_path / "missing", {})
    with pytest.raises(AuthConfigError, match=r"cannot read the token file .*: Is a directory"):
        read_token(tmp_path, {})
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xff\xfe\x00token")
    with pytest.raises(AuthConfigError, match=r"the token file .*binary is not UTF-8 text"):
        read_token(binary, {})


def test_empty_environment_token_is_an_error_not_an_open_server() -> None:
    with pytest.raises(AuthConfigError, match=r"^CITEQA_TOKEN is empty$"):
        read_token(None, {"CITEQA_TOKEN": "  "})


@pytest.mark.parametrize("bad", ["two words", "naïve-token", "tab\tinside"])
def test_token_must_be_sendable_as_a_bearer_token(bad: str) -> None:
    with pytest.raises(AuthConfigError, match=r"^CITEQA_TOKEN must be printable ASCII with no"):
        read_token(None, {"CITEQA_TOKEN": bad})


def test_short_tokens_are_flagged() -> None:
    assert Token.from_text("a" * 15).short and not Token.from_text("a" * 16).short


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("30/min", Rate(30, 60.0)),
        ("3/s", Rate(3, 1.0)),
        ("1000/h", Rate(1000, 3600.0)),
        (" 5 / min ", Rate(5, 60.0)),
    ],
)
def test_parse_rate(text: str, rate: Rate) -> None:
    assert parse_rate(text) == rate


@pytest.mark.parametrize("bad", ["", "10", "0/min", "-1/s", "1.5/s", "ten/min", "10/m", "10/day"])
def test_parse_rate_refuses_other_forms(bad: str) -> None:
    with pytest.raises(AuthConfigError, match=r"^expected N/s, N/min or N/h with N a whole"):
        parse_rate(bad)


def test_rate_reads_as_words() -> None:
    assert [str(Rate(3, 1.0)), str(Rate(30, 60.0)), str(Rate(1, 3600.0))] == [
        "3 per second",
        "30 per minute",
        "1 per hour",
    ]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rate_limiter_window_slides() -> None:
    clock = Clock()
    limiter = RateLimiter(Rate(3, 10.0), clock=clock)
    for t in (0.0, 1.0, 2.0):
        clock.now = 1000 + t
        assert limiter.check("a") == 0.0
    clock.now = 1003.0
    assert limiter.check("a") == pytest.approx(7.0)  # until the request at t=0 leaves
    clock.now = 1009.5
    assert limiter.check("a") == pytest.approx(0.5)
    clock.now = 1010.0
    assert limiter.check("a") == 0.0  # t=0 left the window; refusals were not counted
    clock.now = 1010.5
    assert limiter.check("a") == pytest.approx(0.5)  # t=1 is still in it


def test_rate_limiter_counts_each_client_apart() -> None:
    clock = Clock()
    limiter = RateLimiter(Rate(1, 60.0), clock=clock)
    assert limiter.check("10.0.0.1") == 0.0
    assert limiter.check("10.0.0.1") == pytest.approx(60.0)
    assert limiter.check("10.0.0.2") == 0.0


def test_rate_limiter_forgets_idle_clients() -> None:
    clock = Clock()
    limiter = RateLimiter(Rate(2, 1.0), clock=clock)
    for n in range(100):
        limiter.check(f"client-{n}")
    assert limiter.clients() == 100
    clock.now += 1.5
    limiter.check("late")
    assert limiter.clients() == 1


def test_the_chat_and_gradio_ask_spend_the_clients_budget_and_then_ask_nothing() -> None:
    """The chat's and ``/ask``'s side of ``--rate``: the same limiter as ``/api/ask``
    (``_mount``), so one budget per address however it asks."""
    import gradio as gr

    from citeqa.serve.app import ask_json, over_rate, respond

    class NoQA:  # an over-rate client must not cost a model pass
        def ask(self, question: str) -> object:
            raise AssertionError(f"asked {question!r}")

    clock = Clock()
    limiter = RateLimiter(Rate(2, 60.0), clock=clock)
    assert over_rate(None, "10.0.0.1") is None
    assert over_rate(limiter, "10.0.0.1") is None and over_rate(limiter, "10.0.0.1") is None
    clock.now += 15.2
    refused = over_rate(limiter, "10.0.0.1")
    assert refused == "Too many questions: at most 2 per minute from one client. Ask again in 45 s."
    assert over_rate(limiter, "10.0.0.2") is None  # another client has its own budget
    box, history, sources = respond(NoQA(), "What is AMEG?", [], refused=refused)  # type: ignore[arg-type]
    assert (box, sources) == ("", "")
    assert history == [
        {"role": "user", "content": "What is AMEG?"},
        {"role": "assistant", "content": refused},
    ]
    with pytest.raises(gr.Error, match="Too many questions: at most 2 per minute"):
        ask_json(NoQA(), "What is AMEG?", refused=refused)  # type: ignore[arg-type]


@pytest.mark.parametrize(("wait", "header"), [(0.001, "1"), (1.0, "1"), (1.01, "2"), (59.5, "60")])
def test_retry_after_is_whole_seconds_at_least_one(wait: float, header: str) -> None:
    assert retry_after(wait) == header


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"])
def test_no_warning_on_loopback(host: str) -> None:
    assert exposure_warning(host, 7860, None) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.5", "example.org"])
def test_warning_when_others_can_reach_an_open_server(host: str) -> None:
    warning = exposure_warning(host, 7860, None)
    assert warning is not None
    assert f"serving on {host}:7860 without a token" in warning
    assert "read the whole corpus" in warning and "CITEQA_TOKEN" in warning
    assert exposure_warning(host, 7860, Token.from_text("a-long-enough-token")) is None


# --- the command --------------------------------------------------------------------------


@pytest.fixture
def fake_serve(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Stands in for app.serve: records what the command passes and loads nothing."""
    import citeqa.serve.app

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(citeqa.serve.app, "serve", lambda *a, **kw: calls.append({"args": a, **kw}))
    monkeypatch.delenv("CITEQA_TOKEN", raising=False)
    return calls


def test_serve_passes_the_token_and_rate(tmp_path: Path, fake_serve: list[dict[str, Any]]) -> None:
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n", encoding="utf-8")
    assert main(["serve", "--token-file", str(path), "--rate", "5/min"]) == 0
    (call,) = fake_serve
    assert call["token"].matches(TOKEN) and call["rate"] == Rate(5, 60.0)


def test_serve_without_a_token_serves_open(fake_serve: list[dict[str, Any]]) -> None:
    assert main(["serve"]) == 0
    assert fake_serve[0]["token"] is None and fake_serve[0]["rate"] is None


def test_serve_empty_token_file_is_a_usage_error(
    tmp_path: Path, fake_serve: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "token"
    path.write_text("", encoding="utf-8")
    assert main(["serve", "--token-file", str(path)]) == 2
    assert capsys.readouterr().err == f"error: the token file {path} is empty\n"
    assert fake_serve == []


def test_serve_unreadable_token_file_is_a_usage_error(
    tmp_path: Path, fake_serve: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--token-file", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot read the token file") and "Traceback" not in err
    assert fake_serve == []


def test_serve_empty_environment_token_is_a_usage_error(
    fake_serve: list[dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CITEQA_TOKEN", "")
    assert main(["serve"]) == 2
    assert capsys.readouterr().err == "error: CITEQA_TOKEN is empty\n"
    assert fake_serve == []


def test_serve_bad_rate_is_a_usage_error(
    fake_serve: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--rate", "fast"])
    assert exited.value.code == 2
    assert "argument --rate: expected N/s, N/min or N/h" in capsys.readouterr().err
    assert fake_serve == []


@pytest.mark.parametrize("port", ["70000", "-1", "http"])
def test_serve_bad_port_is_a_usage_error_before_loading(
    port: str, fake_serve: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", f"--port={port}"])
    assert exited.value.code == 2
    assert "a port is a number from 0 to 65535" in capsys.readouterr().err
    assert fake_serve == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["serve", "--token", "s3cret-value"], "there is no --token"),
        (["serve", "--token=s3cret-value"], "there is no --token"),
        # abbreviated or mistyped, argparse would echo the whole argument
        (["serve", "--tok=s3cret-value"], "ambiguous option: --tok=… could match"),
        (["serve", "--tokn=s3cret-value"], "unrecognized arguments: --tokn=…"),
        (["--tokn=s3cret-value", "serve"], "unrecognized arguments: --tokn=…"),
    ],
)
def test_serve_takes_no_secret_on_the_command_line_nor_echoes_one(
    argv: list[str],
    message: str,
    fake_serve: list[dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    err = capsys.readouterr().err
    assert exited.value.code == 2 and message in err and "s3cret" not in err
    assert fake_serve == []


def test_open_server_beyond_loopback_warns_at_start(tmp_path: Path) -> None:
    """The real command's first words on stderr; it is stopped before it loads anything."""
    from citeqa.evaluation.loadtest import free_port

    env = {k: v for k, v in os.environ.items() if k != "CITEQA_TOKEN"}
    env["CITEQA_HOME"] = str(tmp_path)
    cmd = [sys.executable, "-m", "citeqa.cli", "serve", "--host", "0.0.0.0"]
    proc = subprocess.Popen(
        [*cmd, "--port", str(free_port())], stderr=subprocess.PIPE, text=True, env=env
    )
    timer = threading.Timer(120, proc.kill)  # never hang the suite on a silent process
    timer.start()
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()
    finally:
        timer.cancel()
        proc.kill()
        proc.wait(timeout=30)
        proc.stderr.close()  # type: ignore[union-attr]
    assert first.startswith("warning: serving on 0.0.0.0:")
    assert "without a token" in first and "read the whole corpus" in first


# --- a real server with a token and a rate limit ------------------------------------------


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """`citeqa serve` with $CITEQA_TOKEN and --rate 5/min. Yields (url, log file)."""
    from citeqa.evaluation.loadtest import served

    home = tmp_path_factory.mktemp("secured-home")
    shutil.copytree(SEEDS, home / "seeds")
    env = {**os.environ, "CITEQA_HOME": str(home), "CITEQA_TOKEN": TOKEN}
    log = home / "serve.log"
    with served(None, env=env, log=log, args=["--rate", "5/min"]) as srv:
        yield srv.url, log


def post(
    url: str,
    path: str,
    body: bytes,
    headers: dict[str, str] | None = None,
    *,
    source: str | None = None,
    conn: http.client.HTTPConnection | None = None,
) -> tuple[int, http.client.HTTPMessage, bytes]:
    """One POST; ``source`` picks the client's loopback address (a different client)."""
    parsed = urlparse(url)
    assert parsed.hostname is not None
    own = conn is None
    if conn is None:
        src = (source, 0) if source else None
        conn = http.client.HTTPConnection(
            parsed.hostname, parsed.port, timeout=60, source_address=src
        )
    try:
        conn.request("POST", path, body, {"Content-Type": "application/json", **(headers or {})})
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        if own:
            conn.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


QUESTION = json.dumps({"question": "What is AMEG?"}).encode()

# The tests below run against ``secured``, a server of their own that loads the real
# model: slow.


@pytest.mark.model
@pytest.mark.slow
@pytest.mark.parametrize(
    ("headers", "challenge"),
    [
        ({}, 'Bearer realm="citeqa"'),
        ({"Authorization": "Basic " + TOKEN}, 'Bearer realm="citeqa"'),
        (bearer("wrong-" + TOKEN), 'Bearer realm="citeqa", error="invalid_token"'),
        (bearer(TOKEN[:-1]), 'Bearer realm="citeqa", error="invalid_token"'),
    ],
)
def test_api_ask_without_the_right_token_is_refused(
    secured: tuple[str, Path], headers: dict[str, str], challenge: str
) -> None:
    status, resp_headers, body = post(secured[0], "/api/ask", QUESTION, headers)
    assert status == 401 and resp_headers["WWW-Authenticate"] == challenge
    assert resp_headers["Content-Type"] == "application/json"
    assert list(json.loads(body)) == ["error"]
    assert "AMEG" not in body.decode() and "Alibaba" not in body.decode()


@pytest.mark.model
@pytest.mark.slow
def test_api_ask_with_the_token_answers(secured: tuple[str, Path]) -> None:
    status, _, body = post(secured[0], "/api/ask", QUESTION, {"Authorization": f"bearer {TOKEN}"})
    assert status == 200 and json.loads(body)["text"] == AMEG


@pytest.mark.model
@pytest.mark.slow
def test_gradio_client_needs_the_token(secured: tuple[str, Path]) -> None:
    from gradio_client import Client
    from gradio_client.exceptions import AuthenticationError

    url = secured[0]
    with pytest.raises(AuthenticationError, match="credentials were not provided"):
        Client(url, verbose=False)
    with pytest.raises(ValueError, match="Could not login"):
        Client(url, verbose=False, auth=("anyone", "wrong-" + TOKEN))
    client = Client(url, verbose=False, auth=("anyone", TOKEN))
    assert client.predict("What is AMEG?", api_name="/ask")["text"] == AMEG
    box, history, sources = client.predict("What is AMEG?", [], api_name="/chat")
    text = history[-1]["content"]
    text = text[0]["text"] if isinstance(text, list) else text
    assert box == "" and f"<mark>{AMEG}</mark>" in text and "<mark>" in sources


@pytest.mark.model
@pytest.mark.slow
@pytest.mark.parametrize("path", ["/gradio_api/call/ask", "/gradio_api/call/chat"])
def test_gradio_call_api_without_login_is_refused(secured: tuple[str, Path], path: str) -> None:
    body = json.dumps({"data": ["What is AMEG?"]}).encode()
    status, _, text = post(secured[0], path, body)
    assert status == 401 and b"Not authenticated" in text and b"event_id" not in text
    status, _, text = post(secured[0], path, body, {"Cookie": "access-token-unsecure-x=guess"})
    assert status == 401


@pytest.mark.model
@pytest.mark.slow
@pytest.mark.parametrize("path", ["config", "gradio_api/info"])
def test_gradio_config_and_api_info_need_login(secured: tuple[str, Path], path: str) -> None:
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(secured[0] + path, timeout=30)
    assert err.value.code == 401
    assert b"Corpus:" not in err.value.read()


@pytest.mark.model
@pytest.mark.slow
def test_page_shows_only_a_login_until_signed_in(secured: tuple[str, Path]) -> None:
    url = secured[0]
    jar = CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def open_page() -> str:  # the app's config is in the page as JSON, with ' escaped
        return str(browser.open(url, timeout=30).read().decode().replace("\\u0027", "'"))

    page = open_page()
    assert '"auth_required":true' in page.replace(" ", "")
    assert "Corpus:" not in page and not [q for q in EXAMPLES if q in page]

    def login(password: str) -> int:
        form = urlencode({"username": "anyone", "password": password}).encode()
        try:
            with browser.open(url + "login", form, timeout=30) as resp:
                return int(resp.status)
        except urllib.error.HTTPError as err:
            return err.code

    assert login("wrong-" + TOKEN) == 400 and len(jar) == 0
    assert "Corpus:" not in open_page()
    assert login(TOKEN) == 200 and len(jar) > 0
    page = open_page()
    assert "Corpus:" in page and all(q in page for q in EXAMPLES)


@pytest.mark.model
@pytest.mark.slow
def test_rate_limit_answers_429_per_client(secured: tuple[str, Path]) -> None:
    """5 a minute per client (a window no loaded machine outlasts): bad bodies count (and
    cost no model pass). Other clients are unaffected; a caller without the token is
    refused first. The window sliding open again is timed with a fake clock in
    ``test_rate_limiter_window_slides``."""
    url = secured[0]
    parsed = urlparse(url)
    assert parsed.hostname is not None
    conn = http.client.HTTPConnection(
        parsed.hostname, parsed.port, timeout=60, source_address=("127.0.0.2", 0)
    )
    statuses = [post(url, "/api/ask", b"{}", bearer(TOKEN), conn=conn)[0] for _ in range(5)]
    status, headers, body = post(url, "/api/ask", QUESTION, bearer(TOKEN), conn=conn)
    conn.close()
    assert statuses == [400] * 5
    assert status == 429 and 1 <= int(headers["Retry-After"]) <= 60
    assert json.loads(body) == {"error": "too many questions: at most 5 per minute from one client"}
    assert post(url, "/api/ask", QUESTION, source="127.0.0.2")[0] == 401  # token first
    status, _, body = post(url, "/api/ask", QUESTION, bearer(TOKEN), source="127.0.0.3")
    assert status == 200 and json.loads(body)["text"] == AMEG


@pytest.mark.model
@pytest.mark.slow
@pytest.mark.parametrize(("path", "source"), [("ask", "127.0.0.6"), ("chat", "127.0.0.7")])
def test_the_rate_covers_the_chat_and_gradios_api_too(
    secured: tuple[str, Path], path: str, source: str
) -> None:
    """A client that spent its 5 on ``/api/ask`` is refused by Gradio's ``/ask`` and gets
    the refusal as the chat's reply: Gradio's call API, signed in, from its own address."""
    url = secured[0]
    parsed = urlparse(url)
    assert parsed.hostname is not None
    conn = http.client.HTTPConnection(
        parsed.hostname, parsed.port, timeout=60, source_address=(source, 0)
    )
    try:
        form = urlencode({"username": "anyone", "password": TOKEN}).encode()
        conn.request("POST", "/login", form, {"Content-Type": "application/x-www-form-urlencoded"})
        resp = conn.getresponse()
        resp.read()
        cookie = "; ".join(c.split(";")[0] for c in resp.headers.get_all("Set-Cookie") or [])
        assert resp.status == 200 and cookie
        spent = [post(url, "/api/ask", b"{}", bearer(TOKEN), conn=conn)[0] for _ in range(5)]
        assert spent == [400] * 5
        data = ["What is AMEG?"] if path == "ask" else ["What is AMEG?", []]
        status, _, body = post(
            url,
            f"/gradio_api/call/{path}",
            json.dumps({"data": data}).encode(),
            {"Cookie": cookie},
            conn=conn,
        )
        assert status == 200
        conn.request(
            "GET",
            f"/gradio_api/call/{path}/{json.loads(body)['event_id']}",
            headers={"Cookie": cookie},
        )
        stream = conn.getresponse().read().decode()
    finally:
        conn.close()
    assert "Too many questions: at most 5 per minute from one client" in stream
    assert AMEG not in stream
    if path == "ask":
        assert "event: error" in stream
    else:
        assert "event: complete" in stream


@pytest.mark.model
@pytest.mark.slow
def test_callers_without_the_token_spend_no_budget(secured: tuple[str, Path]) -> None:
    url = secured[0]
    refused = [
        post(url, "/api/ask", b"{}", bearer("wrong"), source="127.0.0.4")[0] for _ in range(12)
    ]
    assert refused == [401] * 12
    assert post(url, "/api/ask", b"{}", bearer(TOKEN), source="127.0.0.4")[0] == 400


@pytest.mark.model
@pytest.mark.slow
def test_the_token_never_appears_in_the_server_output(secured: tuple[str, Path]) -> None:
    """Its own requests cover every path a token takes: a failed and a good login, a wrong
    and a right Bearer token, and a rate-limited one (and, run last, the log also holds
    every request above)."""
    url, log = secured
    limited = [post(url, "/api/ask", b"{", bearer(TOKEN), source="127.0.0.5")[0] for _ in range(6)]
    assert limited[-1] == 429
    for password in ("wrong-" + TOKEN, TOKEN):
        form = urlencode({"username": TOKEN, "password": password}).encode()
        try:
            urllib.request.urlopen(url + "login", form, timeout=30).close()
        except urllib.error.HTTPError as err:
            assert err.code == 400
    assert post(url, "/api/ask", b"{", bearer(TOKEN + "x"))[0] == 401
    assert post(url, "/api/ask", b"{", bearer(TOKEN))[0] == 400
    time.sleep(0.5)  # let the server write whatever it would
    output = log.read_text()
    assert "serving on" in output and "token required" in output
    assert TOKEN not in output
