"""Whether the span reader's answer is right: a logistic model over the reader's own
evidence, so its confidence is a probability and one threshold decides "the documents don't
say".

The evidence is the span's margin over the model's [CLS] "no answer" score, the retrieval
rank of the passage it came from, how well that passage and sentence match the question,
question words or names the corpus never mentions, and a missing answer type. The weights
are fitted by ``citeqa fit-abstention`` on held-out training articles and the seeds dev
split, never on a test set, and ship beside the model (``abstention.json``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from citeqa.answer.read import Evidence

FEATURES = ("margin", "rank", "dense", "coverage", "unknown", "missing_name", "untyped")


def features(ev: Evidence) -> list[float]:
    """The evidence as numbers, in the order of ``FEATURES``."""
    return [
        ev.margin,
        float(ev.rank),
        ev.dense,
        ev.coverage,
        ev.unknown,
        float(bool(ev.missing_name)),
        float(not ev.typed),
    ]


@dataclass(frozen=True)
class Calibration:
    weights: tuple[float, ...]
    bias: float
    threshold: float
    """Answer at or above this confidence, abstain below."""

    def confidence(self, ev: Evidence) -> float:
        return self.confidence_of(features(ev))

    def contributions(self, values: Sequence[float]) -> tuple[float, ...]:
        """Each feature's share of the logit, w_i * x_i: with the bias, they add up to it."""
        return tuple(w * x for w, x in zip(self.weights, values, strict=True))

    def logit(self, values: Sequence[float]) -> float:
        return self.bias + sum(self.contributions(values))

    def confidence_of(self, values: Sequence[float]) -> float:
        z = self.logit(values)
        if math.isnan(z):  # min() and max() would pass NaN through as full confidence
            return 0.0
        return 1 / (1 + math.exp(-max(-50.0, min(50.0, z))))

    def save(self, path: Path) -> None:
        data = {"features": FEATURES, **asdict(self)}
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Calibration:
        data = json.loads(path.read_text(encoding="utf-8"))
        if tuple(data["features"]) != FEATURES:
            raise ValueError(f"{path} was fitted on features {data['features']}, not {FEATURES}")
        return cls(tuple(float(w) for w in data["weights"]), data["bias"], data["threshold"])


UNFITTED = Calibration(weights=(0.25, 0.0, 0.0, 0.0, 0.0, -10.0, 0.0), bias=0.0, threshold=0.5)
"""For a reader trained without a fit: the margin alone (a logit margin of 0 is 0.5),
and nothing answered about a name the documents never mention."""


def fit_logistic(
    x: np.ndarray, y: np.ndarray, l2: float = 1e-2, weights: np.ndarray | None = None
) -> tuple[np.ndarray, float]:
    """Weights and bias of an L2-regularised logistic regression, by Newton's method
    (seven features and a few thousand rows: a handful of exact steps). ``weights``
    scale each row's share of the loss."""
    a = np.hstack([x, np.ones((len(x), 1))])
    r = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=float)
    w = np.zeros(a.shape[1])
    ridge = l2 * np.eye(a.shape[1])
    ridge[-1, -1] = 0.0  # the bias is not shrunk
    for _ in range(50):
        p = 1 / (1 + np.exp(-np.clip(a @ w, -50, 50)))
        grad = a.T @ (r * (p - y)) + ridge @ w
        hess = (a * (r * p * (1 - p))[:, None]).T @ a + ridge
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[:-1], float(w[-1])


def gain(f1: float, answerable: bool, answered: bool) -> float:
    """One question's share of the abstention's objective: its answer's F1 when it is
    answerable and answered, 1 when it is unanswerable and declined, else 0."""
    if answerable:
        return f1 if answered else 0.0
    return float(not answered)


def best_threshold(
    groups: Sequence[tuple[Sequence[float], Sequence[float], Sequence[bool]]],
) -> float:
    """The confidence threshold that maximises, averaged over the groups (data sets of
    different kinds), the mean per question of: the answer's F1 when answerable and
    answered, 1 when unanswerable and abstained on, else 0. Each group is (confidences,
    F1 of the answer, answerable)."""
    candidates = sorted({round(c, 3) for conf, _, _ in groups for c in conf} | {0.0, 1.0})

    def objective(t: float) -> float:
        per_group = []
        for conf, f1, answerable in groups:
            gains = [gain(f, ok, c >= t) for c, f, ok in zip(conf, f1, answerable, strict=True)]
            per_group.append(float(np.mean(gains)))
        return float(np.mean(per_group))

    return max(candidates, key=lambda t: (objective(t), -abs(t - 0.5)))
