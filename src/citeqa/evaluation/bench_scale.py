"""``citeqa bench --scale``: what an index of about 100k passages costs to build (without
the embedding), to load and to hold in memory, with BM25 and the passage store included.
Mapped files count towards memory only once read, and no question has read them yet.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from citeqa.evaluation.squad import load_squad


class UnitVectors:
    """Unit vectors seeded by each text's hash: an embedder that costs nothing, for timing
    what a large index costs besides embedding. Load time and memory depend on how many
    vectors there are, not on their values."""

    name = "unit-vectors-seeded-by-text"
    dim = 384

    def __init__(self) -> None:
        self.seconds = 0.0
        """Spent making vectors: a build's time less this is the build without embedding."""

    def fingerprint(self) -> str:
        return "sha256-seeded-v1"

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        import hashlib

        from citeqa.index.embed import normalise

        started = time.perf_counter()
        rows = [
            np.random.default_rng(
                int.from_bytes(hashlib.sha256(t.encode()).digest()[:8], "big")
            ).standard_normal(self.dim)
            for t in texts
        ]
        out = normalise(np.array(rows, dtype=np.float32).reshape(len(texts), self.dim))
        self.seconds += time.perf_counter() - started
        return out


SCALE_CHUNKS = {"sentences": 2, "overlap": 1}
"""Two-sentence passages, one starting at every sentence but the last: the ~140k sentences
of SQuAD train and QED make 100k passages of real text without borrowing from test sets."""


def scale_corpus(files: Sequence[Path], dest: Path, passages: int) -> int:
    """Write paragraphs of ``files`` as documents into ``dest`` until, cut by
    ``SCALE_CHUNKS``, they make about ``passages`` passages; returns how many documents."""
    from citeqa.corpus.chunk import segmenter

    segment = segmenter().segment  # type: ignore[attr-defined]
    written = made = 0
    for path in files:
        for paragraph in load_squad(path)[0]:
            if made >= passages:
                return written
            context = paragraph.context.strip()
            (dest / f"{written:06d}.txt").write_text(context + "\n", encoding="utf-8")
            written += 1
            made += max(1, len(segment(context)) - 1)
    return written


def scale_figures(files: Sequence[Path], passages: int = 100_000) -> dict[str, Any]:
    """Build (embedding aside), load and RSS figures for an index of ``passages`` passages."""
    from citeqa.corpus.chunk import ChunkSettings
    from citeqa.index.build import build_index
    from citeqa.index.store import IndexSettings

    with tempfile.TemporaryDirectory() as tmp:
        corpus, index = Path(tmp) / "corpus", Path(tmp) / "index"
        corpus.mkdir()
        documents = scale_corpus(files, corpus, passages)
        settings = IndexSettings(chunk=ChunkSettings(**SCALE_CHUNKS))
        vectors = UnitVectors()
        started = time.perf_counter()
        report = build_index(corpus, index, vectors, settings)
        build_s = time.perf_counter() - started - vectors.seconds
        sizes = {
            str(p.relative_to(index)): p.stat().st_size for p in index.rglob("*") if p.is_file()
        }
        loaded = _load_in_new_process(index)
    return {
        "documents": documents,
        "passages": report.passages,
        "build_s_without_embedding": round(build_s, 1),
        "bytes_on_disk": sizes,
        **loaded,
    }


def _load_in_new_process(index: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "citeqa.evaluation.bench_scale", str(index)],
        check=True,
        capture_output=True,
        text=True,
        env=os.environ.copy(),
    )
    return dict(json.loads(out.stdout.splitlines()[-1]))


def served_index_figures(index_dir: Path) -> dict[str, Any]:
    """What serving ``index_dir`` costs besides the models: seconds to load and verify it,
    to map its stored BM25 (against building BM25 anew, as an index without one must), to
    check its corpus for changes, and the memory the index holds. Run it in a fresh
    process, so that nothing is loaded already."""
    from citeqa.answer.retrieve import Retriever
    from citeqa.answer.sentence_reader import SentenceReader
    from citeqa.index.freshness import staleness
    from citeqa.index.lexicon import Lexicon
    from citeqa.index.store import load_index

    def rss_mb() -> float:  # now, not the peak: the index's share is the difference
        status = Path("/proc/self/status").read_text()
        return int(status.split("VmRSS:")[1].split()[0]) / 1024

    import faiss  # noqa: F401  (the libraries' own memory is not the index's)

    from citeqa.index.lexicon import terms

    terms("warm the stemmer and stopwords")
    embedder = UnitVectors()
    before = rss_mb()
    times = [time.perf_counter()]
    index = load_index(index_dir, embedder)
    times.append(time.perf_counter())
    served = Retriever(index), SentenceReader(index)  # both read the index's lexicon
    times.append(time.perf_counter())
    diffs = staleness(index.path, embedder, settings=None, corpus_optional=True)
    times.append(time.perf_counter())
    held = rss_mb() - before
    Lexicon.build([p.text for p in index.passages])
    times.append(time.perf_counter())
    assert not diffs and served, diffs
    spans = np.diff(times)
    return {
        "load_index_s": float(spans[0]),
        "retriever_and_reader_s": float(spans[1]),
        "freshness_check_s": float(spans[2]),
        "bm25_build_s": float(spans[3]),
        "rss_mb": held,
        "bm25_stored": index.stored_lexicon is not None,
    }


if __name__ == "__main__":  # the fresh process of served_index_figures
    print(json.dumps(served_index_figures(Path(sys.argv[1]))))
