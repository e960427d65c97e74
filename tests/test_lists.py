"""Lists: a span that stops inside a list becomes the whole list, and nothing else; what
counts as a list."""

from __future__ import annotations

import pytest

from citeqa.answer.lists import is_list, one_item, whole_list

VERBS = "Alibaba Pictures reportedly produced, promoted, and distributed over half of it."
STUDIOS = "Youku will work with TVB, Shaw Brothers Pictures, and Media Asia Group. The deal"
INDUSTRIES = "It could revitalize the city's film, television, and creative industries."


def widened(text: str, span: str) -> str:
    a = text.index(span)
    start, end = whole_list(text, a, a + len(span))
    assert start <= a and a + len(span) <= end
    return text[start:end]


@pytest.mark.parametrize(
    ("text", "span", "whole"),
    [
        (VERBS, "produced, promoted", "produced, promoted, and distributed"),
        (VERBS, "promoted, and distributed", "produced, promoted, and distributed"),
        (
            STUDIOS,
            "TVB, Shaw Brothers Pictures",
            "TVB, Shaw Brothers Pictures, and Media Asia Group",
        ),
        (
            STUDIOS,
            "Shaw Brothers Pictures, and Media Asia Group",
            "TVB, Shaw Brothers Pictures, and Media Asia Group",
        ),
        (
            INDUSTRIES,
            "television, and creative industries",
            "city's film, television, and creative industries",
        ),
    ],
)
def test_a_span_inside_a_list_becomes_the_list(text: str, span: str, whole: str) -> None:
    assert widened(text, span) == whole


@pytest.mark.parametrize(
    ("text", "span"),
    [
        (STUDIOS, "TVB"),  # one item: which list it belongs to is the model's call
        (STUDIOS, "TVB, Shaw Brothers Pictures, and Media Asia Group"),  # already whole
        ("On March 18, 2024, and the week after, sales rose.", "March 18, 2024"),
        ("Hong Kong, China saw growth, and Macau too.", "Hong Kong, China"),
        ("In Beijing, Alibaba and Tencent signed.", "Alibaba and Tencent"),
        ("It made $640 million, and more.", "$640 million"),
    ],
)
def test_anything_else_stays_as_it_is(text: str, span: str) -> None:
    assert widened(text, span) == span


def test_a_list_does_not_run_over_the_end_of_its_sentence() -> None:
    text = "It signed with TVB, Shaw and Media Asia Group. Then the deal closed."
    assert widened(text, "TVB, Shaw") == "TVB, Shaw and Media Asia Group"


def test_a_list_closed_by_its_and_takes_nothing_more_on_its_right() -> None:
    text = "Its people have ethnic and religious backgrounds and a large foreign-born share."
    assert widened(text, "ethnic and religious backgrounds") == "ethnic and religious backgrounds"


@pytest.mark.parametrize(
    "text",
    [
        "TVB, Shaw Brothers Pictures, and Media Asia Group",
        "TVB and Media Asia Group",
        "television dramas, movies, and live performances",
        "hunting and grazing",
        "spinal cord or peripheral ganglia",
    ],
)
def test_lists_of_names_or_of_short_phrases_are_lists(text: str) -> None:
    assert is_list(text) and not one_item(text)


@pytest.mark.parametrize(
    "text",
    [
        "Media Asia",  # one item
        "Hong Kong, China",  # a comma, but no "and" or "or" closing a list
        "programming skills, are used",  # a clause after the comma
        "invasive, nor all invasive species",
        "Interactive Digital Software Association and the",  # stops at a small word
        "hunting and the grazing of cattle",  # a small word inside an item
        "the city's film and television industry has long been a melting pot",  # too long
        "Alibaba Pictures, a Beijing-based subsidiary with a strong presence, and Youku",
    ],
)
def test_anything_else_is_not_a_list(text: str) -> None:
    assert not is_list(text)


def test_one_item_has_no_separator() -> None:
    assert one_item("Media Asia Group") and one_item("Hong Kong-produced dramas")
    assert not one_item("Hong Kong, China") and not one_item("TVB or Shaw")
