"""Build an index folder: ingest, chunk, embed (reusing unchanged vectors), write a
temporary sibling folder, and swap it into place atomically under a lock (``swap.py``).

A crash or ``kill -9`` at any point leaves the previous index as it was; a second build
waits for the first.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from citeqa.corpus.chunk import chunk_corpus
from citeqa.corpus.extract import extractor_for, library_version
from citeqa.corpus.ingest import Corpus, SkippedFile, load_corpus, require_folder
from citeqa.errors import IndexFolderError
from citeqa.index import lexicon
from citeqa.index.ann import make_faiss_index
from citeqa.index.embed import Embedder
from citeqa.index.lexicon import Lexicon
from citeqa.index.records import write_documents, write_passages
from citeqa.index.store import (
    BM25,
    BM25_FILES,
    DATA_FILES,
    DOCUMENTS,
    FORMAT_VERSION,
    MANIFEST,
    PASSAGES,
    SENTENCES,
    VECTORS,
    IndexSettings,
    embedder_record,
    file_sha256,
    load_index,
)
from citeqa.index.swap import build_lock, fsync_dir, remove_leftovers, swap_into_place
from citeqa.types import Passage

_VERSIONED = (
    "citeqa",
    "faiss-cpu",
    "sentence-transformers",
    "torch",
    "numpy",
    "pysbd",
    "trafilatura",
    "pypdfium2",
    "python-docx",
    *lexicon.LIBRARIES,
)


@dataclass(frozen=True)
class BuildReport:
    path: Path
    corpus: Corpus
    passages: int
    embedded: int
    """Distinct texts (passages and sentences) embedded by this build."""
    reused: int
    """Distinct texts whose vectors came from the previous index."""
    seconds: float


def build_index(
    corpus_dir: Path,
    index_dir: Path,
    embedder: Embedder,
    settings: IndexSettings = IndexSettings(),
    *,
    progress: bool = False,
    lock_timeout: float = 600.0,
) -> BuildReport:
    """Ingest, chunk and embed ``corpus_dir`` into ``index_dir``, reusing the vectors of
    passages whose text is unchanged since the previous build."""
    started = time.perf_counter()
    index_dir = Path(index_dir)
    require_folder(corpus_dir)
    with lock_for_build(index_dir, lock_timeout):
        corpus = load_corpus(Path(corpus_dir), max_file_bytes=settings.max_file_bytes)
        passages = chunk_corpus(corpus.documents, settings.chunk)
        return write_index(
            corpus,
            passages,
            index_dir,
            embedder,
            settings,
            progress=progress,
            locked=True,
            started=started,
        )


Encode = Callable[[Sequence[str]], np.ndarray]
"""Texts to L2-normalised float32 rows, in order: what a build needs of an embedder."""


def write_index(
    corpus: Corpus,
    passages: list[Passage],
    index_dir: Path,
    embedder: Embedder,
    settings: IndexSettings = IndexSettings(),
    *,
    encode: Encode | None = None,
    progress: bool = False,
    lock_timeout: float = 600.0,
    locked: bool = False,
    started: float | None = None,
) -> BuildReport:
    """Embed what the previous index lacks and write the folder: the one writer every build
    goes through. ``passages`` are ``corpus``'s, in its order. ``encode`` embeds the texts
    (default: ``embedder.encode``); a distributed build passes its own, and ``embedder``
    still names the model in the manifest and decides which old vectors can be reused.
    ``locked``: the caller holds ``lock_for_build`` already, taken before it read."""
    started = time.perf_counter() if started is None else started
    index_dir = Path(index_dir)
    if encode is None:
        encode = functools.partial(embedder.encode, progress=progress)
    lock = contextlib.nullcontext() if locked else lock_for_build(index_dir, lock_timeout)
    with lock, _writable(index_dir):
        return _build(corpus, passages, index_dir, embedder, settings, encode, started)


@contextlib.contextmanager
def lock_for_build(index_dir: Path, timeout: float) -> Iterator[None]:
    """``build_lock``, for a build to take before it reads the corpus: one that read the
    folder earlier and waited would otherwise replace the index of one that read it
    later. A folder citeqa may not write is ``IndexFolderError``; what the build does
    while holding the lock (reading, which may fail on its own terms) is left alone."""
    with contextlib.ExitStack() as held:
        with _writable(index_dir):
            held.enter_context(build_lock(index_dir, timeout=timeout))
        yield


@contextlib.contextmanager
def _writable(index_dir: Path) -> Iterator[None]:
    """A folder citeqa may not write is a clear error, not an OSError."""
    try:
        yield
    except OSError as exc:
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            raise IndexFolderError(
                f"cannot write the index next to {index_dir} ({exc.strerror}); the existing"
                " index, if any, is unchanged and still answers"
            ) from None
        raise


def _build(
    corpus: Corpus,
    passages: list[Passage],
    index_dir: Path,
    embedder: Embedder,
    settings: IndexSettings,
    encode: Encode,
    started: float,
) -> BuildReport:
    """Write the index; the caller holds the build lock."""
    import faiss

    vectors, embedded, reused = _vectors(passages, index_dir, embedder, encode)
    flat = make_faiss_index(settings.index_type, vectors[: len(passages)])
    remove_leftovers(index_dir)
    tmp = Path(tempfile.mkdtemp(prefix=f".{index_dir.name}.tmp-", dir=index_dir.parent))
    try:
        tmp.chmod(0o777 & ~_umask())  # mkdtemp makes it private; an index is not
        faiss.write_index(flat, str(tmp / VECTORS))
        _fsync(tmp / VECTORS)
        write_passages(tmp / PASSAGES, passages)
        write_documents(tmp / DOCUMENTS, corpus)
        _write_lexicon(tmp / BM25, passages)
        with (tmp / SENTENCES).open("wb") as fh:
            np.save(fh, vectors[len(passages) :], allow_pickle=False)
            fh.flush()
            os.fsync(fh.fileno())
        manifest = _manifest(corpus, index_dir, embedder, settings, passages, tmp)
        _write_json(tmp / MANIFEST, manifest)
        fsync_dir(tmp)
        swap_into_place(tmp, index_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return BuildReport(
        path=index_dir,
        corpus=corpus,
        passages=len(passages),
        embedded=embedded,
        reused=reused,
        seconds=time.perf_counter() - started,
    )


def _vectors(
    passages: list[Passage], index_dir: Path, embedder: Embedder, encode: Encode
) -> tuple[np.ndarray, int, int]:
    """A vector for every passage, then for every sentence of each in order; how many
    distinct texts were embedded now and how many came from the previous index."""
    cache = _previous_vectors(index_dir, embedder)
    texts = [p.text for p in passages] + [s.text for p in passages for s in p.sentences]
    todo = sorted({_text_key(t): t for t in texts if _text_key(t) not in cache}.items())
    fresh = encode([t for _, t in todo])
    if fresh.shape != (len(todo), embedder.dim):
        raise ValueError(f"{len(todo)} texts came back as vectors of shape {fresh.shape}")
    reused = sum(1 for t in set(texts) if _text_key(t) in cache)
    cache.update((key, fresh[i]) for i, (key, _) in enumerate(todo))
    if not texts:
        return np.zeros((0, embedder.dim), dtype=np.float32), 0, 0
    return np.stack([cache[_text_key(t)] for t in texts]), len(todo), reused


def _text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _previous_vectors(index_dir: Path, embedder: Embedder) -> dict[str, np.ndarray]:
    """Vectors of the current index by passage text, when it verifies and used the same
    weights; anything else means embedding everything again, never reusing bad rows."""
    try:
        old = load_index(index_dir, embedder)
    except Exception:
        return {}
    rows = old.vectors.reconstruct_n(0, old.vectors.ntotal)
    cache = {_text_key(p.text): rows[i] for i, p in enumerate(old.passages)}
    for i, p in enumerate(old.passages):
        for j, s in enumerate(p.sentences):
            cache[_text_key(s.text)] = old.sentence_vectors[old.sentence_rows[i] + j]
    return cache


def _write_lexicon(folder: Path, passages: list[Passage]) -> None:
    """BM25 over the passages, so that serving maps it rather than tokenising them all."""
    folder.mkdir()
    for name in Lexicon.build([p.text for p in passages]).save(folder):
        _fsync(folder / name)
    fsync_dir(folder)


def _fsync(path: Path) -> None:
    """For files a library wrote: on disk before the swap, so a crash after it cannot
    leave a torn file where the previous index was."""
    with path.open("rb+") as fh:
        os.fsync(fh.fileno())


def _write_json(path: Path, data: dict[str, Any]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, ensure_ascii=False)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())


def _manifest(
    corpus: Corpus,
    index_dir: Path,
    embedder: Embedder,
    settings: IndexSettings,
    passages: list[Passage],
    tmp: Path,
) -> dict[str, Any]:
    counts = Counter(p.source for p in passages)
    return {
        "format_version": FORMAT_VERSION,
        "embedder": embedder_record(embedder),
        "settings": settings.to_dict(),
        "corpus": os.path.relpath(corpus.root.resolve(), index_dir.resolve()),
        "sources": {
            doc.source: {
                "sha256": doc.sha256,
                "size": doc.size,
                "title": doc.title,
                "date": doc.date,
                "passages": counts.get(doc.source, 0),
                "extractor": doc.extractor,
                **({"pages": len(doc.pages)} if doc.pages else {}),
            }
            for doc in corpus.documents
        },
        "skipped_sources": {
            f.source: {
                **_skipped_record(corpus.root, f),
                "extractor": extractor_for(f.source),
                "reason": f.reason,
            }
            for f in corpus.skipped
        },
        "counts": {"documents": len(corpus.documents), "passages": len(passages)},
        "files": {
            name: _file_record(tmp / name)
            for name in DATA_FILES  # an empty lexicon (stopwords only) writes no files
            if name not in BM25_FILES or (tmp / name).exists()
        },
        "versions": {name: library_version(name) for name in _VERSIONED},
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _file_record(path: Path) -> dict[str, Any]:
    return {"sha256": file_sha256(path), "size": path.stat().st_size}


def _skipped_record(root: Path, skipped: SkippedFile) -> dict[str, Any]:
    """The skipped file as it was read; one skipped before reading (over the size limit)
    as it is now; one that cannot be read at all, without a fingerprint."""
    if skipped.sha256 is not None:
        return {"sha256": skipped.sha256, "size": skipped.size}
    try:
        return _file_record(root / skipped.source)
    except OSError:
        return {"sha256": None, "size": None}


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
