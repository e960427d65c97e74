"""Frozen dataclasses that cross module borders. Every text-bearing value is an
``(source, start, end)`` span of the document's text, with ``text[start:end] == value``: the
raw file for ``.txt`` and ``.md``, the extracted text for HTML, PDF and Word
(``citeqa.corpus.extract.document_text`` reproduces it)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class SkippedSpan:
    """A span of the raw text that cleaning dropped, and why."""

    start: int
    end: int
    reason: str


@dataclass(frozen=True)
class DroppedText:
    """Something an extractor left out of the document's text (it never reaches the index,
    so it has no offsets): a repeated page header, a page number."""

    reason: str
    text: str
    count: int = 1


@dataclass(frozen=True)
class Block:
    """A kept stretch of content (a line, trimmed). Blocks with the same ``region`` are not
    separated by dropped text, so a passage may run across them."""

    start: int
    end: int
    region: int


@dataclass(frozen=True)
class Document:
    """One corpus file. ``text`` is the whole document text (the raw file, or what the
    extractor made of it), so ``start`` is 0 and ``end`` its length."""

    id: str
    source: str
    title: str
    date: str | None
    text: str
    sha256: str
    size: int
    skipped: tuple[SkippedSpan, ...] = ()
    blocks: tuple[Block, ...] = ()
    extractor: str = "raw"
    """What made ``text``: "raw" (the file itself) or a library and its version."""
    pages: tuple[int, ...] = ()
    """Offset in ``text`` where each page starts (PDF only): page n starts at pages[n - 1]."""
    dropped: tuple[DroppedText, ...] = ()

    @property
    def start(self) -> int:
        return 0

    @property
    def end(self) -> int:
        return len(self.text)


@dataclass(frozen=True)
class Sentence:
    source: str
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Passage:
    """A run of whole sentences from one region of one document."""

    id: str
    doc_id: str
    source: str
    title: str
    start: int
    end: int
    text: str
    sentences: tuple[Sentence, ...]
    date: str | None = None


@dataclass(frozen=True)
class Hit:
    """A retrieved passage, with the evidence from each retriever (rank 0 = not found)."""

    passage: Passage
    score: float
    """The fused retrieval score, in [0, 1] (``retrieve.fuse``)."""
    dense_score: float = 0.0
    dense_rank: int = 0
    lexical_score: float = 0.0
    lexical_rank: int = 0


@dataclass(frozen=True)
class Citation:
    source: str
    title: str
    passage_id: str
    start: int
    end: int
    text: str
    score: float
    page: int | None = None
    """The page (from 1) of the cited text, in paged documents (PDF); passages never span
    two pages."""


EMPTY_CITATION = Citation(source="", title="", passage_id="", start=0, end=0, text="", score=0.0)


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    abstained: bool
    score: float
    source: str
    start: int
    end: int
    sentence: Citation
    citations: list[Citation] = field(default_factory=list)
    related: list[Citation] = field(default_factory=list)
    page: int | None = None
    """The page (from 1) where the answer starts, for paged documents (PDF)."""
    reason: str = ""
    """Why there is no answer, in a short sentence ("" when answered): ``explain.verdict``."""
    read_by: str = ""
    """Which of the cascade's readers read it, "fast" or "large" ("" for a single reader)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, the same shape as the dataclass."""
        return asdict(self)
