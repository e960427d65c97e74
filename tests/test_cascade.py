"""The cascade's decision, both ways (``answer/cascade.py``), with stand-in readers."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from citeqa.answer.abstain import FEATURES, Calibration
from citeqa.answer.cascade import FAST, LARGE, CascadeReader
from citeqa.answer.read import FIRST_PASS, ONE_PASS, Evidence, PassageRead, Reading
from citeqa.types import Hit, Passage, Sentence

TEXT = "Alibaba will invest HK$5 billion. TVB signed too."
SENTENCE = Sentence("a.txt", 0, 33, TEXT[:33])
HIT = Hit(Passage("a-0", "a", "a.txt", "A", 0, len(TEXT), TEXT, (SENTENCE,)), 0.9)
QUERY = np.zeros(3, dtype=np.float32)


def _reading(confidence: float, span: str) -> Reading:
    start = TEXT.index(span)
    read = PassageRead(HIT.passage.id, span, 1.0, ONE_PASS)
    evidence = Evidence("money", True, 0.5, 0.5, 0.0, "")
    return Reading(HIT, SENTENCE, start, start + len(span), confidence, evidence, (read,))


class Stand:
    """A reader that gives one reading, counts its questions and keeps the passages it
    was given."""

    def __init__(
        self,
        name: str,
        reading: Reading | None,
        threshold: float = 0.5,
        settled: bool = True,
    ) -> None:
        self.name = name
        self.reading = reading
        self.calibration = Calibration((0.0,) * len(FEATURES), 0.0, threshold)
        self.asked = 0
        self.given: list[list[Hit]] = []
        self._settled = settled

    def read(self, question: str, query: np.ndarray, hits: Sequence[Hit]) -> Reading | None:
        self.asked += 1
        self.given.append(list(hits))
        return self.reading

    def settled(self, reading: Reading) -> bool:
        return self._settled


def _cascade(fast: Stand, large: Stand, sure: float) -> tuple[CascadeReader, list[int]]:
    made: list[int] = []

    def make() -> Stand:
        made.append(1)
        return large

    return CascadeReader(fast, make, large.calibration, sure), made


def test_a_sure_fast_answer_stands_and_the_large_model_never_loads() -> None:
    fast = Stand("span", _reading(0.9, "HK$5 billion"))
    large = Stand("large", _reading(0.7, "Alibaba"))
    cascade, made = _cascade(fast, large, sure=0.8)
    reading = cascade.read("How much?", QUERY, [HIT])
    assert reading is not None and reading.text == "HK$5 billion"
    assert reading.model == FAST and not made and large.asked == 0
    assert [r.read_in for r in reading.reads] == [f"fast reader, {ONE_PASS}"]
    assert cascade.calibration_for(reading) is fast.calibration


@pytest.mark.parametrize("fast_reading", [_reading(0.79, "HK$5 billion"), None])
def test_an_unsure_or_empty_fast_reading_goes_to_the_large_reader(
    fast_reading: Reading | None,
) -> None:
    fast = Stand("span", fast_reading)
    large = Stand("large", _reading(0.3, "Alibaba"))
    cascade, made = _cascade(fast, large, sure=0.8)
    for _ in range(2):
        reading = cascade.read("Who?", QUERY, [HIT])
        # the large reader's answer, even when less confident: its abstention decides
        assert reading is not None and reading.text == "Alibaba" and reading.model == LARGE
    assert reading is not None
    assert made == [1] and large.asked == 2  # loaded once
    assert [r.read_in for r in reading.reads] == [
        *([f"fast reader, {ONE_PASS}"] if fast_reading else []),
        f"large reader, {ONE_PASS}",
    ]
    assert cascade.calibration_for(reading) is large.calibration


@pytest.mark.parametrize(("fast_threshold", "large_threshold"), [(0.2, 0.7), (0.7, 0.2)])
def test_the_bar_is_never_below_either_readers_threshold(
    fast_threshold: float, large_threshold: float
) -> None:
    """Else a fast answer could stand at a confidence that the large reader's threshold
    (the one the policy applies) or the fast reader's own would refuse."""
    fast = Stand("span", _reading(0.6, "HK$5 billion"), threshold=fast_threshold)
    large = Stand("large", _reading(0.9, "Alibaba"), threshold=large_threshold)
    cascade, _ = _cascade(fast, large, sure=0.5)
    assert cascade.sure == 0.7
    reading = cascade.read("How much?", QUERY, [HIT])
    assert reading is not None and reading.model == LARGE


