"""HTML, PDF and Word documents: extraction, offsets into the extracted text, page
locators, and bad files that are reported by name while the rest of the folder indexes."""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path

import pytest
from formats import (
    DOCX_CONTROLLED,
    DOCX_NESTED,
    DOCX_PARAGRAPHS,
    DOCX_REVISED,
    DOCX_TABLE,
    HTML_ARTICLE,
    HTML_CONSENT,
    HTML_SCRIPT_FACT,
    MOST_READ,
    PDF_HEADER,
    PDF_PAGES,
    PRINTED_ARTICLE,
    PRINTED_FURNITURE,
    html_page,
    make_docx,
    make_fake_docx,
    make_image_only_pdf,
    make_pageless_pdf,
    make_pdf,
    make_printed_pdf,
    make_revised_docx,
    printed_page,
    write,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from citeqa import QA, cli
from citeqa.cli import common
from citeqa.corpus import extract
from citeqa.corpus.chunk import chunk_document
from citeqa.corpus.extract import ExtractionError, document_text
from citeqa.corpus.ingest import load_corpus, load_document
from citeqa.errors import CorpusError
from citeqa.index import store as ix
from citeqa.index.build import build_index
from citeqa.index.freshness import staleness

from conftest import FakeEmbedder

GOOD = "The council approved the new budget on Tuesday. It adds two libraries.\n"


def reasons(corpus_dir: Path, caplog: pytest.LogCaptureFixture) -> dict[str, str]:
    with caplog.at_level(logging.WARNING):
        corpus = load_corpus(corpus_dir)
    assert "good.txt" in [d.source for d in corpus.documents], "the good file was lost"
    for f in corpus.skipped:
        assert f.source in caplog.text, f"no warning names {f.source}"
    return {f.source: f.reason for f in corpus.skipped}


# --------------------------------------------------------------------------- PDF


def test_pdf_text_is_built_page_by_page(tmp_path: Path) -> None:
    path = write(tmp_path / "report.pdf", make_pdf())
    doc = load_document(path, "report.pdf")
    assert doc.extractor.startswith("pypdfium2 ")
    assert len(doc.pages) == 2
    for n, body in enumerate(PDF_PAGES):
        at = doc.text.index(body)  # wrapped lines are joined back into the paragraph
        assert doc.pages[n] <= at and (n + 1 == len(doc.pages) or at < doc.pages[n + 1])
    assert PDF_HEADER not in doc.text and "Page 1 of 2" not in doc.text
    assert {d.reason for d in doc.dropped} == {"repeated header or footer", "page number"}
    assert doc.title == PDF_HEADER
    passages = chunk_document(doc)
    page_of = [sum(start <= p.start for start in doc.pages) for p in passages]
    assert page_of == sorted(page_of) and set(page_of) == {1, 2}
    for p, page in zip(passages, page_of, strict=True):  # no passage spans two pages
        assert sum(start < p.end for start in doc.pages) == page


def test_pdf_hyphenated_line_breaks_are_joined(tmp_path: Path) -> None:
    body = "The new container termi-\nnal opened in May and handled COVID-\n19 supplies."
    path = write(tmp_path / "h.pdf", make_pdf((body, PDF_PAGES[1])))
    text = document_text(path)
    assert "container terminal opened in May" in text
    assert "COVID-19 supplies" in text


def test_pdf_page_furniture_is_skipped_by_the_same_rules_as_on_the_web_page(
    tmp_path: Path,
) -> None:
    """A news page printed to PDF. Its ad marker, share and subscribe prompts and "Most
    read" heading each follow a full line of the article, yet are skipped, for the reasons
    the same page gets as HTML; every sentence of the article is in a passage, at its
    offsets. The most-read headlines stay, as in the web page's text (no line rule tells
    one headline from another), in a region of their own."""
    path = write(tmp_path / "printed.pdf", make_printed_pdf(printed_page()))
    doc = load_document(path, "printed.pdf")
    skipped = {doc.text[s.start : s.end]: s.reason for s in doc.skipped}
    assert sorted(skipped) == sorted(PRINTED_FURNITURE)
    passages = chunk_document(doc)
    for line in PRINTED_FURNITURE:
        assert not [p.text for p in passages if line in p.text]
    sentences = {s.text: s for p in passages for s in p.sentences}
    for paragraph in PRINTED_ARTICLE:
        for text in re.split(r"(?<=\.) (?=[A-Z])", " ".join(paragraph)):
            sentence = sentences[text]
            assert doc.text[sentence.start : sentence.end] == text
            assert any(p.start <= sentence.start and sentence.end <= p.end for p in passages)
    for p in passages:
        assert doc.text[p.start : p.end] == p.text
        assert not (any(h in p.text for h in MOST_READ) and "tram" in p.text)
    body = "".join(f"<p>{' '.join(lines)}</p>" for lines in printed_page())
    page = write(tmp_path / "page.html", f"<html><body><article>{body}</article></body></html>")
    web = load_document(page, "page.html")
    assert {web.text[s.start : s.end]: s.reason for s in web.skipped} == skipped


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("locked.pdf", lambda: make_pdf(password="secret"), "encrypted PDF"),
        ("scan.pdf", make_image_only_pdf, "no text layer"),
        ("blank.pdf", make_pageless_pdf, "empty PDF: it has no pages"),
        ("cut.pdf", lambda: make_pdf()[:900], "damaged or truncated PDF"),
        ("fake.docx", make_fake_docx, "a zip archive, not a Word document"),
        ("text.docx", lambda: b"just some text", "not a Word document"),
        (
            "empty.html",
            lambda: "<html><script>var a = 1;</script><nav>Home</nav></html>",
            "no article text",
        ),
    ],
)
def test_bad_files_are_skipped_with_a_warning_naming_them(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, name: str, data: object, reason: str
) -> None:
    write(tmp_path / "good.txt", GOOD)
    write(tmp_path / "report.pdf", make_pdf())
    write(tmp_path / name, data())  # type: ignore[operator]
    got = reasons(tmp_path, caplog)
    assert list(got) == [name] and got[name].startswith(reason), got
    with pytest.raises(ExtractionError, match=reason.split()[0]):
        document_text(tmp_path / name)


