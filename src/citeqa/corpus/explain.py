"""``citeqa index --explain``: how each file was read (the extractor), what extraction
and cleaning left out, and why."""

from __future__ import annotations

from pathlib import Path

from citeqa.corpus.chunk import ChunkSettings, chunk_document
from citeqa.corpus.extract import RAW
from citeqa.corpus.ingest import DEFAULT_MAX_FILE_BYTES, load_corpus

_SNIPPET = 60


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= _SNIPPET else text[: _SNIPPET - 1] + "…")


def explain(
    corpus_dir: Path,
    settings: ChunkSettings = ChunkSettings(),
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> str:
    corpus = load_corpus(corpus_dir, max_file_bytes=max_file_bytes)
    lines = [f"corpus {corpus_dir}: {len(corpus.documents)} documents"]
    for doc in corpus.documents:
        passages = chunk_document(doc, settings)
        lines.append("")
        lines.append(f"{doc.source}: {len(passages)} passage{'' if len(passages) == 1 else 's'}")
        lines.append(f"  title: {doc.title}")
        if doc.date:
            lines.append(f"  date:  {doc.date}")
        pages = f" ({len(doc.pages)} pages)" if doc.pages else ""
        reader = "the file itself, as plain text" if doc.extractor == RAW else doc.extractor
        lines.append(f"  read by: {reader}{pages}")
        for drop in doc.dropped:
            times = f" ×{drop.count}" if drop.count > 1 else ""
            lines.append(
                f"  left out by the extractor, {drop.reason}{times}: {_snippet(drop.text)}"
            )
        if not passages:
            lines.append("  only boilerplate: contributes no passages")
        for span in doc.skipped:
            lines.append(
                f"  dropped {span.start}-{span.end} {span.reason}: "
                f"{_snippet(doc.text[span.start : span.end])}"
            )
    for title, files in (("skipped (unreadable)", corpus.skipped), ("ignored", corpus.ignored)):
        if files:
            lines.append("")
            lines.append(f"{title}:")
            lines.extend(f"  {f.source}: {f.reason}" for f in files)
    return "\n".join(lines)
