"""Why an answer is what it is: the trace of one question through retrieval, reading and
abstention, and a verdict naming the stage to look at.

The trace only reads what answering computed (the retrieved ``Hit``s and the reader's
``Reading``, with each passage it read), so explaining never changes an answer. The
verdict's ``reason`` is what an abstention tells the user (``Answer.reason``): one
definition, used by ``QA.ask`` and ``QA.explain`` alike.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from citeqa.answer import abstain
from citeqa.answer import question_types as qt
from citeqa.answer.read import Reading
from citeqa.index.lexicon import Lexicon, is_stopword, terms
from citeqa.types import Hit

ANSWERED, DOCUMENTS, RETRIEVAL, READING, THRESHOLD = (
    "answered",
    "documents",
    "retrieval",
    "reading",
    "threshold",
)
STAGES = (DOCUMENTS, RETRIEVAL, READING, THRESHOLD, ANSWERED)
"""Where a question stopped, in pipeline order."""

NEAR_TIE = 1.0
"""Two different spans whose margins are this close (in logits) nearly tie: the reader
could as well have picked the other."""

_WORD = re.compile(r"(?u)\b\w+\b")


@dataclass(frozen=True)
class QuestionWords:
    """The question's words as retrieval counts them (BM25's vocabulary and stemmer)."""

    content: tuple[str, ...]
    """Words some passages hold and most do not: the ones that tell passages apart."""
    unknown: tuple[str, ...]
    """Words no document holds: a gap in the documents, or a paraphrase."""
    common: tuple[str, ...]
    """Too common to count: stopwords, question words ("which", "how") and words in more
    than half the passages ("Alibaba" in articles about Alibaba)."""


@dataclass(frozen=True)
class Candidate:
    """One retrieved passage. Ranks count from 1; 0: that retriever did not rank it."""

    rank: int
    passage_id: str
    source: str
    title: str
    fused: float
    dense_rank: int
    dense_score: float
    bm25_rank: int
    bm25_score: float
    matched: tuple[str, ...]
    """The question's content words this passage holds."""
    unmatched: tuple[str, ...]
    """Those it lacks (though another document holds them)."""


@dataclass(frozen=True)
class PassageStep:
    """What the reader made of one passage it read."""

    rank: int
    passage_id: str
    span: str
    margin: float | None
    """Best span score less the "no answer" score (span reader); None for other readers."""
    read_in: str
    chosen: bool
    """The answer (or the declined candidate) came from this passage."""


@dataclass(frozen=True)
class Feature:
    name: str
    value: float
    weight: float
    contribution: float
    """weight * value: its share of the logit."""


@dataclass(frozen=True)
class Abstention:
    features: tuple[Feature, ...]
    """Empty for a reader whose confidence is not a fitted logistic (the sentence reader)."""
    bias: float | None
    logit: float | None
    """bias + the contributions; the confidence is its logistic."""
    confidence: float
    threshold: float
    answered: bool


@dataclass(frozen=True)
class Verdict:
    stage: str
    """One of ``STAGES``."""
    text: str
    """For the operator: what happened at that stage."""
    reason: str
    """For the user: why there is no answer ("" when answered)."""


@dataclass(frozen=True)
class Trace:
    question: str
    words: QuestionWords
    candidates: tuple[Candidate, ...]
    reader: str
    reading: tuple[PassageStep, ...]
    abstention: Abstention
    verdict: Verdict
    notes: tuple[str, ...] = ()
    """Warnings beside the verdict (``notes``)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def question_words(question: str, lexicon: Lexicon) -> QuestionWords:
    """The question's distinct words (lower-cased, in order) sorted as retrieval sees
    them: what ``SentenceReader`` counts as unknown is what lands in ``unknown`` here."""
    content_part = {w for w in _WORD.findall(qt.content_of(question).lower())}
    content, unknown, common = [], [], []
    for word in dict.fromkeys(_WORD.findall(question.lower())):
        stems = terms(word)
        if is_stopword(word) or word not in content_part or not stems:
            common.append(word)
        elif not lexicon.knows(stems[0]):
            unknown.append(word)
        elif 2 * lexicon.passages_with(stems[0]) > lexicon.passages:
            common.append(word)
        else:
            content.append(word)
    return QuestionWords(tuple(content), tuple(unknown), tuple(common))


def candidates(hits: Sequence[Hit], words: QuestionWords) -> tuple[Candidate, ...]:
    out = []
    for rank, h in enumerate(hits, 1):
        held = set(terms(h.passage.text))
        matched = tuple(w for w in words.content if terms(w)[0] in held)
        p = h.passage
        out.append(
            Candidate(
                rank,
                p.id,
                p.source,
                p.title,
                h.score,
                h.dense_rank,
                h.dense_score,
                h.lexical_rank,
                h.lexical_score,
                matched,
                tuple(w for w in words.content if w not in matched),
            )
        )
    return tuple(out)


def reading_steps(hits: Sequence[Hit], reading: Reading | None) -> tuple[PassageStep, ...]:
    if reading is None:
        return ()
    rank = {h.passage.id: n for n, h in enumerate(hits, 1)}
    chosen = reading.hit.passage.id
    return tuple(
        PassageStep(
            rank.get(r.passage_id, 0),
            r.passage_id,
            r.span,
            r.margin,
            r.read_in,
            r.passage_id == chosen,
        )
        for r in reading.reads
    )


def abstention(
    reading: Reading | None,
    calibration: abstain.Calibration | None,
    threshold: float,
    answered: bool,
) -> Abstention:
    """The decision as the policy made it: the reading's confidence against the threshold,
    and, for a fitted logistic, each feature's share of it."""
    confidence = reading.confidence if reading is not None else 0.0
    if reading is None or calibration is None:
        return Abstention((), None, None, confidence, threshold, answered)
    values = abstain.features(reading.evidence)
    shares = calibration.contributions(values)
    feats = tuple(
        Feature(n, v, w, c)
        for n, v, w, c in zip(abstain.FEATURES, values, calibration.weights, shares, strict=True)
    )
    return Abstention(
        feats, calibration.bias, calibration.logit(values), confidence, threshold, answered
    )


