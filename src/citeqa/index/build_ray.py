"""Build an index with Ray Data: files are parsed and chunked by Ray tasks, and texts are
embedded by a pool of Ray actors that each load the model once. The folder itself is
written by ``build.write_index``, as in a local build: same manifest, same rows in the same
order, same atomic swap and lock. Only the work before the write is spread out.

Two Ray Data pipelines, with the driver in between::

    driver reads the files' bytes ─map: parse + chunk (tasks)─► documents, passages
    ─► driver: file order, dedupe, reuse the previous index's vectors ─► texts
    ─map_batches: embed (actors)─► vectors ─► write_index (one writer)

The driver reads the bytes so that no other machine needs the corpus folder, and stands in
the middle because the writer needs the whole corpus in file order anyway; deduplicating
there means no text is embedded twice, or again when the previous index has it.

Ray is optional (``pip install 'citeqa[ray]'``); this module imports it only when called.
"""

from __future__ import annotations

import logging
import os
import pickle
import re
import sysconfig
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from citeqa.corpus.chunk import ChunkSettings, chunk_document
from citeqa.corpus.ingest import (
    SkippedFile,
    assemble_corpus,
    corpus_files,
    file_bytes,
    parse_file,
    require_folder,
)
from citeqa.errors import CiteQAError
from citeqa.index.build import BuildReport, lock_for_build, write_index
from citeqa.index.embed import Embedder
from citeqa.index.store import IndexSettings
from citeqa.types import Document, Passage

EXTRA = "citeqa[ray]"
LOCAL = "local"
"""``--ray`` without an address: start a Ray instance on this machine for the build."""
_ADDRESS = re.compile(r"^(auto|local|(ray://)?[\w.\-]+:\d+)$")
BATCH_SIZE = 256
"""Texts per actor call: large enough that Ray's per-batch cost (~ms) is small against
embedding them (~1 s on one core), small enough to spread a few thousand texts."""


class RayUnavailableError(CiteQAError):
    """``--ray`` was asked for, but Ray is not installed."""


@dataclass(frozen=True)
class RaySettings:
    """Where and how wide a Ray build runs."""

    address: str = LOCAL
    """``local`` starts an instance here; ``auto`` joins the cluster this machine is in;
    ``HOST:PORT`` or ``ray://HOST:PORT`` joins that one."""
    num_cpus: int | None = None
    """CPUs of a local instance (None: all of this machine's)."""
    actors: int | None = None
    """Most embedding actors (None: one per CPU the cluster has)."""
    batch_size: int = BATCH_SIZE
    cpus_per_actor: float = 1.0

    def __post_init__(self) -> None:
        if not _ADDRESS.match(self.address):
            raise ValueError(
                f"Ray address must be auto, HOST:PORT or ray://HOST:PORT, got {self.address!r}"
                " (put the corpus folder before --ray)"
            )
        if self.batch_size < 1 or (self.actors is not None and self.actors < 1):
            raise ValueError("batch size and actors must be at least 1")


@dataclass(frozen=True)
class ReadFile:
    """Stage one's input: a file of the corpus, its place in file order, and its bytes
    (read by the driver, so that no other machine needs the corpus folder)."""

    order: int
    source: str
    data: bytes


@dataclass(frozen=True)
class ReadResult:
    """Stage one's output for a file: its Document and passages, or why it was skipped."""

    order: int
    item: Document | SkippedFile
    passages: tuple[Passage, ...]


def require_ray() -> Any:
    """The ``ray`` module, or a message naming the extra that installs it."""
    try:
        import ray
        import ray.data
    except ImportError:
        raise RayUnavailableError(
            f"--ray needs Ray, which is not installed; install it with: pip install '{EXTRA}'"
        ) from None
    return ray


def build_index_ray(
    corpus_dir: Path,
    index_dir: Path,
    make_embedder: Callable[[], Embedder],
    settings: IndexSettings = IndexSettings(),
    ray_settings: RaySettings = RaySettings(),
    *,
    progress: bool = False,
    lock_timeout: float = 600.0,
) -> BuildReport:
    """``build.build_index``, with reading, chunking and embedding on Ray. Every embedding
    actor calls ``make_embedder`` (a picklable, importable callable) once; the driver calls
    it too, for the model's name and fingerprint, without encoding anything."""
    ray = require_ray()
    started = time.perf_counter()
    corpus_dir, index_dir = Path(corpus_dir), Path(index_dir)
    require_folder(corpus_dir)  # before the lock, and before Ray starts
    with lock_for_build(index_dir, lock_timeout):  # before it reads anything
        files, ignored = corpus_files(corpus_dir)
        embedder = make_embedder()
        joined = ray.is_initialized()  # someone else's Ray session: use it, leave it running
        if not joined:
            _start(ray, ray_settings)
        try:
            ray.data.DataContext.get_current().enable_progress_bars = progress
            # Ray Data logs each pipeline's plan and timing at INFO: progress, not news.
            logging.getLogger("ray.data").setLevel(logging.INFO if progress else logging.ERROR)
            results = _read(ray, corpus_dir, files, settings)
            corpus = assemble_corpus(corpus_dir, [r.item for r in results], ignored)
            passages = [p for r in results for p in r.passages]

            def encode(texts: Sequence[str]) -> np.ndarray:
                return embed(ray, texts, make_embedder, embedder.dim, ray_settings)

            return write_index(
                corpus,
                passages,
                index_dir,
                embedder,
                settings,
                encode=encode,
                locked=True,
                started=started,
            )
        finally:
            if not joined:
                ray.shutdown()


