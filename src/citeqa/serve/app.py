"""The web chat (a Gradio Blocks app), served with the JSON API (``api.py``), both over
``QA.ask`` and nothing deeper.

Importing this module loads no model; ``serve`` loads the index and model once, then
serves both from one uvicorn server. Formatting lives in ``chat_format``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from citeqa.answer.readers import DEFAULT_READER
from citeqa.pipeline import MAX_QUESTION_CHARS
from citeqa.serve import chat_format as fmt
from citeqa.serve.api import (
    BAD_INPUT,
    CONCURRENCY_LIMIT,
    INTERNAL_ERROR,
    MAX_BODY_BYTES,
    QUEUE_MAX,
    BodyLimit,
    json_api,
)
from citeqa.serve.auth import RateLimiter, exposure_warning, retry_after, too_many

if TYPE_CHECKING:
    import gradio as gr

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

CSS = """
.citeqa-source summary { font-weight: 600; cursor: pointer; }
.citeqa-where { font-size: 0.85em; opacity: 0.75; margin: 0.2em 0; }
.citeqa-passage { white-space: normal; }
.citeqa-why summary { cursor: pointer; opacity: 0.8; }
.citeqa-trace { font-size: 0.85em; font-family: ui-monospace, monospace; }
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

LOGIN_MESSAGE = "Any user name; the password is this server's token."

Message = dict[str, str]


def respond(
    qa: QA, question: str, history: list[Message] | None, *, refused: str | None = None
) -> tuple[str, list[Message], str]:
    """One chat turn: ('' for the textbox, the history with both messages, sources HTML).
    Each question is answered on its own; earlier turns stay for reading only. With
    ``refused`` (the client is over its rate), that is the reply and nothing is asked."""
    history = list(history or [])
    question = _as_text(question)
    history.append({"role": "user", "content": fmt.escape(question) or "&nbsp;"})
    if refused is not None:
        history.append({"role": "assistant", "content": refused})  # citeqa's own words
        return "", history, ""
    try:
        answer, trace = qa.explain(question)  # the same answer as ask(), with its trace
    except BAD_INPUT as exc:
        history.append({"role": "assistant", "content": fmt.error_message(exc)})
        return "", history, ""
    except Exception as exc:
        log.exception("answering %r failed", question[:200])
        history.append({"role": "assistant", "content": fmt.error_message(exc)})
        return "", history, ""
    history.append({"role": "assistant", "content": fmt.chat_markdown(answer, trace)})
    return "", history, fmt.sources_html(answer)


def ask_json(qa: QA, question: str, *, refused: str | None = None) -> dict[str, Any]:
    """The structured endpoint: ``Answer.to_dict()``; bad input, or ``refused`` (the
    client is over its rate), is a clear error."""
    import gradio as gr

    if refused is not None:
        raise gr.Error(refused)
    question = _as_text(question)
    try:
        return qa.ask(question).to_dict()
    except BAD_INPUT as exc:
        raise gr.Error(str(exc)) from None
    except Exception:
        log.exception("answering %r failed", question[:200])
        raise gr.Error(INTERNAL_ERROR) from None


def _as_text(question: object) -> str:
    """What Gradio hands over as the question, as text that can be echoed back: a cleared
    box arrives as None, and a lone surrogate would fail the reply's JSON encoding."""
    if not isinstance(question, str):
        return ""
    return question.encode("utf-8", "replace").decode("utf-8")


def over_rate(limiter: RateLimiter | None, client: str | None) -> str | None:
    """Count a question from ``client`` (an address); what it is told if it is over the
    rate, ``None`` if it may ask."""
    if limiter is None:
        return None
    wait = limiter.check(client or "unknown")
    if wait <= 0:
        return None
    return f"{too_many(limiter.rate).capitalize()}. Ask again in {retry_after(wait)} s."


def build_app(qa: QA, limiter: RateLimiter | None = None) -> gr.Blocks:
    """The chat, and ``/ask`` for scripts; with ``limiter``, both count against the
    client's rate, as the JSON API does (one budget per address, however it asks)."""
    for key, value in GRADIO_ENV.items():
        os.environ.setdefault(key, value)  # read when the queue is made
    import gradio as gr

    def client(request: gr.Request | None) -> str | None:
        return request.client.host if request is not None and request.client else None

    def chat(
        question: str, history: list[Message], request: gr.Request
    ) -> tuple[str, list[Message], str]:
        return respond(qa, question, history, refused=over_rate(limiter, client(request)))

    def ask(question: str, request: gr.Request) -> dict[str, Any]:
        """Answer a question from the indexed documents; returns Answer.to_dict()."""
        return ask_json(qa, question, refused=over_rate(limiter, client(request)))

    # Gradio fills in a parameter annotated gr.Request, but reads annotations with
    # typing.get_type_hints, and under postponed annotations "gr.Request" does not resolve
    # here (gradio is imported on first use): give it the class itself.
    for fn in (chat, ask):
        fn.__annotations__["request"] = gr.Request

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
                    max_length=MAX_QUESTION_CHARS,
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
    reader: str = DEFAULT_READER,
    reader_model: Path | None = None,
    calibration: Path | None = None,
) -> None:
    """Load once, then serve until interrupted. Never a public share link. ``reader``
    names the reader (``readers.READERS``); ``reader_model`` replaces its span model
    folder (default: the packaged one); ``calibration`` its abstention from ``citeqa
    calibrate`` (default: the one beside the model).

    With ``token``, every endpoint needs it: ``/api/ask`` as a Bearer token, the chat and
    its Gradio endpoints through Gradio's login (any user name, the token as password).
    ``rate`` limits questions per client address: to ``/api/ask``, the chat and
    ``/ask`` together."""
    # Before the slow part, so whoever started the server sees it at once.
    if (warning := exposure_warning(host, port, token)) is not None:
        log.warning(warning)
    if token is not None and token.short:
        log.warning("the token is short: a long random one is much harder to guess")
    import gradio as gr  # before the slow load: a broken install fails at once
    import uvicorn

    from citeqa.index.embed import BatchingEmbedder, MiniLMEmbedder
    from citeqa.pipeline import QA

    qa = QA.load(
        index_dir,
        embedder=BatchingEmbedder(MiniLMEmbedder()),
        reader=reader,
        reader_model=reader_model,
        calibration=calibration,
    )
    warm = getattr(qa.reader, "warm", None)
    if warm is not None:
        warm()  # the cascade's large model, now rather than on someone's first question
    app = _mount(gr, qa, host, port, token, RateLimiter(rate) if rate is not None else None)
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    settle()
    notes = ["token required"] if token is not None else []
    if rate is not None:
        notes.append(f"questions: at most {rate} from one client")
    shown = f" ({'; '.join(notes)})" if notes else ""
    address = f"[{host}]" if ":" in host else host  # an IPv6 address, as a URL writes it
    print(f"citeqa: serving on http://{address}:{port}/{shown}", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")


def _mount(
    gr: Any, qa: QA, host: str, port: int, token: Token | None, limiter: RateLimiter | None
) -> Any:
    """The chat mounted on the JSON API: one ASGI app, the token and the rate guarding
    both."""
    demo = build_app(qa, limiter)
    demo.state_session_capacity = STATE_SESSIONS
    return gr.mount_gradio_app(
        json_api(qa, token=token, per_client=limiter),
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
