"""How answers look in the web chat: the one place that turns an Answer into markup.

Document text and questions are untrusted. Everything taken from them is escaped twice
over: HTML special characters become entities, and so does every character Markdown or
Gradio would read as syntax (links, emphasis, code, tables, LaTeX dollars). The only
markup in the output is the markup written here.
"""

from __future__ import annotations

from citeqa.errors import CiteQAError, InvalidQuestionError
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
    from, else the first place the same words occur (-1, -1 when nowhere)."""
    if c.source == answer.source and c.start <= answer.start and answer.end <= c.end:
        return answer.start - c.start, answer.end - c.start
    at = c.text.find(answer.text) if answer.text else -1
    return (at, at + len(answer.text)) if at >= 0 else (-1, -1)


def where(c: Citation) -> str:
    return f"{escape(c.source)}, characters {c.start}–{c.end}"


def chat_markdown(answer: Answer) -> str:
    """The assistant's message for one answer (or abstention)."""
    if answer.abstained:
        lines = [f"**{ABSTAIN}**", "", f"<small>confidence {answer.score:.2f}</small>"]
        if answer.related:
            lines += ["", "Closest passages, shown as *related*, not as evidence:", ""]
            lines += [
                f"{n}. {escape(c.title)} — {where(c)}" for n, c in enumerate(answer.related, 1)
            ]
        return "\n".join(lines)
    s = answer.sentence
    quote = highlight(s.text, answer.start - s.start, answer.end - s.start)
    lines = [
        f"**{escape(answer.text)}**",
        "",
        f"<small>confidence {answer.score:.2f}</small>",
        "",
        f"> {quote}",
        "",
        f"<small>{escape(answer.source)}, characters {answer.start}–{answer.end}</small>",
        "",
        "Sources:",
        "",
    ]
    lines += [f"{n}. {escape(c.title)} — {where(c)}" for n, c in enumerate(answer.citations, 1)]
    return "\n".join(lines)


def sources_html(answer: Answer) -> str:
    """The sources panel: each cited passage with the answer highlighted, or the related
    passages of an abstention, clearly labelled."""
    if answer.abstained:
        head = f"<p><strong>{ABSTAIN}</strong> Related passages (not evidence):</p>"
        items = [_passage(n, c, None) for n, c in enumerate(answer.related, 1)]
        return head + "".join(items)
    return "".join(_passage(n, c, answer) for n, c in enumerate(answer.citations, 1))


def _passage(n: int, c: Citation, answer: Answer | None) -> str:
    """A collapsible passage; the first is open, the rest a click away."""
    a, b = answer_span_in(c, answer) if answer is not None else (-1, -1)
    body = highlight(c.text, a, b).replace("\n", "<br>")
    state = " open" if n == 1 else ""
    return (
        f"<details class='citeqa-source'{state}><summary>[{n}] {escape(c.title)}</summary>"
        f"<p class='citeqa-where'>{where(c)} · score {c.score:.3f}</p>"
        f"<p class='citeqa-passage'>{body}</p></details>"
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
        f" built {escape(built)} · {escape(index_path)}</small>"
    )
