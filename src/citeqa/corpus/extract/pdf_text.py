"""PDF: the text layer through pypdfium2, page by page. No OCR: a scanned PDF without a
text layer is reported, not guessed at.

The document text is built here, so its offsets are exact by construction: wrapped lines of
a paragraph are joined with a space, a word hyphenated across a line break is joined back,
and headers, footers and page numbers that repeat on the page edges are left out (listed
in ``Extraction.dropped`` for ``citeqa index --explain``). Pages are separated by a blank
line, and ``Extraction.pages`` records where each one starts.

A line that the cleaning rules (``clean.py``) call page furniture, an ad marker or a share
prompt printed with a web page, stays a line of its own, so that parsing skips it as it
does on the page itself; joined to the paragraph before, no rule would see it.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from datetime import date

from citeqa.corpus import clean
from citeqa.corpus.extract import Extraction, ExtractionError
from citeqa.types import DroppedText

# pdfium marks a hyphen at a line break (a soft hyphen) with U+FFFE (U+0002 in older builds).
_SOFT_HYPHEN = re.compile(r"[\ufffe\x02\u00ad]\r?\n?")
_PAGE_NUMBER = re.compile(r"^(page\s*)?\d{1,4}(\s*(of|/)\s*\d{1,4})?$", re.I)
_EDGE = 2
"""Lines from the top and the bottom of a page where headers and footers live."""
_SHORT_LINE = 0.7
"""A line shorter than this share of the page's longest line ends its paragraph."""
_PDF_DATE = re.compile(r"^D:(\d{4})(\d{2})(\d{2})")
_ENDS_SENTENCE = re.compile(r"[.!?…:;][\"'”’)\]]*$")


def extract_pdf(data: bytes) -> Extraction:
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    # pdfium keeps one last error for the process and sets it only on some failures: a PDF
    # of no pages fails without one and would be given the reason of an earlier file. A
    # load from memory never sets "file access error", so set that first to mean "none".
    pdfium_c.FPDF_LoadDocument(b"", None)
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if exc.err_code == pdfium_c.FPDF_ERR_PASSWORD:
            raise ExtractionError("encrypted PDF: it needs a password to open") from None
        if exc.err_code in (pdfium_c.FPDF_ERR_FILE, pdfium_c.FPDF_ERR_SUCCESS):
            raise ExtractionError("empty PDF: it has no pages") from None
        detail = re.search(r"\(([^()]+)\)", str(exc))  # "(PDFium: Data format error)"
        why = detail.group(1) if detail else str(exc)
        raise ExtractionError(f"damaged or truncated PDF ({why})") from None
    try:
        pages = [_page_lines(pdf[i]) for i in range(len(pdf))]
        meta = pdf.get_metadata_dict()
    finally:
        pdf.close()
    if not any(pages):
        raise ExtractionError(
            "no text layer (a scanned or image-only PDF; citeqa does not run OCR)"
        )
    first_line = pages[0][0] if pages[0] else ""
    pages, dropped = _drop_edges(pages)
    parts: list[str] = []
    starts: list[int] = []
    offset = 0
    for lines in pages:
        para = _paragraphs(lines)
        if parts and para:
            offset += 2  # the blank line between pages
        starts.append(offset)
        if para:
            parts.append(para)
            offset += len(para)
    text = "\n\n".join(parts)
    if not text.strip():
        raise ExtractionError("no text besides repeated headers and footers")
    # No title in the metadata: a running header on page one usually is the title.
    header = (
        first_line if pages[0][:1] != [first_line] and not _PAGE_NUMBER.match(first_line) else ""
    )
    title = " ".join(str(meta.get("Title", "")).split()) or header or None
    return Extraction(text, title, _date(meta.get("CreationDate", "")), tuple(starts), dropped)


def _page_lines(page: object) -> list[str]:
    textpage = page.get_textpage()  # type: ignore[attr-defined]
    try:
        raw: str = textpage.get_text_range()
    finally:
        textpage.close()
        page.close()  # type: ignore[attr-defined]
    raw = _SOFT_HYPHEN.sub(_join_hyphen, raw)
    lines = (" ".join(line.split()) for line in raw.replace("\r\n", "\n").split("\n"))
    return [line for line in lines if line]


def _join_hyphen(match: re.Match[str]) -> str:
    """A word broken across lines is one word again; before a capital or a digit the
    hyphen was part of the text ("COVID-19"), so it stays."""
    after = match.string[match.end() : match.end() + 1]
    return "" if after.islower() else "-"


def _edge_key(line: str) -> str:
    return re.sub(r"\d+", "#", line.lower())


def _drop_edges(pages: list[list[str]]) -> tuple[list[list[str]], tuple[DroppedText, ...]]:
    """Leave out page numbers, and lines on the page edges that repeat on at least half
    of the pages (two at least): running headers and footers."""
    seen: Counter[str] = Counter()
    for lines in pages:
        seen.update({_edge_key(line) for line in lines[:_EDGE] + lines[-_EDGE:]})
    need = max(2, (len(pages) + 1) // 2)
    repeated = {key for key, n in seen.items() if n >= need}
    counts: Counter[tuple[str, str]] = Counter()
    example: dict[tuple[str, str], str] = {}
    out: list[list[str]] = []
    for lines in pages:
        n = len(lines)
        edge = set(range(min(_EDGE, n))) | set(range(max(0, n - _EDGE), n))
        kept = []
        for i, line in enumerate(lines):
            reason = None
            if i in edge and _PAGE_NUMBER.match(line):
                reason = "page number"
            elif i in edge and _edge_key(line) in repeated:
                reason = "repeated header or footer"
            if reason is None:
                kept.append(line)
            else:
                key = (reason, _edge_key(line))
                counts[key] += 1
                example.setdefault(key, line)
        out.append(kept)
    return out, tuple(DroppedText(key[0], example[key], n) for key, n in sorted(counts.items()))


def _paragraphs(lines: list[str]) -> str:
    """Wrapped lines joined with a space; a short line (a heading, a paragraph's last
    line) ends its paragraph, and page furniture is a line of its own (``_carries_on``)."""
    if not lines:
        return ""
    width = max(len(line) for line in lines)
    out = current = lines[0]
    furniture = _furniture(current)
    for prev, line in itertools.pairwise(lines):
        if len(prev) >= _SHORT_LINE * width and _carries_on(current, furniture, line):
            out += " " + line
            current += " " + line
        else:
            out += "\n" + line
            current, furniture = line, _furniture(line)
    return out


def _carries_on(current: str, furniture: bool, line: str) -> bool:
    """Whether ``line``, after a full line, carries on ``current``, the line of text so
    far (``furniture``: the cleaning rules call it furniture). Furniture does not carry on
    a sentence's end (a share prompt after a paragraph), and only the rest of itself,
    wrapped mid-sentence, carries on furniture (not the paragraph after an ad marker)."""
    ends = _ENDS_SENTENCE.search(current) is not None
    if furniture:
        return not ends and _furniture(f"{current} {line}")
    return not (ends and _furniture(line))


def _furniture(line: str) -> bool:
    # One word alone on a line is no furniture here: after a full line it is the
    # paragraph's last word.
    return clean.furniture_reason(line) not in (None, "stray one-word line")


def _date(value: object) -> str | None:
    match = _PDF_DATE.match(str(value))
    if not match:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3])).isoformat()
    except ValueError:
        return None
