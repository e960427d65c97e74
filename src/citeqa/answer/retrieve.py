"""Find the passages for a question: dense (FAISS), lexical (BM25) and their fusion.

Fusion is reciprocal rank (Cormack et al., 2009): each retriever contributes
``1 / (k + rank)``; ranks, not raw scores, so the two scales need no calibration.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from citeqa.index import lexicon
from citeqa.index.lexicon import Lexicon, terms
from citeqa.index.store import LoadedIndex
from citeqa.types import Hit


@dataclass(frozen=True)
class RetrievalSettings:
    rrf_k: int = 60
    """The RRF constant: larger flattens the difference between top ranks (60 is the
    value from the original paper and a robust default)."""
    depth: int = 20
    """How many passages each retriever ranks before fusion."""
    k1: float = lexicon.K1
    b: float = lexicon.B
    """BM25's parameters. An index stores BM25 for the defaults; others build it anew."""

    def to_dict(self) -> dict[str, Any]:
        return {"rrf_k": self.rrf_k, "depth": self.depth, "k1": self.k1, "b": self.b}


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
        """The ``top_k`` passages by reciprocal-rank fusion of dense and BM25 ranks,
        optionally only from the documents named in ``sources``."""
        depth = max(top_k, self.settings.depth)
        within = self.rows_of(sources) if sources is not None else None
        dense = self.dense(query, depth, within)
        lexical = self.lexical(question, depth, within)
        fused: dict[int, dict[str, float]] = {}
        for kind, ranked in (("dense", dense), ("lexical", lexical)):
            for rank, (row, score) in enumerate(ranked, 1):
                entry = fused.setdefault(row, {"rrf": 0.0})
                entry["rrf"] += 1.0 / (self.settings.rrf_k + rank)
                entry[f"{kind}_score"] = score
                entry[f"{kind}_rank"] = rank
        best = sorted(fused.items(), key=lambda kv: (-kv[1]["rrf"], kv[0]))[:top_k]
        return [
            Hit(
                passage=self.index.passages[row],
                score=e["rrf"],
                dense_score=e.get("dense_score", 0.0),
                dense_rank=int(e.get("dense_rank", 0)),
                lexical_score=e.get("lexical_score", 0.0),
                lexical_rank=int(e.get("lexical_rank", 0)),
            )
            for row, e in best
        ]
