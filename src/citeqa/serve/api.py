"""The JSON API, ``POST /api/ask``, and the limits every endpoint shares: questions in
flight, requests waiting, body size, the token and the per-client rate."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from starlette.exceptions import HTTPException

from citeqa.errors import CiteQAError
from citeqa.serve.auth import RateLimiter, parse_bearer, retry_after, too_many

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import JSONResponse

    from citeqa.pipeline import QA
    from citeqa.serve.auth import Token

log = logging.getLogger(__name__)

AUTH_REALM = 'Bearer realm="citeqa"'

# QA.ask is thread-safe: its query encodes and the span reader's passes are micro-batched
# (batching.py), so questions in flight together share forward passes. 16 in
# flight fills an encode batch without holding much memory (`citeqa bench --load`: 4 in
# flight gave 17.5 answers/s, 16 gave 20, measured with the earlier default reader).
CONCURRENCY_LIMIT = 16
QUEUE_MAX = 256
"""Waiting requests beyond this are refused at once rather than piling up."""

MAX_BODY_BYTES = 1_000_000
"""Requests with a larger body are refused (413) before any parsing or model work. A
question is at most 1,000 characters; the chat endpoint also carries the visible history."""

BAD_INPUT = CiteQAError
"""What ``QA.ask`` raises on purpose, for a question it refuses or an index it cannot use:
shown to the user as a reason. Anything else is a bug: logged with its traceback, and the
user told only that something went wrong."""

INTERNAL_ERROR = "something went wrong while answering; the details are in the server log"


class BodyTooLarge(HTTPException):
    """A streamed body (no Content-Length) grew past the limit while being read. An
    HTTPException, so that FastAPI's routes (Gradio's) answer it as the 413 it is rather
    than as a body they could not parse."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body over {limit} bytes")

    def __str__(self) -> str:
        return str(self.detail)


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
                    raise BodyTooLarge(self.max_bytes)
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


def json_api(qa: QA, *, token: Token | None = None, per_client: RateLimiter | None = None) -> Any:
    """``POST /api/ask`` with ``{"question": "..."}`` returns ``Answer.to_dict()``: one
    request, one JSON answer, for scripts. It skips the chat queue's session and
    event-stream machinery, which under load costs the server more than answering does
    (docs/performance.md, Under load). The same limits hold: ``CONCURRENCY_LIMIT``
    questions in flight, at most ``QUEUE_MAX`` waiting (then 503), and bad input is a 400
    with the reason. ``/api/ask?explain=1`` adds the answer's trace (``QA.explain``) as
    ``"trace"``.

    With ``token``, a request without it is a 401; with ``per_client``, a client (by
    address) over its rate gets a 429 with ``Retry-After``."""
    import anyio
    from fastapi import FastAPI
    from starlette.responses import JSONResponse

    api = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    limiter = anyio.CapacityLimiter(CONCURRENCY_LIMIT)
    pending = 0

    async def ask(request: Request) -> JSONResponse:
        nonlocal pending
        refused = _refused(request, token, per_client)
        if refused is not None:
            return refused
        try:
            body = await request.json()
        except BodyTooLarge as exc:
            return JSONResponse({"error": str(exc)}, status_code=413)
        except (ValueError, RecursionError):  # RecursionError: "[[[[…" nested too deep
            return JSONResponse({"error": "the body must be JSON"}, status_code=400)
        if not isinstance(body, dict) or "question" not in body:
            return JSONResponse({"error": 'send {"question": "..."}'}, status_code=400)
        if not isinstance(body["question"], str):
            kind = type(body["question"]).__name__
            return JSONResponse({"error": f"question must be a string, not {kind}"}, 400)
        if pending >= CONCURRENCY_LIMIT + QUEUE_MAX:
            return JSONResponse({"error": "too many questions waiting"}, status_code=503)
        explain = request.query_params.get("explain", "").lower() in ("1", "true", "yes")
        pending += 1
        try:
            if explain:
                answer, trace = await anyio.to_thread.run_sync(
                    qa.explain, body["question"], limiter=limiter
                )
            else:
                answer = await anyio.to_thread.run_sync(qa.ask, body["question"], limiter=limiter)
                trace = None
        except BAD_INPUT as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        except Exception:
            log.exception("answering %r failed", body["question"][:200])
            return JSONResponse({"error": INTERNAL_ERROR}, status_code=500)
        finally:
            pending -= 1
        data = answer.to_dict()
        if trace is not None:
            data["trace"] = trace.to_dict()
        return JSONResponse(data)

    api.add_route("/api/ask", ask, methods=["POST"])  # plain Starlette: no model validation
    return api


def _refused(
    request: Request, token: Token | None, per_client: RateLimiter | None
) -> JSONResponse | None:
    """The 401 or 429 to send instead of an answer, if any. The token is checked first: a
    caller without it learns nothing and spends no one's budget."""
    from starlette.responses import JSONResponse

    if token is not None:
        refused = refuse_unauthorized(token, request)
        if refused is not None:
            return refused
    if per_client is not None:
        wait = per_client.check(request.client.host if request.client else "unknown")
        if wait > 0:
            return JSONResponse(
                {"error": too_many(per_client.rate)},
                status_code=429,
                headers={"Retry-After": retry_after(wait)},
            )
    return None