def _read(
    ray: Any, corpus_dir: Path, files: list[Path], settings: IndexSettings
) -> list[ReadResult]:
    """Every file read and chunked on Ray, in ``files``' order; a file over the size limit
    is skipped here, before its bytes travel."""
    tasks: list[ReadFile] = []
    too_big: dict[int, SkippedFile] = {}
    for i, path in enumerate(files):
        source = path.relative_to(corpus_dir).as_posix()
        data = file_bytes(path, source, settings.max_file_bytes)
        if isinstance(data, SkippedFile):
            too_big[i] = data
        else:
            tasks.append(ReadFile(i, source, data))
    results = read_and_chunk(ray, tasks, settings.chunk)
    results += [ReadResult(i, skip, ()) for i, skip in too_big.items()]
    return sorted(results, key=lambda r: r.order)


def _start(ray: Any, rs: RaySettings) -> None:
    if rs.address == LOCAL:
        ray.init(
            num_cpus=rs.num_cpus,
            include_dashboard=False,
            runtime_env={"env_vars": {"PYTHONPATH": _worker_pythonpath()}},
            logging_level="WARNING",
        )
    else:  # a cluster's nodes must have citeqa (and its model package) installed
        ray.init(address=rs.address, logging_level="WARNING")


def _worker_pythonpath() -> str:
    """Workers of a local instance import citeqa from where this process did, so a build
    from a source checkout (or a relative PYTHONPATH) runs this code, not another installed
    copy. An installed citeqa's folder is on every worker's path already; put first, it
    would shadow the standard library with whatever else is installed."""
    here = str(Path(__file__).resolve().parents[2])  # the folder holding citeqa/
    inherited = os.environ.get("PYTHONPATH", "")
    if here == sysconfig.get_paths()["purelib"]:
        return inherited
    return os.pathsep.join(p for p in (here, inherited) if p)


def read_and_chunk(ray: Any, tasks: list[ReadFile], chunk: ChunkSettings) -> list[ReadResult]:
    """Stage one, Ray tasks: each file parsed (HTML, PDF and Word extraction is the costly
    part) and chunked where it lands. Results come back in file order."""
    if not tasks:
        return []
    # A few files per task: a task per file spends more on scheduling than on small files.
    cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
    blocks = min(len(tasks), 4 * cpus)
    ds = ray.data.from_items([{"task": pickle.dumps(t)} for t in tasks], override_num_blocks=blocks)
    ds = ds.map(_read_and_chunk_row, fn_kwargs={"chunk": chunk})
    results = [pickle.loads(row["result"]) for row in ds.take_all()]
    return sorted(results, key=lambda r: r.order)


def _read_and_chunk_row(row: dict[str, Any], *, chunk: ChunkSettings) -> dict[str, Any]:
    # Rows are pickled dataclasses: Ray Data's columns are Arrow types, and a Document is
    # nested frozen dataclasses that pickle round-trips exactly.
    task: ReadFile = pickle.loads(row["task"])
    item = parse_file(task.data, task.source)
    passages = () if isinstance(item, SkippedFile) else tuple(chunk_document(item, chunk))
    return {"result": pickle.dumps(ReadResult(task.order, item, passages))}


class EmbedActor:
    """Stage two's callable class: Ray Data makes one per actor, so the model loads once
    per actor and then embeds batch after batch."""

    def __init__(self, make_embedder: Callable[[], Embedder]) -> None:
        self.embedder = make_embedder()
        self.embedder.encode(["warm up"])  # load the weights now, not inside the first batch

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        vectors = self.embedder.encode([str(t) for t in batch["text"]])
        return {"order": batch["order"], "vector": vectors}


def embed(
    ray: Any,
    texts: Sequence[str],
    make_embedder: Callable[[], Embedder],
    dim: int,
    rs: RaySettings,
) -> np.ndarray:
    """Stage two: ``texts`` embedded by an autoscaling pool of actors, rows in ``texts``
    order."""
    if not texts:
        return np.zeros((0, dim), dtype=np.float32)
    actors = rs.actors or max(1, int(ray.cluster_resources().get("CPU", 1) / rs.cpus_per_actor))
    # One block per batch: Ray schedules blocks, and one block per text (its default for
    # small lists) is a scheduling step per text.
    blocks = -(-len(texts) // rs.batch_size)
    rows = [{"order": i, "text": t} for i, t in enumerate(texts)]
    ds = ray.data.from_items(rows, override_num_blocks=blocks)
    ds = ds.map_batches(
        EmbedActor,
        fn_constructor_args=(make_embedder,),
        batch_size=rs.batch_size,
        batch_format="numpy",
        # Ray 2.60: the actor pool is a compute strategy (``concurrency=`` is deprecated).
        compute=ray.data.ActorPoolStrategy(
            min_size=1,
            max_size=actors,
            # Start as many actors as there are batches for (up to the most): left to
            # grow, the pool saw one actor keep up with its queue and stayed at one.
            initial_size=min(actors, blocks),
            max_tasks_in_flight_per_actor=1,  # a batch waits for a free actor, not a busy one
        ),
        num_cpus=rs.cpus_per_actor,
    )
    out = np.zeros((len(texts), dim), dtype=np.float32)
    seen = np.zeros(len(texts), dtype=bool)
    for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
        out[batch["order"]] = batch["vector"]
        seen[batch["order"]] = True
    if not seen.all():  # never write an index with a zero row standing in for a vector
        raise RuntimeError(f"Ray returned {int(seen.sum())} of {len(texts)} vectors")
    return out
