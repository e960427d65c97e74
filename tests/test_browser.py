"""The chat in a real browser: Debian's Chromium, headless, driven by Playwright."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from citeqa.evaluation.loadtest import CHROMIUM_FLAGS as FLAGS

pytestmark = [pytest.mark.model, pytest.mark.browser]
# `make test` keeps the first test, the one browser test there: it checks what a reader
# sees of an answer (its highlight, its citation, the sources panel) and costs little more
# than starting the server and Chromium. The rest are left to `make test-all`.

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


@pytest.fixture(scope="module")
def page(server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    assert CHROMIUM.exists(), (
        "Debian's chromium is missing: make test installs it (apt-get install chromium)"
    )
    from playwright.sync_api import Dialog, sync_playwright

    url, _ = server
    with sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(CHROMIUM),
            headless=True,
            args=FLAGS,
            viewport={"width": 1280, "height": 900},
        )
        page = ctx.new_page()
        dialogs: list[str] = []

        def dismiss(dialog: Dialog) -> None:
            dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", dismiss)
        page.dialogs = dialogs  # type: ignore[attr-defined]  # what the tests read back
        page.goto(url)
        page.locator("#citeqa-question textarea").wait_for()
        yield page
        ctx.close()


def ask(page: Any, question: str) -> float:
    """Type, press Enter, wait for the answer; the seconds it took to appear."""
    box = page.locator("#citeqa-question textarea")
    before = page.locator("#citeqa-chat .message").count()
    box.fill(question)
    started = time.perf_counter()
    box.press("Enter")
    page.wait_for_function(
        f"document.querySelectorAll('#citeqa-chat .message').length >= {before + 2}",
        timeout=60_000,
    )
    return time.perf_counter() - started


def test_answer_highlight_and_citation_are_visible(page: Any) -> None:
    ask(page, "How much is Alibaba investing in Hong Kong?")
    last = page.locator("#citeqa-chat .message").last
    assert "$640 million" in last.inner_text()
    mark = last.locator("mark").first
    assert mark.is_visible() and mark.inner_text().startswith(("$640 million", "US$640 million"))
    sources = page.locator("#citeqa-sources")
    assert sources.locator("mark").first.is_visible()
    assert ".txt" in sources.inner_text() and "score" not in sources.inner_text()
    assert page.title() == "citeqa"
    assert "3 documents" not in page.inner_text("body")  # 5 with the hostile one and the PDF
    assert "5 documents" in page.inner_text("body")
    assert "/tmp/" not in page.inner_text("body")  # the index folder is shown short
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "answer.png"), full_page=True)


@pytest.mark.slow
def test_pdf_citation_shows_its_page(page: Any) -> None:
    ask(page, "How much did dredging the channel to sixteen metres cost?")
    last = page.locator("#citeqa-chat .message").last
    assert "212 million euros" in last.inner_text()
    assert "report.pdf, p. 2" in last.inner_text()
    sources = page.locator("#citeqa-sources")
    assert "report.pdf, p. 2" in sources.inner_text()
    assert "212 million euros" in sources.locator("mark").first.inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "pdf-answer.png"), full_page=True)


@pytest.mark.slow
def test_follow_up_keeps_earlier_turns(page: Any) -> None:
    ask(page, "How much is Alibaba investing in Hong Kong?")
    ask(page, "What is AMEG?")
    messages = page.locator("#citeqa-chat .message")
    texts = [messages.nth(i).inner_text() for i in range(messages.count())]
    asked = [i for i, t in enumerate(texts) if "How much is Alibaba investing in Hong Kong?" in t]
    assert asked and "$640 million" in texts[asked[-1] + 1]  # the earlier turn, still there
    assert "Alibaba Digital Media and Entertainment Group" in texts[-1]


@pytest.mark.slow
def test_abstention_reads_as_such(page: Any) -> None:
    ask(page, "What is the capital of France?")
    last = page.locator("#citeqa-chat .message").last.inner_text()
    assert "The documents don't say." in last and "not as evidence" in last
    assert "Related passages (not evidence)" in page.locator("#citeqa-sources").inner_text()


@pytest.mark.slow
def test_script_in_question_stays_text(page: Any) -> None:
    ask(page, "<script>alert(1)</script><img src=x onerror=alert(2)> [x](javascript:alert(3))")
    time.sleep(0.5)
    assert page.dialogs == []
    chat = page.locator("#citeqa-chat")
    assert "<script>alert(1)</script>" in chat.inner_text()
    assert chat.locator("script").count() == 0 and chat.locator("img[src='x']").count() == 0
    assert chat.locator("a[href^='javascript']").count() == 0


@pytest.mark.slow
def test_script_in_a_document_stays_text(page: Any) -> None:
    ask(page, "How many visitors did the Harbour Festival draw?")
    time.sleep(0.5)
    assert page.dialogs == []
    body = page.locator("body")
    assert body.locator("img[src='x']").count() == 0
    assert body.locator("a[href^='javascript']").count() == 0
    assert "<img src=x onerror=alert('img')>" in page.locator("#citeqa-sources").inner_text()
    assert "12,000" in page.locator("#citeqa-chat .message").last.inner_text()


def test_why_no_answer_opens_and_stays_text(page: Any) -> None:
    ask(page, "What is the capital of France?")
    last = page.locator("#citeqa-chat .message").last
    assert 'No document mentions "France".' in last.inner_text()
    why = last.locator("details.citeqa-why")
    assert why.count() == 1 and not why.evaluate("d => d.open")  # collapsed
    assert not why.locator("p").is_visible()
    why.locator("summary").click()
    assert why.evaluate("d => d.open")
    text = why.inner_text()
    assert "Why no answer?" in text and "Retrieval:" in text and "Abstention:" in text
    assert 'Verdict: the documents never mention "France" (look at: documents)' in text
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "why-no-answer.png"), full_page=True)


def test_why_panel_shows_a_documents_markup_as_text(page: Any) -> None:
    ask(page, "How many visitors did the Harbour Festival draw?")
    time.sleep(0.5)
    last = page.locator("#citeqa-chat .message").last
    why = last.locator("details.citeqa-why")
    assert "Why this answer?" in why.locator("summary").inner_text()
    why.locator("summary").click()
    assert page.dialogs == []
    assert why.locator("img, script, a").count() == 0
    assert (
        "<img src=x onerror=alert('img')>" in why.inner_text() or "hostile.txt" in why.inner_text()
    )
    assert "12,000" in last.locator("strong").first.inner_text()  # the answer, uncluttered
