"""Ask ``QA`` every question of a QA set and score each outcome: the answer, its score,
EM and F1, the citation, the latency and where retrieval ranked the gold passage.

Every question is answered once with abstention switched off, so one run gives both the
figures at the threshold in use and the whole coverage curve (``report.py``).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from citeqa.evaluation.metrics import best_over, contains_answer
from citeqa.evaluation.qa_set import QAItem


@dataclass(frozen=True)
class Row:
    """One question's outcome."""

    id: str
    question: str
    category: str
    gold: tuple[str, ...]
    prediction: str
    """The answer given ("" when abstained at the threshold in use)."""
    candidate: str
    """The reader's best span, whatever its confidence."""
    abstained: bool
    score: float
    em: float
    f1: float
    cited: bool
    """First citation's source is a gold source and its text contains a gold answer."""
    ms: float
    gold_rank: dict[str, int]
    """Rank (1-based; 0 = not in the top 10) of the first passage holding a gold answer,
    for dense, lexical and hybrid retrieval."""
    read_by: str = ""
    """Which of the cascade's readers read it ("" for a single reader)."""


RANK_DEPTH = 10


def score(
    qa: Any,
    items: Sequence[QAItem],
    *,
    top_k: int = 5,
    progress: bool = False,
    gold_setting: bool = False,
) -> list[Row]:
    """Answer every item. ``qa`` is a loaded ``QA``; its abstention threshold is applied
    after the fact, so ``Row.candidate`` and ``Row.score`` exist for every question. In
    the gold setting the reader sees only the passages of the item's own sources (all of
    them when it names none, as for an unanswerable question)."""
    threshold = qa.policy.min_confidence
    open_qa = dataclasses.replace(qa.policy, min_confidence=0.0)
    saved, qa.policy = qa.policy, open_qa
    try:
        rows = [_one(qa, item, top_k, threshold, gold_setting) for item in _bar(items, progress)]
    finally:
        qa.policy = saved
    return rows


def _bar(items: Sequence[QAItem], progress: bool) -> Any:
    if not progress:
        return items
    from tqdm import tqdm

    return tqdm(items, unit="question", desc="evaluating")


def _one(qa: Any, item: QAItem, top_k: int, threshold: float, gold_setting: bool) -> Row:
    started = time.perf_counter()
    if gold_setting and item.sources:
        ans = qa.ask(item.question, top_k=top_k, sources=frozenset(item.sources))
    else:  # open, or a question with no sources (unanswerable): all documents
        ans = qa.ask(item.question, top_k=top_k)
    ms = (time.perf_counter() - started) * 1000
    abstained = ans.abstained or ans.score < threshold
    pred = "" if abstained else ans.text
    first = ans.citations[0] if ans.citations and not abstained else None
    cited = bool(
        first is not None
        and (not item.sources or first.source in item.sources)
        and contains_answer(first.text, item.answers)
    )
    if item.answers:
        em, f1 = best_over("em", pred, item.answers), best_over("f1", pred, item.answers)
    else:
        em = f1 = float(abstained)
    return Row(
        id=item.id,
        question=item.question,
        category=item.category,
        gold=item.answers,
        prediction=pred,
        candidate=ans.text,
        abstained=abstained,
        score=ans.score,
        em=em,
        f1=f1,
        cited=cited,
        ms=ms,
        gold_rank=_gold_ranks(qa, item) if item.answers else {},
        read_by=ans.read_by,
    )


def _gold_ranks(qa: Any, item: QAItem) -> dict[str, int]:
    question = " ".join(item.question.split())
    query = qa.embedder.encode([question])[0]
    ranked = {
        "dense": [row for row, _ in qa.retriever.dense(query, RANK_DEPTH)],
        "lexical": [row for row, _ in qa.retriever.lexical(question, RANK_DEPTH)],
        "hybrid": [
            qa.retriever.rows[h.passage.id]
            for h in qa.retriever.search(question, query, RANK_DEPTH)
        ],
    }
    passages = qa.index.passages

    def is_gold(row: int) -> bool:
        p = passages[row]
        return (not item.sources or p.source in item.sources) and contains_answer(
            p.text, item.answers
        )

    return {
        kind: next((rank for rank, row in enumerate(rows, 1) if is_gold(row)), 0)
        for kind, rows in ranked.items()
    }