def test_pdf_reasons_do_not_carry_over_from_the_previous_file(tmp_path: Path) -> None:
    # pdfium's last error is global; a PDF of no pages sets none of its own.
    files = {
        "locked.pdf": make_pdf(password="secret"),
        "blank.pdf": make_pageless_pdf(),
        "cut.pdf": make_pdf()[:900],
    }
    for name, data in files.items():
        write(tmp_path / name, data)
    expected = {"locked.pdf": "encrypted", "blank.pdf": "empty", "cut.pdf": "damaged"}
    for order in (["locked.pdf", "blank.pdf", "cut.pdf", "blank.pdf"], ["cut.pdf", "blank.pdf"]):
        for name in order:
            with pytest.raises(ExtractionError, match=f"^{expected[name]} "):
                document_text(tmp_path / name)


def test_pdf_page_locator_and_offsets_through_the_pipeline(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    write(corpus / "report.pdf", make_pdf())
    build_index(corpus, tmp_path / "index", FakeEmbedder())
    qa = QA.load(tmp_path / "index", embedder=FakeEmbedder())
    ans = qa.ask("How much did dredging the channel to sixteen metres cost?")
    assert not ans.abstained and "212 million euros" in ans.text
    assert (ans.source, ans.page) == ("report.pdf", 2)
    text = document_text(corpus / "report.pdf")
    assert text[ans.start : ans.end] == ans.text
    assert text[ans.sentence.start : ans.sentence.end] == ans.sentence.text
    assert ans.citations[0].page == 2 and ans.sentence.page == 2
    data = json.loads(json.dumps(ans.to_dict()))
    assert data["page"] == 2 and data["citations"][0]["page"] == 2
    first = qa.ask("How many ship calls did the harbour authority count?")
    assert first.page == 1 and "41,200" in first.text


# -------------------------------------------------------------------------- HTML


def test_html_article_without_script_style_nav_or_consent(tmp_path: Path) -> None:
    doc = load_document(write(tmp_path / "page.html", html_page()), "page.html")
    assert doc.extractor.startswith("trafilatura ")
    for para in HTML_ARTICLE:
        assert para in doc.text
    kept = "\n".join(doc.text[b.start : b.end] for b in doc.blocks)
    for furniture in (HTML_SCRIPT_FACT, HTML_CONSENT, "styled text", "late script", "Sport"):
        assert furniture not in kept
    assert "Accept all" not in kept and "Related stories" not in kept
    assert doc.title == "Harbour Festival Draws Record Crowd"
    assert doc.date == "2024-03-18"


def test_html_in_windows_1252_is_decoded_by_its_declared_charset(tmp_path: Path) -> None:
    para = "The café on Rue Ménard – open since 1921 – serves “naïve” pastries to 300 guests."
    page = html_page(charset="windows-1252", article=(para, HTML_ARTICLE[1]))
    path = write(tmp_path / "cafe.html", page, encoding="cp1252")
    assert b"caf\xe9" in path.read_bytes()  # really windows-1252 on disk
    assert para in document_text(path)


@pytest.mark.parametrize("charset", ["utf-16", "hex", "base64"])
def test_html_declaring_a_charset_no_page_can_be_in_is_read_as_utf8(
    tmp_path: Path, charset: str
) -> None:
    # A meta tag found by reading the bytes as ASCII cannot be in UTF-16 (WHATWG's rule),
    # and "hex" is a Python codec but no charset.
    para = "The café on Rue Ménard serves pastries to 300 guests every day."
    path = write(
        tmp_path / "page.html", html_page(charset=charset, article=(para, HTML_ARTICLE[1]))
    )
    assert para in document_text(path)


def test_word_text_is_what_the_document_says_now(tmp_path: Path) -> None:
    path = write(tmp_path / "terms.docx", make_revised_docx())
    text = document_text(path)
    assert DOCX_REVISED in text and "fully" not in text and "ever" not in text
    assert DOCX_CONTROLLED in text and f"Fees | {DOCX_NESTED}" in text
    assert "Friday | 5,000 visitors\n\nFriday | 3,000 at night" in text
    doc = load_document(path, path.name)
    assert doc.extractor.startswith("python-docx ") and doc.extractor.endswith(", rules 2")
    for p in chunk_document(doc):
        assert text[p.start : p.end] == p.text


def test_html_over_the_size_limit_is_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write(tmp_path / "good.txt", GOOD)
    big = tmp_path / "huge.html"
    with big.open("wb") as fh:  # 50 MB, sparse: nothing is written but the last byte
        fh.truncate(50_000_000)
    got = reasons(tmp_path, caplog)
    assert "over the 10,000,000-byte limit" in got["huge.html"]


# -------------------------------------------------------------------------- Word


def test_docx_paragraphs_and_tables_in_reading_order(tmp_path: Path) -> None:
    doc = load_document(write(tmp_path / "minutes.docx", make_docx()), "minutes.docx")
    assert doc.extractor.startswith("python-docx ")
    rows = [" | ".join(r) for r in DOCX_TABLE]
    order = [doc.text.index(t) for t in (DOCX_PARAGRAPHS[0], *rows, DOCX_PARAGRAPHS[1])]
    assert order == sorted(order)
    assert doc.title == "Library Board Minutes"


# ---------------------------------------------------------------- one contract


def _words() -> st.SearchStrategy[str]:
    word = st.text(alphabet="abcdefghijklmnopqrstuvwxyzéü", min_size=1, max_size=9)
    sentence = st.lists(word, min_size=3, max_size=14).map(lambda w: " ".join(w).capitalize() + ".")
    return st.lists(sentence, min_size=1, max_size=5).map(" ".join)


def _make(kind: str, paras: list[str]) -> bytes:
    if kind == "pdf":
        return make_pdf(tuple(paras), header="Quarterly Notes")
    if kind == "html":
        body = "".join(f"<p>{p}</p>" for p in paras)
        head = "<html><head><title>Notes</title></head>"
        return f"{head}<body><article>{body}</article></body></html>".encode()
    if kind == "docx":
        import io

        import docx

        d = docx.Document()
        for p in paras:
            d.add_paragraph(p)
        out = io.BytesIO()
        d.save(out)
        return out.getvalue()
    return "\n\n".join(paras).encode()


def _as_header(paragraph: str) -> str:
    """A PDF gets a page per paragraph, and a line that opens every page is a running
    header, rightly left out (``pdf_text._drop_edges``): so no two paragraphs alike."""
    return re.sub(r"\d+", "#", paragraph.lower())


@pytest.mark.parametrize("kind", ["pdf", "html", "docx", "txt"])
@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(paras=st.lists(_words(), min_size=1, max_size=3, unique_by=_as_header))
def test_every_offset_indexes_document_text(tmp_path: Path, kind: str, paras: list[str]) -> None:
    path = write(tmp_path / f"doc.{kind}", _make(kind, paras))
    try:
        doc = load_document(path, path.name)
    except Exception:  # trafilatura may find no article in a one-line page: reported, fine
        if kind != "html":
            raise
        with pytest.raises(ExtractionError, match="no article text"):
            document_text(path)
        return
    text = document_text(path)
    assert doc.text == text
    assert document_text(path) == text  # deterministic
    for passage in chunk_document(doc):
        assert text[passage.start : passage.end] == passage.text
        for s in passage.sentences:
            assert text[s.start : s.end] == s.text
    for page_start in doc.pages:
        assert 0 <= page_start <= len(text)


@pytest.mark.parametrize("kind", ["pdf", "html", "docx", "txt"])
@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    paras=st.lists(_words(), min_size=2, max_size=3, unique_by=_as_header),
    pick=st.integers(0, 50),
)
def test_every_answer_indexes_document_text(
    tmp_path_factory: pytest.TempPathFactory, kind: str, paras: list[str], pick: int
) -> None:
    """Through the whole pipeline: build, ask about a sentence of the document, and find
    each answer and citation at its offsets in ``document_text``."""
    root = tmp_path_factory.mktemp(kind)
    path = write(root / "corpus" / f"doc.{kind}", _make(kind, paras))
    try:
        build_index(root / "corpus", root / "index", FakeEmbedder())
    except CorpusError:  # nothing readable (trafilatura found no article): reported, fine
        if kind != "html":
            raise
        return
    qa = QA(ix.load_index(root / "index", FakeEmbedder()), FakeEmbedder())
    sentences = [s for p in qa.index.passages for s in p.sentences]
    words = sentences[pick % len(sentences)].text.split()
    ans = qa.ask("What about " + " ".join(words[: max(3, len(words) // 2)]) + "?")
    text = document_text(path)
    for c in [ans.sentence, *ans.citations, *ans.related] if not ans.abstained else ans.related:
        assert text[c.start : c.end] == c.text
    if not ans.abstained:
        assert text[ans.start : ans.end] == ans.text and ans.text


# ------------------------------------------------------------------ the index


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    write(corpus / "notes.txt", GOOD)
    write(corpus / "report.pdf", make_pdf())
    write(corpus / "festival.html", html_page())
    write(corpus / "minutes.docx", make_docx())
    return corpus


def test_index_stores_extracted_texts_and_check_sees_a_changed_pdf(
    mixed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(common, "make_embedder", FakeEmbedder)
    index_dir = tmp_path / "index"
    assert cli.main(["index", str(mixed), "--index", str(index_dir), "--quiet"]) == 0
    loaded = ix.load_index(index_dir, FakeEmbedder())
    for name in ("report.pdf", "festival.html", "minutes.docx", "notes.txt"):
        assert loaded.document_text(name) == document_text(mixed / name)
    for p in loaded.passages:
        assert loaded.document_text(p.source)[p.start : p.end] == p.text
    sources = loaded.manifest["sources"]
    assert sources["report.pdf"]["extractor"].startswith("pypdfium2 ")
    assert sources["report.pdf"]["pages"] == 2 and sources["notes.txt"]["extractor"] == "raw"
    assert cli.main(["index", "--index", str(index_dir), "--check"]) == 0  # nothing changed
    capsys.readouterr()
    write(mixed / "report.pdf", make_pdf((PDF_PAGES[0], "A different second page. It is new.")))
    assert cli.main(["index", "--index", str(index_dir), "--check"]) == 1
    out = capsys.readouterr().out
    assert "changed: report.pdf" in out and "festival.html" not in out


def test_a_new_extractor_version_makes_the_index_stale(
    mixed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(mixed / "scan.pdf", make_image_only_pdf())  # skipped: a new version may read it
    build_index(mixed, tmp_path / "index", FakeEmbedder())
    assert staleness(tmp_path / "index", FakeEmbedder()) == []
    real = extract.library_version
    monkeypatch.setattr(extract, "library_version", lambda d: "99" if d == "pypdfium2" else real(d))
    diffs = staleness(tmp_path / "index", FakeEmbedder())
    was = f"index pypdfium2 {real('pypdfium2')}, rules 2, now pypdfium2 99, rules 2"
    assert diffs == [f"extractor for report.pdf: {was}", f"extractor for scan.pdf (skipped): {was}"]


def test_an_index_from_before_documents_jsonl_still_loads(mixed: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "plain"
    write(corpus / "notes.txt", GOOD)
    index_dir = tmp_path / "old"
    build_index(corpus, index_dir, FakeEmbedder())
    manifest = json.loads((index_dir / "manifest.json").read_text())
    del manifest["files"]["documents.jsonl"]
    (index_dir / "manifest.json").write_text(json.dumps(manifest))
    os.remove(index_dir / "documents.jsonl")
    loaded = ix.load_index(index_dir, FakeEmbedder())
    assert loaded.documents == {} and loaded.document_text("notes.txt") == GOOD
    assert loaded.page_at("notes.txt", 3) is None


# --------------------------------------------------- the real model, end to end


@pytest.fixture(scope="module")
def real_qa(tmp_path_factory: pytest.TempPathFactory) -> tuple[QA, Path]:
    from citeqa.index.embed import MiniLMEmbedder

    root = tmp_path_factory.mktemp("mixed")
    corpus = root / "corpus"
    write(corpus / "notes.txt", GOOD)
    write(corpus / "report.pdf", make_pdf())
    write(corpus / "festival.html", html_page())
    write(corpus / "minutes.docx", make_docx())
    write(corpus / "locked.pdf", make_pdf(password="secret"))
    write(corpus / "fake.docx", make_fake_docx())
    embedder = MiniLMEmbedder()
    report = build_index(corpus, root / "index", embedder)
    assert {f.source for f in report.corpus.skipped} == {"locked.pdf", "fake.docx"}
    return QA.load(root / "index", embedder=embedder), corpus


@pytest.mark.model
@pytest.mark.slow
@pytest.mark.parametrize(
    ("question", "source", "expected", "page"),
    [
        ("How much did dredging the channel cost?", "report.pdf", "212 million euros", 2),
        ("How many ship calls were counted in 2024?", "report.pdf", "41,200", 1),
        ("How many visitors did the Harbour Festival draw?", "festival.html", "12,000", None),
        ("When will the Northgate branch open on Sundays?", "minutes.docx", "March", None),
    ],
)
def test_mixed_folder_answers_with_span_page_and_offsets(
    real_qa: tuple[QA, Path], question: str, source: str, expected: str, page: int | None
) -> None:
    qa, corpus = real_qa
    ans = qa.ask(question)
    assert not ans.abstained, ans
    assert (ans.source, ans.page) == (source, page)
    assert expected in ans.text and len(ans.text) <= 3 * len(expected) + 10, ans.text
    text = document_text(corpus / source)
    assert text[ans.start : ans.end] == ans.text
    for c in ans.citations:
        assert document_text(corpus / c.source)[c.start : c.end] == c.text
        assert (c.page is not None) == c.source.endswith(".pdf")


@pytest.mark.model
@pytest.mark.slow
def test_script_and_consent_text_is_never_an_answer(real_qa: tuple[QA, Path]) -> None:
    qa, _ = real_qa
    ans = qa.ask("What does the tracking script say about visitors?")
    assert "99,000" not in ans.text and all("99,000" not in c.text for c in ans.related)


def test_explain_names_the_extractor_and_what_it_left_out(
    mixed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(mixed / "locked.pdf", make_pdf(password="secret"))
    assert cli.main(["index", str(mixed), "--explain"]) == 0
    out = capsys.readouterr().out
    section = {block.split(":", 1)[0]: block for block in out.split("\n\n") if ": " in block[:40]}
    assert "read by: pypdfium2 " in section["report.pdf"] and "(2 pages)" in section["report.pdf"]
    assert f"repeated header or footer ×2: '{PDF_HEADER}'" in section["report.pdf"]
    assert "page number ×2: 'Page 1 of 2'" in section["report.pdf"]
    assert "read by: trafilatura " in section["festival.html"]
    assert "script block ×2" in section["festival.html"]
    assert "outside the article: 'Accept all'" in section["festival.html"]
    assert "read by: python-docx " in section["minutes.docx"]
    assert "read by: the file itself" in section["notes.txt"]
    assert "locked.pdf: encrypted PDF" in out
