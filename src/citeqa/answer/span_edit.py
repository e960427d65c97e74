"""How the span reader's answer span is edited and filtered, apart from the model: trimmed
of separators, a stray full stop and unmatched brackets (``trim``); widened to the
written-out name of an acronym a question asks about (``acronym_names``, ``whole_name``);
the spans the money and list rules accept (``holds_number``, ``is_list_with``); and the
sentence that holds the span (``sentence_of``). Offsets are character offsets in a
passage's text, so every edit keeps the answer a span of the document.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from citeqa.answer import answer_types as at
from citeqa.answer import question_types as qt
from citeqa.answer.lists import is_list
from citeqa.types import Passage, Sentence


def worded(text: str, accept: Callable[[int, int], bool] | None) -> Callable[[int, int], bool]:
    """``accept``, and not a span of punctuation alone, which trims to nothing."""

    def ok(a: int, b: int) -> bool:
        lo, hi = trim(text, a, b)
        return lo < hi and (accept is None or accept(a, b))

    return ok


def holds_number(text: str) -> Callable[[int, int], bool]:
    return lambda a, b: at.has_number(text[a:b])


def is_list_with(item: str) -> Callable[[str], Callable[[int, int], bool]]:
    """Spans that are lists holding ``item``."""

    def of(text: str) -> Callable[[int, int], bool]:
        def accept(a: int, b: int) -> bool:
            span = text[slice(*trim(text, a, b))]
            return item.casefold() in span.casefold() and is_list(span)

        return accept

    return of


def has_type(text: str, kind: str) -> bool:
    if kind == qt.DEFINITION:
        return len(text.split()) >= 1
    return bool(at.typed_spans(text, kind))


def acronym_names(question: str, kind: str, sentence: str) -> list[at.Candidate]:
    """The written-out name of the acronym a "What is ACR?" question asks about, where
    ``sentence`` gives it."""
    subject = qt.definition_subject(question) if kind == qt.DEFINITION else None
    if not subject or not at.is_acronym(subject):
        return []
    found = at.definition_spans(sentence, subject, expansion_only=True)
    return [c for c in found if c.kind == at.EXPANSION]


def whole_name(
    passage: Passage, sentence: Sentence, a: int, b: int, names: list[at.Candidate]
) -> tuple[int, int]:
    """``a:b`` (offsets in ``passage.text``) widened or narrowed to the name in ``names``
    (offsets in ``sentence``) that it overlaps most, if any."""
    base = sentence.start - passage.start
    best, overlap = (a, b), 0
    for c in names:
        lo, hi = base + c.start, base + c.end
        shared = min(b, hi) - max(a, lo)
        if shared > overlap:
            best, overlap = (lo, hi), shared
    return best


_TRIM = " \t\n,;:"
# A full stop that belongs to the word before it: "U.S.", "p.m.", "Ltd.".
_ABBREVIATION = re.compile(
    r"(?:(?<![^\W\d_])[^\W\d_]\.){2,}$|\b(?:Inc|Ltd|Co|Corp|Bros|Jr|Sr|St|etc)\.$"
)


def trim(text: str, a: int, b: int) -> tuple[int, int]:
    """``a:b`` without the separators around it, a sentence's full stop after it, or a
    bracket left open or closed alone. A bracket opened inside the span is closed where the
    text closes it nearby ("gamma-aminobutyric acid (GABA" takes its ")"), else the span
    ends before it; a span that begins with the bracket loses it and is trimmed again, and
    one that ends with a ")" it never opened loses that. This is for the reader's eyes:
    SQuAD's scoring drops brackets, and on the validation articles (gold paragraphs, 1,794
    questions) closing changed 4 answers for −0.003 F1 points, where ending before the
    bracket lost 0.05; seeds dev changed nowhere. 0.09% of SQuAD v1.1 train's gold answers
    leave a bracket open or close one alone."""
    a, b = _strip(text, a, b)
    depth, opened, stray = 0, -1, -1
    for i in range(a, b):
        if text[i] == "(":
            opened, depth = (i if depth == 0 else opened), depth + 1
        elif text[i] == ")":
            depth, stray = (depth - 1, stray) if depth else (0, i)
    if depth and opened == a:  # and again: the rest may open one of its own
        return trim(text, a + 1, b)
    if depth:
        close = _closing(text, b, depth)
        return (a, close) if close is not None else _strip(text, a, opened)
    if stray == b - 1:
        return _strip(text, a, b - 1)
    return a, b


def _closing(text: str, b: int, depth: int, reach: int = 40) -> int | None:
    """Just past the ")" that closes ``depth`` open brackets, within ``reach`` characters
    of ``b`` on its line."""
    for i in range(b, min(len(text), b + reach)):
        if text[i] == "\n":
            return None
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if depth == 0:
            return i + 1
    return None


def _strip(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and text[a] in _TRIM:
        a += 1
    while b > a and (
        text[b - 1] in _TRIM or (text[b - 1] == "." and not _ABBREVIATION.search(text, a, b))
    ):
        b -= 1
    return a, b


def sentence_of(passage: Passage, start: int, end: int) -> Sentence:
    """The sentence holding the answer; a span over a sentence break gets both."""
    first = next((s for s in passage.sentences if s.start <= start < s.end), passage.sentences[0])
    last = next((s for s in passage.sentences if s.start < end <= s.end), first)
    if last is first:
        return first
    a, b = first.start, max(last.end, first.end)
    return Sentence(passage.source, a, b, passage.text[a - passage.start : b - passage.start])
