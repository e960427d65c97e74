"""Two span readers in a cascade: the fast one reads the top passage, and the large one
reads the questions the fast one is not sure of.

The fast reader (MiniLM, 22M parameters) reads a passage in about 20 ms; the large one
(MPNet-base with LoRA adapters, 110M) reads paraphrase far better, at about five times the
cost. A fast answer from the top passage stands when its calibrated confidence reaches
``sure`` and the fast reader's own rules are content with it (a number for a sum, more than
one item for a list). Anything else, a fast abstention included, goes to the large reader,
which reads the top passage and, when not sure of it, the others; its own fitted
abstention then decides. The fast reader never reads the other passages itself: that
second pass almost never let a fast answer stand (docs/quality.md). ``sure`` is never below
either reader's threshold, so one threshold (the large reader's) decides every answer, and
no fast answer stands that the fast reader itself would decline. The large model loads on
the first question that needs it: a ``citeqa ask`` the fast reader is sure of never pays
for it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Protocol

import numpy as np

from citeqa.answer.abstain import Calibration
from citeqa.answer.read import FIRST_PASS, PassageRead, Reader, Reading
from citeqa.types import Hit

FAST = "fast"
LARGE = "large"


class FastReader(Reader, Protocol):
    """The cascade's fast reader: a reader that can say whether an answer from the top
    passage alone is all its rules need (``SpanReader``)."""

    def settled(self, reading: Reading) -> bool:
        """Whether ``reading``, from the top passage alone, leaves its rules nothing to
        look for in the other passages (``SpanReader.settled``)."""
        ...


class CascadeReader:
    name = "cascade"

    def __init__(
        self,
        fast: FastReader,
        large: Callable[[], Reader],
        large_calibration: Calibration,
        sure: float,
    ) -> None:
        """``large`` makes the large reader, whose abstention is ``large_calibration``;
        it is called once, on the first question that reaches it."""
        self.fast = fast
        self._make_large = large
        self._large: Reader | None = None
        self._loading = threading.Lock()
        self.calibration = large_calibration
        """The abstention whose threshold decides: the large reader's."""
        fast_calibration = getattr(fast, "calibration", None)
        fast_threshold = fast_calibration.threshold if fast_calibration is not None else 0.0
        self.sure = max(sure, large_calibration.threshold, fast_threshold)

    @property
    def large(self) -> Reader:
        with self._loading:
            if self._large is None:
                self._large = self._make_large()
            return self._large

    def warm(self) -> None:
        """Load the large model now: a server does, before its first question."""
        _ = self.large

    def read(self, question: str, query: np.ndarray, hits: Sequence[Hit]) -> Reading | None:
        if not hits:  # nothing to read: no reason to load the large model
            return None
        quick = self.fast.read(question, query, hits[:1])
        if quick is not None:
            alone = len(hits) == 1  # no other passage that an unsettled answer could look in
            if not alone:
                # the fast reader calls its read of one passage "all at once"; here it is
                # the first pass, the large reader reading the others
                quick = _as_first_pass(quick)
            if quick.confidence >= self.sure and (alone or self.fast.settled(quick)):
                return replace(quick, model=FAST, reads=_labelled(quick, FAST))
        slow = self.large.read(question, query, hits)
        if slow is None:
            return None
        reads = (_labelled(quick, FAST) if quick is not None else ()) + _labelled(slow, LARGE)
        return replace(slow, model=LARGE, reads=reads)

    def calibration_for(self, reading: Reading) -> Calibration | None:
        """The abstention that gave ``reading`` its confidence: the fast reader's for its
        answers, the large reader's for the rest."""
        if reading.model == FAST:
            return getattr(self.fast, "calibration", None)
        return self.calibration


def _as_first_pass(reading: Reading) -> Reading:
    return replace(reading, reads=tuple(replace(r, read_in=FIRST_PASS) for r in reading.reads))


def _labelled(reading: Reading, model: str) -> tuple[PassageRead, ...]:
    return tuple(replace(r, read_in=f"{model} reader, {r.read_in}") for r in reading.reads)
