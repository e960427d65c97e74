"""Who may use a served citeqa: a shared token, checked in constant time, and a per-client
rate limit. No web framework here: ``api.py`` checks the token and the rate on
``/api/ask``, and ``app.py`` hands the token to Gradio's login for the chat.

>>> token = Token.from_text("correct-horse-battery-staple")
>>> token.matches(parse_bearer("Bearer correct-horse-battery-staple") or "")
True
"""

from __future__ import annotations

import hmac
import ipaddress
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

TOKEN_ENV = "CITEQA_TOKEN"
MIN_TOKEN_CHARS = 16
"""Shorter tokens are accepted with a warning: the login and the API take guesses as fast
as they arrive."""

_VISIBLE_ASCII = re.compile(r"[\x21-\x7e]+")
_RATE = re.compile(r"\s*(\d+)\s*/\s*(s|min|h)\s*")
PERIODS = {"s": 1.0, "min": 60.0, "h": 3600.0}
PERIOD_WORDS = {"s": "second", "min": "minute", "h": "hour"}


class AuthConfigError(ValueError):
    """A token or rate setting the server cannot start with; the command exits 2."""


@dataclass(frozen=True)
class Token:
    """The shared secret. Its repr hides the value, so it never reaches a log or traceback."""

    secret: bytes = field(repr=False)

    @classmethod
    def from_text(cls, text: str, where: str = "the token") -> Token:
        text = text.strip()  # a file written by `echo` ends with a newline
        if not text:
            raise AuthConfigError(f"{where} is empty")
        # Bearer tokens are visible ASCII (RFC 6750); anything else could never be sent.
        if not _VISIBLE_ASCII.fullmatch(text):
            raise AuthConfigError(f"{where} must be printable ASCII with no spaces")
        return cls(text.encode("ascii"))

    def matches(self, given: str) -> bool:
        """Constant time in the token's content, so timing reveals nothing of it."""
        try:
            raw = given.encode("ascii")
        except UnicodeEncodeError:
            return False  # cannot equal an ASCII token; and says nothing about it
        return hmac.compare_digest(raw, self.secret)

    @property
    def short(self) -> bool:
        return len(self.secret) < MIN_TOKEN_CHARS


def read_token(token_file: Path | None, environ: Mapping[str, str]) -> Token | None:
    """The token from ``token_file`` if given, else from ``$CITEQA_TOKEN``, else None (an
    open server). A given but empty or unreadable source is an error, never silently open."""
    if token_file is not None:
        try:
            text = token_file.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise AuthConfigError(f"the token file {token_file} is not UTF-8 text") from None
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise AuthConfigError(f"cannot read the token file {token_file}: {reason}") from None
        return Token.from_text(text, where=f"the token file {token_file}")
    if TOKEN_ENV in environ:
        # Set but empty is most often `CITEQA_TOKEN=$UNSET_VARIABLE`: refuse to serve open.
        return Token.from_text(environ[TOKEN_ENV], where=TOKEN_ENV)
    return None


def parse_bearer(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header; None when the header is
    missing or is not exactly a Bearer scheme (any case) and one token."""
    if header is None:
        return None
    parts = header.split()
    if len(parts) != 2 or parts[0].lower() != "bearer":
        return None
    return parts[1]


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps the server on this machine. An unknown name counts as
    reachable from elsewhere: better a needless warning than a missing one."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def exposure_warning(host: str, port: int, token: Token | None) -> str | None:
    """The start-up warning for a server others can reach without a token, else None."""
    if token is not None or is_loopback(host):
        return None
    return (
        f"serving on {host}:{port} without a token: anyone who can reach this port can ask"
        " questions and read the whole corpus through the answers and cited passages. Set"
        f" {TOKEN_ENV} or give --token-file FILE (see docs/security.md, Sharing a server)."
    )


@dataclass(frozen=True)
class Rate:
    limit: int
    period: float
    """Seconds."""

    def __str__(self) -> str:
        unit = next((u for u, s in PERIODS.items() if s == self.period), None)
        per = PERIOD_WORDS[unit] if unit else f"{self.period:g} seconds"
        return f"{self.limit} per {per}"


def parse_rate(text: str) -> Rate:
    """``"30/min"`` -> Rate(30, 60.0); also N/s and N/h."""
    found = _RATE.fullmatch(text)
    if found is None or int(found[1]) < 1:
        raise AuthConfigError(
            f"expected N/s, N/min or N/h with N a whole number of at least 1"
            f" (e.g. 30/min), got {text!r}"
        )
    return Rate(int(found[1]), PERIODS[found[2]])


class RateLimiter:
    """At most ``rate.limit`` requests per client in any ``rate.period`` seconds: a sliding
    window, so no burst of twice the limit across a window boundary. Memory: up to
    ``limit`` timestamps per client seen within the last period; idle clients are dropped."""

    def __init__(self, rate: Rate, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.clock = clock
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._next_sweep = clock() + rate.period

    def check(self, client: str) -> float:
        """Count one request from ``client`` and return 0.0, or, when it is over the limit,
        count nothing and return the seconds until it may ask again."""
        now = self.clock()
        with self._lock:
            if now >= self._next_sweep:
                self._sweep(now)
            times = self._seen.setdefault(client, deque())
            while times and times[0] <= now - self.rate.period:
                times.popleft()
            if len(times) >= self.rate.limit:
                return times[0] + self.rate.period - now
            times.append(now)
            return 0.0

    def _sweep(self, now: float) -> None:
        cutoff = now - self.rate.period
        for client in [c for c, times in self._seen.items() if not times or times[-1] <= cutoff]:
            del self._seen[client]
        self._next_sweep = now + self.rate.period

    def clients(self) -> int:
        """How many clients are remembered (for tests and diagnostics)."""
        return len(self._seen)


def too_many(rate: Rate) -> str:
    """What a client over the rate is told, by the JSON API and the chat alike."""
    return f"too many questions: at most {rate} from one client"


def retry_after(wait: float) -> str:
    """A ``Retry-After`` value: whole seconds, rounded up, at least 1."""
    return str(max(1, math.ceil(wait)))
