"""The index folder: its layout and settings, and loading it only when it verifies.

Layout::

    index/
      manifest.json    format, embedder, settings, sources, file checksums, versions
      faiss.index      vectors of the passages, L2-normalised, inner product (exact, or HNSW
                       or IVF for large corpora: `ann.py`); row i is passage i
      passages.jsonl   one passage per line, with its sentence offsets
      sentences.npy    a vector per sentence, in passage order (the reader ranks sentences
                       without encoding them at question time)
      documents.jsonl  the text of each extracted document (HTML, PDF, Word), and where its
                       pages start: the text offsets point into. Plain-text documents are
                       their own files. Indexes from before it existed verify without it.
      bm25/            BM25 over the passages, in bm25s's format (``lexicon.py``), mapped
                       from disk when served. Indexes without it build it when loaded.

A build writes a sibling temporary folder and swaps it into place, so a crash or a
``kill -9`` part-way leaves the previous index as it was (``swap.py``).
"""

from __future__ import annotations

import bisect
import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from citeqa.corpus import clean
from citeqa.corpus.chunk import ChunkSettings
from citeqa.corpus.extract import decode_text, library_version
from citeqa.corpus.ingest import DEFAULT_MAX_FILE_BYTES, sha256_bytes
from citeqa.errors import (
    CorpusError,
    IndexCorruptError,
    IndexMismatchError,
    IndexMissingError,
    IndexStaleError,
)
from citeqa.index import lexicon
from citeqa.index.ann import INDEX_TYPES
from citeqa.index.embed import Embedder
from citeqa.index.lexicon import Lexicon
from citeqa.index.records import StoredText, read_documents, read_passages
from citeqa.index.swap import recover_interrupted_swap
from citeqa.types import Passage

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
VECTORS = "faiss.index"
PASSAGES = "passages.jsonl"
SENTENCES = "sentences.npy"
DOCUMENTS = "documents.jsonl"
BM25 = "bm25"
BM25_FILES = tuple(f"{BM25}/{name}" for name in lexicon.FILES)
DATA_FILES = (VECTORS, PASSAGES, SENTENCES, DOCUMENTS, *BM25_FILES)
REQUIRED_FILES = (VECTORS, PASSAGES, SENTENCES)


SEGMENTER = "pysbd, cut at max_chars"
"""How sentences are found: recorded, so that a change to it makes indexes stale."""


@dataclass(frozen=True)
class IndexSettings:
    """Everything besides the corpus and the embedder that decides what a build produces."""

    chunk: ChunkSettings = field(default_factory=ChunkSettings)
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    index_type: str = "auto"

    def __post_init__(self) -> None:
        if self.index_type not in INDEX_TYPES:
            raise ValueError(
                f"index type must be one of {', '.join(INDEX_TYPES)}, got {self.index_type!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.chunk.to_dict(),
            "max_file_bytes": self.max_file_bytes,
            "cleaning_rules": clean.RULES_VERSION,
            "segmenter": SEGMENTER,
            "index_type": self.index_type,
        }


@dataclass(frozen=True)
class LoadedIndex:
    path: Path
    manifest: dict[str, Any]
    passages: tuple[Passage, ...]
    vectors: Any  # faiss.Index; faiss ships no type stubs
    sentence_vectors: np.ndarray
    """Row ``sentence_rows[i] + j`` is sentence j of passage i."""
    sentence_rows: tuple[int, ...]
    documents: Mapping[str, StoredText] = field(default_factory=dict)
    """Extracted documents by source; plain-text documents are not here."""

    stored_lexicon: Lexicon | None = None
    """The build's BM25, mapped from ``bm25/`` when the index has one this install can use."""

    @cached_property
    def lexicon(self) -> Lexicon:
        """BM25 and word counts over the passages: the stored one, or made now for an index
        without one (built before it was stored, or with other BM25 versions or values)."""
        if self.stored_lexicon is not None:
            return self.stored_lexicon
        return Lexicon.build([p.text for p in self.passages])

    @property
    def corpus_dir(self) -> Path:
        return (self.path / str(self.manifest["corpus"])).resolve()

    def document_text(self, source: str) -> str:
        """The text that offsets into ``source`` point into: stored for extracted formats,
        the file itself (read now) for plain text, as long as it is the file indexed."""
        stored = self.documents.get(source)
        if stored is not None:
            return stored.text
        known = self.manifest.get("sources", {}).get(source)
        if known is None:
            raise CorpusError(f"index {self.path} has no document {source}")
        path = self.corpus_dir / source
        try:
            data = path.read_bytes()
        except OSError:
            # A copied index serves its passages without the corpus, but a plain-text
            # document's whole text is the file itself, which only the corpus holds.
            raise CorpusError(
                f"the whole text of {source} is its file in the corpus folder"
                f" {self.corpus_dir}, which is not here; index {self.path} holds only its"
                " passages (answers and citations still work)"
            ) from None
        if sha256_bytes(data) != known["sha256"]:
            # Offsets into the text as indexed would point at other words in the new one.
            raise IndexStaleError(
                f"{source} has changed since index {self.path} was built; rebuild it with:"
                f" citeqa index {self.corpus_dir} --index {self.path}"
            )
        return decode_text(data)

    def page_at(self, source: str, offset: int) -> int | None:
        """The page (from 1) holding ``offset`` of ``source``; None when it has no pages."""
        stored = self.documents.get(source)
        if stored is None or not stored.pages:
            return None
        return max(1, bisect.bisect_right(stored.pages, offset))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def embedder_record(embedder: Embedder) -> dict[str, Any]:
    return {"name": embedder.name, "weights_sha256": embedder.fingerprint(), "dim": embedder.dim}


