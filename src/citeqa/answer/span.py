"""Span decoding for an extractive reader: from start/end logits to a character span.

Scores are raw logit sums, comparable across windows and passages of one question, as in
the original BERT SQuAD recipe; the null score is the [CLS] pair.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SpanGuess:
    score: float
    start: int
    """Character offsets into the text the window was cut from."""
    end: int
    null_score: float


def best_span(
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    offsets: Sequence[Sequence[int]],
    context_mask: list[bool],
    *,
    max_tokens: int = 30,
    top_n: int = 20,
    accept: Callable[[int, int], bool] | None = None,
) -> SpanGuess | None:
    """The best context span of one window, or None when the window has no context.
    ``accept`` (character offsets -> bool), when given, rules spans out."""
    idx = [i for i, keep in enumerate(context_mask) if keep]
    if not idx:
        return None
    s = np.asarray(start_logits, dtype=np.float32)
    e = np.asarray(end_logits, dtype=np.float32)
    ctx = np.array(idx)
    starts = ctx[np.argsort(-s[ctx])[:top_n]]
    ends = ctx[np.argsort(-e[ctx])[:top_n]]
    best: tuple[float, int, int] | None = None
    for i in starts:
        for j in ends:
            if j < i or j - i + 1 > max_tokens:
                continue
            score = float(s[i] + e[j])
            if best is not None and score <= best[0]:
                continue
            if accept is None or accept(offsets[i][0], offsets[j][1]):
                best = (score, int(i), int(j))
    if best is None:
        return None
    score, i, j = best
    return SpanGuess(
        score=score,
        start=offsets[i][0],
        end=offsets[j][1],
        null_score=float(s[0] + e[0]),
    )


@dataclass(frozen=True)
class Window:
    """The model's logits over one window of a text, with each token's character offsets
    into that text and its sequence id (1 = the text, not the question)."""

    start_logits: np.ndarray
    end_logits: np.ndarray
    offsets: list[list[int]]
    sequence_ids: list[int | None]

    def best(
        self, *, max_tokens: int, accept: Callable[[int, int], bool] | None = None
    ) -> SpanGuess | None:
        """The best span of this window's text."""
        mask = [
            sid == 1 and b > a for sid, (a, b) in zip(self.sequence_ids, self.offsets, strict=True)
        ]
        return best_span(
            self.start_logits,
            self.end_logits,
            self.offsets,
            mask,
            max_tokens=max_tokens,
            accept=accept,
        )
