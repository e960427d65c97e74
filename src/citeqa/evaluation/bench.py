"""``citeqa bench``: whole-pipeline figures on this machine.

- index build throughput against raw ``SentenceTransformer.encode`` on the same texts, in
  the same process (the ratio is citeqa's overhead: cleaning, chunking, hashing, writing);
- warm ``ask()`` latency over a fixed question list;
- cold start: fresh processes from start to their first answer, by stage
  (``bench_cold.py``);
- peak RSS.
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from citeqa.answer.readers import DEFAULT_READER
from citeqa.corpus.chunk import chunk_corpus
from citeqa.corpus.ingest import load_corpus
from citeqa.evaluation.bench_cold import cold_start, render_cold
from citeqa.index.build import build_index
from citeqa.index.embed import MiniLMEmbedder, model_path

QUESTIONS = (
    "How much is Alibaba investing in Hong Kong?",
    "Which Hong Kong studios will Youku collaborate with?",
    "What is AMEG?",
    "What does FILMART stand for?",
    "On what day were the deals signed?",
    "What share of revenue does AMEG contribute?",
    "In which city is Alibaba Pictures headquartered?",
    "Who is the CEO of Alibaba?",
    "What is the capital of France?",
    "Which cookies are always active?",
)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build_throughput(corpus: Path, repeats: int = 3) -> dict[str, Any]:
    """Best-of-``repeats`` seconds for a full build and for raw encode of the same texts."""
    embedder = MiniLMEmbedder()
    passages = chunk_corpus(load_corpus(corpus).documents)
    texts = [p.text for p in passages] + [s.text for p in passages for s in p.sentences]
    unique = sorted(set(texts))
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_path()), device="cpu")
    model.encode(unique[:8])  # warm the kernels for both contestants
    embedder.encode(unique[:8])
    raw, ours = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        model.encode(unique, batch_size=embedder.batch_size, normalize_embeddings=True)
        raw.append(time.perf_counter() - started)
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            build_index(corpus, Path(tmp) / "index", embedder)  # empty folder: embeds all
            ours.append(time.perf_counter() - started)
    return {
        "passages": len(passages),
        "texts_embedded": len(unique),
        "build_s": min(ours),
        "raw_encode_s": min(raw),
        "passages_per_s": len(passages) / min(ours),
        "raw_passages_per_s": len(passages) / min(raw),
        "overhead": min(ours) / min(raw) - 1,
    }


def warm_latency(
    index_dir: Path | None, rounds: int = 20, readers: tuple[str, ...] = (DEFAULT_READER,)
) -> dict[str, dict[str, Any]]:
    """Warm ``ask()`` latency of each reader over ``QUESTIONS``, the readers taking turns
    question by question in one process, so that a busy moment costs each alike; with
    the share of answers a cascade's large reader read."""
    from citeqa.pipeline import QA

    loaded = {name: QA.load(index_dir, reader=name) for name in readers}
    for qa in loaded.values():
        for q in QUESTIONS:
            qa.ask(q)  # every model loaded and warm, the cascade's large one included
    times: dict[str, list[float]] = {name: [] for name in readers}
    large: dict[str, int] = dict.fromkeys(readers, 0)
    for _ in range(rounds):
        for q in QUESTIONS:
            for name, qa in loaded.items():
                started = time.perf_counter()
                answer = qa.ask(q)
                times[name].append((time.perf_counter() - started) * 1000)
                large[name] += answer.read_by == "large"
    return {
        name: {
            "reader": loaded[name].reader.name,
            "questions": len(ts),
            "p50_ms": float(np.percentile(ts, 50)),
            "p95_ms": float(np.percentile(ts, 95)),
            "p99_ms": float(np.percentile(ts, 99)),
            "large_share": large[name] / len(ts),
        }
        for name, ts in times.items()
    }


def compared_readers() -> tuple[str, ...]:
    """The default reader, and the fast one alone beside it when the default is another."""
    return (DEFAULT_READER,) if DEFAULT_READER == "span" else (DEFAULT_READER, "span")


def native_bf16() -> bool:
    """Whether this CPU has native bf16 (AVX512-BF16 or AMX), which the readers use."""
    import torch

    return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())


def render_warm(warm: dict[str, dict[str, Any]]) -> str:
    lines = [f"CPU {'with' if native_bf16() else 'without'} native bf16 (AVX512-BF16 or AMX)"]
    for name, a in warm.items():
        shown = name if a["reader"] == name else f"{name} (fell back to {a['reader']})"
        line = (
            f"warm ask, {shown} reader: p50 {a['p50_ms']:.1f} ms, p95 {a['p95_ms']:.1f} ms,"
            f" p99 {a['p99_ms']:.1f} ms over {a['questions']} questions"
        )
        if a["reader"] == "cascade":
            line += f"; {100 * a['large_share']:.0f}% read by the large reader"
        lines.append(line)
    if "span" in warm and len(warm) > 1:
        base = warm["span"]["p50_ms"]
        lines += [
            f"p50 against the fast reader alone, same run: {a['p50_ms'] / base:.2f}x ({name})"
            for name, a in warm.items()
            if name != "span"
        ]
    return "\n".join(lines)


def run(
    corpus: Path, index_dir: Path | None, *, repeats: int = 3, rounds: int = 20
) -> dict[str, Any]:
    result: dict[str, Any] = {"cpus": os.cpu_count()}
    result["build"] = build_throughput(corpus, repeats)
    result["ask"] = warm_latency(index_dir, rounds, compared_readers())
    result["cold"] = cold_start(index_dir, runs=3)
    result["peak_rss_mb"] = _peak_rss_mb()
    return result


def render(result: dict[str, Any]) -> str:
    b, a = result["build"], result["ask"]
    return "\n".join(
        [
            f"index build: {b['passages']} passages ({b['texts_embedded']} texts embedded)"
            f" in {b['build_s']:.2f} s = {b['passages_per_s']:.1f} passages/s;"
            f" raw encode {b['raw_encode_s']:.2f} s = {b['raw_passages_per_s']:.1f} passages/s;"
            f" overhead {100 * b['overhead']:+.1f}%",
            render_warm(a),
            render_cold(result["cold"]),
            f"peak RSS: {result['peak_rss_mb']:.0f} MB",
        ]
    )
