"""``QA`` owns the embedder, the index, the retriever and a reader; ``ask()`` is the front door.

>>> from citeqa import ask
>>> ans = ask("How much is Alibaba investing in Hong Kong?")  # doctest: +SKIP
>>> ans.text, ans.source  # doctest: +SKIP
('$640 million (HK$5 billion)', '002_424a6c7695f088a1.txt')
"""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from citeqa import explain as tracing
from citeqa import paths
from citeqa.answer.abstain import Calibration
from citeqa.answer.cite import citation, cited_answer, states
from citeqa.answer.read import Reader, Reading
from citeqa.answer.readers import DEFAULT_READER, calibration_of, make_reader, threshold_of
from citeqa.answer.retrieve import RetrievalSettings, Retriever
from citeqa.answer.sentence_reader import SentenceReader
from citeqa.errors import IndexFolderError, IndexStaleError, InvalidQuestionError
from citeqa.explain import Trace
from citeqa.index.build import build_index
from citeqa.index.embed import Embedder, MiniLMEmbedder
from citeqa.index.freshness import staleness
from citeqa.index.store import LoadedIndex, load_index
from citeqa.types import EMPTY_CITATION, Answer, Hit

MAX_QUESTION_CHARS = 1000


@dataclass(frozen=True)
class AbstentionPolicy:
    """When citeqa says "the documents don't say" instead of answering: below
    ``min_confidence``. Reader confidence already folds in the other signals: a question
    word that no document contains, and a wanted answer type (amount, date, name) that the
    answer lacks."""

    min_confidence: float

    def abstain(self, reading: Reading | None) -> bool:
        return reading is None or reading.confidence < self.min_confidence


def check_question(question: object) -> str:
    """The question to work on: validated, with control characters removed."""
    if not isinstance(question, str):
        raise TypeError(f"question must be a str, not {type(question).__name__}")
    cleaned = "".join(
        " " if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp") else ch for ch in question
    ).strip()
    if not cleaned:
        raise InvalidQuestionError("the question is empty")
    if len(question) > MAX_QUESTION_CHARS:
        raise InvalidQuestionError(
            f"the question is {len(question):,} characters; the limit is {MAX_QUESTION_CHARS:,}"
        )
    return " ".join(cleaned.split())


class QA:
    """Answers questions over one index. Load once; ``ask`` is safe from many threads (all
    state is read-only after loading, and the model loads before the first question)."""

    def __init__(
        self,
        index: LoadedIndex,
        embedder: Embedder,
        reader: Reader | None = None,
        *,
        retrieval: RetrievalSettings = RetrievalSettings(),
        policy: AbstentionPolicy | None = None,
    ) -> None:
        self.index = index
        self.embedder = embedder
        self.retriever = Retriever(index, retrieval)
        self.reader: Reader = reader if reader is not None else SentenceReader(index)
        self.policy = policy or AbstentionPolicy(threshold_of(self.reader))

    @classmethod
    def load(
        cls,
        index_dir: Path | str | None = None,
        *,
        reader: str | Callable[[LoadedIndex], Reader] = DEFAULT_READER,
        embedder: Embedder | None = None,
        reader_model: Path | str | None = None,
        calibration: Path | str | Calibration | None = None,
    ) -> QA:
        """Load an index (the default ``index/`` when None) and warm the model. ``reader``
        names one (``readers.READERS``) or makes one for the index. ``reader_model`` is a
        span reader's model folder, any transformers extractive-QA checkpoint with its
        abstention fitted beside it (``citeqa fit-abstention``); default: the packaged one.

        The default index is rebuilt from ``seeds/`` when it is missing, stale or broken;
        any other index must be fresh, or loading fails with a message naming it. An index
        whose corpus folder is not beside it (copied elsewhere to be served) loads with one
        warning that its freshness cannot be checked.

        ``calibration`` (a file from ``citeqa calibrate``, or one loaded) replaces the span
        reader's abstention: its threshold, and its weights when refitted.
        """
        if isinstance(calibration, (str, Path)):
            calibration = Calibration.load(Path(calibration))
        embedder = embedder if embedder is not None else MiniLMEmbedder()
        index = checked_index(index_dir, embedder)
        return cls.from_index(
            index, embedder, reader=reader, reader_model=reader_model, calibration=calibration
        )

    @classmethod
    def from_index(
        cls,
        index: LoadedIndex,
        embedder: Embedder,
        *,
        reader: str | Callable[[LoadedIndex], Reader] = DEFAULT_READER,
        reader_model: Path | str | None = None,
        calibration: Calibration | None = None,
    ) -> QA:
        """``load``'s second half: warm the embedder's model and load the reader's."""
        embedder.encode(["warm up"])
        if isinstance(reader, str):
            model = Path(reader_model) if reader_model is not None else None
            made = make_reader(reader, index, model, calibration)
        elif reader_model is not None or calibration is not None:
            raise ValueError(
                "give a reader model folder or calibration with a reader's name, not a factory"
            )
        else:
            made = reader(index)
        return cls(index, embedder, made)

    def ask(
        self, question: str, top_k: int = 5, *, sources: frozenset[str] | None = None
    ) -> Answer:
        """Answer ``question`` from the documents (only those in ``sources``, when given),
        or abstain."""
        checked = check_question(question)
        # Echoed back as asked, but encodable: a lone surrogate would fail the JSON reply.
        asked = question.encode("utf-8", "replace").decode("utf-8")
        question = checked
        _check_top_k(top_k)
        return self._answer(asked, question, top_k, sources)[0]

    def explain(
        self,
        question: str,
        top_k: int = 5,
        *,
        sources: frozenset[str] | None = None,
        gold: Sequence[str] = (),
    ) -> tuple[Answer, Trace]:
        """``ask``'s answer, and the trace of how it came about (``citeqa.explain``). With
        ``gold`` answers, the verdict can also say that retrieval missed the answer."""
        checked = check_question(question)
        asked = question.encode("utf-8", "replace").decode("utf-8")
        _check_top_k(top_k)
        answer, hits, reading, words = self._answer(asked, checked, top_k, sources)
        gold_rank = None
        if gold:
            stating = (
                n for n, h in enumerate(hits, 1) if any(states(h.passage.text, g) for g in gold)
            )
            gold_rank = next(stating, 0)
        steps = tracing.reading_steps(hits, reading)
        verdict = tracing.verdict(
            words, reading, not answer.abstained, gold_rank=gold_rank, top_k=top_k
        )
        trace = tracing.Trace(
            question=asked,
            words=words,
            candidates=tracing.candidates(hits, words),
            reader=self.reader.name,
            reading=steps,
            abstention=tracing.abstention(
                reading,
                calibration_of(self.reader, reading),
                self.policy.min_confidence,
                not answer.abstained,
            ),
            verdict=verdict,
            notes=tracing.notes(words, steps, verdict.stage),
        )
        return answer, trace

    def _answer(
        self, asked: str, question: str, top_k: int, sources: frozenset[str] | None
    ) -> tuple[Answer, list[Hit], Reading | None, tracing.QuestionWords]:
        hits, reading = self.read(question, top_k, sources=sources)
        words = tracing.question_words(question, self.index.lexicon)
        related = [citation(h, self.index) for h in hits]
        if reading is None or self.policy.abstain(reading):
            score = reading.confidence if reading is not None else 0.0
            reason = tracing.verdict(words, reading, False).reason
            answer = Answer(
                asked, "", True, score, "", 0, 0, EMPTY_CITATION, [], related, reason=reason
            )
        else:
            answer = cited_answer(asked, reading, hits, related, self.index)
        if reading is not None and reading.model:  # which of a cascade's readers read it
            answer = replace(answer, read_by=reading.model)
        return answer, hits, reading, words

    def read(
        self, question: str, top_k: int = 5, *, sources: frozenset[str] | None = None
    ) -> tuple[list[Hit], Reading | None]:
        """The retrieved passages and the reader's best answer among them, whatever its
        confidence: what ``ask`` decides on, and what abstention is fitted on."""
        question = check_question(question)
        query = self.embedder.encode([question])[0]
        hits = self.retriever.search(question, query, top_k, sources)
        reading = self.reader.read(question, query, hits)
        return hits, reading


