"""``citeqa serve``: the web chat and its JSON API."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from citeqa.answer.readers import DEFAULT_READER, SPAN_READERS
from citeqa.cli import common
from citeqa.cli.common import EXIT_OK

if TYPE_CHECKING:
    from citeqa.serve.auth import Rate


def add(sub: Any) -> None:
    p = sub.add_parser("serve", help="start the web chat (loopback only unless --host)")
    p.add_argument("--index", type=Path, default=None, help="index folder; " + common.INDEX_DEFAULT)
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=_port, default=7860, help="TCP port (default 7860)")
    p.add_argument(
        "--token-file",
        type=Path,
        default=None,
        metavar="FILE",
        help="require the token in FILE on every endpoint (else $CITEQA_TOKEN, if set)",
    )
    p.add_argument(
        "--rate",
        type=_rate,
        default=None,
        metavar="N/min",
        help="at most N questions per client address, to the API and the chat together"
        " (N/s, N/min or N/h; default off)",
    )
    p.add_argument("--reader", default=DEFAULT_READER, choices=SPAN_READERS, help="answer reader")
    common.add_reader_model(p)
    common.add_calibration(p)
    # Named so that `--token SECRET` is refused rather than read as an abbreviation of
    # --token-file, which would then print the secret as the file it cannot open.
    p.add_argument("--token", type=_no_token_flag, help=argparse.SUPPRESS)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import os

    from citeqa.serve.app import serve
    from citeqa.serve.auth import AuthConfigError, read_token

    try:  # before anything slow: a bad token source is a usage error, not a late traceback
        token = read_token(args.token_file, os.environ)
    except AuthConfigError as exc:
        return common.usage_error(str(exc))
    logging.getLogger("citeqa").setLevel(logging.INFO)
    serve(
        args.index,
        host=args.host,
        port=args.port,
        token=token,
        rate=args.rate,
        reader=args.reader,
        reader_model=args.reader_model,
        calibration=args.calibration,
    )
    return EXIT_OK


def _rate(text: str) -> Rate:
    """An argparse type for --rate: a bad value is a usage error naming the expected form."""
    from citeqa.serve.auth import AuthConfigError, parse_rate

    try:
        return parse_rate(text)
    except AuthConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _port(text: str) -> int:
    """An argparse type for --port: checked before the model loads, not after."""
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"a port is a number from 0 to 65535, not {text!r}")
    return int(text)


def _no_token_flag(_text: str) -> str:
    raise argparse.ArgumentTypeError(
        "there is no --token: a secret on the command line shows in `ps` and shell"
        " history; set CITEQA_TOKEN or give --token-file FILE"
    )
