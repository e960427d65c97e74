"""citeqa's own BERT pass must give what the transformers pass gives, padding included."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from transformers import (
    AutoModelForQuestionAnswering,
    AutoTokenizer,
    BertConfig,
    BertForQuestionAnswering,
)

from citeqa.answer.reader_model import MODEL_DIR
from citeqa.bert import span_logits, supports

from conftest import REPO

TEXTS = (
    ("How much?", "Alibaba is investing US$640 million over five years."),
    ("Who?", "Youku will work with TVB."),
    ("Which studios will Youku work with?", "TVB, Shaw Brothers Pictures, and Media Asia."),
)


def _tiny(**overrides: Any) -> BertForQuestionAnswering:
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=120,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=64,
        **overrides,
    )
    model = BertForQuestionAnswering(config)
    model.eval()  # type: ignore[no-untyped-call]  # transformers leaves eval() unannotated
    return model


def _batch() -> dict[str, torch.Tensor]:
    """Three windows of different lengths, padded to the longest, with token types."""
    torch.manual_seed(1)
    lengths = (17, 9, 30)
    ids = torch.zeros(3, 30, dtype=torch.long)
    types = torch.zeros(3, 30, dtype=torch.long)
    mask = torch.zeros(3, 30, dtype=torch.long)
    for row, n in enumerate(lengths):
        ids[row, :n] = torch.randint(1, 120, (n,))
        types[row, n // 2 : n] = 1
        mask[row, :n] = 1
    return {"input_ids": ids, "token_type_ids": types, "attention_mask": mask}


def _reference(model: Any, enc: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    out = model(**enc)
    return out.start_logits, out.end_logits


def _assert_same_on_real_tokens(
    model: Any, enc: dict[str, torch.Tensor], atol: float = 1e-5
) -> None:
    real = enc["attention_mask"].bool()
    with torch.inference_mode():
        ours, theirs = span_logits(model, enc), _reference(model, enc)
    for a, b in zip(ours, theirs, strict=True):
        assert a.shape == b.shape
        torch.testing.assert_close(a.float()[real], b.float()[real], atol=atol, rtol=0)


def test_the_pass_matches_transformers_on_a_padded_batch() -> None:
    model = _tiny()
    assert supports(model.bert)
    _assert_same_on_real_tokens(model, _batch())


def test_without_token_types_they_default_to_the_first_segment() -> None:
    model = _tiny()
    enc = _batch()
    enc.pop("token_type_ids")
    _assert_same_on_real_tokens(model, enc)


def test_an_encoder_it_does_not_reproduce_goes_through_transformers() -> None:
    model = _tiny(hidden_act="relu")
    assert not supports(model.bert)
    _assert_same_on_real_tokens(model, _batch())


@pytest.mark.model
@pytest.mark.slow
def test_the_shipped_reader_in_bf16_gives_the_same_logits() -> None:
    """As ``SpanReader`` runs it: Linear weights in bf16, the pass under autocast."""
    model = AutoModelForQuestionAnswering.from_pretrained(str(MODEL_DIR), dtype=torch.float32)
    model = model.eval()
    for layer in model.modules():
        if isinstance(layer, torch.nn.Linear):
            layer.to(torch.bfloat16)
    tokenizer = AutoTokenizer.from_pretrained(str(MODEL_DIR))
    seed = (REPO / "seeds" / "002_424a6c7695f088a1.txt").read_text(encoding="utf-8")
    questions = [q for q, _ in TEXTS]
    enc = dict(
        tokenizer(
            questions, [t for _, t in TEXTS[:2]] + [seed[:900]], padding=True, return_tensors="pt"
        )
    )
    assert len(set(enc["attention_mask"].sum(dim=1).tolist())) == 3  # padding in play
    with torch.autocast("cpu", dtype=torch.bfloat16):
        _assert_same_on_real_tokens(model, enc, atol=1e-2)
