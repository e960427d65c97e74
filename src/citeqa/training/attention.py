"""Eager attention for training, with a padding mask that stays in bf16.

When any window of a batch is padded, transformers hands eager BERT attention a
(batch, 1, tokens, tokens) fp32 additive mask. Added to the bf16 attention scores, it
promotes them to a (batch, heads, tokens, tokens) fp32 tensor, and the softmax and its
backward run on that (MODEL_CARD.md). A padding mask is the same for every query, so one
additive row per window, in the scores' dtype, says the same.
"""

from __future__ import annotations

from typing import Any

NAME = "citeqa_eager"
"""The ``attn_implementation`` to train with, once ``register`` has run."""

_MASKED = -1e4
"""Far enough below any score that its softmax weight is 0, and finite in bf16."""


def register() -> None:
    """Make ``NAME`` an attention implementation transformers knows (idempotent). Its
    padding mask is SDPA's kind, boolean (True: attend), or none when nothing is padded;
    an implementation with no mask function registered would get no mask at all."""
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(NAME, attention)
    AttentionMaskInterface.register(NAME, sdpa_mask)


def attention(
    module: Any, query: Any, key: Any, value: Any, attention_mask: Any, **kwargs: Any
) -> Any:
    """transformers' eager BERT attention, its boolean padding mask made one additive row
    per window in the dtype of ``query``."""
    import torch
    from transformers.models.bert.modeling_bert import eager_attention_forward

    if attention_mask is not None:
        keep = attention_mask[:, :, :1, :]
        attention_mask = torch.zeros(keep.shape, dtype=query.dtype).masked_fill_(~keep, _MASKED)
    return eager_attention_forward(module, query, key, value, attention_mask, **kwargs)
