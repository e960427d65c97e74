"""How answers look in the web chat: the one place that turns an Answer into markup.

Document text and questions are untrusted. Everything taken from them is escaped twice
over: HTML special characters become entities, and so does every character Markdown or
Gradio would read as syntax (links, emphasis, code, tables, LaTeX dollars). The only
markup in the output is the markup written here.
"""

from __future__ import annotations

import os
from pathlib import Path

from citeqa.answer.cite import where_stated
from citeqa.errors import CiteQAError, InvalidQuestionError
from citeqa.explain import Trace
from citeqa.trace_text import trace_lines
from citeqa.types import Answer, Citation

ABSTAIN = "The documents don't say."
_MARKDOWN_SYNTAX = "\\`*_{}[]()#+-.!|~$:=^@"
# One pass over the text: escaping HTML first and Markdown after (or the reverse) would
# escape the first pass's own entities.
_ENTITIES = {ord(ch): f"&#{ord(ch)};" for ch in _MARKDOWN_SYNTAX + "&<>\"'"}


def escape(text: str) -> str:
    """Text that renders as itself in Markdown and HTML, never as markup."""
    return text.translate(_ENTITIES)


def highlight(text: str, start: int, end: int) -> str:
    """``text`` escaped, with ``text[start:end]`` wrapped in <mark>."""
    if not 0 <= start < end <= len(text):
        return escape(text)
    return (
        escape(text[:start]) + "<mark>" + escape(text[start:end]) + "</mark>" + escape(text[end:])
    )


def answer_span_in(c: Citation, answer: Answer) -> tuple[int, int]:
    """Where the answer lies in a citation's text: its own offsets for the passage it came
    from, else the first place the same whole words occur, as the citation was chosen for
    (-1, -1 when nowhere)."""
    if c.source == answer.source and c.start <= answer.start and answer.end <= c.end:
        return answer.start - c.start, answer.end - c.start
    found = where_stated(c.text, answer.text) if answer.text else None
    return found if found is not None else (-1, -1)


def locator(source: str, page: int | None) -> str:
    """What a person looks up: "report.pdf, p. 3"; the file alone for unpaged formats
    (character offsets are for programs, and stay in ``Answer.to_dict()``)."""
    return escape(source) + (f", p. {page}" if page is not None else "")


def where(c: Citation) -> str:
    return locator(c.source, c.page)


def by_document(citations: list[Citation]) -> list[list[Citation]]:
    """Citations grouped by source, in the order each source first appears."""
    groups: dict[str, list[Citation]] = {}
    for c in citations:
        groups.setdefault(c.source, []).append(c)
    return list(groups.values())


def _document_line(group: list[Citation]) -> str:
    """One document of an abstention's related passages: title, file, pages, how many."""
    first = group[0]
    pages = sorted({c.page for c in group if c.page is not None})
    where_ = escape(first.source)
    if pages:
        where_ += (", p. " if len(pages) == 1 else ", pp. ") + ", ".join(map(str, pages))
    more = f" ({len(group)} passages)" if len(group) > 1 else ""
    return f"{escape(first.title)} — {where_}{more}"


def chat_markdown(answer: Answer, trace: Trace | None = None) -> str:
    """The assistant's message for one answer (or abstention), with the trace, when
    given, in a collapsed "Why?" panel at its foot."""
    why = ["", why_html(trace)] if trace is not None else []
    if answer.abstained:
        lines = [f"**{ABSTAIN}**"]
        if answer.reason:
            lines += ["", escape(answer.reason)]
        lines += ["", f"<small>confidence {answer.score:.2f}</small>"]
        if answer.related:
            lines += ["", "Closest passages, shown as *related*, not as evidence:", ""]
            lines += [
                f"{n}. {_document_line(group)}"
                for n, group in enumerate(by_document(answer.related), 1)
            ]
        return "\n".join(lines + why)
    s = answer.sentence
    quote = highlight(s.text, answer.start - s.start, answer.end - s.start)
    lines = [
        f"**{_one_line(escape(answer.text))}**",
        "",
        f"<small>confidence {answer.score:.2f}</small>",
        "",
        f"> {_one_line(quote)}",
        "",
        f"<small>{locator(answer.source, answer.page)}</small>",
        "",
        "Sources:",
        "",
    ]
    lines += [f"{n}. {escape(c.title)} — {where(c)}" for n, c in enumerate(answer.citations, 1)]
    return "\n".join(lines + why)


