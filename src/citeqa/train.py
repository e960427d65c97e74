"""Fine-tune the packaged MiniLM as a SQuAD-style span reader, on the CPU.

The recipe: every question of the training files with every gold answer as a target, plus
"no answer here" examples that pair a question with the paragraph of its own article that
BM25 ranks closest to it but that holds none of its answers, trained to point at [CLS].
These teach the null score what a retrieval miss looks like, the open setting's real
failure. A seeded handful of articles is held out for validation and threshold fitting;
the dev sets are test sets, and a training file sharing an article with them is refused.

On the CPU, bf16 autocast trains about 2.4 times faster than fp32, and batches of windows
of similar length, each padded only to its own longest, waste little on padding. Training
checkpoints every few hundred steps and resumes from the last checkpoint.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from citeqa.metrics import best_over
from citeqa.span import Window
from citeqa.squad import HELD_OUT_V11, SquadQuestion, article_titles, load_squad

log = logging.getLogger(__name__)

MAX_ANSWER_TOKENS = 30
"""As the span reader's default (``SpanSettings.max_answer_tokens``)."""

EXTRA_VAL_SHARE = 0.03
"""Share of an extra training file's articles held out for validation."""

DEV_FILES = ("dev-v1.1.json", "dev-v2.0.json")
"""Test sets: a training file beside them may share none of their articles."""


@dataclass(frozen=True)
class TrainConfig:
    squad: str
    out: str
    extra: tuple[str, ...] = ()
    """More SQuAD-format training files (QED); a seeded ``EXTRA_VAL_SHARE`` of their
    articles is held out for validation too."""
    epochs: int = 1
    lr: float = 1e-4
    batch_size: int = 32
    max_length: int = 256
    stride: int = 128
    warmup: float = 0.1
    weight_decay: float = 0.01
    seed: int = 13
    checkpoint_every: int = 200
    val_articles: int = 10
    max_steps: int = 0
    """Stop after this many optimiser steps (0: run all epochs); for smoke tests."""
    threads: int = 0
    """torch threads (0: torch's default)."""
    init: str = ""
    """A saved reader to continue from (warm start); empty: the packaged base encoder."""
    negatives: float = 0.3
    """Share of the answerable questions also paired with a "no answer here" paragraph."""
    cut_negatives: float = 0.0
    """Share of the answerable questions also asked of their own paragraph with the
    sentences holding the answer cut out (``answer_cut_pairs``)."""
    dropout: float = 0.0
    """Hidden and attention dropout. Off by default: on 2 cores its random masks cost 41%
    of a step (MODEL_CARD.md); a run of more than one epoch may want it back."""
    bf16: bool = True
    """Forward and backward under bf16 autocast (weights and optimiser stay fp32)."""


def dev_titles(squad: Path) -> frozenset[str]:
    """Article titles of the SQuAD dev files that lie beside ``squad``, and the held-out
    v1.1 articles: nothing trained may see them."""
    titles = set(HELD_OUT_V11)
    for name in DEV_FILES:
        dev = squad.parent / name
        if dev.exists() and dev.resolve() != squad.resolve():
            titles.update(article_titles(dev))
    return frozenset(titles)


def held_out_articles(path: Path, *, first: bool, val_articles: int) -> int:
    """How many articles of a training file are held out: ``val_articles`` of the first
    (SQuAD), ``EXTRA_VAL_SHARE`` of any other's (QED: thousands of one-paragraph titles)."""
    if first:
        return val_articles
    return math.ceil(len(article_titles(path)) * EXTRA_VAL_SHARE)


def split_articles(squad: Path, n_val: int, seed: int) -> tuple[list[str], list[str]]:
    """(train, validation) article titles: ``n_val`` seeded articles are validation."""
    titles = article_titles(squad)
    leaked = sorted(set(titles) & dev_titles(squad))
    if leaked:
        raise ValueError(f"{squad} contains test articles {leaked[:5]}; refusing to train")
    if n_val >= len(titles):
        raise ValueError(f"need more than {n_val} articles to hold {n_val} out")
    val = set(random.Random(seed).sample(titles, n_val))
    return [t for t in titles if t not in val], [t for t in titles if t in val]


def holds_answer(context: str, answers: tuple[str, ...]) -> bool:
    folded = context.casefold()
    return any(a.casefold() in folded for a in answers)


def no_answer_pairs(questions: list[SquadQuestion], share: float, seed: int) -> list[SquadQuestion]:
    """For a seeded ``share`` of the answerable questions, the same question over the other
    paragraph of its article that BM25 ranks closest to it and that holds none of its
    answers (compared case-insensitively), with no answer. Questions whose article has no
    such paragraph get none."""
    import bm25s

    from citeqa.lexicon import terms

    if not 0.0 <= share <= 1.0:
        raise ValueError(f"negatives share must be in [0, 1], got {share}")
    rng = random.Random(seed)
    chosen = [q for q in questions if q.answerable and rng.random() < share]
    by_title: dict[str, dict[int, str]] = defaultdict(dict)
    for q in questions:
        by_title[q.title][q.paragraph] = q.context
    asked: dict[str, list[SquadQuestion]] = defaultdict(list)
    for q in chosen:
        asked[q.title].append(q)
    pairs: list[SquadQuestion] = []
    for title, qs in asked.items():
        paragraphs = sorted(by_title[title].items())
        if len(paragraphs) < 2:
            continue
        bm25 = bm25s.BM25()
        bm25.index([terms(text) for _, text in paragraphs], show_progress=False)
        vocab = bm25.vocab_dict
        for q in qs:
            known = [t for t in terms(q.question) if t in vocab]
            scores = bm25.get_scores(known) if known else np.zeros(len(paragraphs))
            for row in np.argsort(-scores, kind="stable"):
                index, text = paragraphs[int(row)]
                if index != q.paragraph and not holds_answer(text, q.answers):
                    pairs.append(
                        replace(
                            q,
                            id=f"{q.id}-none",
                            paragraph=index,
                            context=text,
                            answers=(),
                            answer_starts=(),
                        )
                    )
                    break
    return pairs


