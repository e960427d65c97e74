"""Word (.docx) through python-docx: paragraphs and tables in reading order.

A table row becomes one line, its cells joined by " | " (a merged cell counted once), so a
row reads as a statement: "Friday | 5,000 visitors".
"""

from __future__ import annotations

import io
import zipfile

from citeqa.corpus.extract import Extraction, ExtractionError

_MAX_UNZIPPED = 500_000_000
"""A .docx expanding past this is refused: no real document does, a zip bomb does."""


def extract_docx(data: bytes) -> Extraction:
    import docx
    from docx.table import Table

    _check_package(data)
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:
        raise ExtractionError(
            f"not a readable Word document ({type(exc).__name__}: {exc})"
        ) from None
    parts: list[str] = []
    title: str | None = None
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            parts.extend(_rows(item))
            continue
        text = item.text.strip()
        if text:
            parts.append(text)
            # The style id, not ``item.style``: resolving the style object scans every
            # style in the document, per paragraph (seconds for a long document).
            if title is None and item._p.style in ("Title", "Heading1"):
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


def _rows(table: object) -> list[str]:
    out = []
    for row in table.rows:  # type: ignore[attr-defined]
        cells: list[str] = []
        seen: set[int] = set()
        for cell in row.cells:
            if id(cell._tc) in seen:  # a merged cell repeats once per grid column
                continue
            seen.add(id(cell._tc))
            text = " ".join(cell.text.split())
            if text:
                cells.append(text)
        if cells:
            out.append(" | ".join(cells))
    return out
