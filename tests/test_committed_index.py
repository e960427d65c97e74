"""The index/ folder in the repository must match seeds/ and the current settings."""

from __future__ import annotations

from citeqa.index import store as ix
from citeqa.index.embed import MiniLMEmbedder
from citeqa.index.freshness import staleness

from conftest import REPO


def test_committed_index_is_fresh() -> None:
    diffs = staleness(REPO / "index", MiniLMEmbedder(), corpus_dir=REPO / "seeds")
    assert diffs == [], "rebuild and commit index/: " + "; ".join(diffs)


def test_committed_index_verifies_and_points_at_seeds() -> None:
    loaded = ix.load_index(REPO / "index", MiniLMEmbedder())
    assert loaded.manifest["corpus"] == "../seeds"
    assert loaded.vectors.ntotal == len(loaded.passages) == loaded.manifest["counts"]["passages"]


def test_committed_passages_match_a_fresh_chunking() -> None:
    """Catches a change to cleaning or chunking code that forgot to bump a version."""
    from citeqa.corpus.chunk import chunk_corpus
    from citeqa.corpus.ingest import load_corpus

    loaded = ix.load_index(REPO / "index")
    fresh = chunk_corpus(load_corpus(REPO / "seeds").documents)
    assert [(p.id, p.start, p.end) for p in loaded.passages] == [
        (p.id, p.start, p.end) for p in fresh
    ]
