"""Load a corpus folder into Documents: text, title, date, kept blocks, skipped spans.

For ``.txt`` and ``.md`` the text is exactly ``Path(source).read_text(encoding="utf-8")``
(universal newlines, a BOM kept as U+FEFF); for HTML, PDF and Word it is what
``citeqa.corpus.extract`` makes of the file. Either way ``extract.document_text(path)`` gives it
back, so every offset citeqa reports can be checked against the file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from citeqa.corpus.extract import EXTENSIONS as EXTENSIONS
from citeqa.corpus.extract import ExtractionError, Format, format_for
from citeqa.corpus.extract import decode_text as decode_text
from citeqa.corpus.parse import parse_document, split_at_pages
from citeqa.errors import CorpusError
from citeqa.types import Document

log = logging.getLogger(__name__)

DEFAULT_MAX_FILE_BYTES = 10_000_000
_BINARY_SNIFF = 8192


@dataclass(frozen=True)
class SkippedFile:
    """A corpus file that was not indexed, and why (a warning, not an error)."""

    source: str
    reason: str
    sha256: str | None = None
    """The file's fingerprint when it was read, if it was: what the index remembers it by,
    so that a file still being copied when the build read it counts as changed after."""
    size: int | None = None


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
        if any(part.startswith(".") for part in rel.parts):
            continue
        source = rel.as_posix()
        if path.is_dir():
            if path.is_symlink():  # rglob does not follow it; say so rather than drop it
                ignored.append(SkippedFile(source, "link to a folder (not followed)"))
            continue
        if not _utf8(source):
            # Manifests and answers name files in UTF-8; show the odd bytes escaped.
            shown = os.fsencode(source).decode("utf-8", "backslashreplace")
            ignored.append(SkippedFile(shown, "file name is not UTF-8"))
        elif not path.resolve().is_relative_to(real_root):
            ignored.append(SkippedFile(source, "link out of the corpus folder"))
        elif path.exists() and not path.is_file():
            ignored.append(SkippedFile(source, "not a regular file"))
        elif path.suffix.lower() not in EXTENSIONS:
            ignored.append(SkippedFile(source, f"unknown extension {path.suffix or '(none)'!r}"))
        else:
            files.append(path)
    return files, ignored


def _utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes, kept by Python as lone surrogates
        return False
    return True


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
    require_folder(root)
    return list_files(Path(root))


def require_folder(root: Path) -> None:
    """A missing corpus folder is a ``CorpusError``, before a build touches anything."""
    if not Path(root).is_dir():
        raise CorpusError(f"corpus folder {root} does not exist or is not a folder")


def read_file(path: Path, source: str, max_file_bytes: int) -> Document | SkippedFile:
    """One corpus file as a Document, or why it was skipped: independent of every other
    file, so files can be read in any order."""
    data = file_bytes(path, source, max_file_bytes)
    return data if isinstance(data, SkippedFile) else parse_file(data, source)


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
        return SkippedFile(source, str(exc), sha256_bytes(data), len(data))


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
    try:
        size = path.stat().st_size
        if size > max_file_bytes:
            raise _Unreadable(f"file is {size:,} bytes, over the {max_file_bytes:,}-byte limit")
        return path.read_bytes()
    except OSError as exc:  # unreadable, a dangling link, deleted since it was listed
        raise _Unreadable(f"cannot read it ({exc.strerror or exc})") from None


def _document_from_bytes(data: bytes, source: str, fmt: Format | None) -> Document:
    if fmt is not None:
        try:
            extraction = fmt.extract(data)
        except ExtractionError as exc:
            raise _Unreadable(str(exc)) from None
        doc = parse_document(
            extraction.text, source, sha256=sha256_bytes(data), size=len(data), wrapped=False
        )
        return dataclasses.replace(
            doc,
            title=extraction.title or doc.title,
            date=extraction.date or doc.date,
            extractor=fmt.extractor,
            pages=extraction.pages,
            dropped=extraction.dropped,
            blocks=split_at_pages(doc.blocks, extraction.pages),
        )
    if b"\x00" in data[:_BINARY_SNIFF]:
        raise _Unreadable("binary file (contains NUL bytes)")
    try:
        text = decode_text(data)
    except UnicodeDecodeError as exc:
        raise _Unreadable(f"not UTF-8 (bad byte at offset {exc.start})") from None
    return parse_document(text, source, sha256=sha256_bytes(data), size=len(data))
