"""``QA.explain``: the trace of a question through retrieval, reading and abstention, and
the reason an abstention gives. Fast tests over the seeds with the fake embedder; the
span reader's own trace needs the model."""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from citeqa import QA, explain
from citeqa.answer.abstain import FEATURES, Calibration
from citeqa.answer.read import Reading
from citeqa.answer.sentence_reader import SentenceReader
from citeqa.index.build import build_index
from citeqa.index.lexicon import terms
from citeqa.index.store import LoadedIndex
from citeqa.types import Hit

from conftest import SEEDS, FakeEmbedder

CHAIRMAN = "Who is the chairman of Alibaba?"
INVESTING = "How much is Alibaba investing in Hong Kong?"


class CalibratedReader:
    """The sentence reader's span and evidence, with a fitted-logistic confidence, as the
    span reader's are: the abstention stage's figures without loading a model."""

    name = "calibrated"

    def __init__(self, index: LoadedIndex, calibration: Calibration) -> None:
        self.inner = SentenceReader(index)
        self.calibration = calibration

    def read(self, question: str, query: np.ndarray, hits: Sequence[Hit]) -> Reading | None:
        reading = self.inner.read(question, query, hits)
        if reading is None:
            return None
        return replace(reading, confidence=self.calibration.confidence(reading.evidence))


CALIBRATION = Calibration((0.25, -0.5, 1.0, 2.0, -3.0, -2.0, -0.4), -1.0, 0.3)


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("explain")
    shutil.copytree(SEEDS, home / "corpus")
    build_index(home / "corpus", home / "index", FakeEmbedder())
    return home / "index"


@pytest.fixture(scope="module")
def qa(index_dir: Path) -> QA:
    return QA.load(index_dir, reader="sentence", embedder=FakeEmbedder())


@pytest.fixture(scope="module")
def calibrated(index_dir: Path) -> QA:
    return QA.load(
        index_dir,
        reader=lambda index: CalibratedReader(index, CALIBRATION),
        embedder=FakeEmbedder(),
    )


@pytest.mark.parametrize("question", [CHAIRMAN, INVESTING, "What is the capital of France?"])
def test_explaining_never_changes_the_answer(qa: QA, calibrated: QA, question: str) -> None:
    for each in (qa, calibrated):
        answer, trace = each.explain(question)
        assert answer == each.ask(question)
        assert trace.verdict.reason == answer.reason
        assert (trace.verdict.stage == explain.ANSWERED) == (not answer.abstained)


def test_a_word_no_document_holds_is_the_verdict_and_the_reason(qa: QA) -> None:
    answer, trace = qa.explain(CHAIRMAN)
    assert answer.abstained
    assert answer.reason == 'No document mentions "chairman".'
    assert trace.verdict.stage == explain.DOCUMENTS
    assert trace.verdict.text == 'the documents never mention "chairman"'
    assert trace.words.unknown == ("chairman",)
    # "Alibaba" is in most passages of articles about Alibaba: it tells none apart
    assert trace.words.content == () and {"who", "alibaba"} <= set(trace.words.common)


def test_words_no_document_holds_beside_ones_that_count_are_a_note(qa: QA) -> None:
    """Other words of the question match: the missing ones may be a paraphrase, so the
    documents are not blamed, and the trace says which words no document holds."""
    question = "Which Hong Kong studios did Alibaba sign agreements with?"
    answer, trace = qa.explain(question)
    assert set(trace.words.unknown) == {"sign", "agreements"} and trace.words.content
    assert trace.verdict.stage != explain.DOCUMENTS and "mentions" not in answer.reason
    note = 'no document holds "sign" or "agreements": a paraphrase, or a gap in the documents'
    assert note in trace.notes


def test_a_name_no_document_holds_is_named(qa: QA) -> None:
    answer = qa.ask("What is the capital of France?")
    assert answer.abstained and answer.reason == 'No document mentions "France".'


def test_an_answer_has_no_reason(qa: QA) -> None:
    answer, trace = qa.explain(INVESTING)
    assert not answer.abstained and answer.reason == ""
    assert trace.verdict == explain.Verdict(explain.ANSWERED, "answered", "")


def test_candidates_carry_both_retrievers_and_the_words_they_hold(qa: QA) -> None:
    hits, _ = qa.read(INVESTING)
    _, trace = qa.explain(INVESTING)
    assert [c.passage_id for c in trace.candidates] == [h.passage.id for h in hits]
    assert [c.rank for c in trace.candidates] == list(range(1, len(hits) + 1))
    for c, h in zip(trace.candidates, hits, strict=True):
        assert (c.fused, c.dense_rank, c.bm25_rank) == (h.score, h.dense_rank, h.lexical_rank)
        assert set(c.matched) | set(c.unmatched) == set(trace.words.content)
        held = terms(h.passage.text)  # stems: "investing" matches "investment"
        assert all(terms(w)[0] in held for w in c.matched)
        assert not any(terms(w)[0] in held for w in c.unmatched)
    assert trace.candidates[0].bm25_rank >= 1 and trace.candidates[0].matched


def test_the_reading_stage_lists_each_passage_read(qa: QA) -> None:
    answer, trace = qa.explain(INVESTING)
    chosen = [s for s in trace.reading if s.chosen]
    assert len(chosen) == 1 and answer.text in chosen[0].span
    assert chosen[0].passage_id == answer.citations[0].passage_id
    assert all(s.margin is None for s in trace.reading)  # the sentence reader has none


