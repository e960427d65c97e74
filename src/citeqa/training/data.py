"""Training data for the span reader: which articles train and which validate, "no answer
here" pairs, and windows of tokens batched by length.

Every question of the training files is a target with every gold answer, plus "no answer
here" examples trained to point at [CLS]: a question with the paragraph of its own article
that BM25 ranks closest to it but that holds none of its answers (a retrieval miss, the
open setting's real failure), and, by choice, with its own paragraph less the answer's
sentences, or its own paragraph asked about a name that paragraph never mentions (near
misses, as SQuAD v2.0's unanswerable questions are); by choice too, copies of questions
as typed in a hurry, with the same answers. A seeded handful of articles is held
out for validation and threshold fitting; the dev sets are test sets, and a training file
sharing an article with them is refused.
"""

from __future__ import annotations

import random
import re
import string
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from citeqa.evaluation.squad import SquadQuestion, load_squad


def holds_answer(context: str, answers: tuple[str, ...]) -> bool:
    folded = context.casefold()
    return any(a.casefold() in folded for a in answers)


def no_answer_pairs(questions: list[SquadQuestion], share: float, seed: int) -> list[SquadQuestion]:
    """For a seeded ``share`` of the answerable questions, the same question over the other
    paragraph of its article that BM25 ranks closest to it and that holds none of its
    answers (compared case-insensitively), with no answer. Questions whose article has no
    such paragraph get none."""
    import bm25s

    from citeqa.index.lexicon import terms

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
    from citeqa.corpus.chunk import split_sentences

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


_NAME = re.compile(r"\b(?:[A-Z]\w*(?:-[A-Z]\w*)*(?:\s+[A-Z]\w*(?:-[A-Z]\w*)*)*|1\d{3}|20\d{2})\b")
"""A run of capitalised words (without a possessive's), or a year."""


def _names(question: str) -> list[re.Match[str]]:
    """The question's names and years, less its first word (capitalised as a sentence's)."""
    return [m for m in _NAME.finditer(question) if m.start() > 0]


def _shape(name: str) -> str:
    return "year" if name.isdigit() else f"{min(len(name.split()), 3)} words"


