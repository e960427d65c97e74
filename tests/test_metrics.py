from __future__ import annotations

import pytest

from citeqa.evaluation.metrics import (
    best_over,
    contains_answer,
    coverage_curve,
    exact_match,
    expected_calibration_error,
    f1,
    mrr,
    normalize_answer,
    recall_at,
)


def test_squad_normalisation() -> None:
    assert normalize_answer("The  Hong Kong’s, film!") == "hong kongs film"
    assert normalize_answer("an apple a day") == "apple day"


def test_exact_match_treats_curly_and_straight_quotes_alike() -> None:
    assert exact_match("Hong Kong’s film", "hong kong's film.") == 1.0
    assert exact_match("“Damai”", '"damai"') == 1.0
    assert exact_match("Damai", "Youku") == 0.0


def test_f1_on_hand_made_cases() -> None:
    assert f1("$640 million", "$640 million (HK$5 billion)") == pytest.approx(2 * 1 * 0.5 / 1.5)
    assert f1("the cat", "a cat") == 1.0
    assert f1("", "") == 1.0 and f1("x", "") == 0.0 and f1("a b", "c d") == 0.0
    assert best_over("f1", "Media Asia", ["TVB", "Media Asia Group"]) == pytest.approx(0.8)
    assert best_over("em", "x", []) == 0.0


def test_contains_answer_on_word_boundaries() -> None:
    assert contains_answer("It invests $640 million now.", ["640 million"])
    assert not contains_answer("It invests $6400 millions.", ["640 million"])
    assert not contains_answer("anything", [""])


def test_recall_and_mrr() -> None:
    ranks = [1, 3, 0, 10, 2]
    assert recall_at(ranks, 1) == 0.2
    assert recall_at(ranks, 5) == 0.6
    assert recall_at(ranks, 10) == 0.8
    assert mrr(ranks) == pytest.approx((1 + 1 / 3 + 0 + 0.1 + 0.5) / 5)
    assert recall_at([], 5) == 0.0 and mrr([]) == 0.0


def test_expected_calibration_error() -> None:
    assert expected_calibration_error([0.95, 0.95], [1, 1]) == pytest.approx(0.05)
    assert expected_calibration_error([0.15, 0.95], [0, 1]) == pytest.approx(0.1)
    assert expected_calibration_error([], []) == 0.0


def test_coverage_curve() -> None:
    pts = coverage_curve([0.9, 0.5, 0.5, 0.1], [1.0, 0.0, 1.0, 0.0])
    assert [p["threshold"] for p in pts] == [0.9, 0.5, 0.1]
    assert [p["coverage"] for p in pts] == [0.25, 0.75, 1.0]
    assert [p["accuracy"] for p in pts] == pytest.approx([1.0, 2 / 3, 0.5])