def test_contributions_and_bias_add_up_to_the_confidence(calibrated: QA) -> None:
    answer, trace = calibrated.explain(INVESTING)
    ab = trace.abstention
    assert not answer.abstained and ab.answered and ab.bias is not None
    assert [f.name for f in ab.features] == list(FEATURES)
    total = sum(f.contribution for f in ab.features) + ab.bias
    assert math.isclose(total, math.log(answer.score / (1 - answer.score)), abs_tol=1e-9)
    assert ab.confidence == answer.score and ab.threshold == CALIBRATION.threshold


def test_below_the_threshold_says_not_sure(index_dir: Path) -> None:
    strict = Calibration(CALIBRATION.weights, CALIBRATION.bias, 0.999)
    qa = QA.load(index_dir, reader=lambda i: CalibratedReader(i, strict), embedder=FakeEmbedder())
    answer, trace = qa.explain(INVESTING)
    assert answer.abstained
    assert trace.verdict.stage == explain.THRESHOLD
    assert answer.reason == "Not sure: the best candidate scored below the threshold."
    assert answer.related  # the closest passages are shown, as related


def test_gold_not_retrieved_blames_retrieval(qa: QA) -> None:
    _, trace = qa.explain(INVESTING, gold=["an answer no passage states"])
    assert trace.verdict.stage == explain.ANSWERED  # answered stays answered
    strict = QA(qa.index, qa.embedder, qa.reader, policy=explain_policy(1.1))
    answer, trace = strict.explain(INVESTING, gold=["an answer no passage states"])
    assert trace.verdict.stage == explain.RETRIEVAL
    assert trace.verdict.text == "the answer's passage was not retrieved in the top 5"
    assert answer.reason != ""


def explain_policy(threshold: float):  # type: ignore[no-untyped-def]
    from citeqa.pipeline import AbstentionPolicy

    return AbstentionPolicy(threshold)


def test_near_tie_is_warned() -> None:
    steps = [
        explain.PassageStep(1, "a", "TVB", 2.0, "top passage alone", True),
        explain.PassageStep(2, "b", "Shaw Brothers", 1.5, "the others", False),
    ]
    assert explain.near_ties(steps) == (
        "two candidates nearly tie: 'TVB' (+2.0) and 'Shaw Brothers' (+1.5)",
    )
    far = [steps[0], replace(steps[1], margin=-3.0)]
    assert explain.near_ties(far) == ()
    below = [replace(steps[0], margin=-9.7), replace(steps[1], margin=-10.2)]
    assert explain.near_ties(below) == ()  # neither beats "no answer"


SCHEMA: dict[str, object] = {
    "question": str,
    "words": {"content": list, "unknown": list, "common": list},
    "reader": str,
    "verdict": {"stage": str, "text": str, "reason": str},
    "notes": list,
}
CANDIDATE = {
    "rank": int,
    "passage_id": str,
    "source": str,
    "title": str,
    "fused": float,
    "dense_rank": int,
    "dense_score": float,
    "bm25_rank": int,
    "bm25_score": float,
    "matched": list,
    "unmatched": list,
}
STEP = {
    "rank": int,
    "passage_id": str,
    "span": str,
    "margin": (float, type(None)),
    "read_in": str,
    "chosen": bool,
}
ABSTENTION = {
    "features": list,
    "bias": (float, type(None)),
    "logit": (float, type(None)),
    "confidence": float,
    "threshold": float,
    "answered": bool,
}
FEATURE = {"name": str, "value": float, "weight": float, "contribution": float}


def check(obj: object, schema: Mapping[str, object]) -> None:
    assert isinstance(obj, dict) and set(schema) <= set(obj), (schema, obj)
    for key, kind in schema.items():
        if isinstance(kind, dict):
            check(obj[key], kind)
        else:
            assert isinstance(obj[key], kind), (key, obj[key])  # type: ignore[arg-type]


def test_the_json_trace_has_its_schema(calibrated: QA) -> None:
    _, trace = calibrated.explain(INVESTING)
    data = json.loads(json.dumps(trace.to_dict()))
    assert set(data) == {
        "question",
        "words",
        "candidates",
        "reader",
        "reading",
        "abstention",
        "verdict",
        "notes",
    }
    check(data, SCHEMA)
    assert data["verdict"]["stage"] in explain.STAGES
    for c in data["candidates"]:
        check(c, CANDIDATE)
        assert set(c) == set(CANDIDATE)
    for s in data["reading"]:
        check(s, STEP)
    check(data["abstention"], ABSTENTION)
    assert len(data["abstention"]["features"]) == 7
    for f in data["abstention"]["features"]:
        check(f, FEATURE)


@pytest.mark.model
@pytest.mark.parametrize("reader", ["span", "cascade"])
def test_the_span_readers_trace(index_dir: Path, reader: str) -> None:
    """The abstention's parts add up to the confidence of the reader that answered: for
    a cascade, the fast reader's or the large one's own fit."""
    qa = QA.load(index_dir, reader=reader, embedder=FakeEmbedder())
    for question in (INVESTING, CHAIRMAN):
        answer, trace = qa.explain(question)
        assert answer == qa.ask(question)
        assert trace.reading and all(s.margin is not None for s in trace.reading)
        assert (answer.read_by in ("fast", "large")) == (reader == "cascade")
        assert answer.to_dict()["read_by"] == answer.read_by
        first = "fast reader, " if reader == "cascade" else ""
        assert trace.reading[0].read_in in (f"{first}top passage alone", f"{first}all at once")
        ab = trace.abstention
        assert ab.bias is not None and ab.logit is not None
        z = sum(f.contribution for f in ab.features) + ab.bias
        assert math.isclose(z, math.log(ab.confidence / (1 - ab.confidence)), rel_tol=1e-9)
        assert ab.answered == (ab.confidence >= ab.threshold) == (not answer.abstained)
    assert trace.verdict.stage == explain.DOCUMENTS
