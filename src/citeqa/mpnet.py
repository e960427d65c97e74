"""MPNet span readers (``MPNetForQuestionAnswering``) loaded and run without transformers.

The base-size reader is all-mpnet-base-v2 with a start/end head. As with the BERTs
(``bert_load.py``, ``bert.py``), the modules here carry transformers' names, so a saved
reader loads by its own keys, and the pass calls the same Linear, LayerNorm and embedding
modules in the same order with ``scaled_dot_product_attention``; tests compare its logits
with transformers'. What MPNet adds to a BERT: positions counted past the padding token
(RoBERTa's way), no token types, and a relative position bias per head, the same for every
layer, which is computed once per pass and handed to attention together with the padding
mask.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import torch
from torch import nn

from citeqa.bert import attend, feed_forward
from citeqa.bert_load import _UNUSED, _Dense, _Embedding, _Linear

# transformers' MPNet counts positions past token 1 whatever the config names, and buckets
# relative positions into 32 (the sign, then 8 exact distances and 8 log-spaced up to 128)
# whatever its bias table holds: readers that differ are left to transformers.
_PAD = 1
_BUCKETS = 32
_MAX_DISTANCE = 128


@dataclass(frozen=True)
class MPNetConfig:
    """The part of an MPNet ``config.json`` that the pass uses."""

    model_type: str
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    vocab_size: int
    max_position_embeddings: int
    layer_norm_eps: float
    hidden_act: str
    relative_attention_num_buckets: int
    pad_token_id: int

    @classmethod
    def read(cls, folder: Path) -> MPNetConfig | None:
        """The folder's config, or None when it is not an MPNet that this pass reproduces."""
        return cls.from_dict(json.loads((folder / "config.json").read_text(encoding="utf-8")))

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> MPNetConfig | None:
        names = {f.name for f in fields(cls)}
        if not names <= raw.keys():
            return None
        config = cls(**{k: v for k, v in raw.items() if k in names})
        plain = (
            config.model_type == "mpnet"
            and config.hidden_act == "gelu"
            and config.relative_attention_num_buckets == _BUCKETS
            and config.pad_token_id == _PAD
        )
        return config if plain else None


class _Embeddings(nn.Module):
    def __init__(self, c: MPNetConfig) -> None:
        super().__init__()
        self.word_embeddings = _Embedding(c.vocab_size, c.hidden_size)
        self.position_embeddings = _Embedding(c.max_position_embeddings, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)


class _SelfAttention(nn.Module):
    def __init__(self, c: MPNetConfig) -> None:
        super().__init__()
        self.q = _Linear(c.hidden_size, c.hidden_size)
        self.k = _Linear(c.hidden_size, c.hidden_size)
        self.v = _Linear(c.hidden_size, c.hidden_size)
        self.o = _Linear(c.hidden_size, c.hidden_size)


class _Attention(nn.Module):
    def __init__(self, c: MPNetConfig) -> None:
        super().__init__()
        self.attn = _SelfAttention(c)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)


class _Layer(nn.Module):
    def __init__(self, c: MPNetConfig) -> None:
        super().__init__()
        self.attention = _Attention(c)
        self.intermediate = _Dense(c.hidden_size, c.intermediate_size, None)
        self.output = _Dense(c.intermediate_size, c.hidden_size, c.layer_norm_eps)


class _Layers(nn.Module):
    def __init__(self, c: MPNetConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList(_Layer(c) for _ in range(c.num_hidden_layers))
        self.relative_attention_bias = _Embedding(
            c.relative_attention_num_buckets, c.num_attention_heads
        )


class _Encoder(nn.Module):
    def __init__(self, config: MPNetConfig) -> None:
        super().__init__()
        self.embeddings = _Embeddings(config)
        self.encoder = _Layers(config)


class MPNetQA(nn.Module):
    """``MPNetForQuestionAnswering``'s modules: the encoder and a start/end head."""

    def __init__(self, config: MPNetConfig) -> None:
        super().__init__()
        self.config = config
        self.mpnet = _Encoder(config)
        self.qa_outputs = _Linear(config.hidden_size, 2)


def from_weights(model: MPNetQA, weights: Mapping[str, torch.Tensor]) -> MPNetQA:
    """``model`` filled with ``weights`` (transformers' keys), in fp32 and eval mode; a
    missing or unexpected key raises."""
    kept = {
        key: value.float()  # a reader may ship fp16; it runs in fp32 (or bf16 Linears)
        for key, value in weights.items()
        if not key.removeprefix("mpnet.").startswith(_UNUSED)
    }
    model.load_state_dict(kept, strict=True, assign=True)
    return model.eval().requires_grad_(False)


def load_qa(folder: Path) -> MPNetQA | None:
    """The question-answering MPNet in ``folder`` (``mpnet.`` keys and ``qa_outputs``), or
    None when the folder's model is not one that this pass reproduces."""
    config = MPNetConfig.read(folder)
    if config is None:
        return None
    from safetensors.torch import load_file

    return from_weights(MPNetQA(config), load_file(folder / "model.safetensors"))


def span_logits(model: Any, enc: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """An ``MPNetQA``'s start and end logits, (batch, tokens) each, in inference mode (no
    dropout); token types, if ``enc`` has them, are not read."""
    input_ids = enc["input_ids"]
    tokens = input_ids.shape[1]
    mpnet = model.mpnet
    emb = mpnet.embeddings
    real = input_ids.ne(_PAD)
    positions = torch.cumsum(real, dim=1) * real + _PAD  # padding keeps position _PAD
    x = emb.LayerNorm(emb.word_embeddings(input_ids) + emb.position_embeddings(positions))
    mask = _attention_bias(mpnet.encoder.relative_attention_bias.weight, tokens)
    keep = enc.get("attention_mask")
    if keep is not None:  # (1, heads, t, t) + (batch, 1, 1, t): no attention to padding
        mask = mask.masked_fill(~keep[:, None, None, :].bool(), -math.inf)
    # SDPA wants an additive mask in q's dtype: bf16 under autocast (citeqa's bf16 reading),
    # else the Linears' own. Cast once here rather than in every layer.
    autocast = torch.is_autocast_enabled("cpu")
    mask = mask.to(torch.get_autocast_dtype("cpu") if autocast else x.dtype)
    heads = model.config.num_attention_heads
    for layer in mpnet.encoder.layer:
        attn = layer.attention.attn
        context = attend(x, (attn.q, attn.k, attn.v), heads, mask)
        x = layer.attention.LayerNorm(attn.o(context) + x)
        x = feed_forward(layer, x)
    logits = model.qa_outputs(x)
    return logits[..., 0], logits[..., 1]


def _attention_bias(table: torch.Tensor, tokens: int) -> torch.Tensor:
    """Each head's bias for query i attending to key j, (1, heads, tokens, tokens), looked up
    in ``table`` by the bucket of i - j (transformers' ``relative_position_bucket``)."""
    position = torch.arange(tokens, device=table.device)
    distance = position[:, None] - position[None, :]
    half = _BUCKETS // 2  # one half for keys before the query, one for keys after
    exact = half // 2
    near = distance.abs()
    # clamped so that log sees no 0: distances under ``exact`` take their own bucket anyway
    scale = (half - exact) / math.log(_MAX_DISTANCE / exact)
    far = exact + (torch.log(near.clamp(min=1).float() / exact) * scale).long()
    bucket = (distance < 0).long() * half + torch.where(near < exact, near, far.clamp(max=half - 1))
    return table[bucket].permute(2, 0, 1).unsqueeze(0)
