"""``citeqa ask``: one question, answered in the terminal or as JSON."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from citeqa.answer.readers import DEFAULT_READER, READERS, SPAN_READERS
from citeqa.cli import common
from citeqa.cli.common import EXIT_OK


def add(sub: Any) -> None:
    p = sub.add_parser("ask", help="answer a question from the indexed documents")
    p.add_argument("question")
    p.add_argument("--index", type=Path, default=None, help="index folder; " + common.INDEX_DEFAULT)
    p.add_argument(
        "--top-k",
        type=common.count(1),
        default=5,
        help="passages to retrieve; the span reader reads the best 3 (default 5)",
    )
    p.add_argument("--reader", default=DEFAULT_READER, choices=READERS, help="answer reader")
    common.add_reader_model(p)
    common.add_calibration(p)
    p.add_argument("--json", action="store_true", help="print the answer as JSON")
    p.add_argument(
        "--explain",
        action="store_true",
        help="also show why: retrieval, reading and abstention, stage by stage, and a verdict"
        ' (with --json, as the answer\'s "trace")',
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from citeqa.pipeline import QA, check_question

    check_question(args.question)  # refuse bad input before loading anything
    if args.reader_model is not None and args.reader not in SPAN_READERS:
        return common.usage_error("--reader-model is a span reader's model folder")
    if args.calibration is not None and args.reader not in SPAN_READERS:
        return common.usage_error("--calibration is a span reader's abstention")
    qa = QA.load(
        args.index,
        reader=args.reader,
        embedder=common.make_embedder(),
        reader_model=args.reader_model,
        calibration=args.calibration,
    )
    if args.explain:
        answer, trace = qa.explain(args.question, top_k=args.top_k)
    else:
        answer, trace = qa.ask(args.question, top_k=args.top_k), None
    if args.json:
        import json

        data = answer.to_dict()
        if trace is not None:
            data["trace"] = trace.to_dict()
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        from citeqa.cli.render import answer_text, trace_text

        print(answer_text(answer, color=sys.stdout.isatty()))
        if trace is not None:
            print()
            print(trace_text(trace))
    return EXIT_OK
