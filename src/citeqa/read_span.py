"""The span reader: MiniLM fine-tuned on SQuAD (``citeqa train-reader``), shipped inside the
package, choosing the answer's start and end tokens in the retrieved passages.

Each passage is read in windows with a stride; span scores are start + end logits, so they
compare across windows and passages of one question. The answer maps back to file offsets
through the tokenizer's offset mapping. Whether to abstain is the calibrated probability
that the answer is right (``abstain.py``): the model's margin over its [CLS] "no answer"
score together with the retrieval evidence.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from citeqa import answer_types as at
from citeqa.abstain import UNFITTED, Calibration
from citeqa.batching import MicroBatcher
from citeqa.errors import CiteQAError
from citeqa.index import LoadedIndex
from citeqa.read import Evidence, Reading, SentenceReader
from citeqa.span import SpanGuess, Window
from citeqa.types import Hit, Passage, Sentence

MODEL_DIR = Path(__file__).resolve().parent / "models" / "reader"
CALIBRATION = "abstention.json"


@dataclass(frozen=True)
class SpanSettings:
    """Fitted on the validation articles and the seeds dev split (README, MODEL_CARD.md)."""

    passages: int = 3
    """How many retrieved passages the model reads (each costs a forward pass)."""
    max_length: int = 256
    stride: int = 96
    max_answer_tokens: int = 30
    type_bonus: float = 2.0
    """Logit bonus for a span of the type the question asks for (a date for "when")."""
    rank_penalty: float = 4.0
    """Logits taken off a span per place its passage stands below the top retrieved one.
    The model scores each window as if it held the answer, so without this a confident
    span in a weaker passage wins too often. On the validation articles (599 questions)
    it lifts F1 from 53.8 to 59.0 in the open setting and from 67.2 to 68.6 in the gold
    one; 2 to 4 score alike, 6 less."""
    bf16_from_windows: int = 3
    """Read under bf16 autocast when a batch has at least this many windows: on CPUs with
    AVX512-BF16 that cuts warm ``ask()`` time by about a quarter (README), while for one or
    two windows the casts cost about what they save."""
    context_sentences: int = 1
    """Sentences before the answer sentence that the hybrid reader's model pass reads. One
    scores as well as the whole passage (seeds dev F1 0.577 either way; SQuAD gold, 300
    questions, 61.8 against 61.7) and costs less; none loses 1.6 and 2.6 points."""


def model_available(path: Path = MODEL_DIR) -> bool:
    return (path / "model.safetensors").exists() and (path / "tokenizer.json").exists()


class SpanReader:
    name = "span"

    def __init__(
        self,
        index: LoadedIndex,
        model_dir: Path = MODEL_DIR,
        settings: SpanSettings = SpanSettings(),
    ) -> None:
        if not model_available(model_dir):
            raise CiteQAError(
                f"no span reader model at {model_dir}; train one with citeqa train-reader"
            )
        import torch
        from transformers import AutoModelForQuestionAnswering, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
        self.settings = settings
        fitted = model_dir / CALIBRATION
        self.calibration = Calibration.load(fitted) if fitted.exists() else UNFITTED
        self.tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
        model = AutoModelForQuestionAnswering.from_pretrained(str(model_dir), dtype=torch.float32)
        self.model = model.eval()
        self._torch = torch
        self._lock = threading.Lock()  # tokenizers' Rust objects are not re-entrant
        self._sentence_pass = MicroBatcher(self._windows, max_batch=16, name="span")
        self.evidence = SentenceReader(index)

    def read(
        self,
        question: str,
        query: np.ndarray,
        hits: Sequence[Hit],
        *,
        min_confidence: float = 0.0,
    ) -> Reading | None:
        hits = list(hits)[: self.settings.passages]
        if not hits:
            return None
        guesses = self._guesses(question, hits)
        if not guesses:
            return None
        kind = at.question_type(question)
        best = max(guesses, key=lambda g: g[0])
        _, guess, hit = best
        passage = hit.passage
        a, b = _trim(passage.text, guess.start, guess.end)
        if a >= b:
            return None
        sentence = _sentence_of(passage, passage.start + a, passage.start + b)
        typed = kind not in at.TYPED or _has_type(passage.text[a:b], kind, question)
        null = min(g.null_score for _, g, _ in guesses)
        ev = self.evidence.evidence_for(question, query, hit, sentence)
        evidence = Evidence(
            kind,
            typed,
            ev.dense,
            ev.coverage,
            ev.unknown,
            ev.missing_name,
            margin=guess.score - null,
            rank=hits.index(hit),
        )
        return Reading(
            hit=hit,
            sentence=sentence,
            start=passage.start + a,
            end=passage.start + b,
            confidence=self.calibration.confidence(evidence),
            evidence=evidence,
        )

    def _windows(self, pairs: list[tuple[str, str]]) -> list[list[Window]]:
        """One batched forward pass over strided windows of every (question, text) pair;
        each pair's windows, in order."""
        s = self.settings
        with self._lock:
            enc = self.tokenizer(
                [q for q, _ in pairs],
                [t for _, t in pairs],
                truncation="only_second",
                max_length=s.max_length,
                stride=s.stride,
                return_overflowing_tokens=True,
                return_offsets_mapping=True,
                padding=True,
                return_tensors="pt",
            )
            offsets = enc.pop("offset_mapping").tolist()
            owners = enc.pop("overflow_to_sample_mapping").tolist()
            seq = [enc.sequence_ids(w) for w in range(len(offsets))]
        torch = self._torch
        bf16 = len(offsets) >= s.bf16_from_windows
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = self.model(**enc)
        starts, ends = out.start_logits.float().numpy(), out.end_logits.float().numpy()
        per: list[list[Window]] = [[] for _ in pairs]
        for w, owner in enumerate(owners):
            per[owner].append(Window(starts[w], ends[w], offsets[w], seq[w]))
        return per

    def span_in(
        self, question: str, passage: Passage, sentence: Sentence
    ) -> tuple[int, int] | None:
        """File offsets of the model's best span inside one sentence of ``passage``. The
        model reads that sentence and the ``context_sentences`` before it, not the whole
        passage; concurrent calls share forward passes (``batching.py``)."""
        s = self.settings
        starts = [x.start for x in passage.sentences]
        at_ = starts.index(sentence.start) if sentence.start in starts else 0
        first = passage.sentences[max(0, at_ - s.context_sentences)].start
        base = first - passage.start
        windows = self._sentence_pass((question, passage.text[base : sentence.end - passage.start]))
        lo, hi = sentence.start - first, sentence.end - first
        guesses = [
            w.best(lo, hi, max_tokens=s.max_answer_tokens, window=n) for n, w in enumerate(windows)
        ]
        best = max((g for g in guesses if g is not None), key=lambda g: g.score, default=None)
        if best is None:
            return None
        a, b = _trim(passage.text, base + best.start, base + best.end)
        return (passage.start + a, passage.start + b) if a < b else None

    def _guesses(self, question: str, hits: list[Hit]) -> list[tuple[float, SpanGuess, Hit]]:
        s = self.settings
        kind = at.question_type(question)
        per_hit = self._windows([(question, h.passage.text) for h in hits])
        windows = [
            (rank, hit, w)
            for rank, (hit, ws) in enumerate(zip(hits, per_hit, strict=True))
            for w in ws
        ]
        guesses = []
        for n, (rank, hit, w) in enumerate(windows):
            guess = w.best(0, len(hit.passage.text), max_tokens=s.max_answer_tokens, window=n)
            if guess is None:
                continue
            text = hit.passage.text[guess.start : guess.end]
            bonus = s.type_bonus if kind in at.TYPED and _has_type(text, kind, question) else 0.0
            guesses.append((guess.score + bonus - s.rank_penalty * rank, guess, hit))
        return guesses


