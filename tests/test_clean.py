"""Boilerplate rules, on page furniture written the way other sites write it."""

from __future__ import annotations

from pathlib import Path

import pytest

from citeqa.corpus.clean import furniture_reason, is_cookie_line
from citeqa.corpus.parse import parse_document


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("Advertisement", "advertisement marker"),
        ("ADVERTISMENT", "advertisement marker"),
        ("- Advertisement -", "advertisement marker"),
        ("Sponsored content", "advertisement marker"),
        ("Story continues below advertisement", "advertisement marker"),
        ("Taboola", "ad-network name"),
        ("Leave a Reply", "comment widget"),
        ("12 Comments", "comment widget"),
        ("View all comments", "comment widget"),
        ("Comments (3)", "comment widget"),
        ("Accept all cookies", "consent button"),
        ("Reject All", "consent button"),
        ("Got it!", "consent button"),
        ("Back to top", "navigation or share link"),
        ("Share this article", "navigation or share link"),
        ("Share on Facebook", "navigation or share link"),
        ("Subscribe to our newsletter", "navigation or share link"),
        ("You may also like", "navigation or share link"),
        ("This site uses cookies to improve your browsing experience.", "cookie or consent notice"),
        ("© 2024 Example News Ltd. All rights reserved.", "copyright footer"),
        ('<div class="ad-slot"></div>', "markup"),
        ("<!-- related posts -->", "markup"),
        ("•", "no words"),
        ("Reuters", "stray one-word line"),
    ],
)
def test_furniture_is_recognised(line: str, reason: str) -> None:
    assert furniture_reason(line) == reason


@pytest.mark.parametrize(
    "line",
    [
        "The bakery sold 500 cookies on Monday.",
        "Strategic Investments and Partnerships",
        "Shares of the company rose 3% after the announcement.",
        "He said the advertisement market would recover in 2025.",
        "Readers left 40 comments on the mayor's proposal before the vote.",
        "Home prices in the city fell for a third month.",
    ],
)
def test_content_is_kept(line: str) -> None:
    assert furniture_reason(line) is None


def test_cookie_word_alone_is_not_a_banner() -> None:
    assert not is_cookie_line("Her grandmother baked cookies for the whole street every winter.")
    assert is_cookie_line("We use cookies to personalise content and analyse our traffic.")


def test_short_lines_inside_a_consent_banner_are_dropped() -> None:
    text = (
        "Privacy settings\nWe use cookies to improve your experience on our website.\n"
        "Strictly Necessary\nOn\n\nThe council approved the budget on Tuesday evening.\n"
    )
    doc = parse_document(text, "x.txt")
    kept = [text[b.start : b.end] for b in doc.blocks]
    assert kept == ["The council approved the budget on Tuesday evening."]


def test_script_blocks_are_markup() -> None:
    text = "<script>\nvar x = 1;\nalert('hi there friend');\n</script>\nThe mayor spoke at noon.\n"
    doc = parse_document(text, "x.md")
    assert [text[b.start : b.end] for b in doc.blocks] == ["The mayor spoke at noon."]
    assert {s.reason for s in doc.skipped} == {"markup (script or style block)"}


def test_a_script_tag_mentioned_in_text_drops_nothing() -> None:
    text = (
        "Put the <script> tag at the end of the body.\n"
        "<script> tags block rendering while they load.\n"
        "Browsers then parse the page faster.\n"
        "<style>p { color: red; }\n"
        "Inline styles override it.\n"
    )
    doc = parse_document(text, "x.md")
    # No tag closes, so no line is a block's: all five are kept.
    assert [text[b.start : b.end] for b in doc.blocks] == text.splitlines()
    assert doc.skipped == ()


def test_title_and_date() -> None:
    text = "Published: March 18, 2024\nCity Opens New Library\n\nThe library opened today.\n"
    doc = parse_document(text, "news.txt")
    assert doc.date == "2024-03-18"
    assert doc.title == "City Opens New Library"


