from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from citeqa.corpus.chunk import ChunkSettings, chunk_corpus
from citeqa.corpus.ingest import load_corpus
from citeqa.errors import (
    CorpusError,
    IndexCorruptError,
    IndexLockedError,
    IndexMismatchError,
    IndexMissingError,
)
from citeqa.index import ann, lexicon, swap
from citeqa.index import store as ix
from citeqa.index.build import build_index, write_index
from citeqa.index.freshness import staleness
from citeqa.index.swap import build_lock

from conftest import REPO, FakeEmbedder


@pytest.fixture
def built(seeds_copy: Path, tmp_path: Path, fake_embedder: FakeEmbedder) -> Path:
    index_dir = tmp_path / "index"
    build_index(seeds_copy, index_dir, fake_embedder)
    return index_dir


def test_build_then_load_round_trips(built: Path, seeds_copy: Path) -> None:
    loaded = ix.load_index(built, FakeEmbedder())
    assert loaded.vectors.ntotal == len(loaded.passages) > 0
    assert loaded.corpus_dir == seeds_copy.resolve()
    raws = {p.name: p.read_text(encoding="utf-8") for p in seeds_copy.glob("*.txt")}
    for p in loaded.passages:
        assert raws[p.source][p.start : p.end] == p.text
        assert all(raws[p.source][s.start : s.end] == s.text for s in p.sentences)
    rows = loaded.vectors.reconstruct_n(0, loaded.vectors.ntotal)
    assert rows.dtype == np.float32
    assert isinstance(loaded.sentence_vectors, np.memmap)  # mapped, not held
    np.testing.assert_allclose(np.linalg.norm(rows, axis=1), 1.0, rtol=1e-5)
    assert set(os.listdir(built)) == {
        "manifest.json",
        "faiss.index",
        "passages.jsonl",
        "sentences.npy",
        "documents.jsonl",
        "bm25",
    }


def test_manifest_records_what_the_build_depended_on(built: Path) -> None:
    m = json.loads((built / "manifest.json").read_text())
    assert m["format_version"] == ix.FORMAT_VERSION
    assert m["embedder"] == {
        "name": FakeEmbedder.name,
        "weights_sha256": "fake-weights-v1",
        "dim": 64,
    }
    assert m["settings"]["sentences"] == 4 and m["settings"]["overlap"] == 1
    assert set(m["sources"]) == {p.name for p in (REPO / "seeds").glob("*.txt")}
    assert all(len(s["sha256"]) == 64 and s["size"] > 0 for s in m["sources"].values())
    assert set(m["files"]) == {
        "faiss.index",
        "passages.jsonl",
        "sentences.npy",
        "documents.jsonl",
        *(f"bm25/{name}" for name in lexicon.FILES),
    }
    assert {"faiss-cpu", "sentence-transformers", "torch"} <= set(m["versions"])
    assert m["built_at"]


def test_fresh_index_has_no_staleness(built: Path) -> None:
    assert staleness(built, FakeEmbedder()) == []


def test_staleness_names_added_changed_and_removed_files(built: Path, seeds_copy: Path) -> None:
    (seeds_copy / "new.txt").write_text("A new article about the harbour. It is short.\n")
    (seeds_copy / "000_ccf088dfa326e9ee.txt").write_text("Changed text entirely. Yes.\n")
    (seeds_copy / "002_424a6c7695f088a1.txt").unlink()
    assert staleness(built, FakeEmbedder()) == [
        "added: new.txt",
        "removed: 002_424a6c7695f088a1.txt",
        "changed: 000_ccf088dfa326e9ee.txt",
    ]


def test_staleness_names_settings_and_model(built: Path) -> None:
    other = ix.IndexSettings(chunk=ChunkSettings(sentences=3, overlap=1))
    assert staleness(built, FakeEmbedder(), other) == ["setting sentences: index 4, now 3"]

    class Other(FakeEmbedder):
        def fingerprint(self) -> str:
            return "other-weights"

    (diff,) = staleness(built, Other())
    assert "another embedding model" in diff and "weights_sha256" in diff


def test_rebuild_embeds_only_new_text(built: Path, seeds_copy: Path) -> None:
    path = seeds_copy / "001_cb6ebb0004de6f45.txt"
    path.write_text(path.read_text(encoding="utf-8") + "\nA brand new closing sentence.\n")
    embedder = FakeEmbedder()
    report = build_index(seeds_copy, built, embedder)
    # the new line is a passage of one sentence: one new text, everything else reused
    assert report.embedded == 1 and embedder.calls == [1] and report.reused > report.passages
    # reused rows are the same vectors a full embedding would give
    loaded = ix.load_index(built, embedder)
    full = FakeEmbedder().encode([p.text for p in loaded.passages])
    np.testing.assert_allclose(loaded.vectors.reconstruct_n(0, loaded.vectors.ntotal), full)


