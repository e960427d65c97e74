"""The readers citeqa offers, the default, and each one's abstention threshold: the one
place these choices live."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from citeqa.answer.abstain import Calibration
    from citeqa.answer.read import Reader
    from citeqa.index.store import LoadedIndex

READERS = ("span", "sentence")
DEFAULT_READER = "span"
"""The span reader scores best on the seeds test split and on SQuAD (docs/quality.md).
The sentence reader needs no model: a baseline for ``citeqa eval``, and the source of the
span reader's retrieval evidence (``sentence_reader.py``)."""

# The span reader's confidence is a fitted probability and its threshold is fitted with it
# (``abstain.py``, ``citeqa fit-abstention``). The sentence reader's confidence has a scale
# of its own; its threshold was fitted on the dev split of the seeds QA set as the value
# that maximises answer F1 over answerable questions plus correct abstentions over
# unanswerable ones (the coverage curve of `citeqa eval tests/data/seeds_qa.jsonl --split
# dev --reader sentence`).
THRESHOLDS = {"sentence": 0.25}


def threshold_of(reader: Reader) -> float:
    """The reader's abstention threshold: fitted with its calibration for the span reader
    (``abstain.py``), from ``THRESHOLDS`` for the others."""
    calibration = getattr(reader, "calibration", None)
    if calibration is not None:
        return float(calibration.threshold)
    return THRESHOLDS.get(reader.name, 0.5)


def make_reader(
    name: str,
    index: LoadedIndex,
    model_dir: Path | None = None,
    calibration: Calibration | None = None,
) -> Reader:
    """Reader ``name`` over ``index``; the span reader with the model in ``model_dir``
    (default: the packaged one) and ``calibration`` (default: the one beside the model)."""
    if model_dir is not None and name != "span":
        raise ValueError(f"a reader model folder is for the span reader, not the {name} reader")
    if calibration is not None and name != "span":
        raise ValueError(f"a calibration is for the span reader, not the {name} reader")
    if name == "sentence":
        from citeqa.answer.sentence_reader import SentenceReader

        return SentenceReader(index)
    if name == "span":
        from citeqa.answer.reader_model import MODEL_DIR
        from citeqa.answer.span_reader import SpanReader

        return SpanReader(
            index, model_dir if model_dir is not None else MODEL_DIR, calibration=calibration
        )
    raise ValueError(f"unknown reader {name!r}; choose one of {', '.join(READERS)}")