def test_date_prefix_is_skipped_not_rewritten() -> None:
    text = " date 2024-03-18 In a landmark move, the city opened a library."
    doc = parse_document(text, "a.txt")
    assert doc.date == "2024-03-18"
    (block,) = doc.blocks
    assert text[block.start : block.end] == "In a landmark move, the city opened a library."


def test_repeated_headline_is_dropped_once() -> None:
    text = "Big News Today Here\n\nBig News Today Here\n\nThe body text is here.\n"
    doc = parse_document(text, "a.txt")
    assert [s.reason for s in doc.skipped] == ["repeats an earlier line"]
    assert len(doc.blocks) == 2


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("Terms of Use | Privacy Policy", "legal or site links"),
        ("Privacy Notice · Cookie Settings · Accessibility Statement", "legal or site links"),
        ("About Us | Contact | Terms & Conditions | Sitemap", "legal or site links"),
        ("Do Not Sell or Share My Personal Information", "legal or site links"),
        ("Imprint / Disclaimer", "legal or site links"),
        (
            "Your email address will not be published. Required fields are marked *",
            "comment form",
        ),
        ("Your e-mail won't be published.", "comment form"),
        (
            "Save my name, email, and website in this browser for the next time I comment.",
            "comment form",
        ),
        ("Notify me of follow-up comments by email.", "comment form"),
        ("You must be logged in to post a comment.", "comment form"),
        ("Comments are closed.", "comment form"),
        (
            "This site uses Akismet to reduce spam. Learn how your comment data is processed.",
            "comment form",
        ),
        ("Sign up for our newsletter to get the latest news in your inbox.", "subscribe prompt"),
        ("Subscribe to the Morning Brief and never miss a story.", "subscribe prompt"),
        ("Get our weekly newsletter: the best stories, every Friday.", "subscribe prompt"),
        ("Stay up to date with breaking news alerts from our team.", "subscribe prompt"),
        ("The day's top headlines, delivered straight to your inbox.", "subscribe prompt"),
        ("Don't miss out! Join 40,000 readers on our mailing list.", "subscribe prompt"),
    ],
)
def test_footer_links_comment_forms_and_subscribe_prompts(line: str, reason: str) -> None:
    assert furniture_reason(line) == reason


@pytest.mark.parametrize(
    "line",
    [
        "The regulator said the privacy policy changed in May without notice to users.",
        "Terms of use for the new park were approved by the council on Monday.",
        "Users can subscribe to the streaming service for $5 a month, the company said.",
        "Sign-ups for the city's newsletter rose 20% after the redesign.",
        "The newsletter reported that email updates reached 3,000 residents.",
        "Readers said their comments were not published for two days during the outage.",
        "Join the queue early: the museum expects 5,000 visitors on Saturday.",
        "Contact tracing ended in March, officials said.",
    ],
)
def test_article_sentences_with_the_same_words_are_kept(line: str) -> None:
    assert furniture_reason(line) is None


WRAPPED = (
    "Alibaba Invests in Hong Kong Film\n"
    "\n"
    "Alibaba will invest heavily in new film\n"
    "studios. The plan covers five years and names three partners: TVB,\n"
    "Shaw Brothers Pictures and Media Asia Group, each of them\n"
    "named.\n"
    "\n"
    "The second paragraph ends the way the first one\n"
    "named.\n"
)


def test_a_hard_wrapped_paragraph_is_one_block_and_loses_no_line() -> None:
    doc = parse_document(WRAPPED, "wrapped.txt")
    kept = [WRAPPED[b.start : b.end] for b in doc.blocks]
    assert (
        kept
        == [
            "Alibaba Invests in Hong Kong Film",  # a headline does not run on into the text
            WRAPPED[WRAPPED.index("Alibaba will") : WRAPPED.index("named.") + len("named.")],
            WRAPPED[WRAPPED.index("The second") : len(WRAPPED) - 1],
        ]
    )
    # the one-word tail and the tail repeated from another paragraph are both kept
    assert doc.skipped == ()
    assert doc.title == "Alibaba Invests in Hong Kong Film"


