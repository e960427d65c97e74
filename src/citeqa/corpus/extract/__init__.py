"""Document text for every format citeqa reads, through one registry.

For ``.txt`` and ``.md`` the text is the raw file. HTML, PDF and Word files are extracted
(trafilatura, pypdfium2, python-docx) into a plain text that citeqa stores in the index;
answer and citation offsets are offsets into that text, and ``document_text(path)``
reproduces it exactly: extraction is deterministic for a given file and library version.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path

from citeqa.types import DroppedText

PLAIN_EXTENSIONS = frozenset({".txt", ".md"})
RAW = "raw"


class ExtractionError(Exception):
    """A file of a known format that yields no text; the message says why, for a person."""


@dataclass(frozen=True)
class Extraction:
    """What an extractor made of one file. ``pages`` holds the offset in ``text`` where
    each page starts (empty for formats without pages)."""

    text: str
    title: str | None = None
    date: str | None = None
    pages: tuple[int, ...] = ()
    dropped: tuple[DroppedText, ...] = ()


@dataclass(frozen=True)
class Format:
    name: str
    library: str
    """The distribution that does the work; its version goes into the index manifest."""
    run: Callable[[bytes], Extraction]
    rules: int = 1
    """citeqa's own way of reading the format, counted up when it changes the text a file
    gives, so that indexes made the old way count as stale."""

    @property
    def extractor(self) -> str:
        version = f"{self.library} {library_version(self.library)}"
        return version if self.rules == 1 else f"{version}, rules {self.rules}"

    def extract(self, data: bytes) -> Extraction:
        try:
            return self.run(data)
        except ExtractionError:
            raise
        except Exception as exc:  # a library failing on odd input must not stop a build
            raise ExtractionError(
                f"{self.library} could not read it ({type(exc).__name__}: {exc})"
            ) from None


@cache
def library_version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _html(data: bytes) -> Extraction:
    from citeqa.corpus.extract.html_text import extract_html

    return extract_html(data)


def _pdf(data: bytes) -> Extraction:
    from citeqa.corpus.extract.pdf_text import extract_pdf

    return extract_pdf(data)


def _docx(data: bytes) -> Extraction:
    from citeqa.corpus.extract.docx_text import extract_docx

    return extract_docx(data)


_HTML = Format("html", "trafilatura", _html)
FORMATS: dict[str, Format] = {
    ".html": _HTML,
    ".htm": _HTML,
    # rules 2: page furniture after a paragraph (an ad marker, a share prompt) is a line of
    # its own, for the cleaning rules to skip
    ".pdf": Format("pdf", "pypdfium2", _pdf, rules=2),
    # rules 2: tracked changes, content controls and tables within tables read
    ".docx": Format("docx", "python-docx", _docx, rules=2),
}
EXTENSIONS = PLAIN_EXTENSIONS | frozenset(FORMATS)


def format_for(path: Path | str) -> Format | None:
    """The extractor for a file, or None for plain text (and unknown extensions)."""
    return FORMATS.get(Path(path).suffix.lower())


def extractor_for(path: Path | str) -> str:
    fmt = format_for(path)
    return RAW if fmt is None else fmt.extractor


def decode_text(data: bytes) -> str:
    """Decode exactly as ``Path.read_text(encoding="utf-8")`` does, newlines included."""
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8").read()


def document_text(path: Path | str) -> str:
    """The text that answer and citation offsets of ``path`` index into:
    ``document_text(path)[answer.start:answer.end] == answer.text``.

    Raises ExtractionError when the file has no text citeqa can read.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in EXTENSIONS:
        raise ExtractionError(f"unknown extension {suffix or '(none)'!r}")
    data = path.read_bytes()
    fmt = format_for(path)
    if fmt is None:
        try:
            return decode_text(data)
        except UnicodeDecodeError as exc:
            raise ExtractionError(f"not UTF-8 (bad byte at offset {exc.start})") from None
    return fmt.extract(data).text
