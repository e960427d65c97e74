"""A document's text split into kept blocks and skipped spans (furniture, by ``clean``'s
rules), with its title and date. Nothing is rewritten: blocks and spans are offsets into
the text, so ``text[block.start:block.end]`` is always what the file says."""

from __future__ import annotations

import bisect
import hashlib
import re
from dataclasses import dataclass, replace

from citeqa.corpus import clean
from citeqa.types import Block, Document, SkippedSpan

_TITLE_MAX_WORDS = 30


def parse_document(
    text: str, source: str, *, sha256: str = "", size: int = 0, wrapped: bool = True
) -> Document:
    """Split raw text into kept blocks and skipped spans, and find the title and date.

    ``wrapped``: whether a line break may fall inside a paragraph, as in plain text and
    Markdown written by hand; each run of wrapped lines is then one block. Text extracted
    from HTML, PDF or Word has every paragraph on a line of its own: pass False."""
    lines, date, date_span = _classify_lines(text, wrapped)
    _absorb_banner_lines(text, lines)
    skipped = [date_span] if date_span else []
    blocks: list[Block] = []
    region = 0
    previous: _Line | None = None
    for line in lines:
        a, b, reason = line.start, line.end, line.reason
        if reason is None and line.wraps and previous is not None and previous.reason is None:
            blocks[-1] = replace(blocks[-1], end=b)
        elif reason is None:
            blocks.append(Block(a, b, region))
        else:
            skipped.append(SkippedSpan(a, b, reason))
            region += 1
        previous = line
    return Document(
        id=hashlib.sha256(source.encode("utf-8")).hexdigest()[:16],
        source=source,
        title=_title(text, blocks, source),
        date=date,
        text=text,
        sha256=sha256,
        size=size,
        skipped=tuple(sorted(skipped, key=lambda span: span.start)),
        blocks=tuple(_renumber(blocks)),
    )


@dataclass
class _Line:
    """A trimmed, non-blank line and why it is furniture (None: content). Mutable only
    while the cleaning passes run; nothing outside this module sees it."""

    start: int
    end: int
    reason: str | None
    wraps: bool = False
    """Whether the line carries on the one before it: one paragraph hard-wrapped."""


def _classify_lines(text: str, wrapped: bool) -> tuple[list[_Line], str | None, SkippedSpan | None]:
    """Non-blank lines, trimmed, each with the reason it is furniture (None = content).
    A date at the top is metadata: recorded, and its span skipped."""
    out: list[_Line] = []
    date: str | None = None
    date_span: SkippedSpan | None = None
    seen: set[str] = set()
    # Blank lines separate paragraphs but are not dropped content.
    spans = [(a, b) for a, b in (_trim(text, s, e) for s, e in _lines(text)) if a < b]
    scripts = clean.script_lines([text[a:b] for a, b in spans])
    fenced = False  # inside a Markdown code fence, where every line is a line of its own
    for n, (a, b) in enumerate(spans):
        line = text[a:b]
        fence = _FENCE.match(line) is not None
        wraps = (
            wrapped
            and not (fenced or fence)
            and bool(out)
            and out[-1].reason is None
            and _wraps(text, out[-1], a, b)
        )
        fenced ^= fence
        reason = "markup (script or style block)" if n in scripts else clean.furniture_reason(line)
        if reason is None and date is None and len(seen) < 3:
            match = clean.DATE_PREFIX.match(line)
            if match:
                date = clean.parse_date(match)
                date_span = SkippedSpan(a, a + match.end(), "metadata (date)")
                a += match.end()
                if a == b:
                    continue
                line = text[a:b]
        if wraps and reason in _WRAPPED_AWAY:
            # A paragraph's last word alone on its line, or a short tail that an earlier
            # paragraph also ends with, is still that paragraph's text.
            reason = None
        if not wraps:
            # A line that carries on a paragraph is no line of its own to repeat.
            if reason is None and line in seen:
                reason = "repeats an earlier line"
            if reason is None:
                seen.add(line)
        out.append(_Line(a, b, reason, wraps=wraps and reason is None))
    return out, date, date_span


