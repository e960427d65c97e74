"""``citeqa bench``: build throughput, ask latency and cold start; or, with a flag, the web
app, a load test, FAISS index types on real vectors, or a large index."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from citeqa import paths
from citeqa.cli import common
from citeqa.cli.common import EXIT_OK


def add(sub: Any) -> None:
    p = sub.add_parser("bench", help="measure build throughput, ask latency, cold start")
    p.add_argument("--corpus", type=Path, default=None, help="corpus folder (default: seeds/)")
    p.add_argument(
        "--index", type=Path, default=None, help="index for ask; " + common.INDEX_DEFAULT
    )
    p.add_argument(
        "--repeats", type=common.count(1), default=3, help="builds to time (best is kept)"
    )
    p.add_argument(
        "--rounds", type=common.count(1), default=20, help="passes over the question list"
    )
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument(
        "--ui", action="store_true", help="only the web app: server RSS, Enter-to-answer time"
    )
    p.add_argument(
        "--ann", action="store_true", help="only FAISS index types on real vectors (--vectors)"
    )
    p.add_argument(
        "--scale", action="store_true", help="only build, load and memory of a large index"
    )
    p.add_argument(
        "--warm",
        action="store_true",
        help="only warm ask() latency: the default reader and the fast one alone, in turns",
    )
    p.add_argument(
        "--cold",
        action="store_true",
        help="only cold start: fresh processes to their first answer, by stage",
    )
    p.add_argument("--runs", type=common.count(1), default=5, help="--cold: processes (median)")
    p.add_argument("--load", action="store_true", help="only the load test of the served app")
    p.add_argument("--clients", type=common.count(1), default=50, help="--load: concurrent clients")
    p.add_argument("--seconds", type=float, default=60, help="--load: how long")
    p.add_argument(
        "--ann-sizes",
        type=common.counts,
        default=[10000, 100000],
        help="rows for --ann (comma-separated; default 10000,100000)",
    )
    p.add_argument(
        "--vectors", type=Path, help="--ann: cache of real vectors (embedded there if missing)"
    )
    p.add_argument(
        "--squad",
        type=common.existing_file,
        action="append",
        default=[],
        help="--ann, --scale: SQuAD-format files whose text to use (repeatable)",
    )
    p.add_argument("--passages", type=common.count(1), default=100_000, help="--scale: how many")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.ui or args.load:
        from citeqa.evaluation import loadtest

        if args.ui:
            figures = loadtest.ui_figures(args.index)
        else:
            figures = loadtest.load_figures(args.index, args.clients, args.seconds)
        print(json.dumps(figures, indent=2))
        return EXIT_OK
    if args.scale:
        if not args.squad:
            return common.usage_error("--scale needs --squad FILE: the text to index")
        from citeqa.evaluation.bench_scale import scale_figures

        print(json.dumps(scale_figures(args.squad, args.passages), indent=2))
        return EXIT_OK
    if args.ann:
        return _ann(args)
    if args.warm:
        from citeqa.evaluation import bench

        warm = bench.warm_latency(args.index, args.rounds, bench.compared_readers())
        print(json.dumps(warm, indent=2) if args.json else bench.render_warm(warm))
        return EXIT_OK
    if args.cold:
        from citeqa.evaluation.bench_cold import cold_start, render_cold

        cold = cold_start(args.index, runs=args.runs)
        print(json.dumps(cold, indent=2) if args.json else render_cold(cold))
        return EXIT_OK
    from citeqa.evaluation import bench

    corpus = args.corpus if args.corpus is not None else paths.default_corpus()
    result = bench.run(corpus, args.index, repeats=args.repeats, rounds=args.rounds)
    print(json.dumps(result, indent=2) if args.json else bench.render(result))
    return EXIT_OK


def _ann(args: argparse.Namespace) -> int:
    from citeqa.evaluation import bench_ann

    if args.vectors is None:
        return common.usage_error("--ann needs --vectors DIR, where real vectors are or go")
    try:
        vectors, queries = bench_ann.real_vectors(args.squad, args.vectors)
    except ValueError as exc:
        return common.usage_error(str(exc))
    sizes = args.ann_sizes
    rows = bench_ann.ann_table(vectors, queries, sizes)
    print(json.dumps(rows, indent=2) if args.json else bench_ann.render_ann(rows))
    return EXIT_OK