@pytest.mark.parametrize("sep", ["\u2028", "\u2029", "\x85"])
def test_line_separators_inside_a_passage_build_and_round_trip(tmp_path: Path, sep: str) -> None:
    # JSON keeps these raw inside strings; anything reading the rows back by
    # str.splitlines() would split one row in two.
    corpus = tmp_path / "docs"
    corpus.mkdir()
    text = f"The fund opened in May.{sep}It holds HK$5 billion. Its chair is Ms Lee.\n"
    (corpus / "a.txt").write_text(text, encoding="utf-8")
    build_index(corpus, tmp_path / "index", FakeEmbedder())
    loaded = ix.load_index(tmp_path / "index", FakeEmbedder())
    manifest = json.loads((tmp_path / "index" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["sources"]["a.txt"]["passages"] == len(loaded.passages) >= 1
    assert any(sep in p.text for p in loaded.passages)
    for p in loaded.passages:
        assert text[p.start : p.end] == p.text


def test_a_corpus_with_unreadable_files_builds_fresh(tmp_path: Path) -> None:
    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "a.txt").write_text("The fund holds HK$5 billion.\n", encoding="utf-8")
    os.symlink(corpus / "gone.txt", corpus / "dangling.txt")
    os.mkfifo(corpus / "pipe.txt")
    build_index(corpus, tmp_path / "index", FakeEmbedder())
    assert staleness(tmp_path / "index", FakeEmbedder()) == []
    (corpus / "gone.txt").write_text("It opened in May.\n", encoding="utf-8")
    assert staleness(tmp_path / "index", FakeEmbedder()) == [
        "added: gone.txt",
        "changed: dangling.txt",
    ]


def test_a_skipped_file_is_remembered_as_it_was_read(tmp_path: Path) -> None:
    # A file still being copied when the build reads it (here: cut inside a character)
    # must not count as indexed once the copy completes.
    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "a.txt").write_text("The fund holds HK$5 billion.\n", encoding="utf-8")
    whole = "Its chair is Zoë Lee.\n".encode()
    (corpus / "b.txt").write_bytes(whole[: whole.index("ë".encode()) + 1])
    read = load_corpus(corpus)
    assert [f.source for f in read.skipped] == ["b.txt"]
    (corpus / "b.txt").write_bytes(whole)
    write_index(
        read, chunk_corpus(read.documents, ChunkSettings()), tmp_path / "index", FakeEmbedder()
    )
    assert staleness(tmp_path / "index", FakeEmbedder()) == ["changed: b.txt"]


def test_missing_index(tmp_path: Path) -> None:
    with pytest.raises(IndexMissingError, match=f"no index at {tmp_path / 'none'}"):
        ix.load_index(tmp_path / "none")


DATA = ["faiss.index", "passages.jsonl", "sentences.npy", "bm25/data.csc.index.npy"]


@pytest.mark.parametrize("name", DATA)
def test_truncated_file_is_detected(built: Path, name: str) -> None:
    path = built / name
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(IndexCorruptError, match=f"{name} is .* bytes, the manifest says"):
        ix.load_index(built, FakeEmbedder())


@pytest.mark.parametrize("name", DATA)
def test_bit_flip_is_detected(built: Path, name: str) -> None:
    path = built / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(IndexCorruptError, match=f"{name} does not match its checksum"):
        ix.load_index(built, FakeEmbedder())


def test_unreadable_manifest(built: Path) -> None:
    (built / "manifest.json").write_text("{not json")
    with pytest.raises(IndexCorruptError, match=r"manifest\.json is unreadable"):
        ix.load_index(built)


