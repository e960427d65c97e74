"""Boilerplate rules for scraped web text.

Cleaning never rewrites text: each rule names a line (or a line's prefix) to skip, with a
reason a person can read in ``citeqa index --explain``. The rules describe kinds of page
furniture (consent banners, ad slots, comment widgets, share bars), not strings from any
particular site. ``RULES_VERSION`` is recorded in the index manifest, so changing a rule
makes existing indexes stale.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

RULES_VERSION = 1

_I = re.IGNORECASE

# A line is furniture when the whole line (trimmed) matches one of these.
_AD = re.compile(
    r"^\W*(advert\w*|ads?|sponsored( (content|post|links?|stories))?|promoted( content)?"
    r"|paid (content|post|partnership)|story continues below( advert\w*)?)\W*$",
    _I,
)
_AD_NETWORKS = re.compile(
    r"^\W*(adsense|adsterra|adchoices|coinpayu|ezoic|media\.net|mgid|outbrain|popads"
    r"|propellerads|revcontent|taboola)\W*$",
    _I,
)
_COMMENTS = re.compile(
    r"^\W*((post|leave|add|write|show|view|load|hide|read)( a| more| all| the)?"
    r" (comment|comments|reply|replies|response|responses)\b.{0,20}"
    r"|\(?\d+\)? ?(comments?|replies|responses)"
    r"|comments? ?\(\d+\)|no comments( yet)?\W*|be the first to comment\W*)$",
    _I,
)
_NAVIGATION = re.compile(
    r"^\W*((back |scroll |go )?to top|skip to( main)? content|home|menu|search|"
    r"(next|previous|prev) (post|article|story)|read more|continue reading|"
    r"share( this( article| story| post)?)?( on \w+)?|tweet|pin it|follow us( on \w+)?|"
    r"subscribe( now| to (our|the) newsletter)?|sign (up|in)( for .{0,30})?|log ?in|"
    r"print( this( article| page)?)?|email( this)?|related( articles| posts| stories)?|"
    r"you (may|might) also like|recommended( for you)?|most (popular|read)|trending( now)?|"
    r"click here.{0,40})\W*$",
    _I,
)
_CONSENT_BUTTON = re.compile(
    r"^\W*((accept|reject|decline|deny|allow|agree|ok|okay|got it|i agree|i accept|"
    r"learn more|more info|manage|customi[sz]e|save|close|dismiss|always active|"
    r"necessary|settings|preferences)( (all|cookies|selected|my|preferences|settings|"
    r"choices|options|and close|& close))*)\W*$",
    _I,
)
_COOKIE_WORD = re.compile(r"\b(cookies?|consent|gdpr|ccpa)\b", _I)
# A line that mentions cookies is a banner line only if it also talks like one; a sentence
# about a bakery's cookies is not furniture.
_COOKIE_CONTEXT = re.compile(
    r"\b(website|site|browser|experience|accept|preferences?|functionalit\w*|necessary|"
    r"analytic\w*|third[- ]party|tracking|personali[sz]\w*|visitors?|advertis\w*|"
    r"privacy|opt[- ]out|policy|category|categories|display)\b",
    _I,
)
_COPYRIGHT = re.compile(r"^\W*(©|\(c\)|copyright\b).{0,150}$", _I)
_MARKUP_LINE = re.compile(r"^\s*(<[^>]*>\s*)+$|^\s*<!--.*-->\s*$|#\w+=\(", _I)
_SCRIPT_OPEN = re.compile(r"<(script|style|noscript)\b", _I)
_SCRIPT_CLOSE = re.compile(r"</(script|style|noscript)\s*>", _I)
_WORD = re.compile(r"\w+")

_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december|"
    "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)
_DATE_VALUE = (
    r"(?P<iso>\d{4}-\d{2}-\d{2})(?:[T ][\d:]+Z?)?"
    rf"|(?P<mdy>(?:{_MONTHS})\.? \d{{1,2}},? \d{{4}})"
    rf"|(?P<dmy>\d{{1,2}} (?:{_MONTHS})\.?,? \d{{4}})"
)
# "date 2024-03-18", "Published: March 18, 2024", or a bare date, at the start of a line.
DATE_PREFIX = re.compile(
    rf"^\s*(?:(?:date|published|posted|updated)(?: on)?\s*[:\-]?\s*)?(?:{_DATE_VALUE})\s*",
    _I,
)


@dataclass(frozen=True)
class LineVerdict:
    """What to drop from one line: nothing, a prefix of ``drop`` characters, or all of it."""

    reason: str | None
    drop: int = 0


def word_count(text: str) -> int:
    return len(_WORD.findall(text))


def is_cookie_line(line: str) -> bool:
    return bool(_COOKIE_WORD.search(line)) and (
        bool(_COOKIE_CONTEXT.search(line)) or word_count(line) <= 6
    )


def furniture_reason(line: str) -> str | None:
    """Why a whole trimmed line is page furniture, or None when it is content."""
    words = word_count(line)
    if _MARKUP_LINE.search(line):
        return "markup"
    if words <= 8:
        for pattern, reason in (
            (_AD, "advertisement marker"),
            (_AD_NETWORKS, "ad-network name"),
            (_COMMENTS, "comment widget"),
            (_CONSENT_BUTTON, "consent button"),
            (_NAVIGATION, "navigation or share link"),
        ):
            if pattern.match(line):
                return reason
    if is_cookie_line(line):
        return "cookie or consent notice"
    if _COPYRIGHT.match(line) and words <= 25:
        return "copyright footer"
    if words == 0:
        return "no words"
    if words == 1:
        return "stray one-word line"
    return None


def parse_date(match: re.Match[str]) -> str:
    """ISO form of a date matched by ``DATE_PREFIX``; other forms are kept as written."""
    if match.group("iso"):
        return match.group("iso")
    from datetime import datetime

    raw = (match.group("mdy") or match.group("dmy") or "").replace(",", "").replace(".", "")
    for fmt in ("%B %d %Y", "%b %d %Y", "%d %B %Y", "%d %b %Y"):
        try:
            return datetime.strptime(raw, fmt).date().isoformat()
        except ValueError:
            continue
    return raw


def script_state(line: str, inside: bool) -> tuple[bool, bool]:
    """(is this line inside a script/style block, is the block still open after it)."""
    if inside:
        return True, not _SCRIPT_CLOSE.search(line)
    if _SCRIPT_OPEN.search(line):
        return True, not _SCRIPT_CLOSE.search(line)
    return False, False
