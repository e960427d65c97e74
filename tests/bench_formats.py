"""Measurements behind docs/formats.md's "Measured" figures.

    OMP_NUM_THREADS=1 PYTHONPATH=src python tests/bench_formats.py [--skip-build]

1. HTML: trafilatura against citeqa's own line rules, on pages built from the seeds'
   article paragraphs wrapped in three kinds of page markup with 16 furniture lines each.
2. Extraction time per MB for each format (one large generated file per format).
3. Index build time for a mixed folder of 50 documents with the real MiniLM embedder.
"""

from __future__ import annotations

import html
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from formats import make_pdf, write

from citeqa.corpus.chunk import split_sentences
from citeqa.corpus.extract import FORMATS, decode_text
from citeqa.corpus.ingest import load_corpus
from citeqa.corpus.parse import parse_document

SEEDS = Path(__file__).resolve().parents[1] / "seeds"

FURNITURE = (
    "Skip to content",
    "Home",
    "World",
    "Business",
    "We use cookies to give you the best experience on our website and to analyse traffic.",
    "Accept all",
    "Share on Facebook",
    "Advertisement",
    "Related stories",
    "Ferry fares rise again across the harbour",
    "Leave a Reply",
    "Your email address will not be published. Required fields are marked *",
    "Save my name, email, and website in this browser for the next time I comment.",
    "Sign up for our newsletter to get the top stories in your inbox.",
    "Terms of Use | Privacy Policy | Contact",
    "© 2024 Example Media Ltd. All rights reserved.",
)
SCRIPT = "var headline = 'A script sentence that must never be indexed as text.';"


def seed_articles() -> list[tuple[str, list[str]]]:
    """(headline, paragraphs) of each seed: the lines citeqa keeps, of eight words or more."""
    out = []
    for path in sorted(SEEDS.glob("*.txt")):
        doc = parse_document(path.read_text(encoding="utf-8"), path.name)
        paras = [doc.text[b.start : b.end] for b in doc.blocks]
        out.append((doc.title, [p for p in paras if len(p.split()) >= 8]))
    return out


def _p(text: str, attrs: str = "") -> str:
    return f"<p{attrs}>{html.escape(text)}</p>"


def page(kind: str, title: str, paras: list[str]) -> str:
    """One page of ``kind``: semantic HTML5, class-named div soup, or a flat page."""
    f = [html.escape(x) for x in FURNITURE]
    body = "".join(_p(x) for x in paras)
    head = (
        f"<head><meta charset='utf-8'><title>{html.escape(title)} | Example</title>"
        f"<style>.x{{color:red}}</style><script>{SCRIPT}</script></head>"
    )
    if kind == "semantic":
        inner = (
            f"<header><a href='#c'>{f[0]}</a><nav><a>{f[1]}</a> <a>{f[2]}</a> <a>{f[3]}</a></nav>"
            f"</header><div class='cookie-banner'><p>{f[4]}</p><button>{f[5]}</button></div>"
            f"<main><article><h1>{html.escape(title)}</h1>{body}"
            f"<div class='share'><a>{f[6]}</a></div></article>"
            f"<aside><div class='ad'>{f[7]}</div><h3>{f[8]}</h3><ul><li><a>{f[9]}</a></li></ul>"
            f"</aside><section id='comments'><h3>{f[10]}</h3><p>{f[11]}</p><p>{f[12]}</p>"
            "<form><textarea></textarea></form></section></main>"
            f"<footer><p>{f[13]}</p><p>{f[14]}</p><p>{f[15]}</p></footer>"
        )
    elif kind == "divs":
        inner = (
            f"<div class='top'><a>{f[0]}</a> <a>{f[1]}</a> <a>{f[2]}</a> <a>{f[3]}</a></div>"
            f"<div class='gdpr-notice'>{f[4]} <span class='btn'>{f[5]}</span></div>"
            f"<div class='post'><div class='post-title'>{html.escape(title)}</div>"
            f"<div class='post-body'>{body}</div><div class='social'>{f[6]}</div></div>"
            f"<div class='sidebar'><div class='advert'>{f[7]}</div><div>{f[8]}</div>"
            f"<div><a>{f[9]}</a></div></div><div id='respond'><div>{f[10]}</div>"
            f"<div class='comment-notes'>{f[11]}</div><div>{f[12]}</div></div>"
            f"<div class='newsletter'>{f[13]}</div><div class='site-footer'>{f[14]}<br>{f[15]}"
            "</div>"
        )
    else:  # flat: every line a paragraph of one container, furniture among the article
        lines = [*FURNITURE[:8], title, *paras, *FURNITURE[8:]]
        inner = "<div>" + "".join(_p(x) for x in lines) + "</div>"
    return f"<!DOCTYPE html><html>{head}<body>{inner}</body></html>"


def strip_tags(data: bytes) -> str:
    """The baseline: the page's visible text, a line per block element (script and style
    removed), for citeqa's line rules to clean."""
    import lxml.html

    root = lxml.html.fromstring(data.decode("utf-8"))
    for el in root.xpath("//script | //style | //noscript"):
        el.drop_tree()
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag not in ("a", "span", "b", "i", "em", "strong"):
            el.tail = "\n" + (el.tail or "")
        if el.tag == "br":
            el.tail = "\n" + (el.tail or "")
    return str(root.text_content())


def kept_text(text: str) -> str:
    doc = parse_document(text, "page.html", wrapped=False)
    return "\n".join(doc.text[b.start : b.end] for b in doc.blocks)


