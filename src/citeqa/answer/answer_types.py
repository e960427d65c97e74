"""The spans of a sentence that are of the kind a question wants (``question_types.py``).

Rules, not a model: they are fast, explainable, and they let a reader say "this sentence
does not contain an amount" — the basis of an honest abstention. Spans are (start, end)
offsets into the sentence text, so callers map them to the file with one addition.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from citeqa.answer.question_types import (
    DATE,
    DEFINITION,
    DURATION,
    LIST,
    MONEY,
    NAME,
    NUMBER,
    PERCENT,
    PLACE,
)

_I = re.IGNORECASE


@dataclass(frozen=True)
class Candidate:
    start: int
    end: int
    kind: str


_CURRENCY = r"(?:(?:US|HK|NZ|A|C|S|NT|R)?\$|€|£|¥|RMB ?|USD ?|HKD ?|EUR ?|GBP ?)"
_SCALE = r"(?:\s?(?:million|billion|trillion|thousand|bn|mn|m|k)\b)?"
_NUM = r"\d[\d,]*(?:\.\d+)?"
_NUM_WORDS = (
    r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|"
    r"thirty|forty|fifty|hundred|a hundred|dozens?|several)"
)
_MONTH = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|"
    r"December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.?"
)
_WEEKDAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_ORDINAL_Q = r"(?:first|second|third|fourth|1st|2nd|3rd|4th)"

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        MONEY,
        re.compile(
            rf"{_CURRENCY}\s?{_NUM}{_SCALE}(?:\s\((?:{_CURRENCY}\s?{_NUM}{_SCALE}[^)]{{0,20}})\))?"
            rf"|\b{_NUM}{_SCALE}\s"
            r"(?:(?:Hong Kong|US|U\.S\.|Singapore|Australian|Canadian|New Taiwan)\s)?"
            r"(?:dollars|euros|pounds|yuan|renminbi|yen|rupees)\b"
        ),
    ),
    (PERCENT, re.compile(rf"\b{_NUM}\s?(?:%|percent\b|per cent\b)")),
    (
        DATE,
        re.compile(
            rf"\b(?:the )?{_ORDINAL_Q} quarter(?: of (?:\d{{4}}|the year))?"
            rf"|\b(?:the )?{_MONTH[:-3]}-{_MONTH[:-3]} quarter"
            rf"|\bQ[1-4](?: \d{{4}})?\b"
            rf"|\b(?:{_WEEKDAY},? )?{_MONTH} \d{{1,2}}(?:st|nd|rd|th)?(?:,? \d{{4}})?"
            rf"|\b(?:{_WEEKDAY},? )?\d{{1,2}} {_MONTH}(?:,? \d{{4}})?"
            rf"|\b{_MONTH} \d{{4}}\b|\b{_WEEKDAY}\b|\b\d{{4}}-\d{{2}}-\d{{2}}\b"
            r"|\b(?:1[89]|20)\d{2}s?\b",
        ),
    ),
    (
        DURATION,
        re.compile(
            rf"\b(?:the )?(?:next |past |last )?(?:{_NUM}|{_NUM_WORDS})[- ]"
            r"(?:years?|months?|weeks?|days?|decades?|hours?)\b",
            _I,
        ),
    ),
    (NUMBER, re.compile(rf"\b{_NUM}\b(?![-\w])|\b{_NUM_WORDS}\b(?=[- ]\w)", _I)),
]

# Capitalised words, joined by the small words that sit inside names ("Media Asia Group",
# "Academy of Film", "Film & TV Market"), with an optional possessive.
_CAP = r"(?:[A-Z][\w\-]*(?:[’']s)?|[A-Z]{2,}\d*)"
_NAME = re.compile(rf"{_CAP}(?:\s(?:(?:of|and|&|for|de|the|du|van|von)\s)?{_CAP})*")
_LIST_SEP = r"(?:,\s(?:and\s|or\s)?|\s(?:and|or)\s)"
_NAME_LIST = re.compile(rf"{_NAME.pattern}(?:{_LIST_SEP}{_NAME.pattern})+")
_PHRASE_LIST = re.compile(
    r"\b[\w\-’']+(?: [\w\-’']+){0,3}(?:, [\w\-’']+(?: [\w\-’']+){0,3})+,? (?:and|or) "
    r"[\w\-’']+(?: [\w\-’']+){0,4}"
)
_LOCATIVE = re.compile(r"\b(in|at|from|to|near|across|into|of|throughout)\s$", _I)
_REGION_PREFIX = re.compile(
    r"\b(mainland|northern|southern|eastern|western|central|greater|rural|urban)\s$", _I
)
_DEMONYMS = frozenset(
    [
        "American",
        "Asian",
        "Australian",
        "British",
        "Canadian",
        "Chinese",
        "English",
        "European",
        "French",
        "German",
        "Indian",
        "Italian",
        "Japanese",
        "Korean",
        "Western",
        "Eastern",
        "Russian",
        "Spanish",
    ]
)


_HOLDS_NUMBER = re.compile(rf"\d|\b{_NUM_WORDS}\b", _I)


def has_number(text: str) -> bool:
    """Whether ``text`` holds a number, in digits or in words."""
    return bool(_HOLDS_NUMBER.search(text))


def typed_spans(sentence: str, kind: str) -> list[Candidate]:
    """Spans of ``sentence`` that are an answer of ``kind``."""
    if kind in (MONEY, PERCENT, NUMBER, DATE, DURATION):
        return _pattern_spans(sentence, kind)
    if kind == PLACE:
        return _place_spans(sentence)
    if kind == NAME:
        return _name_spans(sentence)
    if kind == LIST:
        return _list_spans(sentence)
    return []


def _pattern_spans(sentence: str, kind: str) -> list[Candidate]:
    taken: list[tuple[int, int]] = []
    out: list[Candidate] = []
    for k, pattern in _PATTERNS:
        for m in pattern.finditer(sentence):
            a, b = m.span()
            if any(a < y and x < b for x, y in taken):
                continue  # "$710 million" is money, not also a number
            taken.append((a, b))
            if k == kind:
                out.append(Candidate(a, b, kind))
    return out


def _is_ordinary_word(word: str) -> bool:
    """A word capitalised only because it starts the sentence ("While", "Additionally")."""
    from citeqa.index.lexicon import is_stopword

    lower = word.lower()
    return is_stopword(lower) or lower.endswith("ly") or lower in _SENTENCE_OPENERS


_SENTENCE_OPENERS = frozenset(
    [
        "while",
        "although",
        "though",
        "however",
        "meanwhile",
        "furthermore",
        "moreover",
        "besides",
        "through",
        "during",
        "despite",
        "since",
        "after",
        "before",
        "with",
        "without",
        "according",
        "as",
        "unlike",
        "like",
    ]
)


def _name_spans(sentence: str) -> list[Candidate]:
    out = []
    lead = len(sentence) - len(sentence.lstrip(" “\"'("))
    for m in _NAME.finditer(sentence):
        a, b = m.span()
        words = m.group().split()
        if a <= lead and _is_ordinary_word(words[0].rstrip(",")):
            if len(words) == 1:
                continue
            a += len(words[0]) + 1
            words = words[1:]
        if len(words) == 1 and words[0] in _DEMONYMS:
            continue  # "Chinese" describes; it does not name
        if sentence[b - 2 : b] in ("’s", "'s"):
            b -= 2
        out.append(Candidate(a, b, NAME))
    return out


def _place_spans(sentence: str) -> list[Candidate]:
    out = []
    for c in _name_spans(sentence):
        before = sentence[: c.start]
        region = _REGION_PREFIX.search(before)
        start = region.start() if region else c.start
        if _LOCATIVE.search(sentence[:start]) or region:
            out.append(Candidate(start, c.end, PLACE))
    return out or [Candidate(c.start, c.end, PLACE) for c in _name_spans(sentence)]


def _list_spans(sentence: str) -> list[Candidate]:
    """Lists of names ("TVB, Shaw Brothers Pictures, and Media Asia Group"); lists of
    plain phrases ("production, promotion, and distribution") only when there are none."""
    names = [Candidate(*m.span(), LIST) for m in _NAME_LIST.finditer(sentence)]
    return names or [Candidate(*m.span(), LIST) for m in _PHRASE_LIST.finditer(sentence)]


_APPOSITIVE_END = re.compile(r"[,.;:()]|\s(?:is|was|will|has|and|which|who)\s")
_NP_START = re.compile(r"(?:an?|the|its|their|his|her|one of|part of)\s", _I)
EXPANSION = "expansion"


def is_acronym(subject: str) -> bool:
    return bool(re.fullmatch(r"[A-Z][A-Z0-9&]{1,9}", subject))


def definition_spans(
    sentence: str, subject: str, *, expansion_only: bool = False
) -> list[Candidate]:
    """Where ``sentence`` defines ``subject``: its expansion ("Full Name (ACR)"), an
    appositive ("X, a ticketing firm,"), a copula ("X is a ..."), or a preceding
    appositive ("the video platform, X,"). Expansions have kind ``EXPANSION``."""
    out: list[Candidate] = []
    pos = sentence.find(subject)
    if pos < 0:
        return out
    after = pos + len(subject)
    if sentence[pos - 1 : pos] == "(" and sentence[after : after + 1] == ")":
        names = [c for c in _name_spans(sentence[: pos - 1]) if c.end >= pos - 2]
        if names:
            out.append(Candidate(names[-1].start, names[-1].end, EXPANSION))
        return out
    if expansion_only:
        return out
    tail = sentence[after:]
    m = re.match(r"\s*\(([^)]+)\)", tail)  # "Group (AMEG)" asked as "What is Group?"
    if m:
        out.append(Candidate(after + m.start(1), after + m.end(1), EXPANSION))
    m = re.match(r",\s+(?=" + _NP_START.pattern + r")|\s+(?:is|was|are|were)\s+", tail, _I)
    if m:
        start = after + m.end()
        stop = _APPOSITIVE_END.search(sentence, start + 1)
        end = stop.start() if stop else len(sentence.rstrip(". "))
        if end > start:
            out.append(Candidate(start, end, DEFINITION))
    head = sentence[:pos]
    if head.endswith(", ") and tail.startswith(","):
        clause_start = max(head.rfind(",", 0, len(head) - 2) + 1, 0)
        while clause_start < len(head) and head[clause_start] == " ":
            clause_start += 1
        if len(head) - 2 > clause_start:
            out.append(Candidate(clause_start, len(head) - 2, DEFINITION))
    return out
