"""Span decoding from start/end logits (``answer/span.py``), on hand-made logits, and the
trimming of a decoded span."""

from __future__ import annotations

import numpy as np
import pytest

from citeqa.answer.span import best_span

# [CLS] then four context tokens, each three characters wide.
OFFSETS = [[0, 0], [0, 3], [4, 7], [8, 11], [12, 15]]
MASK = [False, True, True, True, True]


def test_the_best_span_is_the_highest_start_plus_end() -> None:
    start = np.array([1.0, 0.0, 5.0, 1.0, 2.0])
    end = np.array([2.0, 0.0, 1.0, 4.0, 3.0])
    guess = best_span(start, end, OFFSETS, MASK)
    assert guess is not None
    assert (guess.start, guess.end, guess.score, guess.null_score) == (4, 11, 9.0, 3.0)


def test_an_end_before_its_start_or_a_span_too_long_is_never_chosen() -> None:
    start = np.array([0.0, 0.0, 0.0, 5.0, 0.0])
    end = np.array([0.0, 0.0, 5.0, 0.0, 1.0])
    guess = best_span(start, end, OFFSETS, MASK)
    assert guess is not None and (guess.start, guess.end) == (8, 15)
    short = best_span(start, end, OFFSETS, MASK, max_tokens=1)
    assert short is not None and short.end - short.start == 3


def test_accept_rules_spans_out_and_the_best_of_the_rest_wins() -> None:
    start = np.array([0.0, 0.0, 5.0, 1.0, 2.0])
    end = np.array([0.0, 0.0, 1.0, 4.0, 2.0])
    guess = best_span(start, end, OFFSETS, MASK, accept=lambda a, b: a >= 8)
    assert guess is not None and (guess.start, guess.end) == (8, 11)
    assert best_span(start, end, OFFSETS, MASK, accept=lambda a, b: False) is None


def test_a_window_without_context_has_no_span() -> None:
    logits = np.zeros(5)
    assert best_span(logits, logits, OFFSETS, [False] * 5) is None


@pytest.mark.parametrize(
    ("span", "trimmed"),
    [
        ("HK$5 billion.", "HK$5 billion"),
        (", TVB, Shaw Brothers;", "TVB, Shaw Brothers"),
        ("the U.S.", "the U.S."),
        ("at 5 p.m.", "at 5 p.m."),
        ("Alibaba Group Holding Ltd.", "Alibaba Group Holding Ltd."),
        ("visited the US.", "visited the US"),
        (" .", ""),
        ("$640 million (HK$5 billion", "$640 million"),
        ("$640 million (HK$5 billion)", "$640 million (HK$5 billion)"),
        ("(HK$5 billion", "HK$5 billion"),
        ("TVB (a broadcaster) and Shaw (a studio", "TVB (a broadcaster) and Shaw"),
        ("f(x (y", "f"),
        ("(", ""),
        ("((", ""),
        ("((HK$5 billion", "HK$5 billion"),
        ("(a (b", "a"),
        ("(TVB (a broadcaster)", "TVB (a broadcaster)"),
        ("HK$5 billion)", "HK$5 billion"),
        ("billion) to revitalize", "billion) to revitalize"),
    ],
)
def test_trim_keeps_an_abbreviations_full_stop_and_closes_no_bracket(
    span: str, trimmed: str
) -> None:
    from citeqa.answer.span_edit import trim

    a, b = trim(span, 0, len(span))
    assert span[a:b] == trimmed


@pytest.mark.parametrize(
    ("text", "span", "answer"),
    [
        (
            "pours $640 million (HK$5 billion) into film",
            "$640 million (HK$5",
            "$640 million (HK$5 billion)",
        ),
        (
            "$640 million (HK$5 billion in all, over five years, and more to come)",
            "$640 million (HK$5",
            "$640 million",
        ),
        ("TVB (a (state) broadcaster) and Shaw", "TVB (a (state", "TVB (a (state) broadcaster)"),
        ("Youku (a platform\nof Alibaba)", "Youku (a platform", "Youku"),
    ],
)
def test_trim_closes_a_bracket_where_the_text_closes_it_nearby(
    text: str, span: str, answer: str
) -> None:
    from citeqa.answer.span_edit import trim

    a = text.index(span)
    lo, hi = trim(text, a, a + len(span))
    assert text[lo:hi] == answer
