"""What kind of answer a question wants: an amount, a date, a name, a list, a definition...

Rules, not a model: fast and explainable. The span reader weighs whether its answer is of
the kind asked for (``abstain.py``); the sentence reader looks for spans of it
(``answer_types.py``).
"""

from __future__ import annotations

import re

MONEY, PERCENT, NUMBER, DATE, DURATION, PLACE, NAME, LIST, DEFINITION, OTHER = (
    "money",
    "percent",
    "number",
    "date",
    "duration",
    "place",
    "name",
    "list",
    "definition",
    "other",
)
TYPED = frozenset({MONEY, PERCENT, NUMBER, DATE, DURATION, PLACE, NAME, LIST, DEFINITION})

_I = re.IGNORECASE
_ORG_NOUNS = (
    r"(compan(y|ies)|universit(y|ies)|institutions?|organi[sz]ations?|bod(y|ies)|platforms?|"
    r"publications?|newspapers?|studios?|units?|entit(y|ies)|groups?|subsidiar(y|ies)|firms?|"
    r"agenc(y|ies)|networks?|brands?|banks?|teams?|parties|party|houses?|broadcasters?|"
    r"outlets?|council|government|department|ministry|person|people|executives?|founders?|"
    r"companies|partners?|arms?|business(es)?|schools?|academ(y|ies)|colleges?)"
)
_PLACE_NOUNS = (
    r"(city|cities|country|countries|region|regions|area|areas|place|places|state|states|"
    r"province|provinces|continent|town|towns|territory|market|markets|district|nation)"
)
_MONEY_VERBS = re.compile(
    r"\b(invest\w*|cost\w*|worth|pay\w*|paid|spen[dt]\w*|fund\w*|price\w*|valu\w*|rais\w*|"
    r"revenue|sales?|budget|award\w*|money|dollars?|earn\w*|profit\w*|income|sell|sold|"
    r"pledg\w*|inject\w*|pour\w*|allocat\w*|loan\w*|debt)\b",
    _I,
)

_QUESTION_RULES: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"\bwhat does .+ stand for\b|\bwhat is the (full|long) (name|form)\b", _I),
        DEFINITION,
    ),
    (
        re.compile(
            r"\b(what|which) (share|percentage|proportion|fraction|percent)\b|"
            r"\bhow much of\b|\bwhat per ?cent\b",
            _I,
        ),
        PERCENT,
    ),
    (re.compile(r"\bby how much\b", _I), PERCENT),
    (re.compile(r"\bhow many\b", _I), NUMBER),
    (
        re.compile(
            r"\bhow (much|expensive)\b|\bwhat (was|is|were|are) the (total )?"
            r"(value|amount|cost|price|revenue|budget|sum)\b",
            _I,
        ),
        MONEY,
    ),
    (
        re.compile(
            r"\bhow long\b|\bover what (period|time)\b|\bfor how long\b|"
            r"\bwhat (period|time ?frame|duration)\b",
            _I,
        ),
        DURATION,
    ),
    (
        re.compile(
            r"\bwhen\b|\bwhat (year|day|date|month|time|quarter|decade|century)\b|"
            r"\bwhich (year|day|date|month|quarter|decade|century|weekday)\b|"
            r"\bon what (day|date)\b|\bin (what|which) (year|month|quarter)\b",
            _I,
        ),
        DATE,
    ),
    (re.compile(rf"\bwhere\b|\b(what|which) {_PLACE_NOUNS}\b|\bproximity to which\b", _I), PLACE),
    (
        re.compile(
            rf"\b(which|what) (two |three |four |five |[\w’']+ ){{0,3}}{_ORG_NOUNS}\b|"
            r"\bwho\b|\bwhom\b|\bwhose\b|\bname the\b",
            _I,
        ),
        NAME,
    ),
    (
        re.compile(r"^\s*(what|who) (is|are|was|were) (an? |the )?[\w’'&.\- ]{1,60}\?\s*$", _I),
        DEFINITION,
    ),
]


def question_type(question: str) -> str:
    for pattern, kind in _QUESTION_RULES:
        if pattern.search(question):
            if kind == MONEY and re.search(r"\bhow much\b", question, _I):
                return MONEY if _MONEY_VERBS.search(question) else NUMBER
            if kind == NAME and wants_list(question):
                return LIST
            return kind
    if wants_list(question):
        return LIST
    return OTHER


def wants_list(question: str) -> bool:
    """Plural 'which studios', 'what kinds', 'which two', 'in what areas' questions."""
    return bool(
        re.search(
            r"\b(which|what) (two|three|four|five|several)\b|"
            r"\b(which|what) ([\w’']+ ){0,3}(studios|houses|firms|groups|platforms|brands|"
            r"universities|institutions|organi[sz]ations|bodies|units|subsidiaries|partners|"
            r"companies|areas|industries|kinds|types|sectors|"
            r"productions|entities|things|ways|fields|roles)\b",
            question,
            _I,
        )
    )


_QUESTION_WORDS = re.compile(
    r"\b(how|much|many|what|which|who|whom|whose|when|where|why|does|do|did|is|are|was|"
    r"were|kind|kinds|type|types|sort|stand for)\b",
    _I,
)


def content_of(question: str) -> str:
    """The question without its question words: what it is about."""
    return _QUESTION_WORDS.sub(" ", question)


def definition_subject(question: str) -> str | None:
    """X in 'What is X?' or 'What does X stand for?'."""
    m = re.search(r"\bwhat does (.+?) stand for\b", question, _I)
    if m:
        return m.group(1).strip()
    m = re.match(r"^\s*(?:what|who) (?:is|are|was|were) (?:an? |the )?(.+?)\s*\?\s*$", question, _I)
    return m.group(1).strip() if m else None
