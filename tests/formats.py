"""Real HTML, PDF and Word files for tests, made on the spot (fpdf2 and python-docx), so
nothing binary is committed. Each has facts a question can find."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

PDF_PAGES = (
    (
        "The harbour authority counted 41,200 ship calls in 2024. Most of them were"
        " container vessels from ports in the region, and the busiest month was October."
    ),
    (
        "The new deep-water berth opened on 14 May after three years of work. Dredging the"
        " channel to sixteen metres cost 212 million euros, paid by the port and the state."
    ),
)
PDF_HEADER = "Harbour Authority Annual Report 2024"

HTML_ARTICLE = (
    "The Harbour Festival opened on Friday in Kowloon. Organisers said the festival drew"
    " 12,000 visitors over the weekend.",
    "The mayor thanked the volunteers who worked through the rain. Ferries ran every ten"
    " minutes until midnight.",
)
HTML_SCRIPT_FACT = "The festival drew 99,000 visitors according to the tracking script."
HTML_CONSENT = (
    "We use cookies to improve your experience on our website. By continuing to browse you"
    " accept our cookie policy."
)

DOCX_PARAGRAPHS = (
    "The library board met on Tuesday to review the reading programme.",
    "The board agreed to open the Northgate branch on Sundays from March.",
)
DOCX_TABLE = (("Branch", "Weekly visitors"), ("Northgate", "3,450"), ("Riverside", "2,100"))


def html_page(*, charset: str = "utf-8", article: tuple[str, ...] = HTML_ARTICLE) -> str:
    paras = "".join(f"<p>{p}</p>" for p in article)
    return (
        "<!DOCTYPE html><html><head>"
        f'<meta charset="{charset}"><title>Harbour Festival Draws Record Crowd | City News</title>'
        '<meta property="article:published_time" content="2024-03-18T09:00:00Z">'
        "<style>p { color: #333 } .x::after { content: 'styled text' }</style>"
        f'<script>var note = "{HTML_SCRIPT_FACT}"; console.log(note);</script>'
        "</head><body>"
        '<nav><a href="/">Home</a> <a href="/news">News</a> <a href="/sport">Sport</a></nav>'
        f'<div id="cookie-banner" class="consent-banner"><p>{HTML_CONSENT}</p>'
        "<button>Accept all</button><button>Manage preferences</button></div>"
        f"<article><h1>Harbour Festival Draws Record Crowd</h1>{paras}</article>"
        '<aside><h3>Related stories</h3><ul><li><a href="/f">Ferry fares rise</a></li></ul></aside>'
        '<footer><p>© 2024 City News</p><a href="/terms">Terms of Use</a> |'
        ' <a href="/privacy">Privacy Policy</a></footer>'
        "<script>document.write('late script text')</script>"
        "</body></html>"
    )


def make_pdf(
    pages: tuple[str, ...] = PDF_PAGES,
    *,
    header: str = PDF_HEADER,
    password: str | None = None,
) -> bytes:
    """A text PDF, one paragraph per page, a running header and a page-number footer."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_auto_page_break(False)
    pdf.set_font("Helvetica", size=11)
    for n, body in enumerate(pages, 1):
        pdf.add_page()
        pdf.set_y(10)
        pdf.cell(0, 5, header)
        pdf.set_y(25)
        pdf.multi_cell(0, 5, body)  # a "-\n" in ``body`` is a hyphenated line break
        pdf.set_y(-20)
        pdf.cell(0, 5, f"Page {n} of {len(pages)}")
    if password is not None:
        pdf.set_encryption(owner_password="owner", user_password=password)
    return bytes(pdf.output())


# A news page printed to PDF: the article's paragraphs, each line as wide as the page's
# widest so that nothing but the cleaning rules tells the furniture after it from the next
# line of the paragraph; and the page's furniture, one line each.
PRINTED_ARTICLE = (
    (
        "The city council approved the new tram line on Monday after a debate that ran",
        "late into the night. Building the first section starts in the spring and will",
        "take about two years, the transport office said in a statement on Tuesday.",
    ),
    (
        "The line will link the central station with the university campus and the new",
        "hospital in the east. Officials expect about 30,000 passengers a day once it",
        "opens, and a single fare will cost the same as a bus ticket across the city.",
    ),
    (
        "Work on the depot begins in March. The council has set aside 95 million euros",
        "for the trams themselves, which a builder in Graz will deliver from 2027 on,",
        "two each month until the whole fleet of twenty four vehicles is in service.",
    ),
)
PRINTED_FURNITURE = (
    "Advertisement",
    "Share this article",
    "Follow us on Facebook",
    "Sign up to our newsletter to get the top stories delivered to your inbox.",
    "Most read",
)
MOST_READ = ("1. Ferry fares rise again", "2. Storm closes the harbour")


