"""Plain-text rendering of an Answer for the terminal."""

from __future__ import annotations

import re
import textwrap
from typing import TYPE_CHECKING

from citeqa.types import Answer, Citation

if TYPE_CHECKING:
    from citeqa.explain import Trace

ABSTAIN_TEXT = "The documents don't say."

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def shown(text: str) -> str:
    """Text from a document, for a terminal: its control characters as U+FFFD, since an
    escape sequence in a file could retitle the window, hide text or move the cursor."""
    return _CONTROL.sub("\ufffd", text)


def mark(sentence: Citation, start: int, end: int, *, color: bool) -> str:
    """The sentence with the answer span marked (file offsets ``start``..``end``)."""
    a, b = start - sentence.start, end - sentence.start
    on, off = ("\033[1;4m", "\033[0m") if color else ("**", "**")
    text = sentence.text
    return shown(text[:a]) + on + shown(text[a:b]) + off + shown(text[b:])


def where(c: Citation) -> str:
    """File and character offsets (for checking), and the page of a PDF (for reading)."""
    page = f" (p. {c.page})" if c.page is not None else ""
    return f"{shown(c.source)}:{c.start}-{c.end}{page}"


def answer_text(answer: Answer, *, color: bool = False) -> str:
    lines: list[str] = []
    if answer.abstained:
        lines.append(f"{ABSTAIN_TEXT} (confidence {answer.score:.2f})")
        if answer.reason:
            lines.append(shown(answer.reason))
        if answer.related:
            lines.append("")
            lines.append("Related passages (closest text, not evidence):")
            lines += _listing(answer.related)
        return "\n".join(lines)
    # A hard-wrapped answer ("US$640\nmillion") on one line; the quote's wrap does the same.
    flat = " ".join(shown(answer.text).split())
    lines.append(f"Answer: {flat}   (confidence {answer.score:.2f})")
    lines.append("")
    quoted = mark(answer.sentence, answer.start, answer.end, color=color)
    lines += textwrap.wrap(f"“{quoted}”", width=100, initial_indent="  ", subsequent_indent="  ")
    page = f" (p. {answer.page})" if answer.page is not None else ""
    lines.append(
        f"  {shown(answer.source)}:{answer.start}-{answer.end}{page}"
        f" · {shown(answer.sentence.title)}"
    )
    lines.append("")
    lines.append("Citations:")
    lines += _listing(answer.citations)
    return "\n".join(lines)


def trace_text(trace: Trace) -> str:
    """``ask --explain``: the trace's stages in plain words, under a heading."""
    from citeqa.trace_text import trace_lines

    heading = "Why this answer?" if trace.abstention.answered else "Why no answer?"
    return "\n".join([heading, *(shown(line) for line in trace_lines(trace))])


def _listing(citations: list[Citation]) -> list[str]:
    out = []
    for n, c in enumerate(citations, 1):
        snippet = " ".join(shown(c.text).split())
        snippet = snippet if len(snippet) <= 160 else snippet[:159] + "…"
        out.append(f"  [{n}] {where(c)} · {shown(c.title)}")
        out.append(f"      {snippet}")
    return out
