"""The lexicon: BM25 and word counts, built, stored in the index, and mapped back."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from citeqa import index as ix
from citeqa.build import build_index
from citeqa.lexicon import FILES, Lexicon, terms
from citeqa.retrieve import RetrievalSettings, Retriever

from conftest import FakeEmbedder

TEXTS = [
    "Alibaba will invest HK$5 billion in Hong Kong's film and TV industry.",
    "Youku signed agreements with TVB, Shaw Brothers and Media Asia.",
    "The deals were signed at FILMART, the Hong Kong film market.",
    "A a a the of.",  # stopwords only: in no word's count
]


def test_a_saved_lexicon_loads_mapped_and_scores_as_built(tmp_path: Path) -> None:
    built = Lexicon.build(TEXTS)
    built.save(tmp_path)
    loaded = Lexicon.load(tmp_path)
    assert isinstance(loaded.bm25.scores["data"], np.memmap)
    counts = Counter(t for text in TEXTS for t in set(terms(text)))
    assert {w: loaded.passages_with(w) for w in counts} == dict(counts)
    assert loaded.passages_with("unheard") == 0 and not loaded.knows("unheard")
    for question in ("hong kong film", "youku agreements", "filmart"):
        known = [t for t in terms(question) if built.knows(t)]
        np.testing.assert_allclose(loaded.scores(known), built.scores(known), rtol=1e-6)
    assert Lexicon.stored_params(tmp_path) == (1.5, 0.75)


def test_a_lexicon_of_stopwords_only_is_empty_and_saves_nothing(tmp_path: Path) -> None:
    empty = Lexicon.build(["A a a.", "The of."])
    assert empty.save(tmp_path) == [] and not empty.knows("a") and empty.passages_with("a") == 0


def test_the_index_stores_its_lexicon_and_serves_it_mapped(
    seeds_copy: Path, tmp_path: Path
) -> None:
    index_dir = tmp_path / "index"
    build_index(seeds_copy, index_dir, FakeEmbedder())
    manifest = json.loads((index_dir / "manifest.json").read_text())
    assert set(ix.BM25_FILES) <= set(manifest["files"])
    loaded = ix.load_index(index_dir, FakeEmbedder())
    assert isinstance(loaded.lexicon.bm25.scores["indptr"], np.memmap)
    fresh = Lexicon.build([p.text for p in loaded.passages])
    assert loaded.lexicon.vocab == fresh.vocab
    np.testing.assert_array_equal(loaded.lexicon.doc_freq, fresh.doc_freq)


def test_an_index_without_a_stored_lexicon_retrieves_the_same(
    seeds_copy: Path, tmp_path: Path
) -> None:
    # as an index built before the lexicon was stored: no bm25/ and no manifest entries
    index_dir = tmp_path / "index"
    build_index(seeds_copy, index_dir, FakeEmbedder())
    stored = Retriever(ix.load_index(index_dir, FakeEmbedder()))
    manifest = json.loads((index_dir / "manifest.json").read_text())
    manifest["files"] = {k: v for k, v in manifest["files"].items() if k not in ix.BM25_FILES}
    (index_dir / "manifest.json").write_text(json.dumps(manifest))
    shutil.rmtree(index_dir / "bm25")
    old = Retriever(ix.load_index(index_dir, FakeEmbedder()))
    assert not isinstance(old.lexicon.bm25.scores["data"], np.memmap)
    other = Retriever(ix.load_index(index_dir, FakeEmbedder()), RetrievalSettings(k1=1.2))
    for question in ("How much is Alibaba investing?", "Which studios will Youku work with?"):
        assert stored.lexical(question, 10) == old.lexical(question, 10)
        assert [r for r, _ in other.lexical(question, 3)]  # other BM25 values: built anew


def test_the_same_passages_give_the_same_files_in_any_process(tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from citeqa.lexicon import Lexicon;"
        f" Lexicon.build({TEXTS!r}).save(Path(sys.argv[1]))"
    )
    for run in ("a", "b"):
        (tmp_path / run).mkdir()
        env = {**os.environ, "PYTHONHASHSEED": str(ord(run))}  # other set orders
        subprocess.run([sys.executable, "-c", code, str(tmp_path / run)], check=True, env=env)
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
