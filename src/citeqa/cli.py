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
from citeqa.readers import DEFAULT_READER, READERS

if TYPE_CHECKING:
    from citeqa.auth import Rate
    from citeqa.embed import Embedder
    from citeqa.index import IndexSettings

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
    except CiteQAError as exc:  # a missing, stale or damaged index, mostly
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CHECK_FAILED
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `citeqa ask ... | head`: the reader left; not an error
        sys.stderr.close()
        return EXIT_OK


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
    p.add_argument(
        "--max-file-mb",
        type=float,
        default=10.0,
        help="skip (with a warning) files larger than this (default 10)",
    )
    p.add_argument(
        "--index-type",
        choices=("auto", "flat", "ivf", "hnsw"),
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
    p.set_defaults(run=_cmd_index)

    p = sub.add_parser("ask", help="answer a question from the indexed documents")
    p.add_argument("question")
    p.add_argument("--index", type=Path, default=None, help="index folder (default: index/)")
    p.add_argument("--top-k", type=int, default=5, help="passages to read (default 5)")
    p.add_argument("--reader", default=DEFAULT_READER, choices=READERS, help="answer reader")
    p.add_argument("--json", action="store_true", help="print the answer as JSON")
    p.set_defaults(run=_cmd_ask)

    p = sub.add_parser("serve", help="start the web chat (loopback only unless --host)")
    p.add_argument("--index", type=Path, default=None, help="index folder (default: index/)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=7860)
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
        help="limit /api/ask to N questions per client address (N/s, N/min or N/h; default off)",
    )
    # Named so that `--token SECRET` is refused rather than read as an abbreviation of
    # --token-file, which would then print the secret as the file it cannot open.
    p.add_argument("--token", type=_no_token_flag, help=argparse.SUPPRESS)
    p.set_defaults(run=_cmd_serve)

    p = sub.add_parser("eval", help="measure answers, abstention and retrieval on a QA set")
    p.add_argument("qa_set", type=Path, nargs="?", help="QA-set JSONL (see README)")
    p.add_argument("--squad", type=Path, default=None, help="evaluate on a SQuAD JSON instead")
    p.add_argument(
        "--articles", default=None, help="SQuAD articles: A,B,..., held-out or validation"
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
    where.add_argument("--index", type=Path, default=None, help="index folder (default: index/)")
    where.add_argument("--corpus", type=Path, default=None, help="index this folder first")
    p.add_argument("--reader", default=DEFAULT_READER, choices=READERS, help="answer reader")
    p.add_argument("--split", default=None, help="only questions of this split (dev, test)")
    p.add_argument("--limit", type=int, default=0, help="only the first N questions")
    p.add_argument("--top-k", type=int, default=5)
    p.add_argument("--out", type=Path, default=None, help="write report.json/.md and plots")
    p.add_argument("--baseline", type=Path, default=None, help="an earlier report.json")
    p.add_argument("--fail-on-regression", action="store_true", help="exit 1 if F1 dropped")
    p.set_defaults(run=_cmd_eval)

    p = sub.add_parser("bench", help="measure build throughput, ask latency, cold start")
    p.add_argument("--corpus", type=Path, default=None, help="corpus folder (default: seeds/)")
    p.add_argument("--index", type=Path, default=None, help="index for ask (default: index/)")
    p.add_argument("--repeats", type=int, default=3, help="builds to time (best is kept)")
    p.add_argument("--rounds", type=int, default=20, help="passes over the question list")
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
    p.add_argument("--load", action="store_true", help="only the load test of the served app")
    p.add_argument("--clients", type=int, default=50, help="--load: concurrent clients")
    p.add_argument("--seconds", type=float, default=60, help="--load: how long")
    p.add_argument("--ann-sizes", default="10000,100000", help="rows for --ann (comma-separated)")
    p.add_argument(
        "--vectors", type=Path, help="--ann: cache of real vectors (embedded there if missing)"
    )
    p.add_argument(
        "--squad",
        type=Path,
        action="append",
        default=[],
        help="--ann, --scale: SQuAD-format files whose text to use (repeatable)",
    )
    p.add_argument("--passages", type=int, default=100_000, help="--scale: how many")
    p.set_defaults(run=_cmd_bench)

    p = sub.add_parser(
        "fit-abstention", help="fit the span reader's abstention on held-out questions"
    )
    p.add_argument("--squad", type=Path, required=True, help="the SQuAD training JSON")
    p.add_argument("--limit", type=int, default=1000, help="held-out questions to ask (twice)")
    p.add_argument("--seed", type=int, default=13, help="which held-out questions")
    p.add_argument("--qa-set", type=Path, required=True, help="QA-set JSONL over seeds/")
    p.add_argument("--split", default="dev", help="its split to fit on (never test)")
    p.add_argument("--work", type=Path, default=Path(".citeqa-work"), help="corpus and index")
    p.set_defaults(run=_cmd_fit_abstention)

    p = sub.add_parser("train-reader", help="fine-tune the span reader on SQuAD (CPU, slow)")
    p.add_argument("--squad", type=Path, required=True, help="SQuAD-format training JSON")
    p.add_argument(
        "--extra", type=Path, action="append", default=[], help="more SQuAD-format JSON (QED)"
    )
    p.add_argument("--out", type=Path, required=True, help="folder for checkpoints and models")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--max-length", type=int, default=256)
    p.add_argument("--stride", type=int, default=128)
    p.add_argument("--val-articles", type=int, default=10)
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--checkpoint-every", type=int, default=200)
    p.add_argument("--max-steps", type=int, default=0, help="stop early (smoke tests)")
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    p.add_argument("--init", type=Path, help="a saved reader to continue training from")
    p.add_argument(
        "--negatives",
        type=_share,
        default=0.3,
        metavar="SHARE",
        help='share of questions also paired with a "no answer here" paragraph (default 0.3)',
    )
    p.add_argument(
        "--cut-negatives",
        type=_share,
        default=0.0,
        metavar="SHARE",
        help="share of questions also asked of their own paragraph with the answer cut out",
    )
    p.add_argument(
        "--dropout", type=_share, default=0.0, help="hidden and attention dropout (default 0)"
    )
    p.add_argument("--fp32", action="store_true", help="train without bf16 autocast")
    p.set_defaults(run=_cmd_train)
    return parser


def _share(text: str) -> float:
    """An argparse type: a number in [0, 1], so a bad share is a usage error up front, not a
    traceback after the model has loaded."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a number from 0 to 1, got {text!r}")
    return value


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
    settings = ix.IndexSettings(
        index_type=args.index_type, max_file_bytes=int(args.max_file_mb * 1_000_000)
    )
    if args.ray is not None:  # bad --ray usage fails before the model or Ray load
        from citeqa import build_ray

        try:
            ray_settings = build_ray.RaySettings(address=args.ray)
            build_ray.require_ray()
        except (build_ray.RayUnavailableError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_USAGE
    if args.explain:
        from citeqa.explain import explain

        print(explain(corpus_dir, settings.chunk, settings.max_file_bytes))
        return EXIT_OK
    embedder = make_embedder()
    if args.check:
        return _check(index_dir, corpus_dir, embedder, settings)
    if not args.force:
        try:
            if not ix.staleness(index_dir, embedder, settings, corpus_dir):
                if not args.quiet:
                    print(f"index {index_dir} is up to date with {corpus_dir}")
                return EXIT_OK
        except IndexFolderError:
            pass  # missing, corrupt or mismatched: build it
    if args.ray is not None:
        report = build_ray.build_index_ray(
            corpus_dir, index_dir, make_embedder, settings, ray_settings, progress=not args.quiet
        )
    else:
        from citeqa.build import build_index

        report = build_index(corpus_dir, index_dir, embedder, settings, progress=not args.quiet)
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


def _cmd_ask(args: argparse.Namespace) -> int:
    from citeqa.pipeline import QA, check_question

    check_question(args.question)  # refuse bad input before loading anything
    if args.top_k < 1:
        print("error: --top-k must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    qa = QA.load(args.index, reader=args.reader, embedder=make_embedder())
    answer = qa.ask(args.question, top_k=args.top_k)
    if args.json:
        import json

        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    else:
        from citeqa.render import answer_text

        print(answer_text(answer, color=sys.stdout.isatty()))
    return EXIT_OK


def _cmd_serve(args: argparse.Namespace) -> int:
    import os

    from citeqa.app import serve
    from citeqa.auth import AuthConfigError, read_token

    try:  # before anything slow: a bad token source is a usage error, not a late traceback
        token = read_token(args.token_file, os.environ)
    except AuthConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    logging.getLogger("citeqa").setLevel(logging.INFO)
    serve(args.index, host=args.host, port=args.port, token=token, rate=args.rate)
    return EXIT_OK


def _rate(text: str) -> Rate:
    """An argparse type for --rate: a bad value is a usage error naming the expected form."""
    from citeqa.auth import AuthConfigError, parse_rate

    try:
        return parse_rate(text)
    except AuthConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _no_token_flag(_text: str) -> str:
    raise argparse.ArgumentTypeError(
        "there is no --token: a secret on the command line shows in `ps` and shell"
        " history; set CITEQA_TOKEN or give --token-file FILE"
    )


def _cmd_eval(args: argparse.Namespace) -> int:
    import json

    from citeqa import evaluate as ev
    from citeqa.pipeline import QA

    if (args.qa_set is None) == (args.squad is None):
        print("error: give a QA-set file or --squad PATH (one of them)", file=sys.stderr)
        return EXIT_USAGE
    from citeqa.embed import RememberLast

    embedder = RememberLast(make_embedder())  # each question is encoded once, not twice
    index_dir = args.index
    gold = args.setting == "gold"
    if args.squad is not None:
        from citeqa import squad_eval

        # one corpus and index per file (and for a training file's validation articles)
        tag = "-validation" if args.articles == squad_eval.VALIDATION else ""
        work = args.work / f"squad-{args.squad.stem}{tag}"
        args.corpus, all_items = squad_eval.prepare(
            args.squad,
            work,
            articles=squad_eval.parse_articles(args.articles, args.squad),
            only_articles=args.articles == squad_eval.VALIDATION,
        )
        index_dir = work / "index"
        name = f"{args.squad.name} ({args.articles or 'all'} articles, {args.setting}"
    else:
        qa_set = ev.load_qa_set(args.qa_set, split=args.split)
        for error in qa_set.errors:
            print(f"warning: {args.qa_set}: {error}", file=sys.stderr)
        all_items = list(qa_set.items)
        name = f"{args.qa_set.name} ({args.split or 'all'}, {args.setting}"
    items = all_items[: args.limit] if args.limit else all_items
    if not items:
        print("error: no questions to evaluate", file=sys.stderr)
        return EXIT_USAGE
    if args.corpus is not None:
        if index_dir is None:  # one index per corpus folder, so runs never mix corpora
            import hashlib

            tag = hashlib.sha256(str(args.corpus.resolve()).encode()).hexdigest()[:12]
            index_dir = args.work / f"index-{tag}"
        _ensure_index(args.corpus, index_dir, embedder)
    qa = QA.load(index_dir, reader=args.reader, embedder=embedder)
    top_k = 50 if gold else args.top_k  # gold: every passage of the question's sources
    rows = ev.run(qa, items, top_k=top_k, progress=sys.stderr.isatty(), gold_setting=gold)
    name += f", reader {args.reader})"
    rep = ev.report(rows, qa.policy.min_confidence, name=name)
    print(ev.markdown(rep))
    if args.out:
        for path in ev.write_outputs(rep, args.out):
            print(f"wrote {path}")
    if args.baseline:
        diff = ev.compare(rep, json.loads(args.baseline.read_text(encoding="utf-8")))
        for key, delta in diff["deltas"].items():
            print(f"{key}: {delta:+.3f}")
        print(f"better: {', '.join(diff['better']) or '-'}")
        print(f"worse:  {', '.join(diff['worse']) or '-'}")
        if args.fail_on_regression and diff["deltas"]["f1"] < 0:
            return EXIT_CHECK_FAILED
    return EXIT_OK


def _cmd_bench(args: argparse.Namespace) -> int:
    import json

    from citeqa import bench

    corpus = args.corpus if args.corpus is not None else paths.default_corpus()
    if args.ui or args.load:
        from citeqa import loadtest

        if args.ui:
            figures = loadtest.ui_figures(args.index)
        else:
            figures = loadtest.load_figures(args.index, args.clients, args.seconds)
        print(json.dumps(figures, indent=2))
        return EXIT_OK
    if args.ann or args.scale:
        from citeqa import bench_scale

        if args.scale and not args.squad:
            print("error: --scale needs --squad FILE: the text to index", file=sys.stderr)
            return EXIT_USAGE
        if args.scale:
            print(json.dumps(bench_scale.scale_figures(args.squad, args.passages), indent=2))
            return EXIT_OK
        if args.vectors is None:
            print("error: --ann needs --vectors DIR, where real vectors are or go", file=sys.stderr)
            return EXIT_USAGE
        try:
            vectors, queries = bench_scale.real_vectors(args.squad, args.vectors)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        sizes = [int(n) for n in args.ann_sizes.split(",")]
        rows = bench_scale.ann_table(vectors, queries, sizes)
        print(json.dumps(rows, indent=2) if args.json else bench_scale.render_ann(rows))
        return EXIT_OK
    result = bench.run(corpus, args.index, repeats=args.repeats, rounds=args.rounds)
    print(json.dumps(result, indent=2) if args.json else bench.render(result))
    return EXIT_OK


def _cmd_fit_abstention(args: argparse.Namespace) -> int:
    import json

    from citeqa import calibrate, squad_eval
    from citeqa.evaluate import load_qa_set
    from citeqa.pipeline import QA
    from citeqa.read_span import MODEL_DIR
    from citeqa.squad import load_squad

    if args.split == "test":
        print("error: the test split is for reporting only", file=sys.stderr)
        return EXIT_USAGE
    val = squad_eval.parse_articles(squad_eval.VALIDATION, args.squad)
    work = args.work / f"squad-{args.squad.stem}-validation"  # the index eval uses too
    corpus, items = squad_eval.prepare(args.squad, work, articles=val, only_articles=True)
    embedder = make_embedder()
    _ensure_index(corpus, work / "index", embedder)
    qa = QA.load(work / "index", reader="span", embedder=embedder)
    paragraphs, _ = load_squad(args.squad, articles=val)
    texts = {squad_eval.source_of(p): p.context for p in paragraphs}
    samples = calibrate.squad_samples(qa, items, texts, args.limit, args.seed)
    seeds = QA.load(reader="span", embedder=embedder)
    for item in load_qa_set(args.qa_set, split=args.split).items:
        samples.append(calibrate.sample(seeds, item, f"{args.qa_set.stem} {args.split}"))
    fitted = calibrate.fit(samples)
    print(json.dumps(calibrate.describe(fitted, samples), indent=2))
    print(f"wrote {calibrate.write(fitted, MODEL_DIR)}")
    return EXIT_OK


def _ensure_index(corpus: Path, index_dir: Path, embedder: Embedder) -> None:
    """Build ``index_dir`` from ``corpus`` unless it is already fresh."""
    from citeqa.build import build_index
    from citeqa.index import IndexSettings, staleness

    try:
        fresh = not staleness(index_dir, embedder, IndexSettings(), corpus)
    except CiteQAError:
        fresh = False
    if not fresh:
        build_index(corpus, index_dir, embedder, progress=True)


def _cmd_train(args: argparse.Namespace) -> int:
    from citeqa.train import TrainConfig, train

    logging.getLogger("citeqa").setLevel(logging.INFO)
    logging.getLogger("citeqa").handlers[0].setFormatter(
        logging.Formatter("%(asctime)s %(message)s")
    )
    config = TrainConfig(
        squad=str(args.squad),
        out=str(args.out),
        epochs=args.epochs,
        lr=args.lr,
        batch_size=args.batch_size,
        max_length=args.max_length,
        stride=args.stride,
        val_articles=args.val_articles,
        seed=args.seed,
        checkpoint_every=args.checkpoint_every,
        max_steps=args.max_steps,
        init=str(args.init or ""),
        extra=tuple(str(e) for e in args.extra),
        negatives=args.negatives,
        cut_negatives=args.cut_negatives,
        dropout=args.dropout,
        bf16=not args.fp32,
    )
    print(train(config, resume=args.resume))
    return EXIT_OK


def _check(index_dir: Path, corpus_dir: Path, embedder: Embedder, settings: IndexSettings) -> int:
    from citeqa import index as ix

    diffs = ix.staleness(index_dir, embedder, settings, corpus_dir)
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
