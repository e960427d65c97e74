"""Check the span reader's threshold on an operator's own questions (``citeqa calibrate``):
answerable ones with their answers, unanswerable ones with none.

Each question is asked as ``ask`` would ask it, and its confidence kept whether or not it
was answered; a threshold then decides, for every question at once, what would have been
answered. The suggested threshold is the one ``fit-abstention`` would choose on these
questions alone (``abstain.best_threshold``): the mean of answer F1 on the answerable and
correct declines on the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from citeqa.answer import abstain
from citeqa.errors import CiteQAError
from citeqa.evaluation.metrics import best_over
from citeqa.evaluation.qa_set import QAItem

MIN_QUESTIONS, MIN_EACH = 20, 5
"""The smallest set a threshold is moved on. The threshold is one number chosen among the
set's own confidences, so each question can move it: with fewer than 20, one question
decides 5% of the objective and the choice follows noise. And it trades answerable
against unanswerable questions, so each kind needs a few (5: one question is then at most
a fifth of its kind) for the trade to be measured at all."""

RIGHT_F1 = 0.5
"""An answer counts as right at this F1 against the gold answers, as in ``fit-abstention``."""


class TooFewQuestions(CiteQAError):
    pass


@dataclass(frozen=True)
class Scored:
    confidence: float
    f1: float
    """The reader's answer against the gold answers (0 for an unanswerable question)."""
    answerable: bool

    @property
    def right(self) -> bool:
        return self.answerable and self.f1 >= RIGHT_F1


@dataclass(frozen=True)
class Outcome:
    """What a threshold would have done to the questions."""

    threshold: float
    answered_right: int
    answered_wrong: int
    """Answerable questions answered with a wrong answer."""
    answered_unanswerable: int
    declined_answerable: int
    declined_unanswerable: int

    @property
    def answered(self) -> int:
        return self.answered_right + self.answered_wrong + self.answered_unanswerable

    @property
    def questions(self) -> int:
        return self.answered + self.declined_answerable + self.declined_unanswerable

    @property
    def coverage(self) -> float:
        return self.answered / self.questions if self.questions else 0.0

    @property
    def accuracy(self) -> float:
        """The share of answers given that are right."""
        return self.answered_right / self.answered if self.answered else 1.0


def check_size(items: Sequence[QAItem]) -> None:
    answerable = sum(1 for i in items if i.answerable)
    unanswerable = len(items) - answerable
    if len(items) < MIN_QUESTIONS or min(answerable, unanswerable) < MIN_EACH:
        raise TooFewQuestions(
            f"calibrating needs at least {MIN_QUESTIONS} questions, at least {MIN_EACH} of"
            f" them answerable and {MIN_EACH} unanswerable; this set has {len(items)}"
            f" ({answerable} answerable, {unanswerable} unanswerable)"
        )


def score(qa: Any, items: Sequence[QAItem]) -> list[Scored]:
    """Each question asked as ``ask`` asks it, its confidence whatever the threshold."""
    out = []
    for item in items:
        _, reading = qa.read(item.question)
        if reading is None:
            out.append(Scored(0.0, 0.0, item.answerable))
            continue
        f1 = best_over("f1", reading.text, item.answers) if item.answerable else 0.0
        out.append(Scored(reading.confidence, f1, item.answerable))
    return out


def outcome(scored: Sequence[Scored], threshold: float) -> Outcome:
    counts = {"right": 0, "wrong": 0, "unans": 0, "dec_ans": 0, "dec_unans": 0}
    for s in scored:
        answered = s.confidence >= threshold  # as AbstentionPolicy decides
        if answered and s.answerable:
            counts["right" if s.right else "wrong"] += 1
        elif answered:
            counts["unans"] += 1
        else:
            counts["dec_ans" if s.answerable else "dec_unans"] += 1
    return Outcome(
        threshold,
        counts["right"],
        counts["wrong"],
        counts["unans"],
        counts["dec_ans"],
        counts["dec_unans"],
    )


def suggest(scored: Sequence[Scored]) -> float:
    group = (
        [s.confidence for s in scored],
        [s.f1 for s in scored],
        [s.answerable for s in scored],
    )
    return abstain.best_threshold([group])


def curve(scored: Sequence[Scored], also: Sequence[float] = ()) -> list[Outcome]:
    """Accuracy against coverage at thresholds 0, 0.1, ... 0.9 and at ``also``."""
    points = sorted({round(t / 10, 1) for t in range(10)} | set(also))
    return [outcome(scored, t) for t in points]