def compare_html() -> list[tuple[str, float, int, int, float]]:
    """Per method: article sentences kept (share), furniture lines kept (of all), script
    text kept, and seconds per page."""
    import trafilatura

    articles = seed_articles()
    pages = [
        (page(kind, title, paras).encode(), paras)
        for kind in ("semantic", "divs", "flat")
        for title, paras in articles
    ]
    methods: dict[str, Callable[[bytes], str]] = {
        "tags stripped + citeqa rules": lambda d: kept_text(strip_tags(d)),
        "trafilatura alone": lambda d: trafilatura.extract(d.decode(), include_tables=True) or "",
        "trafilatura + citeqa rules (chosen)": lambda d: kept_text(
            FORMATS[".html"].extract(d).text
        ),
    }
    rows = []
    survivors: dict[str, Counter[str]] = {}
    for name, run in methods.items():
        total = found = furniture = script = 0
        survived = survivors[name] = Counter()
        started = time.perf_counter()
        for data, paras in pages:
            out = run(data)
            flat = " ".join(out.split())
            lines = {" ".join(line.split()) for line in out.splitlines()}
            for para in paras:
                for a, b in split_sentences(para, 0, len(para)):
                    total += 1
                    found += " ".join(para[a:b].split()) in flat
            furniture += sum(x in lines for x in FURNITURE)
            survived.update(x for x in FURNITURE if x in lines)
            script += "script sentence" in out
        seconds = (time.perf_counter() - started) / len(pages)
        rows.append((name, found / total, furniture, script, seconds))
    print(f"\nHTML: {len(pages)} pages (3 kinds x {len(articles)} seed articles),")
    print(f"{len(FURNITURE)} furniture lines and a script on each page")
    print(
        f"{'method':38} {'sentences kept':>14} {'furniture kept':>15} {'script':>6} {'ms/page':>8}"
    )
    for name, recall, furn, scr, sec in rows:
        cell = f"{furn}/{len(FURNITURE) * len(pages)}"
        print(f"{name:38} {recall:>14.1%} {cell:>15} {scr:>6} {sec * 1000:>8.1f}")
    for name, survived in survivors.items():
        print(f"  kept by {name}: " + "; ".join(f"{x!r} x{n}" for x, n in survived.items()))
    return rows


def latin1(texts: list[str]) -> tuple[str, ...]:
    """fpdf2's built-in Helvetica has Latin-1 only: curly quotes and dashes made plain."""
    table = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-"})
    return tuple(t.translate(table).encode("latin-1", "replace").decode("latin-1") for t in texts)


def big_files(root: Path) -> dict[str, Path]:
    rng = random.Random(0)
    paras = [p for _, ps in seed_articles() for p in ps]
    many = [rng.choice(paras) + f" Item {i} is recorded." for i in range(1500)]
    files = {
        "txt": write(root / "big.txt", "\n\n".join(many)),
        "html": write(root / "big.html", page("semantic", "A long page", many)),
        "pdf": write(root / "big.pdf", make_pdf(latin1(many[:300]), header="Long Report")),
    }
    import docx

    d = docx.Document()
    for p in many:
        d.add_paragraph(p)
    d.save(str(root / "big.docx"))
    files["docx"] = root / "big.docx"
    return files


def time_extraction(root: Path) -> None:
    print("\nExtraction time per MB (one file per format, best of 3)")
    print(f"{'format':6} {'file MB':>8} {'text MB':>8} {'seconds':>8} {'s per file MB':>14}")
    for kind, path in big_files(root).items():
        data = path.read_bytes()
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            text = decode_text(data) if kind == "txt" else FORMATS[f".{kind}"].extract(data).text
            best = min(best, time.perf_counter() - started)
        mb, text_mb = len(data) / 1e6, len(text.encode()) / 1e6
        print(f"{kind:6} {mb:>8.2f} {text_mb:>8.2f} {best:>8.3f} {best / mb:>14.3f}")


def mixed_folder(root: Path, n: int = 50) -> Path:
    rng = random.Random(1)
    paras = [p for _, ps in seed_articles() for p in ps]
    folder = root / "mixed"
    for i in range(n):
        body = [f"Report {i} says the harbour handled {1000 + i} ships in {2000 + i % 25}."]
        body += rng.sample(paras, 4)
        kind = ("txt", "html", "pdf", "docx")[i % 4]
        path = folder / f"doc{i:02}.{kind}"
        if kind == "txt":
            write(path, f"Report {i}\n\n" + "\n\n".join(body))
        elif kind == "html":
            write(path, page("semantic", f"Report {i}", body))
        elif kind == "pdf":
            write(path, make_pdf(latin1([*body[:2], " ".join(body[2:])]), header=f"Report {i}"))
        else:
            import docx

            d = docx.Document()
            d.add_heading(f"Report {i}", level=1)
            for p in body:
                d.add_paragraph(p)
            d.save(str(path))
    return folder


def time_build(root: Path) -> None:
    from citeqa.index.build import build_index
    from citeqa.index.embed import MiniLMEmbedder

    folder = mixed_folder(root)
    started = time.perf_counter()
    corpus = load_corpus(folder)
    ingest = time.perf_counter() - started
    embedder = MiniLMEmbedder()
    embedder.encode(["warm up"])
    report = build_index(folder, root / "index", embedder)
    kinds = {
        k: sum(d.source.endswith(k) for d in corpus.documents)
        for k in ("txt", "html", "pdf", "docx")
    }
    print(f"\nMixed folder: {len(corpus.documents)} documents {kinds}, {report.passages} passages")
    print(f"ingest (extract + clean) {ingest:.2f} s; full build with MiniLM {report.seconds:.1f} s")
    print(f"({report.embedded} texts embedded)")


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="citeqa-bench-formats-"))
    try:
        compare_html()
        time_extraction(root)
        if "--skip-build" not in sys.argv:
            time_build(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
