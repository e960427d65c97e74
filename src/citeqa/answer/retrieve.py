"""Find the passages for a question: dense (FAISS), lexical (BM25) and their fusion.

Fusion is a convex combination of the two scores, each min-max normalised over its own
ranked list (Bruch et al., 2023, "An Analysis of Fusion Functions for Hybrid
Retrieval"): unlike reciprocal rank, it keeps how far ahead a passage is, so a passage
that one retriever ranks far above the rest is not outvoted by one that both rank middling.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from citeqa.index import lexicon
from citeqa.index.lexicon import Lexicon, terms
from citeqa.index.store import LoadedIndex
from citeqa.types import Hit


@dataclass(frozen=True)
class RetrievalSettings:
    dense_weight: float = 0.5
    """The dense score's weight in the fusion, BM25's being the rest: equal weights, not
    tuned (0.5 ranked better than reciprocal rank on every validation set measured)."""
    depth: int = 20
    """How many passages each retriever ranks before fusion; the last of them is the one
    whose normalised score is 0."""
    k1: float = lexicon.K1
    b: float = lexicon.B
    """BM25's parameters. An index stores BM25 for the defaults; others build it anew."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.dense_weight <= 1.0:
            raise ValueError(f"dense_weight must be in [0, 1], got {self.dense_weight}")


class Retriever:
    """Dense, lexical and fused search over one loaded index. Read-only after __init__,
    so one instance serves many threads."""

    def __init__(self, index: LoadedIndex, settings: RetrievalSettings = RetrievalSettings()):
        self.index = index
        self.settings = settings
        if (settings.k1, settings.b) == (lexicon.K1, lexicon.B):
            self.lexicon = index.lexicon
        else:
            self.lexicon = Lexicon.build([p.text for p in index.passages], settings.k1, settings.b)
        self.rows = {p.id: i for i, p in enumerate(index.passages)}

    def rows_of(self, sources: frozenset[str]) -> list[int]:
        """The passage rows of some documents, in index order."""
        return [i for i, p in enumerate(self.index.passages) if p.source in sources]

    def dense(
        self, query: np.ndarray, k: int, within: list[int] | None = None
    ) -> list[tuple[int, float]]:
        if within is not None:  # exact scores over a few rows, no index search needed
            vecs = self.index.vectors.reconstruct_batch(np.asarray(within, dtype=np.int64))
            scores = vecs @ query.astype(np.float32)
            order = np.argsort(-scores, kind="stable")[:k]
            return [(within[i], float(scores[i])) for i in order]
        k = min(k, self.index.vectors.ntotal)
        if k <= 0:
            return []
        scores, rows = self.index.vectors.search(query.reshape(1, -1).astype(np.float32), k)
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0]

    def lexical(
        self, question: str, k: int, within: list[int] | None = None
    ) -> list[tuple[int, float]]:
        known = [t for t in terms(question) if self.lexicon.knows(t)]
        if not known:
            return []
        scores = self.lexicon.scores(known)
        if within is not None:
            mask = np.full(scores.shape, -1.0, dtype=scores.dtype)
            mask[within] = scores[within]
            scores = mask
        order = np.argsort(-scores, kind="stable")[:k]
        return [(int(r), float(scores[r])) for r in order if scores[r] > 0]

    def search(
        self,
        question: str,
        query: np.ndarray,
        top_k: int,
        sources: frozenset[str] | None = None,
    ) -> list[Hit]:
        """The ``top_k`` passages by the fused score of dense and BM25, optionally only
        from the documents named in ``sources``."""
        depth = max(top_k, self.settings.depth)
        within = self.rows_of(sources) if sources is not None else None
        dense = self.dense(query, depth, within)
        lexical = self.lexical(question, depth, within)
        found = {
            kind: {row: (rank, score) for rank, (row, score) in enumerate(ranked, 1)}
            for kind, ranked in (("dense", dense), ("lexical", lexical))
        }
        hits = []
        for row, score in fuse(dense, lexical, self.settings.dense_weight)[:top_k]:
            dense_rank, dense_score = found["dense"].get(row, (0, 0.0))
            lexical_rank, lexical_score = found["lexical"].get(row, (0, 0.0))
            hits.append(
                Hit(
                    self.index.passages[row],
                    score,
                    dense_score,
                    dense_rank,
                    lexical_score,
                    lexical_rank,
                )
            )
        return hits


def fuse(
    dense: list[tuple[int, float]], lexical: list[tuple[int, float]], dense_weight: float
) -> list[tuple[int, float]]:
    """Rows and their fused scores, best first (ties by row): each list's scores min-max
    normalised, then weighted; a row missing from a list gets 0 from it."""
    fused: dict[int, float] = {}
    for weight, ranked in ((dense_weight, dense), (1.0 - dense_weight, lexical)):
        for (row, _), unit in zip(ranked, _min_max(ranked), strict=True):
            fused[row] = fused.get(row, 0.0) + weight * unit
    return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))


def _min_max(ranked: list[tuple[int, float]]) -> list[float]:
    """Scores scaled to [0, 1] over one retriever's list, best first: the best 1, the
    worst 0, and all 1 when they are equal."""
    if not ranked:
        return []
    top, bottom = ranked[0][1], ranked[-1][1]
    if top <= bottom:
        return [1.0] * len(ranked)
    return [(score - bottom) / (top - bottom) for _, score in ranked]
