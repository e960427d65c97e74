"""``citeqa bench --ann``: which FAISS index to search, chosen on real embeddings.

The corpus is text we have: the paragraphs of SQuAD-format training files and their
sentences, embedded once with the packaged MiniLM and cached outside git (a second run reads
the cache, and an interrupted embedding resumes). The queries are the questions of the
articles training holds out (``squad.split_articles``), so no query is itself a stored vector.
Each index answers every query alone, as a served question does; recall@10 is against exact
search over the same rows.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from citeqa.evaluation.squad import (
    SPLIT_SEED,
    VALIDATION_ARTICLES,
    held_out_articles,
    load_squad,
    split_articles,
)
from citeqa.index.embed import Embedder

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
    files: Sequence[Path], val_articles: int = VALIDATION_ARTICLES
) -> tuple[list[str], list[str]]:
    """(texts, queries): every paragraph of ``files`` and each of its sentences, once each;
    and the questions of the articles that training holds out for validation."""
    from citeqa.corpus.chunk import segmenter

    segment = segmenter().segment  # type: ignore[attr-defined]
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
        _, val = split_articles(path, n_val, SPLIT_SEED)
        queries += [q.question for q in load_squad(path, articles=frozenset(val))[1]]
    return texts, queries


def real_vectors(
    files: Sequence[Path],
    cache: Path,
    *,
    embedder: Embedder | None = None,
    val_articles: int = VALIDATION_ARTICLES,
) -> tuple[np.ndarray, np.ndarray]:
    """(passage vectors, query vectors), from ``cache`` or embedded into it by ``embedder``
    (the packaged MiniLM when None)."""
    if (cache / VECTORS).exists() and (cache / QUERY_VECTORS).exists():
        return np.load(cache / VECTORS), np.load(cache / QUERY_VECTORS)
    if not files:
        raise ValueError(f"{cache} holds no vectors; name the SQuAD files to embed (--squad)")
    from tqdm import tqdm

    from citeqa.index.embed import MiniLMEmbedder

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

    from citeqa.index.ann import ivf_lists

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
    nprobe) as ``citeqa index`` builds them (``index/ann.py``), and IVF-PQ."""
    import faiss

    from citeqa.index.ann import make_faiss_index

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
