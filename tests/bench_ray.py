"""Measurements behind docs/scaling.md's "Distributed builds on Ray" figures: a local build
against a Ray build (a local instance) of the same folder, both with the real MiniLM.

    OMP_NUM_THREADS=1 PYTHONPATH=src python tests/bench_ray.py [DOCS] [CPUS]

The folder is generated: DOCS documents (default 40) of 14 sentences drawn from the seeds,
each sentence made unique (a build embeds each distinct text once, so repeats would flatter
both builds). Each build starts from an empty index folder; times include loading the model
(local), or starting Ray and its actors (Ray).
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

from citeqa.corpus.chunk import split_sentences
from citeqa.corpus.ingest import decode_text
from citeqa.index.build import build_index
from citeqa.index.build_ray import RaySettings, build_index_ray
from citeqa.index.embed import MiniLMEmbedder

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
PLACES = ("Kowloon", "Lisbon", "Osaka", "Nairobi", "Quito", "Tallinn", "Perth", "Accra")


def make_corpus(dest: Path, docs: int) -> None:
    sentences = []
    for path in sorted(SEEDS.glob("*.txt")):
        text = decode_text(path.read_bytes())
        sentences += [text[a:b] for a, b in split_sentences(text, 0, len(text))]
    # Article sentences only: the seeds' cookie-banner lines are dropped by cleaning.
    furniture = ("cookie", "consent", "website", "browser")
    sentences = [
        s for s in sentences if len(s.split()) >= 6 and not any(w in s.lower() for w in furniture)
    ]
    rng = random.Random(13)
    dest.mkdir(parents=True)
    for d in range(docs):
        picked = rng.sample(sentences, 14)
        lines = [
            f"In {PLACES[(d + i) % len(PLACES)]} report {d}-{i}, {s[0].lower()}{s[1:]}"
            for i, s in enumerate(picked)
        ]
        body = "\n\n".join(" ".join(lines[i : i + 2]) for i in range(0, len(lines), 2))
        (dest / f"doc{d:03d}.txt").write_text(f"Generated report {d}\n\n{body}\n", "utf-8")


def main() -> None:
    docs = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    cpus = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        make_corpus(corpus, docs)
        for name, folder in (("seeds", SEEDS), (f"{docs} generated", corpus)):
            t = time.perf_counter()
            local = build_index(folder, Path(tmp) / f"{name}-local", MiniLMEmbedder())
            t_local = time.perf_counter() - t
            t = time.perf_counter()
            ray = build_index_ray(
                folder,
                Path(tmp) / f"{name}-ray",
                MiniLMEmbedder,
                ray_settings=RaySettings(num_cpus=cpus),
            )
            t_ray = time.perf_counter() - t
            assert ray.passages == local.passages and ray.embedded == local.embedded
            print(
                f"| {name} | {len(local.corpus.documents)} | {local.passages} |"
                f" {local.embedded} | {t_local:.1f} s ({local.embedded / t_local:.0f}/s) |"
                f" {t_ray:.1f} s ({ray.embedded / t_ray:.0f}/s) |",
                flush=True,
            )


if __name__ == "__main__":
    main()
