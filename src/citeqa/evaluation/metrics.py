"""Answer and retrieval metrics as plain functions (SQuAD's official normalisation, with
curly and straight quotes treated alike)."""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence

import numpy as np

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
_PUNCT = set(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_answer(text: str) -> str:
    """Lower case, drop punctuation and articles, squeeze whitespace (SQuAD v1.1 script)."""
    text = text.translate(_QUOTES).lower()
    text = "".join(ch for ch in text if ch not in _PUNCT)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def f1(prediction: str, gold: str) -> float:
    pred = normalize_answer(prediction).split()
    ref = normalize_answer(gold).split()
    if not pred or not ref:
        return float(pred == ref)
    common = Counter(pred) & Counter(ref)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def best_over(metric: str, prediction: str, golds: Sequence[str]) -> float:
    """The max of ``exact_match`` or ``f1`` over the gold variants (0 when there are none)."""
    fn = exact_match if metric == "em" else f1
    return max((fn(prediction, g) for g in golds), default=0.0)


def contains_answer(text: str, golds: Sequence[str]) -> bool:
    """Some gold answer occurs in ``text``, compared after SQuAD normalisation."""
    norm = f" {normalize_answer(text)} "
    return any(normalize_answer(g) and f" {normalize_answer(g)} " in norm for g in golds)


def recall_at(ranks: Sequence[int], k: int) -> float:
    """Share of questions whose gold passage ranks in the top ``k`` (rank 0 = not found)."""
    return sum(1 for r in ranks if 0 < r <= k) / len(ranks) if ranks else 0.0


def mrr(ranks: Sequence[int]) -> float:
    return sum(1.0 / r for r in ranks if r > 0) / len(ranks) if ranks else 0.0


def expected_calibration_error(
    confidences: Sequence[float], correct: Sequence[float], bins: int = 10
) -> float:
    """Mean |confidence - accuracy| over equal-width confidence bins, weighted by size."""
    if not confidences:
        return 0.0
    conf = np.clip(np.asarray(confidences, dtype=float), 0.0, 1.0)
    ok = np.asarray(correct, dtype=float)
    which = np.minimum((conf * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            total += mask.sum() * abs(conf[mask].mean() - ok[mask].mean())
    return float(total / len(conf))


def coverage_curve(scores: Sequence[float], quality: Sequence[float]) -> list[dict[str, float]]:
    """For each distinct score as a threshold: the share of questions answered (score >=
    threshold) and the mean quality of those answered."""
    pairs = sorted(zip(scores, quality, strict=True), key=lambda p: -p[0])
    out: list[dict[str, float]] = []
    total = 0.0
    for i, (score, q) in enumerate(pairs, 1):
        total += q
        if i == len(pairs) or pairs[i][0] != score:
            out.append({"threshold": score, "coverage": i / len(pairs), "accuracy": total / i})
    return out