def test_threads_asking_at_once_load_the_large_model_once() -> None:
    import threading
    import time

    fast = Stand("span", _reading(0.1, "HK$5 billion"))
    large = Stand("large", _reading(0.9, "Alibaba"))
    made: list[int] = []

    def make() -> Stand:
        made.append(1)
        time.sleep(0.05)  # a slow load, for the others to arrive during it
        return large

    cascade = CascadeReader(fast, make, large.calibration, 0.8)
    got: list[Reading | None] = []
    threads = [
        threading.Thread(target=lambda: got.append(cascade.read("Who?", QUERY, [HIT])))
        for _ in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert made == [1] and large.asked == 6
    assert [r.text if r else None for r in got] == ["Alibaba"] * 6


OTHER = Hit(Passage("b-0", "b", "b.txt", "B", 0, len(TEXT), TEXT, (SENTENCE,)), 0.5)


def test_the_fast_reader_reads_the_top_passage_and_the_large_one_all_of_them() -> None:
    fast = Stand("span", _reading(0.5, "HK$5 billion"))
    large = Stand("large", _reading(0.9, "Alibaba"))
    cascade, _ = _cascade(fast, large, sure=0.8)
    reading = cascade.read("Who?", QUERY, [HIT, OTHER])
    assert fast.given == [[HIT]] and large.given == [[HIT, OTHER]]
    assert reading is not None
    # the trace says the fast reader read the top passage alone, not "all at once"
    assert [r.read_in for r in reading.reads] == [
        f"fast reader, {FIRST_PASS}",
        f"large reader, {ONE_PASS}",
    ]


@pytest.mark.parametrize("settled", [True, False])
def test_a_sure_fast_answer_its_rules_are_not_content_with_goes_to_the_large_reader(
    settled: bool,
) -> None:
    """A sum of money without a number, or a list of one item, from the top passage: the
    others may hold the rest, and only the large reader reads them."""
    fast = Stand("span", _reading(0.95, "TVB"), settled=settled)
    large = Stand("large", _reading(0.9, "Alibaba"))
    cascade, _ = _cascade(fast, large, sure=0.8)
    reading = cascade.read("Which studios?", QUERY, [HIT, OTHER])
    assert reading is not None
    assert reading.model == (FAST if settled else LARGE)
    assert large.asked == (0 if settled else 1)


def test_a_fast_answer_from_the_top_of_several_passages_is_its_first_pass() -> None:
    fast = Stand("span", _reading(0.9, "HK$5 billion"))
    cascade, made = _cascade(fast, Stand("large", None), sure=0.8)
    reading = cascade.read("How much?", QUERY, [HIT, OTHER])
    assert reading is not None and reading.model == FAST and not made
    assert [r.read_in for r in reading.reads] == [f"fast reader, {FIRST_PASS}"]


def test_with_one_passage_an_unsettled_sure_answer_stands() -> None:
    """No other passage could hold the rest of the list, so the large model is not
    loaded to read the same one."""
    fast = Stand("span", _reading(0.95, "TVB"), settled=False)
    cascade, made = _cascade(fast, Stand("large", _reading(0.9, "Alibaba")), sure=0.8)
    reading = cascade.read("Which studios?", QUERY, [HIT])
    assert reading is not None and reading.model == FAST and not made


def test_no_passages_no_answer_and_no_large_model() -> None:
    fast = Stand("span", None)
    cascade, made = _cascade(fast, Stand("large", _reading(0.9, "Alibaba")), sure=0.8)
    assert cascade.read("Who?", QUERY, []) is None
    assert not made and fast.asked == 0