def answer_cut_pairs(
    questions: list[SquadQuestion], share: float, seed: int
) -> list[SquadQuestion]:
    """For a seeded ``share`` of the answerable questions, the question over its own
    paragraph with every sentence that holds a gold answer cut out, with no answer: text
    on the question's topic and in its words that does not answer it, as SQuAD v2.0's
    unanswerable questions are. A question gets none when nothing is left, or when an
    answer still shows in what is left."""
    from citeqa.chunk import split_sentences

    if not 0.0 <= share <= 1.0:
        raise ValueError(f"cut negatives share must be in [0, 1], got {share}")
    rng = random.Random(f"{seed}-cut")
    pairs = []
    for q in questions:
        if not q.answerable or rng.random() >= share:
            continue
        golds = [(a, a + len(t)) for a, t in zip(q.answer_starts, q.answers, strict=True)]
        kept = [
            q.context[a:b]
            for a, b in split_sentences(q.context, 0, len(q.context))
            if not any(a < end and start < b for start, end in golds)
        ]
        rest = " ".join(kept)
        if rest and not holds_answer(rest, q.answers):
            pairs.append(replace(q, id=f"{q.id}-cut", context=rest, answers=(), answer_starts=()))
    return pairs


def featurize(
    tokenizer: Any, questions: list[SquadQuestion], max_length: int, stride: int
) -> list[dict[str, list[int]]]:
    """Windows over each question's paragraph, with the token positions of every distinct
    gold answer they hold, or [CLS] (0, 0) when they hold none."""
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
        for text, a in sorted(set(zip(q.answers, q.answer_starts, strict=True))):
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


def length_batches(lengths: list[int], batch_size: int, seed: int) -> list[list[int]]:
    """Batches of feature indices for one epoch: shuffled, then sorted by length within
    pools of 64 batches, so each batch pads little, and the batches shuffled again. The
    same seed gives the same batches, so a resumed run picks up where it stopped."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(lengths))
    pool = batch_size * 64
    batches: list[list[int]] = []
    for p in range(0, len(order), pool):
        part = sorted(order[p : p + pool].tolist(), key=lambda i: lengths[i])
        batches += [part[k : k + batch_size] for k in range(0, len(part), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


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


def training_questions(
    path: Path, n_val: int, seed: int, negatives: float, cut_negatives: float = 0.0
) -> tuple[list[SquadQuestion], list[SquadQuestion], int]:
    """(training questions with their "no answer here" pairs, validation questions, how
    many of the training questions are such pairs) of one SQuAD-format file."""
    train_titles, val_titles = split_articles(path, n_val, seed)
    _, train_qs = load_squad(path, articles=frozenset(train_titles))
    _, val_qs = load_squad(path, articles=frozenset(val_titles))
    pairs = no_answer_pairs(train_qs, negatives, seed)
    pairs += answer_cut_pairs(train_qs, cut_negatives, seed)
    return train_qs + pairs, val_qs, len(pairs)


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

    train_qs, val_sets, n_pairs = [], {}, 0
    for i, name in enumerate((config.squad, *config.extra)):
        path = Path(name)
        n_val = held_out_articles(path, first=i == 0, val_articles=config.val_articles)
        qs, val_qs, n = training_questions(
            path, n_val, config.seed, config.negatives, config.cut_negatives
        )
        train_qs += qs
        val_sets[path.stem] = val_qs
        n_pairs += n
    base = Path(config.init) if config.init else model_path()
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    # fp32 whatever the saved dtype: the shipped readers are stored in fp16. Eager
    # attention and, by default, no dropout: on 2 cores under bf16 autocast, SDPA's
    # attention and dropout's random masks each cost about as much as the rest of a step
    # (MODEL_CARD.md).
    model = AutoModelForQuestionAnswering.from_pretrained(
        str(base),
        dtype=torch.float32,
        attn_implementation="eager",
        hidden_dropout_prob=config.dropout,
        attention_probs_dropout_prob=config.dropout,
    )
    # In slices: the tokenizer's offsets for all of SQuAD at once take gigabytes.
    features = [
        f
        for at in range(0, len(train_qs), 4096)
        for f in featurize(tokenizer, train_qs[at : at + 4096], config.max_length, config.stride)
    ]
    lengths = [len(f["input_ids"]) for f in features]
    steps_per_epoch = len(length_batches(lengths, config.batch_size, config.seed))
    total = steps_per_epoch * config.epochs
    if config.max_steps:
        total = min(total, config.max_steps)
    log.info(
        "train: %d questions (%d of them no-answer pairs), %d windows, mean %.0f tokens, %d steps",
        len(train_qs),
        n_pairs,
        len(features),
        float(np.mean(lengths)),
        total,
    )

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
        batches = length_batches(lengths, config.batch_size, config.seed + epoch)
        for idx in batches[offset:]:
            if step >= total:
                break
            batch = _collate([features[i] for i in idx], tokenizer.pad_token_id)
            start_targets, end_targets = batch.pop("start_targets"), batch.pop("end_targets")
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=config.bf16):
                logits = model(**batch)
            loss = span_loss(
                logits.start_logits.float(), logits.end_logits.float(), start_targets, end_targets
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
    metrics = {
        name: evaluate_gold(model, tokenizer, qs, config.max_length, config.stride)
        for name, qs in val_sets.items()
    }
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
