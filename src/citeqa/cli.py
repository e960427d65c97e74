"""The ``citeqa`` command. It parses arguments, calls the library and prints; no logic here.

Exit codes: 0 ok, 1 a check failed (stale or broken index), 2 bad usage or bad input.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from citeqa import paths
from citeqa.errors import CiteQAError, CorpusError, IndexFolderError, InvalidQuestionError

if TYPE_CHECKING:
    from citeqa.embed import Embedder

EXIT_OK, EXIT_CHECK_FAILED, EXIT_USAGE = 0, 1, 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    _log_warnings_to_stderr()
    try:
        code: int = args.run(args)
        return code
    except (CorpusError, InvalidQuestionError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except IndexFolderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CHECK_FAILED
    except CiteQAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CHECK_FAILED
    except KeyboardInterrupt:
        return 130


def _log_warnings_to_stderr() -> None:
    """The library logs warnings (a skipped file, say); the command shows them plainly."""
    logger = logging.getLogger("citeqa")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("warning: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    logger.propagate = False


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="citeqa",
        description="Extractive question answering with verbatim, cited answers.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("index", help="build or check the index of a corpus folder")
    p.add_argument("corpus", nargs="?", type=Path, help="folder of .txt/.md files")
    p.add_argument("--index", type=Path, default=None, help="index folder (default: index/)")
    p.add_argument("--check", action="store_true", help="exit 1 and list changes when stale")
    p.add_argument("--explain", action="store_true", help="list what cleaning drops, per file")
    p.add_argument("--force", action="store_true", help="rebuild even when fresh")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    p.set_defaults(run=_cmd_index)
    return parser


def _corpus_for(index_dir: Path, given: Path | None) -> Path:
    """The corpus an index command means: the one given, else the one the index was built
    from, else the default seeds folder."""
    if given is not None:
        return given
    from citeqa.index import read_manifest

    try:
        return (index_dir / str(read_manifest(index_dir)["corpus"])).resolve()
    except (CiteQAError, KeyError):
        return paths.default_corpus()


def make_embedder() -> Embedder:
    from citeqa.embed import MiniLMEmbedder

    return MiniLMEmbedder()


def _cmd_index(args: argparse.Namespace) -> int:
    from citeqa import index as ix

    index_dir: Path = args.index if args.index is not None else paths.default_index()
    corpus_dir = _corpus_for(index_dir, args.corpus)
    if args.explain:
        from citeqa.explain import explain

        print(explain(corpus_dir))
        return EXIT_OK
    embedder = make_embedder()
    if args.check:
        return _check(index_dir, corpus_dir, embedder)
    if not args.force:
        try:
            if not ix.staleness(index_dir, embedder, corpus_dir=corpus_dir):
                if not args.quiet:
                    print(f"index {index_dir} is up to date with {corpus_dir}")
                return EXIT_OK
        except IndexFolderError:
            pass  # missing, corrupt or mismatched: build it
    report = ix.build_index(corpus_dir, index_dir, embedder, progress=not args.quiet)
    for doc in report.corpus.documents:
        if not doc.blocks:
            print(f"note: {doc.source} is only boilerplate; no passages", file=sys.stderr)
    if not args.quiet:
        print(
            f"indexed {len(report.corpus.documents)} documents into {report.passages} passages"
            f" (embedded {report.embedded}, reused {report.reused}) in {report.seconds:.1f} s"
            f" -> {index_dir}"
        )
    return EXIT_OK


def _check(index_dir: Path, corpus_dir: Path, embedder: Embedder) -> int:
    from citeqa import index as ix

    diffs = ix.staleness(index_dir, embedder, corpus_dir=corpus_dir)
    if diffs:
        print(f"index {index_dir} is stale:")
        for line in diffs:
            print(f"  {line}")
        return EXIT_CHECK_FAILED
    counts = ix.read_manifest(index_dir)["counts"]
    print(
        f"index {index_dir} is fresh: {counts['documents']} documents,"
        f" {counts['passages']} passages from {corpus_dir}"
    )
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
