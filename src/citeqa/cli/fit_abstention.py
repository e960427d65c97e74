"""``citeqa fit-abstention``: fit the span reader's abstention on held-out training
articles and a dev split, and write it where ``--out`` says: beside the model it fits."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from citeqa.answer.abstain import FEATURES
from citeqa.cli import common
from citeqa.cli.common import EXIT_OK

if TYPE_CHECKING:
    from citeqa.training.calibrate import Sample


def add(sub: Any) -> None:
    p = sub.add_parser(
        "fit-abstention", help="fit the span reader's abstention on held-out questions"
    )
    p.add_argument(
        "--squad", type=common.existing_file, required=True, help="the SQuAD training JSON"
    )
    # All of them by default: a sample of 1,000 moved the fitted threshold by 0.04 (sd)
    # from one seed to the next, and all of them cost a few minutes more.
    p.add_argument(
        "--limit",
        type=common.count(0),
        default=0,
        help="held-out questions to ask, twice (default: all)",
    )
    p.add_argument(
        "--extra",
        type=common.existing_file,
        action="append",
        default=[],
        help="another training file (QED, TyDi QA): its held-out articles too, as"
        " train-reader held them out",
    )
    p.add_argument("--seed", type=int, default=13, help="which held-out questions, with --limit")
    p.add_argument(
        "--qa-set", type=common.existing_file, required=True, help="QA-set JSONL over seeds/"
    )
    p.add_argument("--split", default="dev", help="its split to fit on (never test)")
    p.add_argument("--work", type=Path, default=Path(".citeqa-work"), help="corpus and index")
    p.add_argument(
        "--drop",
        choices=FEATURES,
        action="append",
        default=[],
        help="fit without this feature (weight 0); the printed cross-validated ablation says"
        " which ones earn their place",
    )
    p.add_argument(
        "--samples",
        type=Path,
        metavar="FILE",
        help="keep what the reader gave for each question in FILE; a later run with the same"
        " reader, questions, documents and settings fits from it without reading again (to"
        " try --drop)",
    )
    common.add_reader_model(p)
    p.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="DIR",
        help="folder to write abstention.json into: the reader model's own, for ask, serve"
        " and eval to find it (the packaged reader's only when named)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from citeqa.answer.reader_model import MODEL_DIR
    from citeqa.paths import default_corpus
    from citeqa.training import calibrate

    if args.split == "test":
        return common.usage_error("the test split is for reporting only")
    if args.samples is not None and args.samples.exists() and not args.samples.is_file():
        return common.usage_error(f"--samples {args.samples} is not a file")
    model_dir = args.reader_model if args.reader_model is not None else MODEL_DIR
    if args.samples is None:
        samples = _read(args, model_dir)
    else:
        # the documents the seeds questions are asked of, too: the dev split's answers
        # come from them
        corpus = sorted(p for p in default_corpus().rglob("*") if p.is_file())
        inputs = [args.squad, *args.extra, args.qa_set, *corpus]
        settings = {"limit": args.limit, "seed": args.seed, "split": args.split}
        key = calibrate.fingerprint(model_dir, inputs, settings)
        if args.samples.is_file():
            try:
                samples = calibrate.load_samples(args.samples, key)
            except ValueError as exc:
                return common.usage_error(str(exc))
            print(f"fitting on the {len(samples)} samples in {args.samples}", file=sys.stderr)
        else:
            samples = _read(args, model_dir)
            calibrate.save_samples(args.samples, key, samples)
    fitted = calibrate.fit(samples, frozenset(args.drop))
    report = calibrate.describe(fitted, samples)
    report["dropped"] = sorted(args.drop)
    report["cross-validated"] = calibrate.ablation(samples, seed=args.seed)
    print(json.dumps(report, indent=2))
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"wrote {calibrate.write(fitted, args.out)}")
    return EXIT_OK


def _read(args: argparse.Namespace, model_dir: Path) -> list[Sample]:
    """Each held-out and dev question asked of the reader in ``model_dir`` with abstention
    off, as ``calibrate.Sample``s."""
    from functools import partial

    from citeqa.answer.abstain import UNFITTED
    from citeqa.answer.span_reader import SpanReader, SpanSettings
    from citeqa.evaluation import squad_eval
    from citeqa.evaluation.qa_set import load_qa_set
    from citeqa.evaluation.squad import (
        SPLIT_SEED,
        VALIDATION_ARTICLES,
        held_out_articles,
        load_squad,
        split_articles,
    )
    from citeqa.pipeline import QA
    from citeqa.training import calibrate

    embedder = common.make_embedder()
    # The calibration describes a read of every passage: the first pass's early answer is
    # decided with it, so fitting on early answers would make the fit depend on the
    # calibration it replaces.
    reader = partial(
        SpanReader,
        model_dir=model_dir,
        settings=SpanSettings(first_pass=None),
        calibration=UNFITTED,  # read with abstention off: the fit replaces any
    )
    samples = []
    for i, path in enumerate([args.squad, *args.extra]):
        # the articles train-reader held out of each file, with its seed
        n_val = held_out_articles(path, first=i == 0, val_articles=VALIDATION_ARTICLES)
        val = frozenset(split_articles(path, n_val, SPLIT_SEED)[1])
        work = args.work / f"squad-{path.stem}-validation"  # the index eval uses too
        corpus, items = squad_eval.prepare(path, work, articles=val, only_articles=True)
        common.ensure_index(corpus, work / "index", embedder)
        qa = QA.load(work / "index", reader=reader, embedder=embedder)
        paragraphs, _ = load_squad(path, articles=val)
        texts = {squad_eval.source_of(p): p.context for p in paragraphs}
        group = "held-out articles" if i == 0 else f"held-out {path.stem}"
        samples += calibrate.squad_samples(qa, items, texts, args.limit, args.seed, group)
    seeds = QA.load(reader=reader, embedder=embedder)
    for item in load_qa_set(args.qa_set, split=args.split).items:
        samples.append(calibrate.sample(seeds, item, f"{args.qa_set.stem} {args.split}"))
    return samples
