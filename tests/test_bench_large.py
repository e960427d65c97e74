"""The large-corpus benchmarks: real-vector cache, ANN table, scale figures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from citeqa.cli import main
from citeqa.evaluation import bench_ann, bench_scale
from citeqa.evaluation.squad import load_squad
from citeqa.index.embed import normalise

from conftest import REPO, FakeEmbedder

SQUAD = REPO / "tests" / "data" / "squad_sample.json"


def test_real_vectors_embed_every_text_once_then_read_the_cache(tmp_path: Path) -> None:
    fake = FakeEmbedder()
    vectors, queries = bench_ann.real_vectors([SQUAD], tmp_path, embedder=fake, val_articles=1)
    texts = [json.loads(line) for line in (tmp_path / "texts.jsonl").read_text().splitlines()]
    questions = [json.loads(line) for line in (tmp_path / "queries.jsonl").read_text().splitlines()]
    assert vectors.shape == (len(texts), fake.dim) and queries.shape == (len(questions), fake.dim)
    np.testing.assert_allclose(vectors, fake.encode(texts), atol=1e-6)
    assert len(set(texts)) == len(texts)
    paragraphs, items = load_squad(SQUAD)
    assert {p.context.strip() for p in paragraphs} <= set(texts)
    # the queries are every question of one held-out article, and of it only
    by_title: dict[str, set[str]] = {}
    for q in items:
        by_title.setdefault(q.title, set()).add(q.question)
    assert sum(set(questions) == asked for asked in by_title.values()) == 1

    fake.calls.clear()
    again = bench_ann.real_vectors([], tmp_path, embedder=fake)
    assert fake.calls == [] and np.array_equal(again[0], vectors)


def test_an_interrupted_embedding_resumes_from_its_parts(tmp_path: Path) -> None:
    fake = FakeEmbedder()
    vectors, _ = bench_ann.real_vectors([SQUAD], tmp_path, embedder=fake, val_articles=1)
    (tmp_path / "vectors.npy").unlink()  # as if stopped after the last part
    fake.calls.clear()
    resumed, queries = bench_ann.real_vectors([SQUAD], tmp_path, embedder=fake, val_articles=1)
    assert fake.calls == [len(queries)]  # the queries again, no passage part
    assert np.array_equal(resumed, vectors)


def test_real_vectors_without_cache_or_files_say_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="--squad"):
        bench_ann.real_vectors([], tmp_path)
    assert main(["bench", "--ann"]) == 2
    assert main(["bench", "--scale"]) == 2


def test_ann_table_measures_every_index_against_exact_search() -> None:
    rng = np.random.default_rng(3)
    base = normalise(rng.standard_normal((600, 16)))
    queries = normalise(base[:20] + 0.1 * rng.standard_normal((20, 16)))
    rows = bench_ann.ann_table(base, queries, [600])
    kinds = [r["index"] for r in rows]
    assert kinds == ["flat"] + ["hnsw"] * 5 + ["ivf"] * 5 + ["ivfpq"] * 5
    assert rows[0]["recall@10"] == 1.0
    assert all(0 <= r["recall@10"] <= 1 and r["p99_ms"] >= r["p50_ms"] > 0 for r in rows)
    # nprobe capped at nlist (15 lists for 600 rows) visits every list: exact again
    assert next(r["recall@10"] for r in rows if r["search"] == "nprobe 64") == 1.0
    flat, pq = rows[0]["bytes_per_vector"], rows[-1]["bytes_per_vector"]
    assert flat >= 16 * 4 and pq < flat


def test_scale_figures_build_and_load_an_index_of_the_size_asked() -> None:
    figures = bench_scale.scale_figures([SQUAD], passages=20)
    assert 20 <= figures["passages"] < 32  # all six paragraphs make 32
    assert figures["load_index_s"] > 0 and figures["bm25_build_s"] > 0
    assert figures["bm25_stored"] is True
    stored = {"faiss.index", "passages.jsonl", "manifest.json", "bm25/data.csc.index.npy"}
    assert stored <= set(figures["bytes_on_disk"])
