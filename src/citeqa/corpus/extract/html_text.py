"""HTML: the article text by trafilatura; title and date from the page's own markup.

trafilatura drops script, style, navigation, asides, footers and consent furniture by page
structure; citeqa's line rules (``clean.py``) then run over its output as over any text.
docs/formats.md records the comparison with citeqa's own rules that chose it.
"""

from __future__ import annotations

import codecs
import re
from typing import Any

from citeqa.corpus.extract import Extraction, ExtractionError
from citeqa.types import DroppedText

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
_WORDY = re.compile(r"\w")
_SAMPLE = 60
_LISTED = 30
"""Pieces of left-out page text listed one by one; the rest are counted."""


def decode_html(data: bytes) -> str:
    """The page as text, in the charset it declares: a BOM first, then ``<meta charset>``;
    undeclared pages are UTF-8 when they decode as such, else windows-1252."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    match = _META_CHARSET.search(data[:_SNIFF])
    if match:
        try:
            codec = codecs.lookup(match.group(1).decode("ascii"))
            # "hex" or "base64" are codecs too, but not charsets a page can be in
            name = codec.name if codec._is_text_encoding else "utf-8"
        except LookupError:
            name = "utf-8"
        name = "cp1252" if name in _AS_1252 else name
        if name.startswith(("utf-16", "utf-32")):
            # A meta tag readable as ASCII cannot be in UTF-16: browsers take it as UTF-8.
            name = "utf-8"
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
    root = _parse(page)
    if root is None:
        return Extraction(text=text)
    title, date = _title(root), _date(root)
    return Extraction(text=text, title=title, date=date, dropped=_left_out(root, text))


def _parse(page: str) -> Any:
    import lxml.html

    try:
        return lxml.html.fromstring(_XML_DECL.sub("", page, count=1))
    except (ValueError, TypeError, lxml.etree.ParserError):
        return None


def _left_out(root: Any, text: str) -> tuple[DroppedText, ...]:
    """What of the page trafilatura did not keep, for ``citeqa index --explain``: script
    and style blocks by count, and the visible text pieces (menus, banners, footers)."""
    kept = _squash(text)
    out: list[DroppedText] = []
    hidden = root.xpath("//script | //style | //noscript | //template")
    for tag in ("script", "style"):
        blocks = [el for el in hidden if el.tag == tag]
        if blocks:
            sample = _squash(blocks[0].text_content())[:_SAMPLE]
            out.append(DroppedText(f"{tag} block", sample, len(blocks)))
    for el in hidden:
        el.drop_tree()
    body = root.find("body")
    pieces = [_squash(t) for t in (body if body is not None else root).itertext()]
    lost = [p for p in pieces if _WORDY.search(p) and p not in kept]
    out += [DroppedText("page text outside the article", p) for p in lost[:_LISTED]]
    if len(lost) > _LISTED:
        out.append(DroppedText("page text outside the article", "…", len(lost) - _LISTED))
    return tuple(out)


def _title(root: Any) -> str | None:
    """``<h1>`` when ``<title>`` contains it (titles carry a site name), else ``<title>``,
    else ``<h1>``."""
    title = _squash(" ".join(root.xpath("//title//text()")))
    h1s = root.xpath("//h1")
    h1 = _squash(h1s[0].text_content()) if h1s else ""
    best = h1 if h1 and (not title or h1 in title) else (title or h1)
    return best or None


def _date(root: Any) -> str | None:
    """The first publication date in the page's meta tags, else in a ``<time>``."""
    metas = {}
    for meta in root.xpath("//meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").lower()
        if key and key not in metas:
            metas[key] = meta.get("content") or ""
    candidates = [metas.get(key, "") for key in _DATE_META]
    candidates += [t.get("datetime") or "" for t in root.xpath("//time[@datetime]")]
    for value in candidates:
        match = _ISO_DATE.match(value)
        if match:
            return match.group(1)
    return None


def _squash(text: str) -> str:
    return " ".join(text.split())
