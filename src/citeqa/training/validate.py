"""A saved reader's EM and F1 when it is given each question's own paragraph: the
validation figure of ``citeqa train-reader``."""

from __future__ import annotations

import math
import time
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
    starts, ends = logits.start_logits.numpy(), logits.end_logits.numpy()
    guesses = [
        Window(starts[w], ends[w], offsets[w], enc.sequence_ids(w)).best(
            0, len(context), max_tokens=MAX_ANSWER_TOKENS, window=w
        )
        for w in range(len(offsets))
    ]
    found = [g for g in guesses if g is not None]
    if not found:
        return "", -math.inf, math.inf
    best = max(found, key=lambda g: g.score)
    return context[best.start : best.end], best.score, min(g.null_score for g in found)


def evaluate_gold(
    model: Any, tokenizer: Any, questions: list[SquadQuestion], max_length: int, stride: int
) -> dict[str, Any]:
    """EM/F1 on answerable questions, reader given the gold paragraph; no-answer ignored."""
    em = f1 = 0.0
    n = 0
    started = time.perf_counter()
    for q in questions:
        if not q.answerable:
            continue
        text, _, _ = predict_gold(model, tokenizer, q.question, q.context, max_length, stride)
        em += best_over("em", text, q.answers)
        f1 += best_over("f1", text, q.answers)
        n += 1
    ms = (time.perf_counter() - started) * 1000 / max(1, n)
    return {
        "questions": n,
        "em": 100 * em / max(1, n),
        "f1": 100 * f1 / max(1, n),
        "ms_per_question": ms,
    }
