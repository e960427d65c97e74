"""Figures for corpora far larger than a folder of documents.

``citeqa bench --ann``: which FAISS index to search, chosen on real embeddings. The corpus is
text we have: the paragraphs of SQuAD-format training files and their sentences, embedded
once with the packaged MiniLM and cached outside git (a second run reads the cache, and an
interrupted embedding resumes). The queries are the questions of the articles training holds
out (``train.split_articles``), so no query is itself a stored vector. Each index answers
every query alone, as a served question does; recall@10 is against exact search over the
same rows.

``citeqa bench --scale``: what an index of that size costs to build (without the
embedding), to load and to hold in memory, with BM25 and the passage store included.
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

from citeqa.embed import Embedder
from citeqa.squad import load_squad
from citeqa.train import TrainConfig

TEXTS, VECTORS, QUERIES, QUERY_VECTORS, PARTS = (
    "texts.jsonl",
    "vectors.npy",
    "queries.jsonl",
    "queries.npy",
    "parts",
)
PART_ROWS = 4096
MIN_CHARS = 20  # shorter "sentences" are list markers and headings, not passages
HNSW_EF = (16, 32, 64, 128, 256)
NPROBE = (4, 8, 16, 32, 64)


def corpus_texts(
    files: Sequence[Path], val_articles: int = TrainConfig.val_articles
) -> tuple[list[str], list[str]]:
    """(texts, queries): every paragraph of ``files`` and each of its sentences, once each;
    and the questions of the articles that training holds out for validation."""
    from citeqa.chunk import _segmenter
    from citeqa.train import held_out_articles, training_questions

    segment = _segmenter().segment  # type: ignore[attr-defined]
    texts, seen = [], set()
    queries = []
    for i, path in enumerate(files):
        for paragraph in load_squad(path)[0]:
            context = paragraph.context.strip()
            for text in [context, *(s.strip() for s in segment(context))]:
                if len(text) > MIN_CHARS and text not in seen:
                    seen.add(text)
                    texts.append(text)
        n_val = held_out_articles(path, first=i == 0, val_articles=val_articles)
        _, held_out, _ = training_questions(path, n_val, TrainConfig.seed, 0.0)
        queries += [q.question for q in held_out]
    return texts, queries


def real_vectors(
    files: Sequence[Path],
    cache: Path,
    *,
    embedder: Embedder | None = None,
    val_articles: int = TrainConfig.val_articles,
) -> tuple[np.ndarray, np.ndarray]:
    """(passage vectors, query vectors), from ``cache`` or embedded into it by ``embedder``
    (the packaged MiniLM when None)."""
    if (cache / VECTORS).exists() and (cache / QUERY_VECTORS).exists():
        return np.load(cache / VECTORS), np.load(cache / QUERY_VECTORS)
    if not files:
        raise ValueError(f"{cache} holds no vectors; name the SQuAD files to embed (--squad)")
    from tqdm import tqdm

    from citeqa.embed import MiniLMEmbedder

    texts, queries = corpus_texts(files, val_articles)
    cache.mkdir(parents=True, exist_ok=True)
    (cache / TEXTS).write_text("".join(json.dumps(t) + "\n" for t in texts), encoding="utf-8")
    (cache / QUERIES).write_text("".join(json.dumps(q) + "\n" for q in queries), encoding="utf-8")
    embedder = embedder if embedder is not None else MiniLMEmbedder()
    np.save(cache / QUERY_VECTORS, embedder.encode(queries))
    (cache / PARTS).mkdir(exist_ok=True)
    starts = range(0, len(texts), PART_ROWS)
    for at in tqdm(starts, desc="embedding", unit="part"):
        part = cache / PARTS / f"{at:07d}.npy"
        if not part.exists():  # a part is written whole or not at all: resume here
            np.save(part.with_suffix(".tmp.npy"), embedder.encode(texts[at : at + PART_ROWS]))
            part.with_suffix(".tmp.npy").replace(part)
    vectors = np.concatenate([np.load(cache / PARTS / f"{at:07d}.npy") for at in starts])
    np.save(cache / VECTORS, vectors)
    return vectors, np.load(cache / QUERY_VECTORS)


def _ivfpq(vectors: np.ndarray) -> Any:
    """IVF with product-quantised vectors, 48 bytes each: the memory-frugal candidate. Not an
    index type citeqa builds, as it cannot give exact vectors back for a rebuild."""
    import faiss

    from citeqa.index import ivf_lists

    dim = vectors.shape[1]
    nlist = ivf_lists(len(vectors))
    index = faiss.IndexIVFPQ(
        faiss.IndexFlatIP(dim), dim, nlist, dim // 8, 8, faiss.METRIC_INNER_PRODUCT
    )
    index.train(vectors)
    index.add(vectors)
    return index


def _search_each(index: Any, queries: np.ndarray) -> tuple[np.ndarray, list[float]]:
    found, ms = [], []
    for q in queries:
        started = time.perf_counter()
        found.append(index.search(q.reshape(1, -1), 10)[1][0])
        ms.append((time.perf_counter() - started) * 1000)
    return np.array(found), ms


def ann_table(
    vectors: np.ndarray, queries: np.ndarray, sizes: Sequence[int]
) -> list[dict[str, Any]]:
    """For ``n`` of the vectors, for each size: flat, HNSW (over efSearch) and IVF (over
    nprobe) as ``citeqa index`` builds them (``index.make_faiss_index``), and IVF-PQ."""
    import faiss

    from citeqa.index import make_faiss_index

    queries = np.ascontiguousarray(queries, dtype=np.float32)
    # a seeded sample of each size, not the first rows: those are a few articles' text
    order = np.random.default_rng(0).permutation(len(vectors))
    rows = []
    for n in sizes:
        base = np.ascontiguousarray(vectors[np.sort(order[:n])], dtype=np.float32)
        exact = None
        for kind in ("flat", "hnsw", "ivf", "ivfpq"):
            started = time.perf_counter()
            index = _ivfpq(base) if kind == "ivfpq" else make_faiss_index(kind, base)
            build_s = time.perf_counter() - started
            size = faiss.serialize_index(index).nbytes / len(base)
            knob, values = {"hnsw": ("efSearch", HNSW_EF), "flat": ("", (0,))}.get(
                kind, ("nprobe", NPROBE)
            )
            for value in values:
                if kind == "hnsw":
                    index.hnsw.efSearch = value
                elif kind != "flat":
                    index.nprobe = min(value, index.nlist)
                found, ms = _search_each(index, queries)
                if exact is None:
                    exact = found
                recall = np.mean(
                    [len(set(a) & set(b)) / 10 for a, b in zip(found, exact, strict=True)]
                )
                rows.append(
                    {
                        "rows": len(base),
                        "index": kind,
                        "search": f"{knob} {value}" if knob else "exact",
                        "build_s": round(build_s, 2),
                        "bytes_per_vector": round(size),
                        "p50_ms": round(float(np.percentile(ms, 50)), 3),
                        "p99_ms": round(float(np.percentile(ms, 99)), 3),
                        "recall@10": round(float(recall), 3),
                    }
                )
            del index
    return rows


def render_ann(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| rows | index | search | build s | bytes/vector | p50 ms | p99 ms | recall@10 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['rows']:,} | {r['index']} | {r['search']} | {r['build_s']:.1f} |"
        f" {r['bytes_per_vector']:,} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} |"
        f" {r['recall@10']:.3f} |"
        for r in rows
    ]
    return "\n".join(lines)


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

        from citeqa.embed import normalise

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
    from citeqa.chunk import _segmenter

    segment = _segmenter().segment  # type: ignore[attr-defined]
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
    from citeqa.build import build_index
    from citeqa.chunk import ChunkSettings
    from citeqa.index import IndexSettings

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
        [sys.executable, "-m", "citeqa.bench_scale", str(index)],
        check=True,
        capture_output=True,
        text=True,
        env=os.environ.copy(),
    )
    return dict(json.loads(out.stdout.splitlines()[-1]))


def load_figures(index_dir: Path) -> dict[str, Any]:
    """What serving ``index_dir`` costs besides the models: seconds to load and verify it,
    to map its stored BM25 (against building BM25 anew, as an index without one must), to
    check its corpus for changes, and the memory the index holds. Run it in a fresh
    process, so that nothing is loaded already."""
    from citeqa.index import load_index, staleness
    from citeqa.lexicon import Lexicon
    from citeqa.read import SentenceReader
    from citeqa.retrieve import Retriever

    def rss_mb() -> float:  # now, not the peak: the index's share is the difference
        status = Path("/proc/self/status").read_text()
        return int(status.split("VmRSS:")[1].split()[0]) / 1024

    import faiss  # noqa: F401  (the libraries' own memory is not the index's)

    from citeqa.lexicon import terms

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


if __name__ == "__main__":  # the fresh process of load_figures
    print(json.dumps(load_figures(Path(sys.argv[1]))))