def read_manifest(index_dir: Path) -> dict[str, Any]:
    index_dir = Path(index_dir)
    recover_interrupted_swap(index_dir)
    path = index_dir / MANIFEST
    if not index_dir.is_dir() or not path.exists():
        raise IndexMissingError(f"no index at {index_dir} (run: citeqa index CORPUS_DIR)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexCorruptError(f"index {index_dir}: {MANIFEST} is unreadable ({exc})") from None
    if not isinstance(manifest, dict):
        raise IndexCorruptError(f"index {index_dir}: {MANIFEST} is not a JSON object")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise IndexMismatchError(
            f"index {index_dir} has format version {version}; this citeqa reads"
            f" {FORMAT_VERSION}. Rebuild it."
        )
    return manifest


def verify_files(index_dir: Path, manifest: dict[str, Any]) -> None:
    """Every data file must match the size and sha256 the manifest recorded."""
    files = manifest.get("files")
    if not isinstance(files, dict) or not set(REQUIRED_FILES) <= set(files) <= set(DATA_FILES):
        raise IndexCorruptError(f"index {index_dir}: {MANIFEST} does not list its data files")
    for name in sorted(files):
        path = index_dir / name
        want = files[name]
        if not path.exists():
            raise IndexCorruptError(f"index {index_dir}: {name} is missing")
        size = path.stat().st_size
        if size != want.get("size"):
            raise IndexCorruptError(
                f"index {index_dir}: {name} is {size} bytes, the manifest says"
                f" {want.get('size')} (truncated or edited)"
            )
        if file_sha256(path) != want.get("sha256"):
            raise IndexCorruptError(
                f"index {index_dir}: {name} does not match its checksum (edited or damaged)"
            )


def check_embedder(index_dir: Path, manifest: dict[str, Any], embedder: Embedder) -> None:
    want = embedder_record(embedder)
    have = manifest.get("embedder", {})
    if have != want:
        diffs = [
            f"{k}: index {have.get(k)!r}, now {v!r}" for k, v in want.items() if have.get(k) != v
        ]
        raise IndexMismatchError(
            f"index {index_dir} was built with another embedding model ({'; '.join(diffs)})."
            " Rebuild it."
        )


def load_index(index_dir: Path, embedder: Embedder | None = None) -> LoadedIndex:
    """Load and verify an index. Raises rather than return anything it cannot vouch for."""
    import faiss

    index_dir = Path(index_dir)
    manifest = read_manifest(index_dir)
    verify_files(index_dir, manifest)
    if embedder is not None:
        check_embedder(index_dir, manifest, embedder)
    passages = tuple(read_passages(index_dir / PASSAGES))
    try:
        vectors = faiss.read_index(str(index_dir / VECTORS))
    except RuntimeError as exc:
        raise IndexCorruptError(f"index {index_dir}: {VECTORS} is unreadable ({exc})") from None
    ivf = faiss.try_extract_index_ivf(vectors)
    if ivf is not None and ivf.direct_map.type == faiss.DirectMap.NoMap:  # type: ignore[attr-defined]
        ivf.make_direct_map()  # row lookups: source-restricted search, vector reuse
    if vectors.ntotal != len(passages) or vectors.d != manifest["embedder"]["dim"]:
        raise IndexCorruptError(
            f"index {index_dir}: {vectors.ntotal} vectors of dimension {vectors.d} for"
            f" {len(passages)} passages"
        )
    try:
        # Mapped, not read: a question touches the sentences of a few passages only, and
        # the file is the largest in a big index (four vectors a passage).
        sentence_vectors = np.load(index_dir / SENTENCES, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:
        raise IndexCorruptError(f"index {index_dir}: {SENTENCES} is unreadable ({exc})") from None
    starts = np.cumsum([0] + [len(p.sentences) for p in passages])
    if sentence_vectors.shape != (int(starts[-1]), vectors.d):
        raise IndexCorruptError(
            f"index {index_dir}: {SENTENCES} holds {sentence_vectors.shape[0]} vectors for"
            f" {int(starts[-1])} sentences"
        )
    rows = tuple(int(x) for x in starts[:-1])
    documents = read_documents(index_dir / DOCUMENTS)
    stored = _stored_lexicon(index_dir, manifest, len(passages))
    return LoadedIndex(
        index_dir, manifest, passages, vectors, sentence_vectors, rows, documents, stored
    )


def _stored_lexicon(index_dir: Path, manifest: dict[str, Any], passages: int) -> Lexicon | None:
    """The build's lexicon, mapped now with the rest of the index (so that a rebuild
    swapped in later cannot pair its BM25 with these passages); None when the index has
    none this install would make the same way."""
    if not set(BM25_FILES) <= set(manifest["files"]):
        return None
    versions = manifest.get("versions", {})
    if any(versions.get(name) != library_version(name) for name in lexicon.LIBRARIES):
        return None
    folder = index_dir / BM25
    if Lexicon.stored_params(folder) != (lexicon.K1, lexicon.B, "lucene", "lucene"):
        return None
    stored = Lexicon.load(folder)
    if stored.passages != passages:
        raise IndexCorruptError(
            f"index {index_dir}: {BM25}/ scores {stored.passages} passages, not {passages}"
        )
    return stored
