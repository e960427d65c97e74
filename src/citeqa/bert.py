"""A BERT encoder's forward pass for inference, over the model's own modules.

Both of citeqa's models are 6-layer MiniLM BERTs: the question encoder and the span reader.
On 2 cores a warm answer is mostly their passes, and a fixed share of each pass is not
arithmetic but transformers' per-module plumbing (kwargs, output containers, mask
preparation, a signature check per layer). This pass calls the same Linear, LayerNorm and
embedding modules in the same order, with the same weights and ``scaled_dot_product_attention``,
and returns the same hidden states (tests compare them with the transformers pass).
Anything it does not cover (another architecture, relative positions, another activation)
goes through the transformers pass instead, except citeqa's own MPNet reader, whose pass is
``mpnet.py``'s. ``bert_load.py`` loads the same modules from a model folder without
transformers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F


def supports(bert: Any) -> bool:
    """Whether ``bert`` (a ``BertModel``, or ``bert_load``'s, which is only ever a plain
    one) is the plain encoder this pass reproduces."""
    from citeqa.bert_load import BertEncoder

    if isinstance(bert, BertEncoder):
        return True
    config = bert.config
    return (
        type(bert).__name__ == "BertModel"
        and config.hidden_act == "gelu"
        and getattr(config, "position_embedding_type", "absolute") == "absolute"
        and not config.is_decoder
    )


def hidden_states(bert: Any, enc: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """The last hidden states, (batch, tokens, hidden), of a tokenizer's batch ``enc``, in
    inference mode (no dropout)."""
    if not supports(bert):
        return bert(**enc).last_hidden_state  # type: ignore[no-any-return]
    input_ids = enc["input_ids"]
    tokens = input_ids.shape[1]
    token_types = enc.get("token_type_ids")
    emb = bert.embeddings
    x = emb.word_embeddings(input_ids) + emb.position_embeddings.weight[:tokens]
    x = x + emb.token_type_embeddings(
        torch.zeros_like(input_ids) if token_types is None else token_types
    )
    x = emb.LayerNorm(x)
    mask = enc.get("attention_mask")
    keep = None if mask is None else mask[:, None, None, :].bool()  # attend to real tokens
    heads = bert.config.num_attention_heads
    for layer in bert.encoder.layer:
        attn = layer.attention.self
        context = attend(x, (attn.query, attn.key, attn.value), heads, keep)
        x = layer.attention.output.LayerNorm(layer.attention.output.dense(context) + x)
        x = feed_forward(layer, x)
    return x  # type: ignore[no-any-return]  # the modules are untyped (Any)


def attend(
    x: torch.Tensor, projections: tuple[Any, Any, Any], heads: int, mask: torch.Tensor | None
) -> torch.Tensor:
    """Multi-head attention over ``x`` (batch, tokens, hidden) through its query, key and
    value ``projections``, ``mask`` given to SDPA as it is (boolean, or additive in q's
    dtype); the heads' contexts side by side, (batch, tokens, hidden). BERT's and MPNet's
    layers (``mpnet.py``) both attend so."""
    batch, tokens, _ = x.shape
    q, k, v = (proj(x).view(batch, tokens, heads, -1).transpose(1, 2) for proj in projections)
    context = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    return context.transpose(1, 2).reshape(batch, tokens, -1)


def feed_forward(layer: Any, x: torch.Tensor) -> torch.Tensor:
    """A BERT or MPNet layer's feed-forward block and its residual LayerNorm."""
    inner = F.gelu(layer.intermediate.dense(x))
    return layer.output.LayerNorm(layer.output.dense(inner) + x)  # type: ignore[no-any-return]


def span_logits(model: Any, enc: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """A question-answering model's start and end logits, (batch, tokens) each."""
    from citeqa import mpnet

    if isinstance(model, mpnet.MPNetQA):
        return mpnet.span_logits(model, enc)
    bert = getattr(model, "bert", None)
    if bert is None or not supports(bert):
        out = model(**enc)
        return out.start_logits, out.end_logits
    logits = model.qa_outputs(hidden_states(bert, enc))
    return logits[..., 0], logits[..., 1]