def _has_type(text: str, kind: str, question: str) -> bool:
    if kind == at.DEFINITION:
        return len(text.split()) >= 1
    return bool(at.typed_spans(text, kind))


_TRIM = " \t\n,;:"


def _trim(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and text[a] in _TRIM:
        a += 1
    while b > a and text[b - 1] in _TRIM + ".":
        b -= 1
    return a, b


def _sentence_of(passage: Passage, start: int, end: int) -> Sentence:
    """The sentence holding the answer; a span over a sentence break gets both."""
    first = next((s for s in passage.sentences if s.start <= start < s.end), passage.sentences[0])
    last = next((s for s in passage.sentences if s.start < end <= s.end), first)
    if last is first:
        return first
    a, b = first.start, max(last.end, first.end)
    return Sentence(passage.source, a, b, passage.text[a - passage.start : b - passage.start])


class HybridReader:
    """The sentence reader picks the sentence and any typed span (an amount, a date, a
    list of names); where it would fall back to the whole sentence, the span model picks
    the answer inside that sentence. Confidence and abstention are the sentence reader's."""

    name = "hybrid"

    def __init__(self, index: LoadedIndex, model_dir: Path = MODEL_DIR) -> None:
        self.spans = SpanReader(index, model_dir)
        self.sentences = self.spans.evidence  # one SentenceReader: its IDF table is built once

    def read(
        self,
        question: str,
        query: np.ndarray,
        hits: Sequence[Hit],
        *,
        min_confidence: float = 0.0,
    ) -> Reading | None:
        reading = self.sentences.read(question, query, hits)
        if reading is None:
            return None
        s = reading.sentence
        if (reading.start, reading.end) != (s.start, s.end):
            return reading  # a typed span already
        if reading.confidence < min_confidence:
            # It will be abstained on, and the model pass would not change its confidence:
            # save the forward pass (most of the cost of an unanswerable question).
            return reading
        span = self.spans.span_in(question, reading.hit.passage, s)
        if span is None:
            return reading
        return Reading(reading.hit, s, span[0], span[1], reading.confidence, reading.evidence)
