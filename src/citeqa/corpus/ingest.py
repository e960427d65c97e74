"""Load a corpus folder into Documents: text, title, date, kept blocks, skipped spans.

For ``.txt`` and ``.md`` the text is exactly ``Path(source).read_text(encoding="utf-8")``
(universal newlines, a BOM kept as U+FEFF); for HTML, PDF and Word it is what
``citeqa.corpus.extract`` makes of the file. Either way ``extract.document_text(path)`` gives it
back, so every offset citeqa reports can be checked against the file.
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from citeqa.corpus import clean
from citeqa.corpus.extract import EXTENSIONS as EXTENSIONS
from citeqa.corpus.extract import ExtractionError, Format, format_for
from citeqa.corpus.extract import decode_text as decode_text
from citeqa.errors import CorpusError
from citeqa.types import Block, Document, SkippedSpan

log = logging.getLogger(__name__)

DEFAULT_MAX_FILE_BYTES = 10_000_000
_BINARY_SNIFF = 8192
_TITLE_MAX_WORDS = 30


@dataclass(frozen=True)
class SkippedFile:
    """A corpus file that was not indexed, and why (a warning, not an error)."""

    source: str
    reason: str


@dataclass(frozen=True)
class Corpus:
    root: Path
    documents: tuple[Document, ...]
    skipped: tuple[SkippedFile, ...]
    """Files of a known format that could not be read (binary, not UTF-8, too big, a
    damaged or encrypted PDF, a page with no article text)."""
    ignored: tuple[SkippedFile, ...]
    """Files with another extension, or links out of the folder."""


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def list_files(root: Path) -> tuple[list[Path], list[SkippedFile]]:
    """Candidate documents under ``root`` (sorted), and the files ignored on the way.

    Hidden files and folders are passed over silently; links that lead out of the folder
    are ignored so that a corpus cannot pull in files from elsewhere on the machine.
    """
    files: list[Path] = []
    ignored: list[SkippedFile] = []
    real_root = root.resolve()
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or path.is_dir():
            continue
        source = rel.as_posix()
        if not path.resolve().is_relative_to(real_root):
            ignored.append(SkippedFile(source, "link out of the corpus folder"))
        elif path.suffix.lower() not in EXTENSIONS:
            ignored.append(SkippedFile(source, f"unknown extension {path.suffix or '(none)'!r}"))
        else:
            files.append(path)
    return files, ignored


def load_corpus(root: Path, *, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> Corpus:
    """Read every document under ``root``: ``.txt``, ``.md``, ``.html``/``.htm``, ``.pdf``
    and ``.docx``. Files that cannot be read are skipped with a warning naming them.

    >>> corpus = load_corpus(Path("seeds"))  # doctest: +SKIP
    >>> corpus.documents[0].source
    '000_ccf088dfa326e9ee.txt'
    """
    files, ignored = corpus_files(root)
    read = [read_file(path, path.relative_to(root).as_posix(), max_file_bytes) for path in files]
    return assemble_corpus(root, read, ignored)


def corpus_files(root: Path) -> tuple[list[Path], list[SkippedFile]]:
    """``list_files`` of a folder that must exist."""
    root = Path(root)
    if not root.is_dir():
        raise CorpusError(f"corpus folder {root} does not exist or is not a folder")
    return list_files(root)


def read_file(path: Path, source: str, max_file_bytes: int) -> Document | SkippedFile:
    """One corpus file as a Document, or why it was skipped: independent of every other
    file, so files can be read in any order."""
    try:
        return load_document(path, source, max_file_bytes=max_file_bytes)
    except _Unreadable as exc:
        return SkippedFile(source, str(exc))


def file_bytes(path: Path, source: str, max_file_bytes: int) -> bytes | SkippedFile:
    """What ``parse_file`` needs of a file: its bytes, unless it is over the size limit.
    ``parse_file(file_bytes(...))`` is ``read_file``, split where the bytes can travel
    (``build_ray`` reads here and parses on whichever machine has a core free)."""
    try:
        return _checked_bytes(path, max_file_bytes)
    except _Unreadable as exc:
        return SkippedFile(source, str(exc))


def parse_file(data: bytes, source: str) -> Document | SkippedFile:
    """A file's bytes as a Document, or why it was skipped; its format by ``source``'s
    extension."""
    try:
        return _document_from_bytes(data, source, format_for(source))
    except _Unreadable as exc:
        return SkippedFile(source, str(exc))


def assemble_corpus(
    root: Path, read: Sequence[Document | SkippedFile], ignored: Sequence[SkippedFile]
) -> Corpus:
    """The corpus of files read by ``read_file``, in ``list_files`` order; warns of each
    skipped file, and refuses a corpus with no text at all."""
    root = Path(root)
    documents: list[Document] = []
    skipped: list[SkippedFile] = []
    for item in read:
        if isinstance(item, SkippedFile):
            log.warning("skipping %s: %s", item.source, item.reason)
            skipped.append(item)
        else:
            documents.append(item)
    if not any(doc.blocks for doc in documents):
        raise CorpusError(
            f"corpus folder {root} has no readable text: need UTF-8 .txt or .md files, or"
            " HTML, PDF or .docx documents"
            + (f" ({len(skipped)} skipped, {len(ignored)} ignored)" if skipped or ignored else "")
        )
    return Corpus(root, tuple(documents), tuple(skipped), tuple(ignored))


class _Unreadable(Exception):
    pass


def load_document(
    path: Path, source: str, *, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
) -> Document:
    return _document_from_bytes(_checked_bytes(path, max_file_bytes), source, format_for(path))


def _checked_bytes(path: Path, max_file_bytes: int) -> bytes:
    size = path.stat().st_size
    if size > max_file_bytes:
        raise _Unreadable(f"file is {size:,} bytes, over the {max_file_bytes:,}-byte limit")
    return path.read_bytes()


def _document_from_bytes(data: bytes, source: str, fmt: Format | None) -> Document:
    if fmt is not None:
        try:
            extraction = fmt.extract(data)
        except ExtractionError as exc:
            raise _Unreadable(str(exc)) from None
        doc = parse_document(extraction.text, source, sha256=sha256_bytes(data), size=len(data))
        return dataclasses.replace(
            doc,
            title=extraction.title or doc.title,
            date=extraction.date or doc.date,
            extractor=fmt.extractor,
            pages=extraction.pages,
            dropped=extraction.dropped,
            blocks=_split_at_pages(doc.blocks, extraction.pages),
        )
    if b"\x00" in data[:_BINARY_SNIFF]:
        raise _Unreadable("binary file (contains NUL bytes)")
    try:
        text = decode_text(data)
    except UnicodeDecodeError as exc:
        raise _Unreadable(f"not UTF-8 (bad byte at offset {exc.start})") from None
    return parse_document(text, source, sha256=sha256_bytes(data), size=len(data))


def parse_document(text: str, source: str, *, sha256: str = "", size: int = 0) -> Document:
    """Split raw text into kept blocks and skipped spans, and find the title and date."""
    lines, date, date_span = _classify_lines(text)
    _absorb_banner_lines(text, lines)
    skipped = [date_span] if date_span else []
    blocks: list[Block] = []
    region = 0
    for line in lines:
        a, b, reason = line.start, line.end, line.reason
        if reason is None:
            blocks.append(Block(a, b, region))
        else:
            skipped.append(SkippedSpan(a, b, reason))
            region += 1
    return Document(
        id=hashlib.sha256(source.encode("utf-8")).hexdigest()[:16],
        source=source,
        title=_title(text, blocks, source),
        date=date,
        text=text,
        sha256=sha256,
        size=size,
        skipped=tuple(sorted(skipped, key=lambda span: span.start)),
        blocks=tuple(_renumber(blocks)),
    )


@dataclass
class _Line:
    """A trimmed, non-blank line and why it is furniture (None: content). Mutable only
    while the cleaning passes run; nothing outside this module sees it."""

    start: int
    end: int
    reason: str | None


def _classify_lines(text: str) -> tuple[list[_Line], str | None, SkippedSpan | None]:
    """Non-blank lines, trimmed, each with the reason it is furniture (None = content).
    A date at the top is metadata: recorded, and its span skipped."""
    out: list[_Line] = []
    date: str | None = None
    date_span: SkippedSpan | None = None
    seen: set[str] = set()
    in_script = False
    for start, end in _lines(text):
        a, b = _trim(text, start, end)
        if a == b:  # blank lines separate paragraphs but are not dropped content
            continue
        line = text[a:b]
        inside, in_script = clean.script_state(line, in_script)
        reason = "markup (script or style block)" if inside else clean.furniture_reason(line)
        if reason is None and date is None and len(seen) < 3:
            match = clean.DATE_PREFIX.match(line)
            if match:
                date = clean.parse_date(match)
                date_span = SkippedSpan(a, a + match.end(), "metadata (date)")
                a += match.end()
                if a == b:
                    continue
                line = text[a:b]
        if reason is None and line in seen:
            reason = "repeats an earlier line"
        if reason is None:
            seen.add(line)
        out.append(_Line(a, b, reason))
    return out, date, date_span


def _absorb_banner_lines(text: str, lines: list[_Line]) -> None:
    """Short lines next to a consent banner (its heading, its toggles) belong to it."""
    banner = "cookie or consent notice"
    for order in (range(len(lines)), range(len(lines) - 1, -1, -1)):
        previous: str | None = None
        for i in order:
            line = lines[i]
            short = clean.word_count(text[line.start : line.end]) <= 4
            if line.reason is None and previous == banner and short:
                line.reason = banner
            previous = banner if line.reason in (banner, "consent button") else line.reason


def _lines(text: str) -> list[tuple[int, int]]:
    spans = []
    start = 0
    for line in text.split("\n"):
        spans.append((start, start + len(line)))
        start += len(line) + 1
    return spans


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink a span past whitespace (and a BOM), so kept blocks start and end on text."""
    while start < end and (text[start].isspace() or text[start] == "\ufeff"):
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _title(text: str, blocks: list[Block], source: str) -> str:
    """The first kept line when it reads as a headline; else the opening words."""
    if not blocks:
        return source
    first = text[blocks[0].start : blocks[0].end].lstrip("#").strip()
    words = first.split()
    if 2 <= len(words) <= _TITLE_MAX_WORDS and first[-1] not in ".,;":
        return first
    head = " ".join(words[:12])
    return head + ("…" if len(words) > 12 else "")


def _split_at_pages(blocks: tuple[Block, ...], pages: tuple[int, ...]) -> tuple[Block, ...]:
    """A new region at each page, so that no passage spans two pages and every citation
    has one page to point at."""
    if not pages:
        return blocks
    paged = [
        Block(b.start, b.end, b.region * (len(pages) + 1) + bisect.bisect_right(pages, b.start))
        for b in blocks
    ]
    return tuple(_renumber(paged))


def _renumber(blocks: list[Block]) -> list[Block]:
    """Regions numbered 0, 1, 2… in order (the raw counter skips numbers)."""
    out: list[Block] = []
    mapping: dict[int, int] = {}
    for block in blocks:
        mapping.setdefault(block.region, len(mapping))
        out.append(Block(block.start, block.end, mapping[block.region]))
    return out
