"""Boilerplate rules for scraped web text.

Cleaning never rewrites text: each rule names a line (or a line's prefix) to skip, with a
reason a person can read in ``citeqa index --explain``. The rules describe kinds of page
furniture (consent banners, ad slots, comment widgets, share bars), not strings from any
particular site. ``RULES_VERSION`` is recorded in the index manifest, so changing a rule
makes existing indexes stale.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

RULES_VERSION = 4

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
# A footer row of site links: every piece between separators is a legal or site link, and
# at least one is legal ("Terms of Use | Privacy Policy", "Imprint · Cookie settings").
_LINK_SEPARATORS = re.compile(r"\s*(?:[|·•/,–—]|\s-\s|\s{2,})\s*")
_LEGAL_LINK = re.compile(
    r"(terms( of (use|service|sale))?|terms (and|&) conditions|t&cs?|privacy( policy| notice|"
    r" statement| settings| center| centre)?|(cookie|cookies)( policy| settings| preferences|"
    r" notice)?|accessibility( statement)?|disclaimer|imprint|impressum|legal( notice| notices)?|"
    r"do not sell( or share)? my (personal )?(info|information|data)|your privacy choices|"
    r"ad ?choices|copyright( policy)?|editorial (policy|guidelines)|code of conduct)",
    _I,
)
_SITE_LINK = re.compile(
    r"(sitemap|site map|contact( us)?|about( us)?|careers|jobs|advertise( with us)?|rss|help|"
    r"faq|faqs|feedback|newsletters?|subscriptions?|press|team|corrections|archives?)",
    _I,
)
# The comment form's own words: the notices and labels around a reply box.
_COMMENT_FORM = re.compile(
    r"(e-?mail( address)? (will|would) (not|never) be (published|shared|displayed)"
    r"|won'?t be published|required fields are (marked|indicated)|fields marked \S+ are required"
    r"|save my name,? e-?mail|notify me of (new|follow-?up)|(logged|signed) in to (post|leave"
    r"|write|add)( a)? (comment|reply)|comments are (closed|moderated)"
    r"|comment data is processed|cancel reply|(post|submit) (a )?(comment|reply)\W*$)",
    _I,
)
# A prompt to subscribe: an invitation ("sign up", "join", "don't miss") about a newsletter,
# an inbox or updates; or anything "delivered to your inbox".
_SUBSCRIBE_INVITE = re.compile(
    r"^\W*(sign[- ]?up|subscribe|join|get|enter your e-?mail|stay (up to date|updated|informed"
    r"|in the loop|connected)|don'?t miss|never miss|want (more|the latest)|like (this|what you"
    r" read)|love (this|our)|receive|be the first to (know|hear))\b",
    _I,
)
_SUBSCRIBE_OBJECT = re.compile(
    r"\b(newsletters?|inbox|mailing list|e-?mail (updates|alerts)|updates|alerts|subscribe"
    r"|subscription)\b",
    _I,
)
_TO_INBOX = re.compile(
    r"\b(delivered|straight|directly|sent)( straight| directly)? to your inbox\b", _I
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
# "- TVB", "2. Shaw Brothers": one word, but an item of a list, not a stray word.
_LIST_ITEM = re.compile(r"^(?:[-*+•]|\d{1,3}[.)])\s+\S")
# "date 2024-03-18", "Published: March 18, 2024", or a bare date, at the start of a line.
DATE_PREFIX = re.compile(
    rf"^\s*(?:(?:date|published|posted|updated)(?: on)?\s*[:\-]?\s*)?(?:{_DATE_VALUE})\s*",
    _I,
)


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
    if is_cookie_line(line) and not is_legal_links(line):
        return "cookie or consent notice"
    notice = _notice_reason(line) if words <= 30 else None
    if notice is not None:
        return notice
    if _COPYRIGHT.match(line) and words <= 25:
        return "copyright footer"
    if words == 0:
        return "no words"
    if words == 1 and not _LIST_ITEM.match(line):
        return "stray one-word line"
    return None


def is_legal_links(line: str) -> bool:
    """A row of footer links, with a legal one among them."""
    pieces = [p for p in _LINK_SEPARATORS.split(line.strip(" \t|·•")) if p]
    if not pieces or len(pieces) > 12:
        return False
    legal = False
    for piece in pieces:
        piece = piece.strip(" .")
        if _LEGAL_LINK.fullmatch(piece):
            legal = True
        elif not _SITE_LINK.fullmatch(piece):
            return False
    return legal


def _notice_reason(line: str) -> str | None:
    """Footer links, comment-form notices and subscribe prompts, recognised by kind."""
    if is_legal_links(line):
        return "legal or site links"
    if _COMMENT_FORM.search(line):
        return "comment form"
    if _TO_INBOX.search(line) or (_SUBSCRIBE_INVITE.match(line) and _SUBSCRIBE_OBJECT.search(line)):
        return "subscribe prompt"
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


def script_lines(lines: Sequence[str]) -> set[int]:
    """The indices of lines inside a script, style or noscript block: from a line that
    begins with the opening tag to the first line that closes it. A tag never closed opens
    no block, so a text that mentions ``<script>`` loses nothing after it."""
    next_close = [len(lines)] * (len(lines) + 1)
    for i in range(len(lines) - 1, -1, -1):
        next_close[i] = i if _SCRIPT_CLOSE.search(lines[i]) else next_close[i + 1]
    inside: set[int] = set()
    i = 0
    while i < len(lines):
        if _SCRIPT_OPEN.match(lines[i]) and next_close[i] < len(lines):
            inside.update(range(i, next_close[i] + 1))
            i = next_close[i]
        i += 1
    return inside
