"""The FAISS index over passage vectors: exact search for small corpora, HNSW for large
ones, IVF on request. Chosen on real embeddings (docs/scaling.md, "Approximate search")."""

from __future__ import annotations

from typing import Any

import numpy as np

INDEX_TYPES = ("auto", "flat", "ivf", "hnsw")
HNSW_FROM_ROWS = 30_000
"""``auto`` switches from exact search to HNSW here. Measured by ``citeqa bench --ann`` on
real MiniLM vectors of SQuAD and QED text, one query at a time on 2 cores (docs/scaling.md): exact
search takes 3.4 ms at p50 over 30k rows and 16 ms over 100k, while HNSW (M 32, efSearch
64) takes 0.2-0.3 ms at every size up to 142k, finding 98.3-99.3% of the exact top 10."""


def resolve_index_type(kind: str, rows: int) -> str:
    if kind != "auto":
        return kind
    return "hnsw" if rows >= HNSW_FROM_ROWS else "flat"


def ivf_lists(rows: int) -> int:
    """IVF's list count: 4 √rows, FAISS's rule of thumb, but never fewer than the 39
    training vectors a list needs."""
    return max(1, min(int(4 * np.sqrt(rows)), rows // 39 or 1))


def make_faiss_index(kind: str, vectors: np.ndarray) -> Any:
    """A FAISS inner-product index of ``kind`` holding ``vectors``; row i is vector i.
    Every kind can give its vectors back (a rebuild reuses them)."""
    import faiss

    dim = vectors.shape[1]
    kind = resolve_index_type(kind, len(vectors))
    index: Any
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = 64
    else:
        nlist = ivf_lists(len(vectors))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.train(vectors)
        index.nprobe = min(64, nlist)  # 16 found 88-90% of the top 10, 64 found 95-97%
        index.make_direct_map()
    index.add(vectors)
    return index
