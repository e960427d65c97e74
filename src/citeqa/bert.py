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
    batch, tokens = input_ids.shape
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
        q, k, v = (
            proj(x).view(batch, tokens, heads, -1).transpose(1, 2)
            for proj in (attn.query, attn.key, attn.value)
        )
        context = F.scaled_dot_product_attention(q, k, v, attn_mask=keep)
        context = context.transpose(1, 2).reshape(batch, tokens, -1)
        x = layer.attention.output.LayerNorm(layer.attention.output.dense(context) + x)
        inner = F.gelu(layer.intermediate.dense(x))
        x = layer.output.LayerNorm(layer.output.dense(inner) + x)
    return x  # type: ignore[no-any-return]  # the modules are untyped (Any)


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
