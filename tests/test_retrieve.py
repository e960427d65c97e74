"""Retrieval: the fusion of dense and BM25 lists, and the hits it makes."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citeqa.answer.retrieve import RetrievalSettings, Retriever, fuse
from citeqa.index import store as ix
from citeqa.index.build import build_index

from conftest import FakeEmbedder


def test_a_clear_lead_in_one_list_is_not_outvoted_by_middling_ranks_in_both() -> None:
    # Passage 0 is far ahead in the dense list and shares no word with the question; passage
    # 1 is second in both. Reciprocal rank would put 1 first (2/62 against 0's 1/61).
    dense = [(0, 0.9), (1, 0.5), (2, 0.45), (3, 0.3)]
    lexical = [(3, 6.0), (1, 4.0), (2, 3.9), (4, 1.0)]
    ranked = fuse(dense, lexical, 0.5)
    assert [row for row, _ in ranked][:2] == [0, 3]
    assert ranked[0][1] > dict(ranked)[1]


def test_first_in_both_lists_scores_one_and_a_list_of_equals_counts_whole() -> None:
    ranked = fuse([(7, 0.8), (2, 0.1)], [(7, 3.0), (5, 1.0)], 0.5)
    assert ranked[0] == (7, 1.0)
    assert dict(ranked) == {7: 1.0, 2: 0.0, 5: 0.0}
    # one passage found, or all alike: each scores as the best, not as the worst
    assert fuse([(4, 0.2)], [(4, 9.0), (6, 9.0)], 0.5) == [(4, 1.0), (6, 0.5)]
    assert fuse([], [], 0.5) == []


lists = st.lists(
    st.tuples(st.integers(0, 30), st.integers(-100, 3000).map(lambda x: x / 100)),
    max_size=12,
    unique_by=lambda t: t[0],
).map(lambda xs: sorted(xs, key=lambda t: -t[1]))


@settings(max_examples=100)  # cheap: as many under either profile
@given(lists, lists, st.floats(0.0, 1.0))
def test_fused_scores_are_in_unit_range_sorted_and_cover_both_lists(
    dense: list[tuple[int, float]], lexical: list[tuple[int, float]], weight: float
) -> None:
    ranked = fuse(dense, lexical, weight)
    assert {row for row, _ in ranked} == {row for row, _ in dense + lexical}
    assert all(-1e-9 <= score <= 1.0 + 1e-9 for _, score in ranked)
    assert ranked == sorted(ranked, key=lambda kv: (-kv[1], kv[0]))
    # all weight on one list keeps that list's order among its rows
    only_dense = [row for row, _ in fuse(dense, lexical, 1.0) if row in dict(dense)]
    strictly = [row for i, (row, s) in enumerate(dense) if i == 0 or s < dense[i - 1][1]]
    assert [row for row in only_dense if row in strictly] == strictly


def test_a_dense_weight_outside_the_unit_range_is_refused() -> None:
    with pytest.raises(ValueError, match="dense_weight"):
        RetrievalSettings(dense_weight=1.5)


def test_hits_carry_each_retrievers_own_rank_and_score(seeds_copy: Path, tmp_path: Path) -> None:
    build_index(seeds_copy, tmp_path / "index", FakeEmbedder())
    retriever = Retriever(ix.load_index(tmp_path / "index", FakeEmbedder()))
    question = "Which studios did Youku sign agreements with?"
    query = FakeEmbedder().encode([question])[0]
    dense = retriever.dense(query, 20)
    lexical = retriever.lexical(question, 20)
    hits = retriever.search(question, query, 5)
    assert len(hits) == 5
    assert [h.score for h in hits] == [s for _, s in fuse(dense, lexical, 0.5)[:5]]
    for hit in hits:
        row = retriever.rows[hit.passage.id]
        for rank, score, ranked in (
            (hit.dense_rank, hit.dense_score, dense),
            (hit.lexical_rank, hit.lexical_score, lexical),
        ):
            at = [i for i, (r, _) in enumerate(ranked, 1) if r == row]
            assert (rank, score) == ((at[0], ranked[at[0] - 1][1]) if at else (0, 0.0))
    assert any(h.dense_rank and h.lexical_rank for h in hits)