def swapped_name_pairs(
    questions: list[SquadQuestion], share: float, seed: int
) -> list[SquadQuestion]:
    """For a seeded ``share`` of the answerable questions that name something their
    paragraph mentions, the question with that name swapped for one of the same shape (a
    year, or as many words) that the paragraph never mentions, over the same paragraph,
    with no answer: "Who did Anwar Sadat succeed?" becomes "Who did Gamal Nasser
    succeed?". The new name comes from another question about the same article when one
    fits, so it is of the article's world, else from any article. These teach the null
    score that text on the question's topic, in its words, may still not be about what it
    asks, as in SQuAD v2.0's entity-swap questions."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"swap negatives share must be in [0, 1], got {share}")
    named: dict[tuple[str, str], list[str]] = defaultdict(list)  # (title, shape) -> names
    for q in questions:
        for name in sorted({m.group() for m in _names(q.question)}):
            named[q.title, _shape(name)].append(name)
    anywhere: dict[str, list[str]] = defaultdict(list)
    for (_, shape), names in sorted(named.items()):
        anywhere[shape] += names
    rng = random.Random(f"{seed}-swap")
    pairs = []
    for q in questions:
        if not q.answerable or rng.random() >= share:
            continue
        folded = q.context.casefold()
        mentioned = [m for m in _names(q.question) if m.group().casefold() in folded]
        if not mentioned:
            continue
        found = rng.choice(mentioned)
        shape = _shape(found.group())
        fits = sorted({n for n in named[q.title, shape] if n.casefold() not in folded})
        if not fits:
            draws = (rng.choice(anywhere[shape]) for _ in range(20))
            fits = [next((n for n in draws if n.casefold() not in folded), "")]
        if fits[0]:
            new = rng.choice(fits)
            question = q.question[: found.start()] + new + q.question[found.end() :]
            pairs.append(
                replace(q, id=f"{q.id}-swap", question=question, answers=(), answer_starts=())
            )
    return pairs


def carelessly(question: str, rng: random.Random, typo_rate: float = 0.1) -> str:
    """``question`` as typed in a hurry: its closing question mark dropped (or, where it had
    none, as search queries do not, added), and each word of four letters or more given a
    typo with ``typo_rate``: two letters swapped, one dropped, doubled or mistyped. The first
    and last letters stay, as they mostly do in real typos."""
    words = []
    for word in question.rstrip().rstrip("?").rstrip().split(" "):
        if len(word) >= 4 and word.isalpha() and rng.random() < typo_rate:
            i = rng.randrange(1, len(word) - 2)
            word = rng.choice(
                (
                    word[:i] + word[i + 1] + word[i] + word[i + 2 :],
                    word[:i] + word[i + 1 :],
                    word[:i] + word[i] + word[i:],
                    word[:i] + rng.choice(string.ascii_lowercase) + word[i + 1 :],
                )
            )
        words.append(word)
    typed = " ".join(words)
    return typed if question.rstrip().endswith("?") else typed + "?"


def carelessly_typed(
    questions: list[SquadQuestion], share: float, seed: int
) -> list[SquadQuestion]:
    """For a seeded ``share`` of the answerable questions, a copy as typed in a hurry
    (``carelessly``), with the same paragraph and answers. A reader trained on SQuAD alone
    reads its questions' question marks and spelling as cues: on validation, dropping the
    question mark cost 3.6 F1 points and typos in a fifth of the words 7.8 (MODEL_CARD.md)."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"typed share must be in [0, 1], got {share}")
    rng = random.Random(f"{seed}-typed")
    return [
        replace(q, id=f"{q.id}-typed", question=carelessly(q.question, rng))
        for q in questions
        if q.answerable and rng.random() < share
    ]


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
        feature = {
            "input_ids": enc["input_ids"][i],
            "start_positions": sorted(set(starts)) or [0],
            "end_positions": sorted(set(ends)) or [0],
        }
        if "token_type_ids" in enc:  # BERT's segments; MPNet and RoBERTa have none
            feature["token_type_ids"] = enc["token_type_ids"][i]
        features.append(feature)
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


def collate(batch: list[dict[str, list[int]]], pad_id: int) -> dict[str, Any]:
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
    out = {
        "input_ids": ids,
        "attention_mask": (ids != pad_id).long(),
        "start_targets": targets("start_positions"),
        "end_targets": targets("end_positions"),
    }
    if "token_type_ids" in batch[0]:
        out["token_type_ids"] = pad("token_type_ids", 0)
    return out


def training_questions(
    path: Path,
    train_titles: frozenset[str],
    val_titles: frozenset[str],
    seed: int,
    negatives: float,
    cut_negatives: float = 0.0,
    swap_negatives: float = 0.0,
    typed: float = 0.0,
) -> tuple[list[SquadQuestion], list[SquadQuestion], int]:
    """(training questions with their "no answer here" pairs and carelessly typed copies,
    validation questions, how many of the training questions are "no answer" pairs) of one
    SQuAD-format file, from the articles named."""
    _, train_qs = load_squad(path, articles=train_titles)
    _, val_qs = load_squad(path, articles=val_titles)
    pairs = no_answer_pairs(train_qs, negatives, seed)
    pairs += answer_cut_pairs(train_qs, cut_negatives, seed)
    pairs += swapped_name_pairs(train_qs, swap_negatives, seed)
    copies = carelessly_typed(train_qs, typed, seed)
    return train_qs + pairs + copies, val_qs, len(pairs)


def validation_negatives(
    questions: list[SquadQuestion], seed: int
) -> dict[str, list[SquadQuestion]]:
    """Every kind of "no answer here" pair, made from each held-out question."""
    return {
        "other paragraph": no_answer_pairs(questions, 1.0, seed),
        "answer cut out": answer_cut_pairs(questions, 1.0, seed),
        "name swapped": swapped_name_pairs(questions, 1.0, seed),
    }
