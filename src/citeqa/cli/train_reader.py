"""``citeqa train-reader``: fine-tune the span reader on SQuAD-format data (CPU, bf16)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from citeqa.bases import BASES
from citeqa.cli.common import EXIT_OK, share
from citeqa.evaluation.squad import SPLIT_SEED, VALIDATION_ARTICLES


def add(sub: Any) -> None:
    p = sub.add_parser("train-reader", help="fine-tune the span reader on SQuAD (CPU, slow)")
    p.add_argument("--squad", type=Path, required=True, help="SQuAD-format training JSON")
    p.add_argument(
        "--extra",
        type=Path,
        action="append",
        default=[],
        help="more SQuAD-format JSON (QED, TyDi QA); a file given twice weighs twice",
    )
    p.add_argument("--out", type=Path, required=True, help="folder for checkpoints and models")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--max-length", type=int, default=256)
    p.add_argument("--stride", type=int, default=128)
    p.add_argument(
        "--val-articles",
        type=int,
        default=VALIDATION_ARTICLES,
        help="articles of --squad held out for validation, chosen by a fixed seed; eval"
        f" --articles validation and fit-abstention hold out {VALIDATION_ARTICLES}, so"
        " another number is for experiments only",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=SPLIT_SEED,
        help="data order, dropout and the sampled negatives (not the validation split)",
    )
    p.add_argument("--checkpoint-every", type=int, default=200)
    p.add_argument(
        "--val-limit",
        type=int,
        default=0,
        metavar="N",
        help="validate on a seeded sample of N held-out questions per file (default: all)",
    )
    p.add_argument(
        "--max-steps",
        type=int,
        default=0,
        help=(
            "train this many steps, the learning rate's schedule fitted to them (0: all"
            " epochs); with --resume, a new count rebuilds the schedule from where it stopped"
        ),
    )
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    p.add_argument(
        "--init",
        type=Path,
        help="a saved reader to continue training from: a model folder, or a LoRA reader's"
        " adapters (with their --lora-rank)",
    )
    p.add_argument(
        "--base",
        choices=BASES,
        default="minilm",
        help="the encoder to start from: minilm (22M parameters, packaged) or mpnet"
        " (all-mpnet-base-v2, 110M, assembled from its five PyPI parts); a run from --init"
        " starts from that reader instead",
    )
    p.add_argument(
        "--lora-rank",
        type=int,
        default=0,
        metavar="R",
        help="train rank-R LoRA adapters and the span head, the encoder frozen (default 0:"
        " train every weight)",
    )
    p.add_argument(
        "--negatives",
        type=share,
        default=0.3,
        metavar="SHARE",
        help='share of questions also paired with a "no answer here" paragraph (default 0.3)',
    )
    p.add_argument(
        "--cut-negatives",
        type=share,
        default=0.0,
        metavar="SHARE",
        help="share of questions also asked of their own paragraph with the answer cut out",
    )
    p.add_argument(
        "--swap-negatives",
        type=share,
        default=0.0,
        metavar="SHARE",
        help="share of questions also asked of their own paragraph about a name it never mentions",
    )
    p.add_argument(
        "--typed",
        type=share,
        default=0.0,
        metavar="SHARE",
        help="share of questions also asked as typed in a hurry: no question mark, typos",
    )
    p.add_argument(
        "--dropout", type=share, default=0.0, help="hidden and attention dropout (default 0)"
    )
    p.add_argument(
        "--attention-dropout",
        type=share,
        default=None,
        metavar="P",
        help="attention dropout alone (default: as --dropout); its masks cost most of a step",
    )
    p.add_argument("--fp32", action="store_true", help="train without bf16 autocast")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from citeqa.training.config import TrainConfig
    from citeqa.training.loop import train

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
        val_limit=args.val_limit,
        max_steps=args.max_steps,
        init=str(args.init or ""),
        base=args.base,
        lora_rank=args.lora_rank,
        extra=tuple(str(e) for e in args.extra),
        negatives=args.negatives,
        cut_negatives=args.cut_negatives,
        swap_negatives=args.swap_negatives,
        typed=args.typed,
        dropout=args.dropout,
        attention_dropout=args.attention_dropout,
        bf16=not args.fp32,
    )
    print(train(config, resume=args.resume))
    return EXIT_OK
