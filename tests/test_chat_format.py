from __future__ import annotations

import re

import pytest

from citeqa import chat_format as fmt
from citeqa.errors import IndexCorruptError, InvalidQuestionError
from citeqa.types import EMPTY_CITATION, Answer, Citation

RAW = "Alibaba is injecting $640 million (HK$5 billion) into Hong Kong’s film industry."
A, B = RAW.index("$640"), RAW.index(") into") + 1


def citation(start: int = 0, text: str = RAW, source: str = "a.txt") -> Citation:
    return Citation(source, "A <b>Title</b>", "p1", start, start + len(text), text, 0.03)


def answered() -> Answer:
    sentence = citation(100)
    return Answer(
        "How much?",
        RAW[A:B],
        False,
        0.7,
        "a.txt",
        100 + A,
        100 + B,
        sentence,
        [citation(100), citation(0, "Earlier: " + RAW, "b.txt")],
        [citation(100)],
    )


def abstained() -> Answer:
    return Answer("Who?", "", True, 0.1, "", 0, 0, EMPTY_CITATION, [], [citation(5)])


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "[click](javascript:alert(1))",
        "**bold** _em_ `code` # head | table |",
        "$$x^2$$ and $5 to $6",
        "&lt;already escaped&gt;",
    ],
)
def test_escape_leaves_no_markup(hostile: str) -> None:
    import html

    out = fmt.escape(hostile)
    bare = re.sub(r"&#\d+;", "", out)  # what is left besides numeric entities
    assert not re.search(r"[<>\[\]()*_`#|$&]", bare)

    assert html.unescape(out) == hostile  # and it still reads as the same text


def test_highlight_marks_exactly_the_span() -> None:
    out = fmt.highlight(RAW, A, B)
    assert out.count("<mark>") == 1
    marked = re.search(r"<mark>(.*)</mark>", out)
    assert marked is not None
    import html

    assert html.unescape(marked.group(1)) == "$640 million (HK$5 billion)"
    assert fmt.highlight(RAW, 5, 5) == fmt.escape(RAW)  # empty or bad span: nothing marked


def test_chat_message_for_an_answer() -> None:
    md = fmt.chat_markdown(answered())
    assert md.startswith("**&#36;640 million &#40;HK&#36;5 billion&#41;**")
    assert "<mark>&#36;640 million &#40;HK&#36;5 billion&#41;</mark>" in md
    assert "1. A &#60;b&#62;Title&#60;/b&#62; — a&#46;txt, characters 100–" in md
    assert "2. " in md and "<b>" not in md


def test_chat_message_for_an_abstention() -> None:
    md = fmt.chat_markdown(abstained())
    assert md.startswith("**The documents don't say.**")
    assert "*related*, not as evidence" in md and "1. A &#60;b&#62;Title" in md


def test_sources_highlight_the_answer_in_each_cited_passage() -> None:
    out = fmt.sources_html(answered())
    assert out.count("<details") == 2 and out.count("<mark>") == 2
    assert "open>" in out.split("<details")[1] and "open>" not in out.split("<details")[2]


def test_sources_of_an_abstention_are_related_not_evidence() -> None:
    out = fmt.sources_html(abstained())
    assert "Related passages (not evidence)" in out and "<mark>" not in out


def test_answer_span_in_other_passage_found_by_text() -> None:
    ans = answered()
    assert fmt.answer_span_in(ans.citations[0], ans) == (A, B)
    assert fmt.answer_span_in(ans.citations[1], ans) == (A + 9, B + 9)
    assert fmt.answer_span_in(citation(0, "nothing here"), ans) == (-1, -1)


@pytest.mark.parametrize(
    ("exc", "text"),
    [
        (InvalidQuestionError("the question is empty"), "Please type a question."),
        (
            InvalidQuestionError("the question is 1,234 characters; the limit is 1,000"),
            "That question is too long: 1,234 characters; the limit is 1,000.",
        ),
        (IndexCorruptError("index x: faiss.index is missing"), "citeqa cannot answer right now"),
        (RuntimeError("boom\nTraceback"), "Something went wrong while answering."),
    ],
)
def test_error_messages_are_friendly(exc: Exception, text: str) -> None:
    import html

    msg = html.unescape(fmt.error_message(exc))
    assert msg.startswith(text) and "Traceback" not in msg


def test_footer_names_the_corpus() -> None:
    out = fmt.footer_markdown(
        {"counts": {"documents": 3, "passages": 20}, "built_at": "2026-11-22T00:58:59+00:00"}, "ix"
    )
    import html

    assert "Corpus: 3 documents, 20 passages" in out
    assert "index built 2026-11-22 00:58:59 UTC" in html.unescape(out)