def test_sentences_run_across_line_breaks_and_keep_their_offsets() -> None:
    from citeqa.corpus.chunk import sentences_of

    doc = parse_document(WRAPPED, "wrapped.txt")
    sentences = [s for _, s in sentences_of(doc, 1200)]
    assert [s.text for s in sentences] == [
        "Alibaba Invests in Hong Kong Film",
        "Alibaba will invest heavily in new film\nstudios.",
        "The plan covers five years and names three partners: TVB,\nShaw Brothers Pictures"
        " and Media Asia Group, each of them\nnamed.",
        "The second paragraph ends the way the first one\nnamed.",
    ]
    assert all(WRAPPED[s.start : s.end] == s.text for s in sentences)


@pytest.mark.parametrize(
    ("text", "blocks"),
    [
        # a headline, a byline, a menu: short or capitalised lines stand alone
        ("Markets Rally on Rate Hopes\nStocks rose on Tuesday.", 2),
        ("By Jane Smith and John Doe\nThe council met on Tuesday.", 2),
        # a sentence that ends at the line's end
        ("The council met on Tuesday and voted.\nThe mayor then spoke at length.", 2),
        # Markdown's own lines
        ("## Partners of the new fund\nthree studios signed on Tuesday.", 2),
        ("The fund has three partners as of now\n- TVB\n- Shaw Brothers", 3),
        ("| Partner | Share of the fund |\n| TVB | a third of it |", 2),
        # wrapped: lower case, a digit, or prose that stops mid-sentence
        ("The council met on Tuesday and\nvoted for the plan.", 1),
        ("Concentrated O\n2 will allow combustion to proceed rapidly.", 1),
        ("The council met on the second Tuesday of the month with\nMayor Lee in the chair.", 1),
        ("- The council met on the second Tuesday and\n  voted for the plan.", 1),
        # code in a fence keeps its lines, however they read
        ("```\ntotal = price * quantity\nprint(total, quantity)\n```", 2),
        ("The script below prints it\n```\ntotal = price * quantity\n```\nand then exits.", 3),
    ],
)
def test_which_adjacent_lines_are_one_paragraph(text: str, blocks: int) -> None:
    assert len(parse_document(text, "a.md").blocks) == blocks


def test_extracted_text_keeps_one_paragraph_per_line() -> None:
    # HTML, PDF and Word text puts each paragraph on its own line, ended or not
    text = "Alibaba will invest in studios across the city\nThe plan covers five years.\n"
    assert len(parse_document(text, "page.html", wrapped=False).blocks) == 2
    assert len(parse_document(text, "notes.txt").blocks) == 1


def test_a_one_word_list_item_is_content() -> None:
    text = "The partners are these three studios:\n\n- TVB\n- Shaw Brothers\n1. Youku\n\nReuters\n"
    doc = parse_document(text, "a.md")
    assert [text[b.start : b.end] for b in doc.blocks][1:] == [
        "- TVB",
        "- Shaw Brothers",
        "1. Youku",
    ]
    assert [s.reason for s in doc.skipped] == ["stray one-word line"]


def test_only_text_files_are_read_as_wrapped(tmp_path: Path) -> None:
    from citeqa.corpus.ingest import load_document

    lines = "Alibaba will invest in studios across the city\nThe plan covers five years.\n"
    (tmp_path / "notes.txt").write_text(lines, encoding="utf-8")
    html = "<html><body><article><p>" + "</p><p>".join(lines.splitlines()) + "</p></article>"
    (tmp_path / "page.html").write_text(html + "</body></html>", encoding="utf-8")
    assert len(load_document(tmp_path / "notes.txt", "notes.txt").blocks) == 1
    page = load_document(tmp_path / "page.html", "page.html")
    assert [page.text[b.start : b.end] for b in page.blocks] == lines.splitlines()
