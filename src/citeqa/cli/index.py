"""``citeqa index``: build the index of a corpus folder, or check or explain it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from citeqa import paths
from citeqa.cli import common
from citeqa.cli.common import EXIT_CHECK_FAILED, EXIT_OK
from citeqa.cli.render import shown
from citeqa.errors import IndexFolderError

if TYPE_CHECKING:
    from citeqa.index.build import BuildReport
    from citeqa.index.build_ray import RaySettings
    from citeqa.index.embed import Embedder
    from citeqa.index.store import IndexSettings


def add(sub: Any) -> None:
    p = sub.add_parser("index", help="build or check the index of a corpus folder")
    p.add_argument(
        "corpus",
        nargs="?",
        type=Path,
        help="folder of .txt, .md, .html, .pdf and .docx files (default: the index's own, "
        "else seeds/)",
    )
    p.add_argument("--index", type=Path, default=None, help="index folder; " + common.INDEX_DEFAULT)
    p.add_argument("--check", action="store_true", help="exit 1 and list changes when stale")
    p.add_argument("--explain", action="store_true", help="list what cleaning drops, per file")
    p.add_argument("--force", action="store_true", help="rebuild even when fresh")
    p.add_argument(
        "--max-file-mb",
        dest="max_file_bytes",
        type=common.megabytes,
        default=10_000_000,
        help="skip (with a warning) files larger than this (default 10)",
    )
    p.add_argument(
        "--index-type",
        choices=("auto", "flat", "ivf", "hnsw"),  # ann.INDEX_TYPES, without numpy at start
        default="auto",
        help="FAISS index (auto: exact below 30k passages, HNSW above)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    p.add_argument(
        "--ray",
        nargs="?",
        const="local",
        default=None,
        metavar="ADDRESS",
        help="read, chunk and embed on Ray (pip install 'citeqa[ray]'): a local instance,"
        " or join ADDRESS (auto, HOST:PORT, ray://HOST:PORT); give it after CORPUS",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from citeqa.index.freshness import staleness
    from citeqa.index.store import IndexSettings

    index_dir: Path = args.index if args.index is not None else paths.default_index()
    corpus_dir = common.corpus_for(index_dir, args.corpus)
    settings = IndexSettings(index_type=args.index_type, max_file_bytes=args.max_file_bytes)
    ray_settings = None
    if args.ray is not None:  # bad --ray usage fails before the model or Ray load
        from citeqa.index import build_ray

        try:
            ray_settings = build_ray.RaySettings(address=args.ray)
            build_ray.require_ray()
        except (build_ray.RayUnavailableError, ValueError) as exc:
            return common.usage_error(str(exc))
    if args.explain:
        from citeqa.corpus.explain import explain

        print(shown(explain(corpus_dir, settings.chunk, settings.max_file_bytes)))
        return EXIT_OK
    embedder = common.make_embedder()
    if args.check:
        return _check(index_dir, corpus_dir, embedder, settings)
    if not args.force:
        try:
            if not staleness(index_dir, embedder, settings, corpus_dir):
                if not args.quiet:
                    print(f"index {index_dir} is up to date with {corpus_dir}")
                return EXIT_OK
        except IndexFolderError:
            pass  # missing, corrupt or mismatched: build it
    progress = not args.quiet
    report = _build(corpus_dir, index_dir, settings, embedder, ray_settings, progress)
    for doc in report.corpus.documents:
        if not doc.blocks:
            print(f"note: {shown(doc.source)} is only boilerplate; no passages", file=sys.stderr)
    if ignored := report.corpus.ignored:
        # a .doc or .rtf dropped in the folder would otherwise vanish without a word
        named = ", ".join(f"{f.source} ({f.reason})" for f in ignored[:3])
        more = f" and {len(ignored) - 3} more (--explain lists them)" if len(ignored) > 3 else ""
        print(f"note: not indexed: {shown(named)}{more}", file=sys.stderr)
    if not args.quiet:
        print(
            f"indexed {_count(len(report.corpus.documents), 'document')} into"
            f" {_count(report.passages, 'passage')}"
            f" (embedded {report.embedded}, reused {report.reused}) in {report.seconds:.1f} s"
            f" -> {index_dir}"
        )
    return EXIT_OK


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _build(
    corpus_dir: Path,
    index_dir: Path,
    settings: IndexSettings,
    embedder: Embedder,
    ray_settings: RaySettings | None,
    progress: bool,
) -> BuildReport:
    if ray_settings is not None:
        from citeqa.index.build_ray import build_index_ray

        return build_index_ray(
            corpus_dir,
            index_dir,
            common.make_embedder,
            settings,
            ray_settings,
            progress=progress,
        )
    from citeqa.index.build import build_index

    return build_index(corpus_dir, index_dir, embedder, settings, progress=progress)


def _check(index_dir: Path, corpus_dir: Path, embedder: Embedder, settings: IndexSettings) -> int:
    from citeqa.index.freshness import staleness
    from citeqa.index.store import read_manifest

    diffs = staleness(index_dir, embedder, settings, corpus_dir)
    if diffs:
        print(f"index {index_dir} is stale:")
        for line in diffs:
            print(f"  {line}")
        return EXIT_CHECK_FAILED
    counts = read_manifest(index_dir)["counts"]
    print(
        f"index {index_dir} is fresh: {counts['documents']} documents,"
        f" {counts['passages']} passages from {corpus_dir}"
    )
    return EXIT_OK
