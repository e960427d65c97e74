"""``citeqa eval``: answers, abstention and retrieval measured on a QA set or SQuAD file."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from citeqa.answer.readers import DEFAULT_READER, READERS, SPAN_READERS
from citeqa.cli import common
from citeqa.cli.common import EXIT_CHECK_FAILED, EXIT_OK

if TYPE_CHECKING:
    from citeqa.evaluation.qa_set import QAItem


def add(sub: Any) -> None:
    p = sub.add_parser("eval", help="measure answers, abstention and retrieval on a QA set")
    p.add_argument(
        "qa_set", type=common.existing_file, nargs="?", help="QA-set JSONL (see docs/quality.md)"
    )
    p.add_argument(
        "--squad", type=common.existing_file, default=None, help="evaluate on a SQuAD JSON instead"
    )
    p.add_argument(
        "--articles",
        default=None,
        help="SQuAD articles: A,B,..., held-out, validation (held out of train-reader's"
        " --squad file) or extra-validation (of an --extra file)",
    )
    p.add_argument(
        "--setting",
        choices=("open", "gold"),
        default="open",
        help="gold: search only each question's own sources (SQuAD: its paragraph)",
    )
    p.add_argument(
        "--work", type=Path, default=Path(".citeqa-work"), help="SQuAD corpus and index cache"
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--index", type=Path, default=None, help="index folder; " + common.INDEX_DEFAULT
    )
    where.add_argument("--corpus", type=Path, default=None, help="index this folder first")
    p.add_argument("--reader", default=DEFAULT_READER, choices=READERS, help="answer reader")
    common.add_reader_model(p)
    p.add_argument("--split", default=None, help="only questions of this split (dev, test)")
    p.add_argument(
        "--limit", type=common.count(0), default=0, help="only the first N questions (0: all)"
    )
    p.add_argument(
        "--top-k",
        type=common.count(1),
        default=5,
        help="passages to retrieve; the span reader reads the best 3 (default 5)",
    )
    p.add_argument("--out", type=Path, default=None, help="write report.json/.md and plots")
    p.add_argument(
        "--baseline", type=common.existing_file, default=None, help="an earlier report.json"
    )
    p.add_argument("--fail-on-regression", action="store_true", help="exit 1 if F1 dropped")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from citeqa.evaluation import report
    from citeqa.evaluation.scoring import score
    from citeqa.index.embed import RememberLast
    from citeqa.pipeline import QA

    if (args.qa_set is None) == (args.squad is None):
        return common.usage_error("give a QA-set file or --squad PATH (one of them)")
    if args.reader_model is not None and args.reader not in SPAN_READERS:
        return common.usage_error("--reader-model is a span reader's model folder")
    try:
        name, all_items, corpus, index_dir = _questions(args)
    except ValueError as exc:  # --articles naming none of the file's
        return common.usage_error(str(exc))
    items = all_items[: args.limit] if args.limit else all_items
    if not items:
        return common.usage_error("no questions to evaluate")
    embedder = RememberLast(common.make_embedder())  # each question is encoded once, not twice
    if corpus is not None:
        if index_dir is None:  # one index per corpus folder, so runs never mix corpora
            import hashlib

            tag = hashlib.sha256(str(corpus.resolve()).encode()).hexdigest()[:12]
            index_dir = args.work / f"index-{tag}"
        common.ensure_index(corpus, index_dir, embedder)
    qa = QA.load(index_dir, reader=args.reader, embedder=embedder, reader_model=args.reader_model)
    gold = args.setting == "gold"
    top_k = 50 if gold else args.top_k  # gold: every passage of the question's sources
    rows = score(qa, items, top_k=top_k, progress=sys.stderr.isatty(), gold_setting=gold)
    rep = report.report(rows, qa.policy.min_confidence, name=f"{name}, reader {args.reader})")
    print(report.markdown(rep))
    if args.out:
        for path in report.write_outputs(rep, args.out):
            print(f"wrote {path}")
    if args.baseline:
        diff = report.compare(rep, json.loads(args.baseline.read_text(encoding="utf-8")))
        for key, delta in diff["deltas"].items():
            print(f"{key}: {delta:+.3f}")
        print(f"better: {', '.join(diff['better']) or '-'}")
        print(f"worse:  {', '.join(diff['worse']) or '-'}")
        if args.fail_on_regression and diff["deltas"]["f1"] < 0:
            return EXIT_CHECK_FAILED
    return EXIT_OK


def _questions(args: argparse.Namespace) -> tuple[str, list[QAItem], Path | None, Path | None]:
    """The run's name, its questions, the corpus to index first (if any) and the index."""
    if args.squad is None:
        from citeqa.evaluation.qa_set import load_qa_set

        qa_set = load_qa_set(args.qa_set, split=args.split)
        for error in qa_set.errors:
            print(f"warning: {args.qa_set}: {error}", file=sys.stderr)
        name = f"{args.qa_set.name} ({args.split or 'all'}, {args.setting}"
        return name, list(qa_set.items), args.corpus, args.index
    from citeqa.evaluation import squad_eval

    # one corpus and index per file (and for a training file's validation articles)
    tag = "-validation" if args.articles in squad_eval.VALIDATIONS else ""
    work = args.work / f"squad-{args.squad.stem}{tag}"
    corpus, items = squad_eval.prepare(
        args.squad,
        work,
        articles=squad_eval.parse_articles(args.articles, args.squad),
        only_articles=args.articles in squad_eval.VALIDATIONS,
    )
    name = f"{args.squad.name} ({args.articles or 'all'} articles, {args.setting}"
    return name, items, corpus, work / "index"
