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
