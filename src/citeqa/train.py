"""Fine-tune the packaged MiniLM as a SQuAD-style span reader, on the CPU.

Only SQuAD v2.0 dev articles are used; the 13 v1.1-only articles are the test split and are
refused here. A few of the v2.0 articles are held out for validation (model selection and
threshold fitting). Training checkpoints every few hundred steps and resumes from the last
checkpoint, so it survives being stopped.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from citeqa.metrics import best_over
from citeqa.span import Window
from citeqa.squad import HELD_OUT_V11, SquadQuestion, article_titles, load_squad

log = logging.getLogger(__name__)

MAX_ANSWER_TOKENS = 30
"""As the span reader's default (``SpanSettings.max_answer_tokens``)."""


@dataclass(frozen=True)
class TrainConfig:
    squad: str
    out: str
    epochs: int = 2
    lr: float = 8e-5
    batch_size: int = 24
    max_length: int = 256
    stride: int = 96
    warmup: float = 0.06
    weight_decay: float = 0.01
    seed: int = 13
    checkpoint_every: int = 200
    val_articles: int = 3
    max_steps: int = 0
    """Stop after this many optimiser steps (0: run all epochs); for smoke tests."""
    threads: int = 0
    """torch threads (0: torch's default)."""
    init: str = ""
    """A saved reader to continue from (warm start); empty: the packaged base encoder."""
    all_answers: bool = False
    """Train on every annotator's answer, not just the first: the loss is the negative log
    of the probability summed over all gold starts (and ends) in the window."""
    unanswerable: float = 1.0
    """Share of the unanswerable training questions to keep (a seeded sample): below 1 the
    epochs spend more of their steps on finding spans, less on pointing at [CLS]."""


def split_articles(squad: Path, n_val: int) -> tuple[list[str], list[str]]:
    """(train, validation) article titles. Validation is the last ``n_val`` articles."""
    titles = article_titles(squad)
    leaked = sorted(set(titles) & HELD_OUT_V11)
    if leaked:
        raise ValueError(f"{squad} contains held-out test articles {leaked}; refusing to train")
    if n_val >= len(titles):
        raise ValueError(f"need more than {n_val} articles to hold {n_val} out")
    return titles[: len(titles) - n_val], titles[len(titles) - n_val :]


