"""A span reader: an encoder fine-tuned on SQuAD (``citeqa train-reader``) choosing the
answer's start and end tokens in the retrieved passages. citeqa ships two: the fast
MiniLM (``models/reader``) and the large MPNet's adapters (``models/reader-large``), which
the default cascade combines (``cascade.py``).

Each passage is read in windows with a stride; span scores are start + end logits, so they
compare across windows and passages of one question. The answer maps back to file offsets
through the tokenizer's offset mapping. Whether to abstain is the calibrated probability
that the answer is right (``abstain.py``): the model's margin over its [CLS] "no answer"
score together with the retrieval evidence. The span is then edited for the reader's eyes
(trimmed, widened to an acronym's whole name) by ``span_edit.py``, whose filters also give
the money and list rules their spans.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from citeqa.answer import answer_types as at
from citeqa.answer import question_types as qt
from citeqa.answer import span_edit
from citeqa.answer.abstain import Calibration
from citeqa.answer.lists import one_item
from citeqa.answer.read import FIRST_PASS, ONE_PASS, SECOND_PASS, Evidence, PassageRead, Reading
from citeqa.answer.reader_model import (
    MODEL_DIR,
    ReaderFolder,
    without_token_types,
)
from citeqa.answer.sentence_reader import SentenceReader
from citeqa.answer.span import SpanGuess, Window
from citeqa.batching import MicroBatcher
from citeqa.index.store import LoadedIndex
from citeqa.types import Hit


@dataclass(frozen=True)
class SpanSettings:
    """Fitted on the validation articles and the seeds dev split (docs/quality.md,
    MODEL_CARD.md)."""

    passages: int = 3
    """How many retrieved passages the model reads (each costs a forward pass)."""
    first_pass: float | None = 0.6
    """Read the top passage alone first, and answer from it when its confidence is at least
    this and the money and list rules are content with it (a number for a sum, more than
    one item for a list); read the others, in a second pass, only when not (None: all at
    once). On the validation articles (open, 1,794 questions) about 60% of questions stop
    at the top passage, for about 0.1 F1 points less than reading all three; on seeds dev
    about half do, and no answer given changed. The top passage alone took 23 ms at the
    median, all three about 50 (docs/performance.md, "Reading the top passage first")."""
    max_length: int = 256
    stride: int = 96
    max_question_tokens: int = 64
    """A longer question is read from its first 64 tokens, as BERT's SQuAD reader did:
    with a question filling the window, the passage would get no room, or less than the
    stride, which the tokenizer refuses."""
    max_answer_tokens: int = 30
    whole_names: bool = True
    """For "What is ACR?", a span that overlaps the acronym's written-out name in its
    sentence ("Alibaba Digital Media and Entertainment Group (AMEG)") becomes that name:
    the model's start probability spreads over the phrase before it. With an earlier model
    this took "What is AMEG?" on seeds dev from F1 0.75 to 1; the model shipped now needs
    it for "What does AMEG stand for?" (docs/quality.md, "Which readers remain")."""
    bf16: bool = True
    """Read in bf16 where the CPU has native bf16 (AVX512-BF16, AMX): the Linear layers'
    weights are cast once at load and the pass runs under autocast, which keeps softmax and
    layer norm in fp32. Warm ``ask()`` p50 went from 66.1 to 61.3 ms against casting the
    weights on every pass, with the same logits, and one window takes 11 ms against fp32's
    17 (docs/performance.md). Elsewhere bf16 is emulated and slower, so the model stays fp32."""
    by_margin: bool = True
    """Pick the span whose score most beats its own window's [CLS] "no answer" score, not
    the highest score. Each window is scored on its own, so its null score is the
    yardstick its span scores are measured against. On 300 validation questions, open F1
    went from 68.4 to 70.4 (10 answers better, 1 worse), gold from 74.8 to 75.4 (long
    paragraphs read in two windows), seeds dev from 0.718 to 0.729 (MODEL_CARD.md)."""
    money: bool = True
    """For a question that asks for a sum of money ("How much is Alibaba investing?"),
    the answer is the best span that holds a number, in digits or in words, where any
    window has one: the model alone answered that one "multi-million dollar". Shares and counts are
    left to the model, since "over half" and "nearly tripled" are right answers with no
    number in them (MODEL_CARD.md)."""
    lists: bool = True
    """For a question that asks for a list ("Which studios…"), when the model's span is a
    single item ("Media Asia"), the answer is the best span that is a list holding that
    item ("TVB, Shaw Brothers Pictures, and Media Asia Group"; ``lists.is_list``), if one
    beats its own window's [CLS] score: the model often stops at one item of the list, or
    finds the item alone in another passage (MODEL_CARD.md)."""
    questions_per_pass: int = 4
    """Questions waiting at once (a busy server) are read in one forward pass, up to this
    many, rather than in passes that fight over the cores (docs/performance.md,
    ``bench --load``)."""


class SpanReader:
    name = "span"

    def __init__(
        self,
        index: LoadedIndex,
        model_dir: Path = MODEL_DIR,
        settings: SpanSettings = SpanSettings(),
        calibration: Calibration | None = None,
    ) -> None:
        """Load the extractive-QA model in ``model_dir`` (any transformers checkpoint:
        BERT, RoBERTa, MPNet, DeBERTa) and its abstention, fitted beside it
        (``abstention.json``) unless ``calibration`` is given."""
        import torch

        from citeqa.bert import span_logits  # torch loads only when a model does

        self.settings = settings
        folder = ReaderFolder.load(Path(model_dir), calibration, bf16=settings.bf16)
        self.calibration = folder.calibration
        self.tokenizer = folder.tokenizer
        self._token_types = folder.token_types
        self._bf16 = folder.bf16
        self.model = folder.model
        self._torch = torch
        self._span_logits = span_logits
        # Every pass runs in one worker thread, over whatever questions are waiting: each
        # pass already uses every core, so concurrent ones would only fight over them. The
        # worker is also the tokenizer's only user (its Rust objects are not re-entrant).
        self._batcher: MicroBatcher[list[tuple[str, str]], list[list[Window]]] = MicroBatcher(
            self._read_waiting, max_batch=settings.questions_per_pass, name="span"
        )
        self.evidence = SentenceReader(index)

    def read(
        self,
        question: str,
        query: np.ndarray,
        hits: Sequence[Hit],
    ) -> Reading | None:
        hits = list(hits)[: self.settings.passages]
        if not hits:
            return None
        enough = self.settings.first_pass
        if enough is None or len(hits) == 1:
            windows = self._read_windows(question, hits)
            guesses = self._guesses(windows)
            reading = self._reading(question, query, hits, windows, guesses)
            return _with_reads(reading, hits, [(guesses, ONE_PASS)], self.settings.by_margin)
        first = self._read_windows(question, hits[:1])
        first_guesses = self._guesses(first)
        reading = self._reading(question, query, hits, first, first_guesses)
        if reading is not None and reading.confidence >= enough and self.settled(reading):
            return _with_reads(
                reading, hits, [(first_guesses, FIRST_PASS)], self.settings.by_margin
            )
        rest = self._read_windows(question, hits[1:])
        rest_guesses = self._guesses(rest)
        reading = self._reading(question, query, hits, first + rest, first_guesses + rest_guesses)
        passes = [(first_guesses, FIRST_PASS), (rest_guesses, SECOND_PASS)]
        return _with_reads(reading, hits, passes, self.settings.by_margin)

    def settled(self, reading: Reading) -> bool:
        """Whether the rules that look across every window read have nothing left to find
        in the other passages: a sum of money answered with a number, a list question with
        more than one item. A reading from the top passage alone that is not settled sends
        the question on to the other passages (here, or in the cascade's large reader)."""
        kind = reading.evidence.kind
        if self.settings.money and kind == qt.MONEY and not at.has_number(reading.text):
            return False
        return not (self.settings.lists and kind == qt.LIST and one_item(reading.text))

    def _reading(
        self,
        question: str,
        query: np.ndarray,
        hits: list[Hit],
        windows: list[tuple[Hit, Window]],
        guesses: list[tuple[SpanGuess, Hit]],
    ) -> Reading | None:
        """The best answer in ``windows`` (of some of ``hits``), with its evidence;
        ``guesses`` are the windows' best spans (``_guesses``)."""
        s = self.settings
        kind = qt.question_type(question)
        if not guesses:
            return None
        if s.money and kind == qt.MONEY:
            guesses = self._guesses(windows, span_edit.holds_number) or guesses
        guess, hit = self._pick(guesses)
        passage = hit.passage
        a, b = span_edit.trim(passage.text, guess.start, guess.end)
        if s.lists and kind == qt.LIST and one_item(item := passage.text[a:b]):
            listed = [
                (g, h)
                for g, h in self._guesses(windows, span_edit.is_list_with(item))
                if g.score > g.null_score
            ]
            if listed:
                guess, hit = self._pick(listed)
                passage = hit.passage
                a, b = span_edit.trim(passage.text, guess.start, guess.end)
        if a >= b:
            return None
        sentence = span_edit.sentence_of(passage, passage.start + a, passage.start + b)
        if s.whole_names:
            a, b = span_edit.whole_name(
                passage, sentence, a, b, span_edit.acronym_names(question, kind, sentence.text)
            )
        typed = kind not in qt.TYPED or span_edit.has_type(passage.text[a:b], kind)
        null = min(g.null_score for g, _ in guesses)
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

    def _read_waiting(self, questions: list[list[tuple[str, str]]]) -> list[list[list[Window]]]:
        """The windows of several questions' (question, passage) pairs, from one pass."""
        windows = self._windows([pair for pairs in questions for pair in pairs])
        out, at = [], 0
        for pairs in questions:
            out.append(windows[at : at + len(pairs)])
            at += len(pairs)
        return out

    def _windows(self, pairs: list[tuple[str, str]]) -> list[list[Window]]:
        """One batched forward pass over strided windows of every (question, text) pair;
        each pair's windows, in order. Only the batcher's worker thread calls it."""
        s = self.settings
        enc = self.tokenizer.windows(
            [(self._clip(q), t) for q, t in pairs], max_length=s.max_length, stride=s.stride
        )
        torch = self._torch
        bf16 = torch.autocast("cpu", dtype=torch.bfloat16, enabled=self._bf16)
        with torch.inference_mode(), bf16:
            inputs = enc.inputs if self._token_types else without_token_types(enc.inputs)
            start_logits, end_logits = self._span_logits(self.model, inputs)
        starts, ends = start_logits.float().numpy(), end_logits.float().numpy()
        per: list[list[Window]] = [[] for _ in pairs]
        for w, owner in enumerate(enc.owners):
            per[owner].append(Window(starts[w], ends[w], enc.offsets[w], enc.sequence_ids[w]))
        return per

    def _clip(self, question: str) -> str:
        """``question`` up to the end of its ``max_question_tokens``-th token."""
        offsets = self.tokenizer.offsets(question, self.settings.max_question_tokens)
        return question[: offsets[-1][1]] if offsets else question

    def _read_windows(self, question: str, hits: list[Hit]) -> list[tuple[Hit, Window]]:
        """Every window of every passage, with its passage, from one pass of the model."""
        per_hit = self._batcher([(question, h.passage.text) for h in hits])
        return [(hit, w) for hit, ws in zip(hits, per_hit, strict=True) for w in ws]

    def _guesses(
        self,
        windows: list[tuple[Hit, Window]],
        accept: Callable[[str], Callable[[int, int], bool]] | None = None,
    ) -> list[tuple[SpanGuess, Hit]]:
        """The best span of every window; their scores compare. ``accept``, given a
        passage's text, rules spans of it out (by character offsets)."""
        found = []
        for hit, w in windows:
            text = hit.passage.text
            rule = span_edit.worded(text, accept(text) if accept else None)
            guess = w.best(max_tokens=self.settings.max_answer_tokens, accept=rule)
            if guess is not None:
                found.append((guess, hit))
        return found

    def _pick(self, guesses: list[tuple[SpanGuess, Hit]]) -> tuple[SpanGuess, Hit]:
        return _pick(guesses, self.settings.by_margin)


def _pick(guesses: list[tuple[SpanGuess, Hit]], by_margin: bool) -> tuple[SpanGuess, Hit]:
    if by_margin:
        return max(guesses, key=lambda g: g[0].score - g[0].null_score)
    return max(guesses, key=lambda g: g[0].score)


def _with_reads(
    reading: Reading | None,
    hits: list[Hit],
    passes: list[tuple[list[tuple[SpanGuess, Hit]], str]],
    by_margin: bool,
) -> Reading | None:
    """``reading`` with what each pass made of each passage it read (``Reading.reads``),
    from the same guesses the answer was chosen from."""
    if reading is None:
        return None
    reads = []
    for guesses, read_in in passes:
        for hit in hits:
            own = [(g, h) for g, h in guesses if h is hit]
            if not own:
                continue
            guess, _ = _pick(own, by_margin)
            a, b = span_edit.trim(hit.passage.text, guess.start, guess.end)
            margin = guess.score - min(g.null_score for g, _ in own)
            reads.append(PassageRead(hit.passage.id, hit.passage.text[a:b], margin, read_in))
    return replace(reading, reads=tuple(reads))