def why_html(trace: Trace) -> str:
    """The trace in plain words, collapsed under "Why this answer?" or "Why no answer?":
    one HTML block on one line, so Markdown leaves it whole, every line of it escaped."""
    summary = "Why this answer?" if trace.abstention.answered else "Why no answer?"
    # Runs of spaces (indents, aligned figures) kept; single ones still wrap.
    rows = [escape(line).replace("  ", "&nbsp;&nbsp;") for line in trace_lines(trace)]
    return (
        f"<details class='citeqa-why'><summary>{summary}</summary>"
        f"<p class='citeqa-trace'>{'<br>'.join(rows)}</p></details>"
    )


def _one_line(markup: str) -> str:
    """A hard-wrapped sentence's line breaks as spaces: in Markdown a break inside a quote
    or a bold answer would end it there."""
    return markup.replace("\n", " ")


def sources_html(answer: Answer) -> str:
    """The sources panel: each cited passage with the answer highlighted, or the related
    passages of an abstention, clearly labelled."""
    if answer.abstained:
        head = f"<p><strong>{ABSTAIN}</strong> Related passages (not evidence):</p>"
        items = [_document(n, group) for n, group in enumerate(by_document(answer.related), 1)]
        return head + "".join(items)
    return "".join(_passage(n, c, answer) for n, c in enumerate(answer.citations, 1))


def _passage(n: int, c: Citation, answer: Answer) -> str:
    """A collapsible passage with the answer marked; the first is open, the rest a click
    away. No retrieval score: its scale means nothing to a reader."""
    a, b = answer_span_in(c, answer)
    body = highlight(c.text, a, b).replace("\n", "<br>")
    state = " open" if n == 1 else ""
    return (
        f"<details class='citeqa-source'{state}><summary>[{n}] {escape(c.title)}</summary>"
        f"<p class='citeqa-where'>{where(c)}</p>"
        f"<p class='citeqa-passage'>{body}</p></details>"
    )


def _document(n: int, group: list[Citation]) -> str:
    """An abstention's related passages from one document, under its title once."""
    state = " open" if n == 1 else ""
    bodies = "".join(
        f"<p class='citeqa-where'>{where(c)}</p>"
        f"<p class='citeqa-passage'>{escape(c.text).replace(chr(10), '<br>')}</p>"
        for c in group
    )
    return (
        f"<details class='citeqa-source'{state}><summary>[{n}] {escape(group[0].title)}"
        f"</summary>{bodies}</details>"
    )


def error_message(exc: BaseException) -> str:
    """A friendly chat message for a failure; never a traceback."""
    if isinstance(exc, InvalidQuestionError):
        text = str(exc)
        if "empty" in text:
            return "Please type a question."
        return f"That question is too long: {escape(text.removeprefix('the question is '))}."
    if isinstance(exc, CiteQAError):
        return f"citeqa cannot answer right now: {escape(str(exc))}"
    return "Something went wrong while answering. The details are in the server log."


def short_path(path: str | Path) -> str:
    """A folder as a person would say it: the shortest of its path from the working
    folder, from citeqa's home folder, or from the user's home (~/…); failing those its
    last two parts (…/parent/name). The whole path is the server's business, not the
    chat's readers'."""
    from citeqa import paths

    full = Path(path).resolve()
    options = []
    for base, prefix in ((Path.cwd(), ""), (paths.home(), ""), (Path.home(), "~/")):
        base = base.resolve()
        if base == Path(base.anchor):  # relative to / says no less than absolute
            continue
        try:
            rel = full.relative_to(base).as_posix()
        except ValueError:
            continue
        options.append(prefix + rel if rel != "." else prefix.rstrip("/") or ".")
    if not options:
        options.append(
            os.fspath(full) if len(full.parts) <= 3 else "…/" + "/".join(full.parts[-2:])
        )
    return min(options, key=len)


def footer_markdown(manifest: dict[str, object], index_path: str) -> str:
    counts = manifest.get("counts")
    docs = passages = "?"
    if isinstance(counts, dict):
        docs, passages = str(counts.get("documents", "?")), str(counts.get("passages", "?"))
    built = (
        str(manifest.get("built_at", "unknown time")).replace("T", " ").replace("+00:00", " UTC")
    )
    return (
        f"<small>Corpus: {escape(docs)} documents, {escape(passages)} passages · index"
        f" built {escape(built)} · {escape(short_path(index_path))}</small>"
    )