def verdict(
    words: QuestionWords,
    reading: Reading | None,
    answered: bool,
    *,
    gold_rank: int | None = None,
    top_k: int = 0,
) -> Verdict:
    """The stage to look at. ``gold_rank`` (only known when gold answers are given): the
    rank (from 1) of the first retrieved passage that states one, 0 when none does."""
    if answered:
        return Verdict(ANSWERED, "answered", "")
    missing = [reading.evidence.missing_name] if reading and reading.evidence.missing_name else []
    # The documents are blamed only when the question names what none mentions, or when
    # nothing it asks about beyond words no document holds tells passages apart. Else the
    # missing words may be a paraphrase, and the trace lists them as a note.
    gap = bool(words.unknown) and not words.content
    # With gold answers retrieved, the documents do state it, whatever words they use.
    if (missing or gap) and not gold_rank:
        named = _either(missing or list(words.unknown))
        return Verdict(
            DOCUMENTS, f"the documents never mention {named}", f"No document mentions {named}."
        )
    not_stated = "The closest passages don't seem to state it."
    if gold_rank == 0:
        return Verdict(
            RETRIEVAL, f"the answer's passage was not retrieved in the top {top_k}", not_stated
        )
    if reading is None:
        return Verdict(RETRIEVAL, "no passage matched the question", "No passage matches it.")
    read = {r.passage_id for r in reading.reads}
    if gold_rank and reading.reads and len(read) < gold_rank:
        return Verdict(
            RETRIEVAL,
            f"the answer's passage ranked {gold_rank}, below the {len(read)} passages read",
            not_stated,
        )
    if not reading.evidence.typed:
        return Verdict(READING, f"no {reading.evidence.kind} in the reader's best span", not_stated)
    if any(r.margin is not None for r in reading.reads) and reading.evidence.margin <= 0:
        return Verdict(
            READING, 'the reader scored "no answer" above every span it read', not_stated
        )
    return Verdict(
        THRESHOLD,
        "the reader found a span, but below the threshold",
        "Not sure: the best candidate scored below the threshold.",
    )


def _either(words: Sequence[str]) -> str:
    quoted = [f'"{w}"' for w in words]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def notes(words: QuestionWords, steps: Sequence[PassageStep], stage: str) -> tuple[str, ...]:
    """Warnings beside the verdict: words no document holds (when the verdict is not
    already about them), and two candidates that nearly tie."""
    out = []
    if words.unknown and stage != DOCUMENTS:
        out.append(
            f"no document holds {_either(words.unknown)}: a paraphrase, or a gap in the documents"
        )
    return (*out, *near_ties(steps))


def near_ties(steps: Sequence[PassageStep]) -> tuple[str, ...]:
    """A warning when the two best different spans nearly tie on margin, and the best
    beats "no answer" (below it, neither is an answer to choose between)."""
    scored = sorted(
        (s for s in steps if s.margin is not None and s.span), key=lambda s: -(s.margin or 0.0)
    )
    for other in scored[1:]:
        best = scored[0]
        if other.span == best.span:
            continue
        assert best.margin is not None and other.margin is not None
        if best.margin > 0 and best.margin - other.margin < NEAR_TIE:
            return (
                f"two candidates nearly tie: {best.span!r} ({best.margin:+.1f})"
                f" and {other.span!r} ({other.margin:+.1f})",
            )
        break
    return ()
