from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from citeqa.errors import IndexCorruptError, InvalidQuestionError
from citeqa.serve import chat_format as fmt
from citeqa.types import EMPTY_CITATION, Answer, Citation

RAW = "Alibaba is injecting $640 million (HK$5 billion) into Hong Kong’s film industry."
A, B = RAW.index("$640"), RAW.index(") into") + 1


def citation(
    start: int = 0, text: str = RAW, source: str = "a.txt", page: int | None = None
) -> Citation:
    return Citation(source, "A <b>Title</b>", "p1", start, start + len(text), text, 0.03, page)


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
    assert "1. A &#60;b&#62;Title&#60;/b&#62; — a&#46;txt\n" in md
    assert "2. " in md and "<b>" not in md and "characters" not in md


def test_a_hard_wrapped_answer_stays_in_its_quote() -> None:
    # A sentence of hard-wrapped text keeps its line breaks (offsets are the file's);
    # in Markdown a break would end the bold answer and the quote there.
    text = "Alibaba is injecting US$640\nmillion into the city's film\nindustry."
    a, b = text.index("US$"), text.index(" into")
    sentence = Citation("a.txt", "Title", "p1", 0, len(text), text, 0.7)
    answer = Answer("How much?", text[a:b], False, 0.7, "a.txt", a, b, sentence, [sentence])
    md = fmt.chat_markdown(answer)
    bold, quote = md.split("\n")[0], md.split("\n")[4]
    assert bold == "**US&#36;640 million**"
    assert quote.startswith("> Alibaba") and quote.endswith("industry&#46;")
    assert "<mark>US&#36;640 million</mark>" in quote


def test_pdf_citations_read_as_file_and_page() -> None:
    c = citation(100, source="report.pdf", page=3)
    ans = Answer("How much?", RAW[A:B], False, 0.7, "report.pdf", 100 + A, 100 + B, c, [c], [], 3)
    md = fmt.chat_markdown(ans)
    assert "<small>report&#46;pdf, p. 3</small>" in md
    assert "1. A &#60;b&#62;Title&#60;/b&#62; — report&#46;pdf, p. 3" in md
    assert "report&#46;pdf, p. 3" in fmt.sources_html(ans)


def test_an_abstentions_related_passages_are_grouped_by_document() -> None:
    related = [citation(n * 50, source="long.pdf", page=n // 2 + 1) for n in range(4)]
    related.insert(2, citation(7, source="b.txt"))
    ans = Answer("Who?", "", True, 0.1, "", 0, 0, EMPTY_CITATION, [], related)
    md = fmt.chat_markdown(ans)
    assert md.count("A &#60;b&#62;Title") == 2
    assert "1. A &#60;b&#62;Title&#60;/b&#62; — long&#46;pdf, pp. 1, 2 (4 passages)" in md
    assert "2. A &#60;b&#62;Title&#60;/b&#62; — b&#46;txt\n" in md + "\n"
    html = fmt.sources_html(ans)
    assert html.count("<details") == 2 and html.count("citeqa-passage") == 5
    assert "<mark>" not in html


def test_chat_message_for_an_abstention() -> None:
    md = fmt.chat_markdown(abstained())
    assert md.startswith("**The documents don't say.**")
    assert "*related*, not as evidence" in md and "1. A &#60;b&#62;Title" in md


def test_sources_highlight_the_answer_in_each_cited_passage() -> None:
    out = fmt.sources_html(answered())
    assert out.count("<details") == 2 and out.count("<mark>") == 2
    assert "score" not in out and "0.03" not in out
    assert "open>" in out.split("<details")[1] and "open>" not in out.split("<details")[2]


def test_sources_of_an_abstention_are_related_not_evidence() -> None:
    out = fmt.sources_html(abstained())
    assert "Related passages (not evidence)" in out and "<mark>" not in out


def test_answer_span_in_other_passage_found_by_text() -> None:
    ans = answered()
    assert fmt.answer_span_in(ans.citations[0], ans) == (A, B)
    assert fmt.answer_span_in(ans.citations[1], ans) == (A + 9, B + 9)
    assert fmt.answer_span_in(citation(0, "nothing here"), ans) == (-1, -1)
    # whole words, as the citation was chosen for: not the "2019" inside "20190"
    year = dataclasses.replace(ans, text="2019", start=0, end=4)
    other = citation(500, "Order 20190 was filed in 2019.")
    assert fmt.answer_span_in(other, year) == (25, 29)


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


def test_footer_shows_the_index_folder_short(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import html

    for folder in ("work/idx", "home/idx"):
        (tmp_path / folder).mkdir(parents=True)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CITEQA_HOME", str(tmp_path / "citeqa"))
    monkeypatch.chdir(tmp_path)
    out = html.unescape(fmt.footer_markdown({}, str(tmp_path / "work" / "idx")))
    assert out.endswith("· work/idx</small>") and str(tmp_path) not in out
    out = html.unescape(fmt.footer_markdown({}, str(tmp_path / "home" / "idx")))
    assert out.endswith("· ~/idx</small>")
    monkeypatch.chdir("/")
    out = html.unescape(fmt.footer_markdown({}, str(tmp_path / "citeqa" / "index")))
    assert out.endswith("· index</small>")
    out = html.unescape(fmt.footer_markdown({}, "/srv/data/deep/down/idx"))
    assert out.endswith("· …/down/idx</small>")


class _QA:
    """Stands in for QA: raises what it is given, or records the question."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.asked: list[str] = []

    def ask(self, question: str) -> object:
        self.asked.append(question)
        if self.error is not None:
            raise self.error
        from citeqa.pipeline import check_question

        check_question(question)
        raise AssertionError("not reached in these tests")

    def explain(self, question: str) -> object:
        return self.ask(question)


def test_a_chat_turn_never_shows_a_traceback(caplog: pytest.LogCaptureFixture) -> None:
    from citeqa.serve.app import respond

    # a cleared box arrives as None
    _, history, _ = respond(_QA(), None, [])  # type: ignore[arg-type]
    assert history[-1]["content"] == "Please type a question."
    # a bug deep inside: a generic message for the user, the traceback in the log
    with caplog.at_level("ERROR", logger="citeqa"):
        error = ValueError("shapes (3,) and (4,) not aligned")
        _, history, _ = respond(_QA(error), "Why?", [])  # type: ignore[arg-type]  # a stand-in QA
    assert "shapes" not in history[-1]["content"] and "server log" in history[-1]["content"]
    assert "shapes (3,) and (4,) not aligned" in caplog.text
    # a lone surrogate is echoed encodable (Gradio's reply is orjson)
    qa = _QA(InvalidQuestionError("the question is empty"))
    _, history, _ = respond(qa, "\ud800 Why?", [])  # type: ignore[arg-type]
    history[0]["content"].encode("utf-8")
    assert qa.asked == ["? Why?"]
