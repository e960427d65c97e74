"""The cite stage: a reading made an ``Answer`` with its sentence and the passages that
state it, each a citation with exact offsets (and a page, in paged documents)."""

from __future__ import annotations

import re

from citeqa.answer.read import Reading
from citeqa.index.store import LoadedIndex
from citeqa.types import Answer, Citation, Hit


def cited_answer(
    question: str,
    reading: Reading,
    hits: list[Hit],
    related: list[Citation],
    index: LoadedIndex,
) -> Answer:
    passage = reading.hit.passage
    text = reading.text
    sentence = Citation(
        source=passage.source,
        title=passage.title,
        passage_id=passage.id,
        start=reading.sentence.start,
        end=reading.sentence.end,
        text=reading.sentence.text,
        score=reading.confidence,
        page=index.page_at(passage.source, reading.sentence.start),
    )
    # Evidence first: the answer's passage, then any other passage stating the same text.
    citations = [citation(reading.hit, index)]
    citations += [
        citation(h, index) for h in hits if h is not reading.hit and states(h.passage.text, text)
    ]
    return Answer(
        question=question,
        text=text,
        abstained=False,
        score=reading.confidence,
        source=passage.source,
        start=reading.start,
        end=reading.end,
        sentence=sentence,
        citations=citations,
        related=related,
        page=index.page_at(passage.source, reading.start),
    )


def states(passage: str, answer: str) -> bool:
    """Whether ``passage`` has ``answer`` as whole words: "2019" is not in "20190", nor
    "Ma" in "Mayor"."""
    return where_stated(passage, answer) is not None


def where_stated(passage: str, answer: str) -> tuple[int, int] | None:
    """Where ``passage`` first has ``answer`` as whole words (as ``states`` reads it)."""
    before = r"(?<!\w)" if re.match(r"\w", answer) else ""
    after = r"(?!\w)" if re.search(r"\w$", answer) else ""
    found = re.search(before + re.escape(answer) + after, passage)
    return found.span() if found else None


def citation(hit: Hit, index: LoadedIndex) -> Citation:
    p = hit.passage
    page = index.page_at(p.source, p.start)
    return Citation(p.source, p.title, p.id, p.start, p.end, p.text, hit.score, page)
