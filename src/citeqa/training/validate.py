"""The validation figures of ``citeqa train-reader``: a reader's EM and F1 when it is given
each question's own paragraph, and how well its [CLS] "no answer" score tells those
paragraphs from ones that do not answer the question."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from citeqa.answer.span import Window
from citeqa.evaluation.metrics import best_over
from citeqa.evaluation.squad import SquadQuestion

MAX_ANSWER_TOKENS = 30
"""As the span reader's default (``SpanSettings.max_answer_tokens``)."""


def load_reader_model(path: Path) -> tuple[Any, Any]:
    """A saved reader (fp16 on disk) as an fp32 model in eval mode, and its tokenizer."""
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    model = AutoModelForQuestionAnswering.from_pretrained(str(path), dtype=torch.float32)
    return model.eval(), AutoTokenizer.from_pretrained(str(path))


def predict_gold(
    model: Any, tokenizer: Any, question: str, context: str, max_length: int, stride: int
) -> tuple[str, float, float]:
    """(answer text, span score, null score) for one question over its own paragraph."""
    import torch

    enc = tokenizer(
        question,
        context,
        truncation="only_second",
        max_length=max_length,
        stride=stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding=True,
        return_tensors="pt",
    )
    offsets = enc.pop("offset_mapping").tolist()
    enc.pop("overflow_to_sample_mapping")
    with torch.inference_mode():
        logits = model(**enc)
    # float(): under bf16 autocast (train-reader's validation) the logits are bf16
    starts, ends = logits.start_logits.float().numpy(), logits.end_logits.float().numpy()
    guesses = [
        Window(starts[w], ends[w], offsets[w], enc.sequence_ids(w)).best(
            max_tokens=MAX_ANSWER_TOKENS
        )
        for w in range(len(offsets))
    ]
    found = [g for g in guesses if g is not None]
    if not found:
        return "", -math.inf, math.inf
    best = max(found, key=lambda g: g.score)
    return context[best.start : best.end], best.score, min(g.null_score for g in found)


def evaluate_gold(
    model: Any,
    tokenizer: Any,
    questions: list[SquadQuestion],
    max_length: int,
    stride: int,
    negatives: Mapping[str, list[SquadQuestion]] | None = None,
) -> dict[str, Any]:
    """EM/F1 on answerable questions, reader given the gold paragraph; no-answer ignored.
    With ``negatives`` (kind -> questions over text that does not answer them), also the
    ROC AUC, per kind, of the span score less the null score: how often an answerable
    question's margin beats a negative's, the abstention's main evidence."""
    em = f1 = 0.0
    margins = []
    started = time.perf_counter()
    for q in questions:
        if not q.answerable:
            continue
        text, score, null = predict_gold(
            model, tokenizer, q.question, q.context, max_length, stride
        )
        em += best_over("em", text, q.answers)
        f1 += best_over("f1", text, q.answers)
        margins.append(score - null)
    n = len(margins)
    out: dict[str, Any] = {
        "questions": n,
        "em": 100 * em / max(1, n),
        "f1": 100 * f1 / max(1, n),
        "ms_per_question": (time.perf_counter() - started) * 1000 / max(1, n),
    }
    aucs = {}
    for kind, negs in (negatives or {}).items():
        if negs and margins:
            neg_margins = [_margin(model, tokenizer, q, max_length, stride) for q in negs]
            aucs[kind] = {"pairs": len(negs), "auc": margin_auc(margins, neg_margins)}
    if aucs:
        out["null_auc"] = aucs
    return out


def margin_auc(answerable: list[float], unanswerable: list[float]) -> float:
    """ROC AUC of the margin as a score for "this text answers the question"."""
    from sklearn.metrics import roc_auc_score

    labels = [1] * len(answerable) + [0] * len(unanswerable)
    scores = [_finite(m) for m in answerable + unanswerable]
    return float(roc_auc_score(labels, scores))


def _margin(model: Any, tokenizer: Any, q: SquadQuestion, max_length: int, stride: int) -> float:
    _, score, null = predict_gold(model, tokenizer, q.question, q.context, max_length, stride)
    return score - null


def _finite(x: float) -> float:
    """A reader that found no span at all is as sure a "no" as there is."""
    return x if math.isfinite(x) else -1e9