def _check_top_k(top_k: object) -> None:
    if not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 1:
        raise ValueError(f"top_k must be a positive integer, got {top_k!r}")


def checked_index(index_dir: Path | str | None, embedder: Embedder) -> LoadedIndex:
    """``QA.load``'s index: the default one, fresh (rebuilt if need be), or ``index_dir``,
    which must be fresh."""
    if index_dir is None:
        return _fresh_default_index(embedder)
    index = load_index(Path(index_dir), embedder)
    diffs = staleness(index.path, embedder, settings=None, corpus_optional=True, verify=False)
    if diffs:
        raise IndexStaleError(
            f"index {index.path} is stale ({'; '.join(diffs)});"
            f" rebuild it with: citeqa index {index.corpus_dir} --index {index.path}"
        )
    return index


def _fresh_default_index(embedder: Embedder) -> LoadedIndex:
    index_dir, corpus_dir = paths.default_index(), paths.default_corpus()
    try:
        index = load_index(index_dir, embedder)  # verified, so staleness need not hash again
        if not staleness(index_dir, embedder, corpus_dir=corpus_dir, verify=False):
            return index
    except IndexFolderError:
        pass  # missing, corrupt or from another model: rebuild below
    build_index(corpus_dir, index_dir, embedder)
    return load_index(index_dir, embedder)


_DEFAULTS: dict[tuple[str, str], QA] = {}
_LOADING: dict[tuple[str, str], threading.Lock] = {}
_DEFAULTS_LOCK = threading.Lock()


def ask(
    question: str,
    *,
    index_dir: Path | str | None = None,
    top_k: int = 5,
    reader: str = DEFAULT_READER,
) -> Answer:
    """Answer a question from the default index (``index/`` built from ``seeds/``), or
    from ``index_dir``. One ``QA`` per index folder and reader is kept for later calls."""
    check_question(question)  # bad input fails before any loading
    _check_top_k(top_k)
    key = (str(Path(index_dir).resolve()) if index_dir is not None else "", reader)
    with _DEFAULTS_LOCK:
        qa = _DEFAULTS.get(key)
        loading = _LOADING.setdefault(key, threading.Lock())
    if qa is None:
        # One load per index and reader; callers of other, loaded ones are not held up by
        # it (loading may rebuild the default index: minutes).
        with loading:
            qa = _DEFAULTS.get(key)
            if qa is None:
                qa = QA.load(index_dir, reader=reader)
                with _DEFAULTS_LOCK:
                    _DEFAULTS[key] = qa
    return qa.ask(question, top_k=top_k)
