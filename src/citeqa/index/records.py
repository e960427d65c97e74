"""The index's JSON Lines files, written by a build and read back by a load: the passages
with their sentence offsets, and the text of every extracted document."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from citeqa.corpus.extract import RAW
from citeqa.corpus.ingest import Corpus
from citeqa.errors import IndexCorruptError
from citeqa.types import Passage, Sentence


@dataclass(frozen=True)
class StoredText:
    """An extracted document's text as the index holds it, and where its pages start."""

    extractor: str
    text: str
    pages: tuple[int, ...] = ()


def write_passages(path: Path, passages: list[Passage]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for p in passages:
            row = {
                "id": p.id,
                "doc_id": p.doc_id,
                "source": p.source,
                "title": p.title,
                "date": p.date,
                "start": p.start,
                "end": p.end,
                "text": p.text,
                "sentences": [[s.start, s.end] for s in p.sentences],
            }
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def read_passages(path: Path) -> Iterator[Passage]:
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            try:
                row = json.loads(line)
                text, start, source = row["text"], row["start"], row["source"]
                sentences = tuple(
                    Sentence(source, a, b, text[a - start : b - start]) for a, b in row["sentences"]
                )
                yield Passage(
                    id=row["id"],
                    doc_id=row["doc_id"],
                    source=source,
                    title=row["title"],
                    start=start,
                    end=row["end"],
                    text=text,
                    sentences=sentences,
                    date=row.get("date"),
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise IndexCorruptError(f"{path}: line {n} is not a passage ({exc})") from None


def write_documents(path: Path, corpus: Corpus) -> None:
    """The text of every extracted document: offsets point into it, and the file alone
    (an HTML page, a PDF) is not that text."""
    with path.open("w", encoding="utf-8") as fh:
        for doc in corpus.documents:
            if doc.extractor != RAW:
                row = {
                    "source": doc.source,
                    "extractor": doc.extractor,
                    "text": doc.text,
                    "pages": list(doc.pages),
                }
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def read_documents(path: Path) -> dict[str, StoredText]:
    if not path.exists():  # an index from before extracted formats
        return {}
    out: dict[str, StoredText] = {}
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            try:
                row = json.loads(line)
                pages = tuple(int(p) for p in row.get("pages", ()))
                out[row["source"]] = StoredText(str(row["extractor"]), str(row["text"]), pages)
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise IndexCorruptError(f"{path}: line {n} is not a document ({exc})") from None
    return out
