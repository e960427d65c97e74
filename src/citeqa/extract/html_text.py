"""HTML: the article text by trafilatura; title and date from the page's own markup.

trafilatura drops script, style, navigation, asides, footers and consent furniture by page
structure; citeqa's line rules (``clean.py``) then run over its output as over any text.
The README records the comparison with citeqa's own rules that chose it.
"""

from __future__ import annotations

import codecs
import re

from citeqa.extract import Extraction, ExtractionError

_SNIFF = 4096
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:\-]+)""", re.I)
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Browsers read these labels as windows-1252 (WHATWG Encoding), and so do pages in the wild.
_AS_1252 = {"latin-1", "iso8859-1", "ascii", "cp1252"}
_DATE_META = (
    "article:published_time",
    "datepublished",
    "date",
    "pubdate",
    "publish-date",
    "publication_date",
    "dc.date",
    "dc.date.issued",
    "dcterms.created",
    "og:published_time",
)
_ISO_DATE = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})")


def decode_html(data: bytes) -> str:
    """The page as text, in the charset it declares: a BOM first, then ``<meta charset>``;
    undeclared pages are UTF-8 when they decode as such, else windows-1252."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    match = _META_CHARSET.search(data[:_SNIFF])
    if match:
        try:
            name = codecs.lookup(match.group(1).decode("ascii")).name
        except LookupError:
            name = "utf-8"
        name = "cp1252" if name in _AS_1252 else name
        return data.decode(name, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def extract_html(data: bytes) -> Extraction:
    import trafilatura

    page = decode_html(data)
    text = trafilatura.extract(
        page,
        output_format="txt",
        include_comments=False,
        include_tables=True,
        include_images=False,
        include_links=False,
        deduplicate=False,
    )
    if not text or not text.strip():
        raise ExtractionError("no article text in the page (only scripts, menus or furniture)")
    title, date = _title_and_date(page)
    return Extraction(text=text, title=title, date=date)


def _title_and_date(page: str) -> tuple[str | None, str | None]:
    """``<h1>`` when ``<title>`` contains it (titles carry a site name), else ``<title>``,
    else ``<h1>``; the date from the first publication-date meta tag or ``<time>``."""
    import lxml.html

    try:
        root = lxml.html.fromstring(_XML_DECL.sub("", page, count=1))
    except (ValueError, TypeError, lxml.etree.ParserError):
        return None, None
    title = _squash(" ".join(root.xpath("//title//text()")))
    h1s = root.xpath("//h1")
    h1 = _squash(h1s[0].text_content()) if h1s else ""
    best = h1 if h1 and (not title or h1 in title) else (title or h1)
    return best or None, _date(root)


def _date(root: object) -> str | None:
    metas = {}
    for meta in root.xpath("//meta"):  # type: ignore[attr-defined]
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").lower()
        if key and key not in metas:
            metas[key] = meta.get("content") or ""
    candidates = [metas.get(key, "") for key in _DATE_META]
    candidates += [t.get("datetime") or "" for t in root.xpath("//time[@datetime]")]  # type: ignore[attr-defined]
    for value in candidates:
        match = _ISO_DATE.match(value)
        if match:
            return match.group(1)
    return None


def _squash(text: str) -> str:
    return " ".join(text.split())
