"""Word (.docx) through python-docx: paragraphs and tables in reading order.

A table row becomes one line, its cells joined by " | " (a merged cell counted once), so a
row reads as a statement: "Friday | 5,000 visitors". The text is what the document says
now: tracked insertions are in it and deletions are not, and text inside content controls,
fields, smart tags, text boxes and tables within tables is read where it stands. python-docx's
own ``Paragraph.text`` reads only a paragraph's direct runs, so "is <ins>not</ins>
refundable" would lose its "not". Headers, footers and footnotes are left out, as page
furniture.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from typing import Any

from citeqa.corpus.extract import Extraction, ExtractionError

_MAX_UNZIPPED = 500_000_000
"""A .docx expanding past this is refused: no real document does, a zip bomb does."""


def extract_docx(data: bytes) -> Extraction:
    import docx

    _check_package(data)
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:
        raise ExtractionError(
            f"not a readable Word document ({type(exc).__name__}: {exc})"
        ) from None
    parts: list[str] = []
    title: str | None = None
    for block in _blocks(document.element.body):
        if block.tag == _TBL:
            parts.extend(_rows(block))
            continue
        text = _text(block).strip()
        if text:
            parts.append(text)
            # The style id, not a style object: resolving one scans every style in the
            # document, per paragraph (seconds for a long document).
            if title is None and block.style in ("Title", "Heading1"):
                title = " ".join(text.split())
    text = "\n\n".join(parts)
    if not text:
        raise ExtractionError("the Word document has no text")
    core_title = " ".join((document.core_properties.title or "").split())
    return Extraction(text=text, title=core_title or title)


def _check_package(data: bytes) -> None:
    """Say plainly what a file named .docx really is when it is not a Word document."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise ExtractionError("not a Word document (not a zip package at all)") from None
    with archive:
        names = archive.namelist()
        if "word/document.xml" not in names:
            shown = ", ".join(names[:3]) + (", …" if len(names) > 3 else "")
            raise ExtractionError(
                "a zip archive, not a Word document (no word/document.xml;"
                f" it holds {shown or 'nothing'})"
            )
        unzipped = sum(info.file_size for info in archive.infolist())
        if unzipped > _MAX_UNZIPPED:
            raise ExtractionError(f"expands to {unzipped:,} bytes, over {_MAX_UNZIPPED:,}")


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_P, _TBL, _TR, _TC, _R = f"{_W}p", f"{_W}tbl", f"{_W}tr", f"{_W}tc", f"{_W}r"
_SDT, _SDT_CONTENT = f"{_W}sdt", f"{_W}sdtContent"
_NOT_THERE = frozenset(
    {
        f"{_W}del",  # tracked deletions
        f"{_W}moveFrom",  # the old place of moved text
        "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback",  # a copy
    }
)


def _blocks(parent: Any, tags: tuple[str, ...] = (_P, _TBL)) -> Iterator[Any]:
    """The children of ``parent`` with one of ``tags`` (a body's or cell's paragraphs and
    tables, a table's rows, a row's cells), in order, through content controls."""
    for child in parent:
        if child.tag in tags:
            yield child
        elif child.tag == _SDT:
            content = child.find(_SDT_CONTENT)
            if content is not None:
                yield from _blocks(content, tags)


def _text(p: Any) -> str:
    """A paragraph's text as it reads now: every run within it (in hyperlinks, fields,
    insertions, text boxes), none that is deleted or a fallback copy."""
    return "".join(r.text for r in p.iter(_R) if not _gone(r, p))


def _gone(element: Any, top: Any) -> bool:
    while element is not top and element is not None:
        if element.tag in _NOT_THERE:
            return True
        element = element.getparent()
    return False


def _rows(table: Any) -> list[str]:
    out = []
    above: dict[int, str] = {}  # the text of a vertically merged cell, by grid column
    for row in _blocks(table, (_TR,)):
        cells, column = [], 0
        for tc in _blocks(row, (_TC,)):
            if tc.vMerge == "continue":  # the cell above, so the row still reads whole
                text = above.get(column, "")
            else:
                text = above[column] = " ".join(_cell_text(tc).split())
            if text:
                cells.append(text)
            column += tc.grid_span
        if cells:
            out.append(" | ".join(cells))
    return out


def _cell_text(tc: Any) -> str:
    """A cell's paragraphs, and the rows of any table within it, as one run of text."""
    parts: list[str] = []
    for block in _blocks(tc):
        parts.extend(_rows(block) if block.tag == _TBL else [_text(block)])
    return " ".join(parts)
