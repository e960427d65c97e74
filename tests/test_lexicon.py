"""The lexicon: BM25 and word counts, built, stored in the index, and mapped back."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from citeqa.answer.retrieve import RetrievalSettings, Retriever
from citeqa.errors import IndexCorruptError
from citeqa.index import store as ix
from citeqa.index.build import build_index
from citeqa.index.lexicon import FILES, Lexicon, terms

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
    assert Lexicon.stored_params(tmp_path) == (1.5, 0.75, "lucene", "lucene")


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
    assert other.lexicon is not other.index.lexicon and other.lexicon.bm25.k1 == 1.2
    for question in ("How much is Alibaba investing?", "Which studios will Youku work with?"):
        assert stored.lexical(question, 10) == old.lexical(question, 10)
        assert other.lexical(question, 10) != stored.lexical(question, 10)  # other scores


def test_the_lexicon_scores_and_counts_as_bm25s_and_a_word_count_would(
    seeds_copy: Path, tmp_path: Path
) -> None:
    import bm25s

    build_index(seeds_copy, tmp_path / "index", FakeEmbedder())
    loaded = ix.load_index(tmp_path / "index", FakeEmbedder())
    words = [terms(p.text) for p in loaded.passages]
    plain = bm25s.BM25(k1=1.5, b=0.75)
    plain.index(words, show_progress=False)
    for question in ("How much is Alibaba investing in Hong Kong?", "What is AMEG?"):
        known = [t for t in terms(question) if t in plain.vocab_dict]
        assert np.array_equal(loaded.lexicon.scores(known), plain.get_scores(known))
    counts = Counter(t for w in words for t in set(w))
    assert {t: loaded.lexicon.passages_with(t) for t in counts} == dict(counts)


def _edit_manifest(index_dir: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    manifest = json.loads((index_dir / "manifest.json").read_text())
    edit(manifest)
    (index_dir / "manifest.json").write_text(json.dumps(manifest))


def test_a_stored_lexicon_from_other_libraries_is_built_anew(
    seeds_copy: Path, tmp_path: Path
) -> None:
    index_dir = tmp_path / "index"
    build_index(seeds_copy, index_dir, FakeEmbedder())
    assert ix.load_index(index_dir, FakeEmbedder()).stored_lexicon is not None
    _edit_manifest(index_dir, lambda m: m["versions"].update({"PyStemmer": "1.0"}))
    loaded = ix.load_index(index_dir, FakeEmbedder())
    assert loaded.stored_lexicon is None and loaded.lexicon.knows("alibaba")


def test_a_stored_lexicon_of_other_passages_is_refused(seeds_copy: Path, tmp_path: Path) -> None:
    build_index(seeds_copy, tmp_path / "all", FakeEmbedder())
    sorted(seeds_copy.glob("*.txt"))[0].unlink()
    build_index(seeds_copy, tmp_path / "fewer", FakeEmbedder())
    shutil.rmtree(tmp_path / "all" / "bm25")
    shutil.copytree(tmp_path / "fewer" / "bm25", tmp_path / "all" / "bm25")
    fewer = json.loads((tmp_path / "fewer" / "manifest.json").read_text())["files"]
    _edit_manifest(
        tmp_path / "all", lambda m: m["files"].update({n: fewer[n] for n in ix.BM25_FILES})
    )
    with pytest.raises(IndexCorruptError, match=r"bm25/ scores \d+ passages, not"):
        ix.load_index(tmp_path / "all", FakeEmbedder())


def test_an_index_of_stopwords_only_has_no_lexicon_files_and_finds_nothing(
    tmp_path: Path,
) -> None:
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.txt").write_text("A a a. The of it.\n")
    build_index(tmp_path / "corpus", tmp_path / "index", FakeEmbedder())
    manifest = json.loads((tmp_path / "index" / "manifest.json").read_text())
    assert not set(ix.BM25_FILES) & set(manifest["files"])
    assert Retriever(ix.load_index(tmp_path / "index", FakeEmbedder())).lexical("the a", 5) == []


def test_the_same_passages_give_the_same_files_in_any_process(tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from citeqa.index.lexicon import Lexicon;"
        f" Lexicon.build({TEXTS!r}).save(Path(sys.argv[1]))"
    )
    for run in ("a", "b"):
        (tmp_path / run).mkdir()
        env = {**os.environ, "PYTHONHASHSEED": str(ord(run))}  # other set orders
        subprocess.run([sys.executable, "-c", code, str(tmp_path / run)], check=True, env=env)
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