_WRAPPED_AWAY = ("stray one-word line", "repeats an earlier line")
# Markdown's own line structure (headings, list items, table rows, quotes, fences): such a
# line starts something new, and a heading or table row never runs on into the next line.
_STARTS_BLOCK = re.compile(r"(?:#{1,6}\s|[-*+•]\s|\d{1,3}[.)]\s|\||>|```|~~~)")
_NO_RUN_ON = re.compile(r"(?:#{1,6}\s|\||```|~~~)")
_FENCE = re.compile(r"(?:```|~~~)")
_ENDS_SENTENCE = re.compile(r"[.!?…:;][\"'”’)\]]*$")
_WORD = re.compile(r"[^\W\d_][\w'’-]*")


def _wraps(text: str, previous: _Line, start: int, end: int) -> bool:
    """Whether the line ``text[start:end]`` carries on ``previous``, a content line: plain
    text hard-wrapped at a fixed width, one paragraph over several lines. That needs the
    two lines to be adjacent (no blank line between), the previous one to stop mid-sentence
    and neither to be Markdown structure; and the line to start in lower case or a digit
    ("studios.", "2 systems"), or the previous one to read as prose rather than a
    headline, a byline or a menu (five words or more, most of them not capitalised)."""
    if text.count("\n", previous.end, start) != 1:
        return False
    before, line = text[previous.start : previous.end], text[start:end]
    if _STARTS_BLOCK.match(line) or _NO_RUN_ON.match(before) or _ENDS_SENTENCE.search(before):
        return False
    if line[0].islower() or line[0].isdigit():
        return True
    words = _WORD.findall(before)
    capitalised = sum(w[0].isupper() for w in words)
    return len(words) >= 5 and capitalised * 2 < len(words)


def _absorb_banner_lines(text: str, lines: list[_Line]) -> None:
    """Short lines next to a consent banner (its heading, its toggles) belong to it."""
    banner = "cookie or consent notice"
    for order in (range(len(lines)), range(len(lines) - 1, -1, -1)):
        previous: str | None = None
        for i in order:
            line = lines[i]
            short = clean.word_count(text[line.start : line.end]) <= 4
            if line.reason is None and previous == banner and short:
                line.reason = banner
            previous = banner if line.reason in (banner, "consent button") else line.reason


def _lines(text: str) -> list[tuple[int, int]]:
    spans = []
    start = 0
    for line in text.split("\n"):
        spans.append((start, start + len(line)))
        start += len(line) + 1
    return spans


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink a span past whitespace (and a BOM), so kept blocks start and end on text."""
    while start < end and (text[start].isspace() or text[start] == "\ufeff"):
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _title(text: str, blocks: list[Block], source: str) -> str:
    """The first kept line when it reads as a headline; else the opening words."""
    if not blocks:
        return source
    first = text[blocks[0].start : blocks[0].end].lstrip("#").strip()
    words = first.split()
    if 2 <= len(words) <= _TITLE_MAX_WORDS and first[-1] not in ".,;":
        return first
    head = " ".join(words[:12])
    return head + ("…" if len(words) > 12 else "")


def split_at_pages(blocks: tuple[Block, ...], pages: tuple[int, ...]) -> tuple[Block, ...]:
    """A new region at each page, so that no passage spans two pages and every citation
    has one page to point at."""
    if not pages:
        return blocks
    paged = [
        Block(b.start, b.end, b.region * (len(pages) + 1) + bisect.bisect_right(pages, b.start))
        for b in blocks
    ]
    return tuple(_renumber(paged))


def _renumber(blocks: list[Block]) -> list[Block]:
    """Regions numbered 0, 1, 2… in order (the raw counter skips numbers)."""
    out: list[Block] = []
    mapping: dict[int, int] = {}
    for block in blocks:
        mapping.setdefault(block.region, len(mapping))
        out.append(Block(block.start, block.end, mapping[block.region]))
    return out