def printed_page() -> tuple[tuple[str, ...], ...]:
    """The printed news page, block by block (a block: the lines of a paragraph)."""
    p1, p2, p3 = PRINTED_ARTICLE
    ad, share, follow, sign_up, most_read = PRINTED_FURNITURE
    return (
        ("Council Approves New Tram Line",),
        p1,
        (ad,),
        p2,
        (share,),
        (follow,),
        p3,
        (sign_up,),
        (most_read,),
        *((item,) for item in MOST_READ),
    )


def make_printed_pdf(blocks: tuple[tuple[str, ...], ...]) -> bytes:
    """One page, each block under the one before with a little space between, its lines
    broken where given."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_auto_page_break(False)
    pdf.set_font("Helvetica", size=11)
    pdf.add_page()
    pdf.set_y(20)
    for lines in blocks:
        pdf.multi_cell(0, 5, "\n".join(lines))
        pdf.ln(3)
    return bytes(pdf.output())


def make_image_only_pdf() -> bytes:
    """A page with drawing but no text layer, as a scanner makes."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 120, 60, style="F")
    return bytes(pdf.output())


def make_pageless_pdf() -> bytes:
    """A valid PDF whose page tree is empty."""
    import io

    import pypdfium2 as pdfium

    out = io.BytesIO()
    pdfium.PdfDocument.new().save(out)
    return out.getvalue()


def make_docx() -> bytes:
    import docx

    document = docx.Document()
    document.add_heading("Library Board Minutes", level=1)
    document.add_paragraph(DOCX_PARAGRAPHS[0])
    table = document.add_table(rows=len(DOCX_TABLE), cols=2)
    for row, cells in zip(table.rows, DOCX_TABLE, strict=True):
        for cell, value in zip(row.cells, cells, strict=True):
            cell.text = value
    document.add_paragraph(DOCX_PARAGRAPHS[1])
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


DOCX_REVISED = "The deposit is not refundable."
DOCX_CONTROLLED = "Clause held in a content control."
DOCX_NESTED = "Nested fee 500 USD"


def make_revised_docx() -> bytes:
    """Word's richer structure: a tracked insertion and deletion, a body-level content
    control, a table within a table cell, and a cell merged down two rows."""
    import docx
    from docx.oxml import parse_xml

    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    document = docx.Document()
    document.add_paragraph("Terms of hire.")
    body = document.element.body

    def add(xml: str) -> None:  # before the section properties, which end a body
        body.sectPr.addprevious(parse_xml(xml))

    add(
        f"<w:p {w}><w:r><w:t xml:space='preserve'>The deposit is </w:t></w:r>"
        "<w:ins w:id='1' w:author='a'><w:r><w:t xml:space='preserve'>not </w:t></w:r>"
        "</w:ins><w:del w:id='2' w:author='a'><w:r><w:delText xml:space='preserve'>"
        "fully </w:delText></w:r><w:r><w:t xml:space='preserve'>ever </w:t></w:r></w:del>"
        "<w:r><w:t>refundable.</w:t></w:r></w:p>"
    )
    add(
        f"<w:sdt {w}><w:sdtContent><w:p><w:r><w:t>{DOCX_CONTROLLED}</w:t></w:r></w:p>"
        "</w:sdtContent></w:sdt>"
    )
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "Fees"
    table.cell(0, 1).add_table(rows=1, cols=1).cell(0, 0).text = DOCX_NESTED
    days = document.add_table(rows=2, cols=2)  # "Friday" merged down two rows
    days.cell(0, 0).merge(days.cell(1, 0)).text = "Friday"
    days.cell(0, 1).text, days.cell(1, 1).text = "5,000 visitors", "3,000 at night"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def make_fake_docx() -> bytes:
    """A zip of photos named .docx."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("holiday/beach.jpg", b"\xff\xd8\xff\xe0 not really a photo")
        archive.writestr("holiday/notes.txt", "sunny")
    return out.getvalue()


def write(path: Path, data: str | bytes, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))
    return path
