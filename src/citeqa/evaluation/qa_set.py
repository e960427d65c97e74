"""QA sets: the questions ``citeqa eval`` asks, with their gold answers.

A QA set is JSONL, one question per line::

    {"id": "q001", "question": "...", "answers": ["verbatim", "variants"],
     "sources": ["file.txt"], "category": "number", "split": "dev"}

``answers`` empty means the documents do not answer it. ``sources``, ``category`` and
``split`` are optional.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class QAItem:
    id: str
    question: str
    answers: tuple[str, ...]
    sources: tuple[str, ...] = ()
    category: str = ""
    split: str = ""

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


@dataclass(frozen=True)
class QASet:
    items: tuple[QAItem, ...]
    errors: tuple[str, ...] = field(default=())
    """One message per rejected line: 'line N: reason'."""


def load_qa_set(path: Path, *, split: str | None = None) -> QASet:
    """Read a QA set; a malformed line is reported with its number and skipped."""
    items: list[QAItem] = []
    errors: list[str] = []
    # JSON Lines ends rows at "\n" only: str.splitlines() would also split at the U+2028
    # and U+0085 that JSON leaves raw inside strings.
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").split("\n"), 1):
        if not line.strip():
            continue
        try:
            items.append(_item(json.loads(line)))
        except (ValueError, TypeError, KeyError) as exc:
            errors.append(f"line {n}: {exc}")
    if split is not None:
        items = [i for i in items if i.split == split]
    return QASet(tuple(items), tuple(errors))


def _item(row: Any) -> QAItem:
    if not isinstance(row, dict):
        raise TypeError("not a JSON object")
    for key in ("id", "question", "answers"):
        if key not in row:
            raise KeyError(f"missing {key!r}")
    if not isinstance(row["question"], str) or not row["question"].strip():
        raise ValueError("'question' must be a non-empty string")
    answers = row["answers"]
    if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
        raise TypeError("'answers' must be a list of strings")
    sources = row.get("sources") or []
    if not isinstance(sources, list):
        raise TypeError("'sources' must be a list of file names")
    return QAItem(
        id=str(row["id"]),
        question=row["question"],
        answers=tuple(answers),
        sources=tuple(str(s) for s in sources),
        category=str(row.get("category") or ""),
        split=str(row.get("split") or ""),
    )
