"""What every reader gives: from retrieved passages, one answer span (``Reading``) and the
evidence for it (``Evidence``) that abstention weighs. The readers are ``SpanReader``
(``span_reader.py``) and ``SentenceReader`` (``sentence_reader.py``); ``readers.py``
names them and the default.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from citeqa.types import Hit, Sentence


@dataclass(frozen=True)
class Evidence:
    """Why a reader believes its answer; the abstention policy reads these."""

    kind: str
    """The question's expected answer type (question_types.MONEY, ...)."""
    typed: bool
    """A span of that type was found (always True for untyped questions)."""
    dense: float
    """Cosine of question and answer sentence."""
    coverage: float
    """IDF-weighted share of the question's words found in the answer's passage."""
    unknown: float
    """IDF-weighted share of the question's words found nowhere in the corpus."""
    missing_name: str
    """A name or acronym from the question that no document contains ("" if none)."""
    margin: float = 0.0
    """The span model's best span score less its [CLS] "no answer" score (span reader)."""
    rank: int = 0
    """Where the answer's passage stood among those retrieved (0: first)."""


@dataclass(frozen=True)
class PassageRead:
    """What the reader made of one passage it read: for the trace (``citeqa.explain``),
    never for choosing the answer."""

    passage_id: str
    span: str
    """The passage's best span, as the model cut it ("" when no span passed its rules)."""
    margin: float | None
    """Its score less the lowest [CLS] "no answer" score among the passage's windows: the
    same measure as ``Evidence.margin``, over one passage (None for a reader without one)."""
    read_in: str
    """Which pass read it: ``FIRST_PASS``, ``SECOND_PASS`` or ``ONE_PASS``."""


FIRST_PASS = "top passage alone"
SECOND_PASS = "the others"
ONE_PASS = "all at once"


@dataclass(frozen=True)
class Reading:
    """A reader's best answer: a span of one sentence of one retrieved passage."""

    hit: Hit
    sentence: Sentence
    start: int
    end: int
    """File offsets of the answer; ``start == sentence.start`` and ``end == sentence.end``
    when the reader fell back to the whole sentence."""
    confidence: float
    evidence: Evidence
    reads: tuple[PassageRead, ...] = ()
    """Each passage the reader read, in retrieval order."""
    model: str = ""
    """Which of a cascade's readers gave it (``cascade.FAST`` or ``LARGE``); "" when a
    single reader did."""

    @property
    def text(self) -> str:
        """The answer's text, cut from its passage."""
        passage = self.hit.passage
        return passage.text[self.start - passage.start : self.end - passage.start]


class Reader(Protocol):
    name: str

    def read(
        self,
        question: str,
        query: np.ndarray,
        hits: Sequence[Hit],
    ) -> Reading | None:
        """The best answer among ``hits`` (best first), or None when they hold no text."""
        ...