def keep_unanswerable(
    questions: list[SquadQuestion], share: float, seed: int
) -> list[SquadQuestion]:
    """All answerable questions and a seeded sample of ``share`` of the unanswerable ones,
    in their original order."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"unanswerable share must be in [0, 1], got {share}")
    rng = random.Random(seed)
    return [q for q in questions if q.answerable or rng.random() < share]


def featurize(
    tokenizer: Any,
    questions: list[SquadQuestion],
    max_length: int,
    stride: int,
    *,
    all_answers: bool = False,
) -> list[dict[str, list[int]]]:
    """Windows over each question's paragraph, with the token positions of its answer (or
    of every distinct gold answer, with ``all_answers``), or [CLS] (0, 0) when the question
    is unanswerable or the window holds none of its answers."""
    enc = tokenizer(
        [q.question for q in questions],
        [q.context for q in questions],
        truncation="only_second",
        max_length=max_length,
        stride=stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
    )
    features = []
    for i, offsets in enumerate(enc["offset_mapping"]):
        q = questions[enc["overflow_to_sample_mapping"][i]]
        seq = enc.sequence_ids(i)
        ctx = [k for k, s in enumerate(seq) if s == 1]
        starts: list[int] = []
        ends: list[int] = []
        n = len(q.answers) if all_answers else min(1, len(q.answers))
        for text, a in sorted(set(zip(q.answers[:n], q.answer_starts[:n], strict=True))):
            b = a + len(text)
            if offsets[ctx[0]][0] <= a and offsets[ctx[-1]][1] >= b:
                starts.append(next(k for k in ctx if offsets[k][1] > a))
                ends.append(next(k for k in reversed(ctx) if offsets[k][0] < b))
        features.append(
            {
                "input_ids": enc["input_ids"][i],
                "token_type_ids": enc["token_type_ids"][i],
                "start_positions": sorted(set(starts)) or [0],
                "end_positions": sorted(set(ends)) or [0],
            }
        )
    return features


def _collate(batch: list[dict[str, list[int]]], pad_id: int) -> dict[str, Any]:
    """Padded inputs, and 0/1 masks over the positions that are gold starts and ends."""
    import torch

    width = max(len(f["input_ids"]) for f in batch)

    def pad(key: str, value: int) -> Any:
        return torch.tensor([f[key] + [value] * (width - len(f[key])) for f in batch])

    def targets(key: str) -> Any:
        mask = torch.zeros(len(batch), width, dtype=torch.bool)
        for row, f in enumerate(batch):
            mask[row, f[key]] = True
        return mask

    ids = pad("input_ids", pad_id)
    return {
        "input_ids": ids,
        "token_type_ids": pad("token_type_ids", 0),
        "attention_mask": (ids != pad_id).long(),
        "start_targets": targets("start_positions"),
        "end_targets": targets("end_positions"),
    }


def span_loss(start_logits: Any, end_logits: Any, start_targets: Any, end_targets: Any) -> Any:
    """Mean over start and end of -log(probability of any gold position). With one gold
    position this is the usual cross-entropy of extractive QA."""
    import torch

    def nll(logits: Any, gold: Any) -> Any:
        return torch.logsumexp(logits, -1) - torch.logsumexp(
            logits.masked_fill(~gold, -torch.inf), -1
        )

    return ((nll(start_logits, start_targets) + nll(end_logits, end_targets)) / 2).mean()


def train(config: TrainConfig, *, resume: bool = False) -> dict[str, Any]:
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    from citeqa.embed import model_path

    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    if config.threads:
        torch.set_num_threads(config.threads)
    random.seed(config.seed)
    np.random.seed(config.seed)
    torch.manual_seed(config.seed)

    train_titles, val_titles = split_articles(Path(config.squad), config.val_articles)
    _, train_qs = load_squad(Path(config.squad), articles=frozenset(train_titles))
    train_qs = keep_unanswerable(train_qs, config.unanswerable, config.seed)
    _, val_qs = load_squad(Path(config.squad), articles=frozenset(val_titles))
    base = Path(config.init) if config.init else model_path()
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    # fp32 whatever the saved dtype: the shipped readers are stored in fp16.
    model = AutoModelForQuestionAnswering.from_pretrained(str(base), dtype=torch.float32)
    features = featurize(
        tokenizer, train_qs, config.max_length, config.stride, all_answers=config.all_answers
    )
    steps_per_epoch = math.ceil(len(features) / config.batch_size)
    total = steps_per_epoch * config.epochs
    if config.max_steps:
        total = min(total, config.max_steps)
    log.info("train: %d questions, %d features, %d steps", len(train_qs), len(features), total)

    no_decay = ("bias", "LayerNorm.weight")
    groups = [
        {
            "params": [p for n, p in model.named_parameters() if not n.endswith(no_decay)],
            "weight_decay": config.weight_decay,
        },
        {
            "params": [p for n, p in model.named_parameters() if n.endswith(no_decay)],
            "weight_decay": 0.0,
        },
    ]
    optimizer = torch.optim.AdamW(groups, lr=config.lr)
    warm = max(1, int(total * config.warmup))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm)))
    )
    step, history = 0, []
    ckpt = out / "checkpoint.pt"
    if resume and ckpt.exists():
        state = torch.load(ckpt, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step, history = state["step"], state["history"]
        log.info("resumed at step %d", step)

    model.train()
    started, first_step = time.time(), step
    while step < total:
        epoch, offset = divmod(step, steps_per_epoch)
        order = np.random.default_rng(config.seed + epoch).permutation(len(features))
        for b in range(offset, steps_per_epoch):
            if step >= total:
                break
            idx = order[b * config.batch_size : (b + 1) * config.batch_size]
            batch = _collate([features[i] for i in idx], tokenizer.pad_token_id)
            start_targets, end_targets = batch.pop("start_targets"), batch.pop("end_targets")
            out_logits = model(**batch)
            loss = span_loss(
                out_logits.start_logits, out_logits.end_logits, start_targets, end_targets
            )
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            step += 1
            if step % 20 == 0 or step == total:
                rate = (time.time() - started) / (step - first_step)
                log.info(
                    "step %d/%d epoch %d loss %.4f (%.2f s/step)",
                    step,
                    total,
                    epoch,
                    loss.item(),
                    rate,
                )
            if step % config.checkpoint_every == 0 or step == total:
                history.append({"step": step, "loss": round(loss.item(), 4)})
                _save_checkpoint(ckpt, model, optimizer, scheduler, step, history)
            if step % steps_per_epoch == 0 and step < total:
                _export(model, tokenizer, out / f"epoch{step // steps_per_epoch}", config, {})
    model.eval()
    metrics = evaluate_gold(model, tokenizer, val_qs, config.max_length, config.stride)
    log.info("validation: %s", metrics)
    _export(model, tokenizer, out / "final", config, metrics)
    return metrics


def _save_checkpoint(
    path: Path, model: Any, optimizer: Any, scheduler: Any, step: int, history: list[Any]
) -> None:
    import torch

    tmp = path.with_suffix(".tmp")
    torch.save(
        {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "step": step,
            "history": history,
        },
        tmp,
    )
    os.replace(tmp, path)


def _export(
    model: Any, tokenizer: Any, dest: Path, config: TrainConfig, metrics: dict[str, Any]
) -> None:
    """fp16 safetensors (half the size, same answers to within rounding) and the tokenizer."""
    import copy

    dest.mkdir(parents=True, exist_ok=True)
    copy.deepcopy(model).half().save_pretrained(dest, safe_serialization=True)
    tokenizer.save_pretrained(dest)
    (dest / "training.json").write_text(
        json.dumps({"config": asdict(config), "validation": metrics}, indent=2) + "\n"
    )


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
