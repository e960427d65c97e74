"""Sentences and passages as spans of the raw text.

Sentences come from pysbd, a rule-based segmenter that keeps "US$640 million (HK$5 billion)",
"2.3%", "Dr." and "U.S." whole. pysbd returns strings, not offsets, so each one is located
in the block it came from; text pysbd altered cannot be located, and then the rest of the
block becomes one sentence, which keeps the offset invariant whatever the input.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from functools import lru_cache

from citeqa.types import Document, Passage, Sentence


@dataclass(frozen=True)
class ChunkSettings:
    """How passages are cut. Recorded in the manifest: changing one makes an index stale."""

    sentences: int = 4
    overlap: int = 1
    max_chars: int = 1200
    """A passage stops growing before it passes this many characters, and a longer
    sentence is cut in pieces (MiniLM reads ~256 word pieces, about 1,000 characters of
    English, and ignores the rest)."""

    def __post_init__(self) -> None:
        if self.sentences < 1:
            raise ValueError(f"sentences per passage must be at least 1, got {self.sentences}")
        if not 0 <= self.overlap < self.sentences:
            raise ValueError(
                f"overlap must be in [0, {self.sentences - 1}] for {self.sentences}-sentence"
                f" passages, got {self.overlap}"
            )
        if self.max_chars < 1:
            raise ValueError(f"max_chars must be positive, got {self.max_chars}")

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


@lru_cache(maxsize=1)
def segmenter() -> object:
    import pysbd

    return pysbd.Segmenter(language="en", clean=False)


def split_sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence spans inside ``text[start:end]``, trimmed of surrounding whitespace."""
    # A block of several lines is one paragraph hard-wrapped, and pysbd would end a
    # sentence at every line break. A space for each break keeps every offset.
    block = text[start:end].replace("\n", " ")
    try:
        pieces: list[str] = segmenter().segment(block)  # type: ignore[attr-defined]
    except Exception:  # pysbd is rule-based regex code; odd input must not stop indexing
        pieces = [block]
    spans: list[tuple[int, int]] = []
    cursor = 0
    for piece in pieces:
        piece = piece.strip()
        if not piece:
            continue
        at = block.find(piece, cursor)
        if at < 0:
            break
        spans.append((at, at + len(piece)))
        cursor = at + len(piece)
    rest = block[cursor:]
    if rest.strip():
        lead = len(rest) - len(rest.lstrip())
        spans.append((cursor + lead, cursor + len(rest.rstrip())))
    return [(start + a, start + b) for a, b in spans]


def sentences_of(doc: Document, max_chars: int) -> list[tuple[int, Sentence]]:
    """Every sentence of the document's kept blocks, with its region number; one longer
    than ``max_chars`` in pieces."""
    out: list[tuple[int, Sentence]] = []
    for block in doc.blocks:
        for span in split_sentences(doc.text, block.start, block.end):
            for a, b in _cut(doc.text, *span, max_chars):
                out.append((block.region, Sentence(doc.source, a, b, doc.text[a:b])))
    return out


def _cut(text: str, a: int, b: int, max_chars: int) -> Iterator[tuple[int, int]]:
    """``text[a:b]`` (trimmed) in pieces of at most ``max_chars``, cut at whitespace where
    there is some. Text with no sentence break (a table row, minified text) would otherwise
    be one passage, which the embedder reads only as far as its first ~256 word pieces."""
    while b - a > max_chars:
        end = a + max_chars
        cut = next((i for i in range(end, a, -1) if text[i].isspace()), end)
        stop = cut
        while text[stop - 1].isspace():
            stop -= 1
        yield a, stop
        a = cut
        while text[a].isspace():
            a += 1
    yield a, b


def passage_id(source: str, text: str) -> str:
    """Content hash: the same text in the same file keeps its id across rebuilds."""
    return hashlib.sha256(f"{source}\n{text}".encode()).hexdigest()[:16]


def chunk_document(doc: Document, settings: ChunkSettings = ChunkSettings()) -> list[Passage]:
    """Passages of whole sentences; none crosses a dropped span (a region border)."""
    passages: list[Passage] = []
    for region in _group_by_region(sentences_of(doc, settings.max_chars)):
        for window in _windows(region, settings):
            a, b = window[0].start, window[-1].end
            text = doc.text[a:b]
            passages.append(
                Passage(
                    id=passage_id(doc.source, text),
                    doc_id=doc.id,
                    source=doc.source,
                    title=doc.title,
                    start=a,
                    end=b,
                    text=text,
                    sentences=tuple(window),
                    date=doc.date,
                )
            )
    return passages


def chunk_corpus(
    docs: Iterable[Document], settings: ChunkSettings = ChunkSettings()
) -> list[Passage]:
    return [p for doc in docs for p in chunk_document(doc, settings)]


def _group_by_region(items: list[tuple[int, Sentence]]) -> Iterator[list[Sentence]]:
    group: list[Sentence] = []
    current = None
    for region, sentence in items:
        if group and region != current:
            yield group
            group = []
        current = region
        group.append(sentence)
    if group:
        yield group


def _windows(sentences: list[Sentence], s: ChunkSettings) -> Iterator[list[Sentence]]:
    """Runs of up to ``s.sentences`` sentences, each starting ``overlap`` sentences before
    the previous one ended, cut short at ``max_chars``. The last run always reaches the end."""
    i = 0
    n = len(sentences)
    while i < n:
        j = i + 1
        while (
            j < n and j - i < s.sentences and sentences[j].end - sentences[i].start <= s.max_chars
        ):
            j += 1
        yield sentences[i:j]
        if j >= n:
            return
        i = max(j - s.overlap, i + 1)
