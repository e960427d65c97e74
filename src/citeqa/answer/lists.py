"""Lists: ``is_list`` tells a span that is a list from one that is not, for questions that
ask for one (``SpanSettings.lists``). A list here is items joined by commas and closed by
"and" or "or", so a comma that opens no list ("Hong Kong, China") makes none.
"""

from __future__ import annotations

import re

_NAME_WORD = r"[A-Z0-9](?:[\w'’&-]|\.(?=\w))*"
"""A dot only inside a word ("U.S"), so that no item runs over a sentence's end."""
_NAME = rf"{_NAME_WORD}(?:\s+(?:(?:of|the|for|de|&)\s+)?{_NAME_WORD})*"
"""Capitalised words, joined by the small words names carry ("Academy of Film")."""
_WORD = r"[a-z][\w'’-]*"
_LIST_SEP = re.compile(r",\s+(?:(?:and|or)\s+)?|\s+(?:and|or)\s+")
_SMALL_WORD = re.compile(
    r"a|an|the|of|to|in|on|at|by|for|from|with|as|is|are|was|were|be|been|has|have|had|not|"
    r"nor|that|which|who|this|these|those|it|its|their|his|her|also|but|than",
    re.IGNORECASE,
)
"""Words that put a clause, not an item, after a comma ("programming skills, are used")."""


def is_list(text: str) -> bool:
    """Whether ``text`` is a list of two or more items joined by commas and closed by
    "and" or "or" ("TVB, Shaw Brothers Pictures, and Media Asia Group", "hunting and
    grazing"): each item a name, or a phrase of up to four lower-case words none of which
    is a small word."""
    items = _LIST_SEP.split(text)
    if len(items) < 2 or not all(items) or not re.search(r"\s(?:and|or)\s", text):
        return False
    if all(re.fullmatch(_NAME, item) for item in items):
        return True
    words = [item.split() for item in items]
    return all(
        len(w) <= 4 and all(re.fullmatch(_WORD, x) and not _SMALL_WORD.fullmatch(x) for x in w)
        for w in words
    )


def one_item(text: str) -> bool:
    """Whether ``text`` has no list separator in it: a single item at most."""
    return _LIST_SEP.search(text) is None