def test_other_format_version(built: Path) -> None:
    m = json.loads((built / "manifest.json").read_text())
    m["format_version"] = 99
    (built / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(IndexMismatchError, match="format version 99"):
        ix.load_index(built)


def test_index_from_another_model_is_refused(built: Path) -> None:
    class Other(FakeEmbedder):
        name = "some-other-model"

    with pytest.raises(IndexMismatchError, match="another embedding model"):
        ix.load_index(built, Other())


def test_failed_build_leaves_previous_index(built: Path, seeds_copy: Path) -> None:
    def contents() -> dict[Path, bytes]:
        return {p: p.read_bytes() for p in built.rglob("*") if p.is_file()}

    before = contents()

    class Crashing(FakeEmbedder):
        def encode(self, texts, *, progress=False):  # type: ignore[no-untyped-def]
            raise RuntimeError("out of memory, say")

    (seeds_copy / "new.txt").write_text("Fresh text that needs embedding. Two.\n")
    with pytest.raises(RuntimeError, match="out of memory"):
        build_index(seeds_copy, built, Crashing())
    assert contents() == before
    assert not list(built.parent.glob(".index.tmp-*"))


def _answers(index_dir: Path) -> list[tuple[str, int]]:
    loaded = ix.load_index(index_dir, FakeEmbedder())
    query = FakeEmbedder().encode(["How much is Alibaba investing in Hong Kong?"])
    scores, rows = loaded.vectors.search(query, 3)
    return [
        (loaded.passages[r].id, round(float(s) * 1e4))
        for s, r in zip(scores[0], rows[0], strict=True)
    ]


def test_second_build_waits_for_the_lock_then_fails_clearly(
    built: Path, seeds_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """And it waits before reading the corpus: one that read earlier and waited would
    otherwise replace the index of one that read later."""
    from citeqa.index import build

    read: list[Path] = []
    monkeypatch.setattr(build, "load_corpus", lambda root, **_: read.append(root))
    with (
        build_lock(built, timeout=1),
        pytest.raises(IndexLockedError, match="another citeqa build holds"),
    ):
        build_index(seeds_copy, built, FakeEmbedder(), lock_timeout=0.3)
    assert read == []


def test_a_missing_corpus_folder_fails_before_the_build_touches_anything(tmp_path: Path) -> None:
    index_dir = tmp_path / "new" / "index"
    with pytest.raises(CorpusError, match="does not exist"):
        build_index(tmp_path / "missing", index_dir, FakeEmbedder())
    assert not (tmp_path / "new").exists()


def test_interrupted_two_rename_swap_is_recovered(built: Path) -> None:
    before = _answers(built)
    os.rename(built, built.with_name(".index.old"))
    assert _answers(built) == before


def test_a_previous_index_left_by_an_interrupted_delete_does_not_block_builds(
    built: Path, seeds_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Ctrl-C during the two-rename swap's last step: both folders are there.
    shutil.copytree(built, built.with_name(".index.old"))
    monkeypatch.setattr(swap, "_exchange", lambda a, b: False)  # as on macOS
    build_index(seeds_copy, built, FakeEmbedder())
    assert not built.with_name(".index.old").exists()
    assert staleness(built, FakeEmbedder()) == []


def test_leftovers_of_an_index_with_glob_characters_in_its_name_are_its_own(
    tmp_path: Path,
) -> None:
    mine, other = tmp_path / ".idx[12].tmp-a", tmp_path / ".idx1.tmp-b"
    mine.mkdir()
    other.mkdir()
    swap.remove_leftovers(tmp_path / "idx[12]")
    assert not mine.exists() and other.exists()


@pytest.mark.parametrize("kind", ["flat", "ivf", "hnsw"])
def test_every_index_type_builds_loads_and_reuses(
    seeds_copy: Path, tmp_path: Path, kind: str
) -> None:
    settings = ix.IndexSettings(index_type=kind)
    index_dir = tmp_path / kind
    build_index(seeds_copy, index_dir, FakeEmbedder(), settings)
    loaded = ix.load_index(index_dir, FakeEmbedder())
    assert loaded.manifest["settings"]["index_type"] == kind
    rows = loaded.vectors.reconstruct_n(0, loaded.vectors.ntotal)
    full = FakeEmbedder().encode([p.text for p in loaded.passages])
    np.testing.assert_allclose(rows, full, rtol=1e-6)  # row i is passage i
    assert staleness(index_dir, FakeEmbedder(), settings) == []
    assert staleness(index_dir, FakeEmbedder()) == [
        f"setting index_type: index {kind!r}, now 'auto'"
    ]
    embedder = FakeEmbedder()
    report = build_index(seeds_copy, index_dir, embedder, settings)
    assert report.embedded == 0 and embedder.calls == [0]


def test_auto_index_type_switches_at_the_measured_crossover() -> None:
    assert ann.resolve_index_type("auto", ann.HNSW_FROM_ROWS - 1) == "flat"
    assert ann.resolve_index_type("auto", ann.HNSW_FROM_ROWS) == "hnsw"
    assert ann.resolve_index_type("ivf", 10) == "ivf"
    with pytest.raises(ValueError, match="index type must be one of"):
        ix.IndexSettings(index_type="annoy")
