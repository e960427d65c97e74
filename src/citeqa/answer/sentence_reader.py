"""``SentenceReader``: a reader that needs no trained QA model. It ranks the sentences of
the top passages by meaning (MiniLM cosine, precomputed at index time) and by IDF-weighted
word overlap, then picks, inside the best sentence, the shortest span of the type the
question asks for. The span reader takes its retrieval evidence from it (``evidence_for``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from citeqa.answer import answer_types as at
from citeqa.answer import question_types as qt
from citeqa.answer.read import ONE_PASS, Evidence, PassageRead, Reading
from citeqa.index.lexicon import terms
from citeqa.index.store import LoadedIndex
from citeqa.types import Hit, Sentence


@dataclass(frozen=True)
class SentenceWeights:
    """How sentence evidence adds up. Fitted on the dev split of the seeds QA set
    (``citeqa eval``); the reasons are in docs/quality.md."""

    dense: float = 0.5
    coverage_sentence: float = 0.3
    coverage_passage: float = 0.2
    typed_bonus: float = 0.3
    untyped_penalty: float = 0.35
    """Confidence is multiplied by this when the question wants an amount, a date or a
    name and the sentence has none: the sentence is then only related, not an answer."""
    unknown_weight: float = 0.5
    """How much question words unknown to the corpus lower confidence. Not 1: a paraphrase
    ("ticket takings" for "box office revenue") is also made of unknown words."""


_WORD = re.compile(r"\w+")
_NUMBER = re.compile(r"\d[\d,.]*\d|\d")
_NAME_IN_QUESTION = re.compile(r"(?<!^)(?<![.?!] )\b([A-Z][\w\-]+|[A-Z]{2,})")


class SentenceReader:
    name = "sentence"

    def __init__(self, index: LoadedIndex, weights: SentenceWeights = SentenceWeights()):
        self.index = index
        self.weights = weights
        self.rows = {p.id: i for i, p in enumerate(index.passages)}
        self._lexicon = index.lexicon
        self._n = len(index.passages)
        self._corpus_lower = "\n".join(p.text.lower() for p in index.passages)

    def idf(self, term: str) -> float:
        return math.log((self._n + 1) / (self._lexicon.passages_with(term) + 0.5))

    def _question_weights(self, question: str) -> tuple[dict[str, float], float, float, str]:
        """(IDF of each question word, their sum, the unknown share, a missing name)."""
        q_terms = set(terms(qt.content_of(question)))
        weight = {t: self.idf(t) for t in q_terms}
        total = sum(weight.values()) or 1.0
        unknown = sum(w for t, w in weight.items() if not self._lexicon.knows(t)) / total
        return weight, total, unknown, self._missing_name(question)

    def evidence_for(
        self, question: str, query: np.ndarray, hit: Hit, sentence: Sentence
    ) -> Evidence:
        """The evidence features for an answer another reader found in ``sentence``."""
        weight, total, unknown, missing = self._question_weights(question)
        p_terms = set(terms(hit.passage.text))
        cov_p = sum(w for t, w in weight.items() if t in p_terms) / total
        dense = 0.0
        row = self.rows[hit.passage.id]
        for j, s in enumerate(hit.passage.sentences):
            if s.start <= sentence.start < s.end:
                vec = self.index.sentence_vectors[self.index.sentence_rows[row] + j]
                dense = float(np.dot(query, vec))
        kind = qt.question_type(question)
        return Evidence(kind, True, dense, cov_p, unknown, missing)

    def read(
        self,
        question: str,
        query: np.ndarray,
        hits: Sequence[Hit],
    ) -> Reading | None:
        kind = qt.question_type(question)
        q_terms = set(terms(qt.content_of(question)))
        weight, total, unknown, missing = self._question_weights(question)
        best: tuple[float, Reading] | None = None
        best_of: dict[str, tuple[float, Reading]] = {}  # each passage's own best, for the trace
        seen: set[tuple[str, int]] = set()
        for hit in hits:
            p_terms = set(terms(hit.passage.text))
            cov_p = sum(w for t, w in weight.items() if t in p_terms) / total
            first = self.index.sentence_rows[self.rows[hit.passage.id]]
            sims = self.index.sentence_vectors[first : first + len(hit.passage.sentences)] @ query
            for j, sentence in enumerate(hit.passage.sentences):
                if (sentence.source, sentence.start) in seen:
                    continue  # passages overlap by a sentence
                seen.add((sentence.source, sentence.start))
                dense = float(sims[j])
                s_terms = set(terms(sentence.text))
                cov_s = sum(w for t, w in weight.items() if t in s_terms) / total
                span = pick_span(question, kind, sentence.text, q_terms)
                typed = span is not None or kind not in qt.TYPED
                w = self.weights
                score = w.dense * dense + w.coverage_sentence * cov_s + w.coverage_passage * cov_p
                confidence = (
                    score * (1 - w.unknown_weight * unknown) * (1.0 if typed else w.untyped_penalty)
                )
                if missing:
                    confidence = 0.0
                bonus = 0.0 if span is None else w.typed_bonus
                if span is not None and span.kind == at.EXPANSION:
                    bonus *= 2  # "Full Name (ACR)" is the definition of an acronym
                rank_score = score + bonus
                a, b = (span.start, span.end) if span is not None else (0, len(sentence.text))
                reading = Reading(
                    hit=hit,
                    sentence=sentence,
                    start=sentence.start + a,
                    end=sentence.start + b,
                    confidence=max(0.0, min(1.0, confidence)),
                    evidence=Evidence(kind, typed, dense, cov_p, unknown, missing),
                )
                if best is None or rank_score > best[0]:
                    best = (rank_score, reading)
                pid = hit.passage.id
                if pid not in best_of or rank_score > best_of[pid][0]:
                    best_of[pid] = (rank_score, reading)
        if best is None:
            return None
        reads = tuple(PassageRead(pid, r.text, None, ONE_PASS) for pid, (_, r) in best_of.items())
        return replace(best[1], reads=reads)

    def _missing_name(self, question: str) -> str:
        """A capitalised word or acronym of the question that no passage mentions: the
        question is about something (Tencent, France, a CEO) the documents never name."""
        for m in _NAME_IN_QUESTION.finditer(question):
            word = m.group(1)
            stem = re.sub(r"[’']s$", "", word).lower()
            if stem not in self._corpus_lower:
                return word
        return ""


def pick_span(question: str, kind: str, sentence: str, q_terms: set[str]) -> at.Candidate | None:
    """The answer span inside ``sentence`` for a question of ``kind``, or None."""
    if kind == qt.DEFINITION:
        subject = qt.definition_subject(question)
        if not subject:
            return None
        stand_for = "stand for" in question.lower()
        cands = at.definition_spans(sentence, subject, expansion_only=stand_for)
        if at.is_acronym(subject) and any(c.kind == at.EXPANSION for c in cands):
            cands = [c for c in cands if c.kind == at.EXPANSION]  # "What is AMEG?": its name
        return _closest(cands, sentence, q_terms, question) if cands else None
    if kind in qt.TYPED:
        cands = at.typed_spans(sentence, kind)
        if kind == qt.NUMBER and not cands:
            cands = at.typed_spans(sentence, qt.MONEY) + at.typed_spans(sentence, qt.PERCENT)
        if kind == qt.PERCENT and not cands and "how much" in question.lower():
            cands = at.typed_spans(sentence, qt.MONEY)
        if kind == qt.LIST and not cands:
            cands = at.typed_spans(sentence, qt.NAME)
        return _closest(cands, sentence, q_terms, question) if cands else None
    return None


def _closest(
    cands: Sequence[at.Candidate], sentence: str, q_terms: set[str], question: str
) -> at.Candidate | None:
    """The candidate nearest the question's words in the sentence, skipping candidates
    that only repeat the question."""
    q_lower = question.lower()
    q_numbers = set(_NUMBER.findall(question))
    matches = [m.start() for m in _WORD.finditer(sentence) if _stem_in(m.group(), q_terms)]
    best: tuple[float, at.Candidate] | None = None
    for c in cands:
        text = sentence[c.start : c.end]
        own = set(terms(text))
        if text.lower() in q_lower or (own and own <= q_terms):
            continue
        if q_numbers & set(_NUMBER.findall(text)):
            continue  # "How much of the HK$5 billion…": an amount the question already gives
        distance = min((abs(c.start - m) for m in matches), default=len(sentence))
        key = distance - 0.01 * (c.end - c.start) if c.kind == qt.LIST else distance
        if best is None or key < best[0]:
            best = (key, c)
    return best[1] if best else None


def _stem_in(word: str, q_terms: set[str]) -> bool:
    found = terms(word)
    return bool(found) and found[0] in q_terms
