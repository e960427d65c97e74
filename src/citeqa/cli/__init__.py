"""The ``citeqa`` command: one module per subcommand, each a thin face over the library
that parses arguments, calls it and prints.

Exit codes: 0 ok, 1 a check failed (stale or broken index), 2 bad usage or bad input.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from collections.abc import Sequence
from typing import NoReturn

from citeqa.cli import ask, bench, calibrate, fit_abstention, index, serve, train_reader
from citeqa.cli import eval as eval_command  # not to shadow the builtin here
from citeqa.cli.common import EXIT_CHECK_FAILED, EXIT_OK, EXIT_USAGE
from citeqa.errors import CiteQAError, CorpusError, InvalidQuestionError

COMMANDS = (index, ask, serve, eval_command, bench, calibrate, fit_abstention, train_reader)


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    _log_warnings_to_stderr()
    if hasattr(sys.stdout, "reconfigure"):  # quotes and titles on an ASCII or Latin-1 stdout
        sys.stdout.reconfigure(errors="replace")
    try:
        code: int = args.run(args)
        return code
    except (CorpusError, InvalidQuestionError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except CiteQAError as exc:  # a missing, stale or damaged index, mostly
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CHECK_FAILED
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `citeqa ask ... | head`: the reader left; not an error
        sys.stderr.close()
        return EXIT_OK


class _Parser(argparse.ArgumentParser):
    """Usage errors that never echo an option's value: argparse quotes an ambiguous or
    unknown option whole, and ``--tok=SECRET`` would print the secret to a terminal or a
    service's log. Subcommands' parsers are of this class too."""

    def error(self, message: str) -> NoReturn:
        super().error(_OPTION_VALUE.sub(r"\1=…", message))


_OPTION_VALUE = re.compile(r"(?<!\S)(--?[^\W\d][\w-]*)=\S+")


def parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="citeqa",
        description="Extractive question answering with verbatim, cited answers.",
    )
    sub = p.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add(sub)
    return p


class _Plain(logging.Formatter):
    """Each problem prefixed by its level, "warning: …" or "error: …" (with the traceback
    when it was logged with one); news below a warning without a prefix."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return text if record.levelno < logging.WARNING else f"{record.levelname.lower()}: {text}"


def _log_warnings_to_stderr() -> None:
    """The library logs warnings (a skipped file, say); the command shows them plainly."""
    logger = logging.getLogger("citeqa")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Plain())
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    logger.propagate = False
