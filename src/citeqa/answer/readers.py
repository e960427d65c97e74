"""The readers citeqa offers, the default, and each one's abstention threshold: the one
place these choices live."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from citeqa.answer.abstain import Calibration
    from citeqa.answer.read import Reader, Reading
    from citeqa.index.store import LoadedIndex

log = logging.getLogger(__name__)

READERS = ("span", "large", "cascade", "sentence")
DEFAULT_READER = "cascade"
"""The cascade answers better than either span reader alone on every validation set, and
most questions cost it no more than the fast reader (docs/quality.md, "The large reader
and the cascade"). The sentence reader needs no model: a baseline for ``citeqa eval``, and
the source of the span readers' retrieval evidence (``sentence_reader.py``)."""

# The span reader's confidence is a fitted probability and its threshold is fitted with it
# (``abstain.py``, ``citeqa fit-abstention``). The sentence reader's confidence has a scale
# of its own; its threshold was fitted on the dev split of the seeds QA set as the value
# that maximises answer F1 over answerable questions plus correct abstentions over
# unanswerable ones (the coverage curve of `citeqa eval tests/data/seeds_qa.jsonl --split
# dev --reader sentence`).
THRESHOLDS = {"sentence": 0.25}

SPAN_READERS = ("span", "large", "cascade")
"""The readers with a span model: the fast one (MiniLM), the large one (MPNet-base with
LoRA adapters), each alone, and the two in a cascade. A model folder (``--reader-model``)
and a calibration replace the model of the one named, the cascade's large one."""

SURE = 0.8
"""The cascade's bar: a fast answer at least this confident stands, anything else goes to
the large reader (``cascade.py``). Chosen on validation (seeds dev, 300 questions of the
SQuAD validation articles and TyDi QA train's held-out titles, open), by the mean of
their F1 over all questions, with the fast reader reading the top passage alone: 0.690
with the bar at the readers' thresholds, 0.698 at 0.5, 0.711 at 0.7, 0.713 at 0.8, 0.715
at 0.85, 0.717 at 0.9 (the best) and 0.715 for the large reader alone. 0.8 is within 0.005
of the best and sends the fewest questions to the large reader among those bars
(docs/quality.md)."""


def threshold_of(reader: Reader) -> float:
    """The reader's abstention threshold: fitted with its calibration for the span reader
    (``abstain.py``), from ``THRESHOLDS`` for the others."""
    calibration = getattr(reader, "calibration", None)
    if calibration is not None:
        return float(calibration.threshold)
    return THRESHOLDS.get(reader.name, 0.5)


def calibration_of(reader: Reader, reading: Reading | None) -> Calibration | None:
    """The abstention that gave ``reading`` its confidence, for the trace: a cascade's
    depends on which of its readers answered."""
    pick = getattr(reader, "calibration_for", None)
    if pick is not None and reading is not None:
        return pick(reading)  # type: ignore[no-any-return]
    return getattr(reader, "calibration", None)


def make_reader(
    name: str,
    index: LoadedIndex,
    model_dir: Path | None = None,
    calibration: Calibration | None = None,
) -> Reader:
    """Reader ``name`` over ``index``; the span reader with the model in ``model_dir``
    (default: the packaged one) and ``calibration`` (default: the one beside the model)."""
    if model_dir is not None and name not in SPAN_READERS:
        raise ValueError(f"a reader model folder is for a span reader, not the {name} reader")
    if calibration is not None and name not in SPAN_READERS:
        raise ValueError(f"a calibration is for a span reader, not the {name} reader")
    if name == "sentence":
        from citeqa.answer.sentence_reader import SentenceReader

        return SentenceReader(index)
    from citeqa.answer.reader_model import LARGE_DIR, MODEL_DIR
    from citeqa.answer.span_reader import SpanReader

    if name == "span":
        return SpanReader(index, model_dir or MODEL_DIR, calibration=calibration)
    large = model_dir or LARGE_DIR
    if name == "large":
        return SpanReader(index, large, calibration=calibration)
    if name == "cascade":
        from citeqa.answer.cascade import CascadeReader
        from citeqa.answer.reader_model import base_missing, fitted_calibration

        missing = base_missing(large)
        if missing:  # pip installed citeqa alone: answer, and say what is lost
            log.warning("%s; answering with the fast reader alone", missing)
            if calibration is not None:
                # it was fitted to the large reader's scores, which mean nothing to the fast one
                log.warning(
                    "the calibration given is the large reader's; the fast one keeps its own"
                )
            return SpanReader(index, MODEL_DIR)
        fitted = fitted_calibration(large, calibration)
        cascade = CascadeReader(
            SpanReader(index, MODEL_DIR),
            lambda: SpanReader(index, large, calibration=fitted),
            fitted,
            SURE,
        )
        if model_dir is not None:
            cascade.warm()  # someone's own model: refuse a bad folder now, not mid-question
        return cascade
    raise ValueError(f"unknown reader {name!r}; choose one of {', '.join(READERS)}")
