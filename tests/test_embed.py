"""The real packaged MiniLM: fewer tests, marked, but run by `make test`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from citeqa.index import store as ix
from citeqa.index.build import build_index
from citeqa.index.embed import Embedder, MiniLMEmbedder, model_path

pytestmark = pytest.mark.model
# The tests that load MiniLM are slow: `make test` keeps one real-model run, through ask()
# in test_ask_model.py.


@pytest.fixture(scope="module")
def minilm() -> MiniLMEmbedder:
    return MiniLMEmbedder(batch_size=4)


def test_model_ships_in_the_package() -> None:
    assert (model_path() / "model.safetensors").stat().st_size > 80_000_000


@pytest.mark.slow
def test_encode_is_normalised_float32_and_order_preserving(minilm: MiniLMEmbedder) -> None:
    assert isinstance(minilm, Embedder)
    # A batch pads its shorter texts; one text alone has no padding. Both must give the
    # same vectors, truncation included.
    texts = ["short", "a much longer sentence about film studios in Hong Kong", "", "x" * 50]
    texts.append("film studio " * 300)
    vecs = minilm.encode(texts)
    assert vecs.shape == (5, 384) and vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, rtol=1e-5)
    one_by_one = np.vstack([minilm.encode([t]) for t in texts])
    np.testing.assert_allclose(vecs, one_by_one, atol=1e-5)


@pytest.mark.slow
def test_real_index_finds_the_investment_passage(
    minilm: MiniLMEmbedder, seeds_copy: Path, tmp_path: Path
) -> None:
    build_index(seeds_copy, tmp_path / "idx", minilm)
    loaded = ix.load_index(tmp_path / "idx", minilm)
    query = minilm.encode(["How much money is Alibaba putting into Hong Kong entertainment?"])
    _, rows = loaded.vectors.search(query, 3)
    top = [loaded.passages[r].text for r in rows[0]]
    assert any("$640 million" in t for t in top)
