"""``citeqa calibrate``: a span reader's threshold checked on the operator's own
questions, and a calibration file that ``ask``, ``serve`` and ``QA.load`` take with
``--calibration`` for the same reader (the installed package is never written to). The
cascade's file is its large reader's abstention: that reader's threshold decides every
answer the cascade gives."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from citeqa.answer.readers import DEFAULT_READER, SPAN_READERS
from citeqa.cli import common
from citeqa.cli.common import EXIT_OK


def add(sub: Any) -> None:
    p = sub.add_parser("calibrate", help="check the abstention threshold on your own questions")
    p.add_argument(
        "qa_set",
        type=common.existing_file,
        metavar="QA.jsonl",
        help="your questions: answerable ones with their answers, unanswerable with none",
    )
    p.add_argument("--index", type=Path, default=None, help="index folder; " + common.INDEX_DEFAULT)
    p.add_argument("--split", default=None, help="only this split of the set (never test)")
    p.add_argument(
        "--reader",
        default=DEFAULT_READER,
        choices=SPAN_READERS,
        help="the reader to calibrate; the file is for this reader alone (default: %(default)s)",
    )
    common.add_reader_model(p)
    common.add_calibration(p)
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="FILE",
        help="write the calibration with the suggested threshold here",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from citeqa.evaluation.qa_set import load_qa_set
    from citeqa.training import own_questions as oq

    if args.split == "test":
        return common.usage_error("the test split is for reporting only")
    qa_set = load_qa_set(args.qa_set, split=args.split)
    for error in qa_set.errors:
        print(f"warning: {args.qa_set}: {error}")
    try:  # before loading anything: a set too small is refused at once
        oq.check_size(qa_set.items)
    except oq.TooFewQuestions as exc:
        return common.usage_error(str(exc))

    from dataclasses import replace

    from citeqa.pipeline import QA

    qa = QA.load(
        args.index,
        embedder=common.make_embedder(),
        reader=args.reader,
        reader_model=args.reader_model,
        calibration=args.calibration,
    )
    calibration = qa.reader.calibration  # type: ignore[attr-defined]
    current = qa.policy.min_confidence
    scored = oq.score(qa, qa_set.items)
    suggested = oq.suggest(scored)
    answerable = sum(1 for s in scored if s.answerable)
    print(
        f"Asked {len(scored)} questions ({answerable} answerable,"
        f" {len(scored) - answerable} unanswerable)."
    )
    print()
    print("Accuracy against coverage (answered: share of questions answered;")
    print("right: share of the answers given that are right, F1 >= 0.5):")
    print("  threshold  answered  right")
    for o in oq.curve(scored, (current, suggested)):
        tag = "  current" if o.threshold == current else ""
        tag += "  suggested" if o.threshold == suggested else ""
        print(f"  {o.threshold:9.3f}  {o.coverage:8.0%}  {o.accuracy:5.0%}{tag}")
    print()
    for name, t in (("Current", current), ("Suggested", suggested)):
        print(f"{name} threshold {t:.3f}: {_effect(oq.outcome(scored, t))}")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        replace(calibration, threshold=suggested).save(args.out)
        print()
        # a reader's fit means nothing to another's scores: the file goes with its reader
        flags = f"--calibration {args.out}"
        if args.reader != DEFAULT_READER:
            flags = f"--reader {args.reader} {flags}"
        print(f"wrote {args.out}; use it with: citeqa ask {flags} ...")
        print(f"  (also citeqa serve {flags}, QA.load(reader=..., calibration=...))")
    return EXIT_OK


def _effect(o: Any) -> str:
    return (
        f"answers {o.answered} ({o.answered_right} right, {o.answered_wrong} wrong,"
        f" {o.answered_unanswerable} that should be declined);"
        f" declines {o.declined_answerable + o.declined_unanswerable}"
        f" ({o.declined_unanswerable} rightly, {o.declined_answerable} answerable)"
    )
