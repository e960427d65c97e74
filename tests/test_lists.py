"""Lists: what counts as one, and what is a single item."""

from __future__ import annotations

import pytest

from citeqa.answer.lists import is_list, one_item


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
