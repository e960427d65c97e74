"""The web chat (a Gradio Blocks app) and a JSON API, both over ``QA.ask`` and nothing
deeper.

Importing this module loads no model; ``serve`` loads the index and model once, then
serves both from one uvicorn server. Formatting lives in ``chat_format``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from citeqa.errors import CiteQAError
from citeqa.serve import chat_format as fmt
from citeqa.serve.auth import RateLimiter, exposure_warning, parse_bearer, retry_after

if TYPE_CHECKING:
    import gradio as gr
    from starlette.requests import Request
    from starlette.responses import JSONResponse

    from citeqa.pipeline import QA
    from citeqa.serve.auth import Rate, Token

log = logging.getLogger(__name__)

EXAMPLES = [
    "How much is Alibaba investing in Hong Kong?",
    "What is AMEG?",
    "On what day did Alibaba Pictures and Youku sign their deals?",
    "In which city is Alibaba Pictures headquartered?",
    "Who is the CEO of Alibaba?",
]

# QA.ask is thread-safe: its query encodes and the span reader's passes are micro-batched
# (batching.py), so questions in flight together share forward passes. 16 in
# flight fills an encode batch without holding much memory (`citeqa bench --load`: 4 in
# flight gave 17.5 answers/s, 16 gave 20, measured with the earlier default reader).
CONCURRENCY_LIMIT = 16
QUEUE_MAX = 256
"""Waiting requests beyond this are refused at once rather than piling up."""

CSS = """
.citeqa-source summary { font-weight: 600; cursor: pointer; }
.citeqa-where { font-size: 0.85em; opacity: 0.75; margin: 0.2em 0; }
.citeqa-passage { white-space: normal; }
mark { background: #ffe58a; color: inherit; padding: 0 0.1em; border-radius: 2px; }
"""

GRADIO_ENV = {
    "GRADIO_ANALYTICS_ENABLED": "False",
    "GRADIO_ANALYTICS_MAX_EVENTS": "100",
    "GRADIO_ANALYTICS_CACHE_FREQUENCY": "100",
}
"""No telemetry. And Gradio's queue by default keeps the timings of the last 10,000 events
for an optional monitoring page (not enabled here) and summarises all of them with pandas
after every event: CPU per request and memory that grow with traffic. Keep 100, summarised
every 100 events."""

STATE_SESSIONS = 200
"""Gradio keeps per-session state for the last 10,000 sessions by default, and every API
call without a session is a new session: memory that grew by ~20 KB a request under load.
citeqa keeps no session state (the chat history travels with each request), so a short
memory of sessions loses nothing."""

MAX_BODY_BYTES = 1_000_000
"""Requests with a larger body are refused (413) before any parsing or model work. A
question is at most 1,000 characters; the chat endpoint also carries the visible history."""

Message = dict[str, str]

BAD_INPUT = (ValueError, TypeError, CiteQAError)
"""What ``QA.ask`` raises for a question it refuses or an index it cannot use: shown to the
user as a reason, never as a traceback."""


class BodyLimit:
    """ASGI middleware: refuse request bodies over ``max_bytes``, declared or streamed."""

    def __init__(self, app: Any, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _too_large(send, self.max_bytes)
            return
        seen = 0

        async def capped() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise ValueError(f"request body over {self.max_bytes} bytes")
            return message

        await self.app(scope, capped, send)


async def _too_large(send: Any, limit: int) -> None:
    body = f'{{"error": "request body over {limit} bytes"}}'.encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": body})


def respond(qa: QA, question: str, history: list[Message] | None) -> tuple[str, list[Message], str]:
    """One chat turn: ('' for the textbox, the history with both messages, sources HTML).
    Each question is answered on its own; earlier turns stay for reading only."""
    history = list(history or [])
    shown = question if isinstance(question, str) else ""
    history.append({"role": "user", "content": fmt.escape(shown) or "&nbsp;"})
    try:
        answer = qa.ask(question)
    except BAD_INPUT as exc:
        history.append({"role": "assistant", "content": fmt.error_message(exc)})
        return "", history, ""
    except Exception as exc:
        log.exception("answering %r failed", shown[:200])
        history.append({"role": "assistant", "content": fmt.error_message(exc)})
        return "", history, ""
    history.append({"role": "assistant", "content": fmt.chat_markdown(answer)})
    return "", history, fmt.sources_html(answer)


def ask_json(qa: QA, question: str) -> dict[str, Any]:
    """The structured endpoint: ``Answer.to_dict()``; bad input is a clear error."""
    import gradio as gr

    try:
        return qa.ask(question).to_dict()
    except BAD_INPUT as exc:
        raise gr.Error(str(exc)) from None


def build_app(qa: QA) -> gr.Blocks:
    for key, value in GRADIO_ENV.items():
        os.environ.setdefault(key, value)  # read when the queue is made
    import gradio as gr

    def chat(question: str, history: list[Message]) -> tuple[str, list[Message], str]:
        return respond(qa, question, history)

    def ask(question: str) -> dict[str, Any]:
        """Answer a question from the indexed documents; returns Answer.to_dict()."""
        return ask_json(qa, question)

    with gr.Blocks(title="citeqa") as demo:
        gr.Markdown("# citeqa\nAsk a question; every answer quotes and cites the documents.")
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    label="citeqa",
                    show_label=False,
                    elem_id="citeqa-chat",
                    height=520,
                    latex_delimiters=[],
                    sanitize_html=True,
                    feedback_options=None,
                    buttons=["copy"],
                )
                box = gr.Textbox(
                    placeholder="Ask about the documents and press Enter",
                    show_label=False,
                    elem_id="citeqa-question",
                    max_length=1000,
                    submit_btn=True,
                )
                gr.Examples(EXAMPLES, inputs=box, label="Examples")
            with gr.Column(scale=2), gr.Accordion("Sources", open=True):
                sources = gr.HTML("<p>Cited passages appear here.</p>", elem_id="citeqa-sources")
        gr.Markdown(fmt.footer_markdown(qa.index.manifest, str(qa.index.path)))
        box.submit(
            chat,
            [box, chatbot],
            [box, chatbot, sources],
            api_name="chat",
            concurrency_limit=CONCURRENCY_LIMIT,
            concurrency_id="qa",
        )
        gr.api(ask, api_name="ask", concurrency_limit=CONCURRENCY_LIMIT, concurrency_id="qa")  # type: ignore[attr-defined]
    demo.queue(max_size=QUEUE_MAX)
    return demo  # type: ignore[no-any-return]


AUTH_REALM = 'Bearer realm="citeqa"'
LOGIN_MESSAGE = "Any user name; the password is this server's token."


def refuse_unauthorized(token: Token, request: Request) -> JSONResponse | None:
    """None when the request carries ``Authorization: Bearer <token>``, else the 401 to
    send: the reason and nothing else (RFC 6750)."""
    from starlette.responses import JSONResponse

    given = parse_bearer(request.headers.get("authorization"))
    if given is None:
        reason, challenge = "send the token as Authorization: Bearer <token>", AUTH_REALM
    elif not token.matches(given):
        reason, challenge = "the token is not valid", f'{AUTH_REALM}, error="invalid_token"'
    else:
        return None
    return JSONResponse({"error": reason}, status_code=401, headers={"WWW-Authenticate": challenge})


def json_api(qa: QA, *, token: Token | None = None, rate: Rate | None = None) -> Any:
    """``POST /api/ask`` with ``{"question": "..."}`` returns ``Answer.to_dict()``: one
    request, one JSON answer, for scripts. It skips the chat queue's session and
    event-stream machinery, which under load costs the server more than answering does
    (README, Measured). The same limits hold: ``CONCURRENCY_LIMIT`` questions in flight,
    at most ``QUEUE_MAX`` waiting (then 503), and bad input is a 400 with the reason.

    With ``token``, a request without it is a 401; with ``rate``, a client (by address)
    over it gets a 429 with ``Retry-After``. The token is checked first: a caller without
    it learns nothing and spends no one's budget."""
    import anyio
    from fastapi import FastAPI
    from starlette.responses import JSONResponse

    api = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    limiter = anyio.CapacityLimiter(CONCURRENCY_LIMIT)
    per_client = RateLimiter(rate) if rate is not None else None
    pending = 0

    async def ask(request: Request) -> JSONResponse:
        nonlocal pending
        if token is not None:
            refused = refuse_unauthorized(token, request)
            if refused is not None:
                return refused
        if per_client is not None:
            wait = per_client.check(request.client.host if request.client else "unknown")
            if wait > 0:
                return JSONResponse(
                    {"error": f"too many questions: at most {per_client.rate} from one client"},
                    status_code=429,
                    headers={"Retry-After": retry_after(wait)},
                )
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": "the body must be JSON"}, status_code=400)
        if not isinstance(body, dict) or "question" not in body:
            return JSONResponse({"error": 'send {"question": "..."}'}, status_code=400)
        if pending >= CONCURRENCY_LIMIT + QUEUE_MAX:
            return JSONResponse({"error": "too many questions waiting"}, status_code=503)
        pending += 1
        try:
            answer = await anyio.to_thread.run_sync(qa.ask, body["question"], limiter=limiter)
        except BAD_INPUT as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        finally:
            pending -= 1
        return JSONResponse(answer.to_dict())

    api.add_route("/api/ask", ask, methods=["POST"])  # plain Starlette: no model validation
    return api


def settle() -> None:
    """Pay one-time costs before the first question rather than during it.

    - Gradio imports matplotlib around every event, to switch its backend: ~1 s and
      ~25 MB on the first question otherwise.
    - The index, the models and the web framework are ~600k long-lived Python objects,
      and every full garbage collection walked them all while holding the GIL: pauses of
      up to 340 ms for every request in flight. Frozen, they are never scanned again
      (pauses under load: 42 ms at most).
    """
    import gc

    import matplotlib

    matplotlib.get_backend()
    gc.collect()
    gc.freeze()


def serve(
    index_dir: Path | None = None,
    host: str = "127.0.0.1",
    port: int = 7860,
    *,
    token: Token | None = None,
    rate: Rate | None = None,
) -> None:
    """Load once, then serve until interrupted. Never a public share link.

    With ``token``, every endpoint needs it: ``/api/ask`` as a Bearer token, the chat and
    its Gradio endpoints through Gradio's login (any user name, the token as password).
    ``rate`` limits ``/api/ask`` per client address."""
    # Before the slow part, so whoever started the server sees it at once.
    if (warning := exposure_warning(host, port, token)) is not None:
        log.warning(warning)
    if token is not None and token.short:
        log.warning("the token is short: a long random one is much harder to guess")
    import gradio as gr
    import uvicorn

    from citeqa.index.embed import BatchingEmbedder, MiniLMEmbedder
    from citeqa.pipeline import QA

    qa = QA.load(index_dir, embedder=BatchingEmbedder(MiniLMEmbedder()))
    demo = build_app(qa)
    demo.state_session_capacity = STATE_SESSIONS
    app = gr.mount_gradio_app(
        json_api(qa, token=token, rate=rate),
        demo,
        path="/",
        server_name=host,
        server_port=port,
        show_error=False,
        footer_links=["api"],
        ssr_mode=False,
        css=CSS,
        theme=gr.themes.Soft(),
        # Gradio then asks for its login cookie on every route of its own (page config,
        # queue, call API, files) and shows a login form instead of the app.
        auth=(lambda _user, password: token.matches(password)) if token is not None else None,
        auth_message=LOGIN_MESSAGE if token is not None else None,
    )
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    settle()
    notes = ["token required"] if token is not None else []
    if rate is not None:
        notes.append(f"/api/ask at most {rate} per client")
    shown = f" ({'; '.join(notes)})" if notes else ""
    print(f"citeqa: serving on http://{host}:{port}/{shown}", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
