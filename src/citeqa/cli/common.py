"""What several commands share: exit codes, the embedder, argument types and the index a
command works on."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from citeqa import paths
from citeqa.errors import CiteQAError

if TYPE_CHECKING:
    from citeqa.index.embed import Embedder

EXIT_OK, EXIT_CHECK_FAILED, EXIT_USAGE = 0, 1, 2

INDEX_DEFAULT = "default: index/ in $CITEQA_HOME, else in the checkout, else here"


def usage_error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_USAGE


def make_embedder() -> Embedder:
    """The packaged MiniLM; tests put a fake in its place."""
    from citeqa.index.embed import MiniLMEmbedder

    return MiniLMEmbedder()


def share(text: str) -> float:
    """An argparse type: a number in [0, 1], so a bad share is a usage error up front, not a
    traceback after the model has loaded."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a number from 0 to 1, got {text!r}")
    return value


def megabytes(text: str) -> int:
    """An argparse type: a size in megabytes above 0 ("10", "0.5"), as bytes."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.0 < value < 1e9:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(f"must be a number of megabytes above 0, got {text!r}")
    return max(1, int(value * 1_000_000))


def count(least: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``least``."""

    def parse(text: str) -> int:
        if not text.lstrip("-").isdigit() or int(text) < least:
            raise argparse.ArgumentTypeError(f"must be a whole number from {least}, got {text!r}")
        return int(text)

    return parse


def counts(text: str) -> list[int]:
    """An argparse type: comma-separated whole numbers from 1 ("10000,100000")."""
    return [count(1)(part.strip()) for part in text.split(",")]


def add_reader_model(p: Any) -> None:
    """``--reader-model DIR``: the span reader's model folder, checked up front."""
    p.add_argument(
        "--reader-model",
        type=existing_dir,
        default=None,
        metavar="DIR",
        help="span reader model folder: any transformers extractive-QA checkpoint with its"
        " abstention fitted beside it by fit-abstention (default: the packaged reader)",
    )


def add_calibration(p: Any) -> None:
    """``--calibration FILE``: a span reader's abstention from ``citeqa calibrate``."""
    p.add_argument(
        "--calibration",
        type=existing_file,
        default=None,
        metavar="FILE",
        help="a span reader's abstention (threshold, weights) from citeqa calibrate with the"
        " same --reader, in place of the one beside its model (the cascade's: its large"
        " reader's)",
    )


def existing_dir(text: str) -> Path:
    """An argparse type: a folder that is there, checked before anything slow runs."""
    path = Path(text)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"no such folder: {text}")
    return path


def existing_file(text: str) -> Path:
    """An argparse type: a file that is there, checked before anything slow runs."""
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"no such file: {text}")
    return path


def corpus_for(index_dir: Path, given: Path | None) -> Path:
    """The corpus an index command means: the one given, else the one the index was built
    from, else the default seeds folder."""
    if given is not None:
        return given
    from citeqa.index.store import read_manifest

    try:
        return (index_dir / str(read_manifest(index_dir)["corpus"])).resolve()
    except (CiteQAError, KeyError):
        return paths.default_corpus()


def ensure_index(corpus: Path, index_dir: Path, embedder: Embedder) -> None:
    """Build ``index_dir`` from ``corpus`` unless it is already fresh."""
    from citeqa.index.build import build_index
    from citeqa.index.freshness import staleness
    from citeqa.index.store import IndexSettings

    try:
        fresh = not staleness(index_dir, embedder, IndexSettings(), corpus)
    except CiteQAError:
        fresh = False
    if not fresh:
        build_index(corpus, index_dir, embedder, progress=True)
