"""Lists. A span the model stops inside a list ("produced, promoted" from "produced,
promoted, and distributed") becomes the whole list; ``is_list`` tells a span that is a list
from one that is not, for questions that ask for one.

It applies only to a span that is already a list of at least two items: widening a single
item to the list around it (for "Which studios…") was measured and made more answers worse
than better (MODEL_CARD.md). A list here is items joined by commas and closed by "and" or
"or", so a comma that does not open a list ("Hong Kong, China") widens nothing.
"""

from __future__ import annotations

import re

_NAME_WORD = r"[A-Z0-9](?:[\w'’&-]|\.(?=\w))*"
"""A dot only inside a word ("U.S"), so that no item runs over a sentence's end."""
_NAME = rf"{_NAME_WORD}(?:\s+(?:(?:of|the|for|de|&)\s+)?{_NAME_WORD})*"
"""Capitalised words, joined by the small words names carry ("Academy of Film")."""
_WORD = r"[a-z][\w'’-]*"
_SEP = r",\s+"
_LAST = r",?\s+(?:and|or)\s+"
_LIST_SEP = re.compile(rf"{_SEP}(?:(?:and|or)\s+)?|\s+(?:and|or)\s+")
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


def whole_list(text: str, a: int, b: int) -> tuple[int, int]:
    """``text[a:b]`` widened to the whole list it is part of, when it is a list of at least
    two items and the text around it goes on with that list's items."""
    span = text[a:b]
    items = _LIST_SEP.split(span)
    if len(items) < 2 or not all(items):
        return a, b
    names = all(re.fullmatch(_NAME, item) for item in items)
    longest = max(len(item.split()) for item in items)
    item = _NAME if names else rf"{_WORD}(?:\s+{_WORD}){{0,{min(longest, 4) - 1}}}"
    if not names and not all(re.fullmatch(item, i) for i in items):
        return a, b
    if re.search(_LAST, span):  # closed by its "and": nothing more to its right
        end = b
    else:
        after = re.match(rf"(?:{_SEP}{item})*{_LAST}{item}\b", text[b:])
        if after is None:
            return a, b
        end = b + after.end()
    if "," not in span:
        return a, end  # "Alibaba and TVB" after "In Beijing, " starts no list there
    before = re.search(rf"(?<![\w'’-])(?:{item}{_SEP})+$", text[:a])
    return (before.start() if before is not None else a), end
