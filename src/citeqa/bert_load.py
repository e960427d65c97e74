"""BERT models and their tokenizers loaded from a model folder without transformers.

Importing transformers costs about 1.3 s on 2 cores, and sentence-transformers another
4.5 s on top, before a single weight is read; a ``citeqa ask`` process spent most of its
life there. Both of citeqa's models are plain BERTs whose inference pass is citeqa's own
(``bert.py``), so all they need from a folder is ``config.json``, ``model.safetensors``
(read by ``safetensors``) and ``tokenizer.json`` (read by ``tokenizers``, the library
transformers' fast tokenizers call). The modules here carry transformers' names, so the
weights load by their own keys, and tests compare the vectors, logits and encodings with
transformers' and sentence-transformers' own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TypeVar

from torch import nn

_Model = TypeVar("_Model", bound=nn.Module)

# In a checkpoint, not the model: a buffer of 0..511 and a head that neither model uses.
_UNUSED = ("embeddings.position_ids", "pooler.")


@dataclass(frozen=True)
class BertConfig:
    """The part of a BERT ``config.json`` that the pass uses."""

    model_type: str
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    vocab_size: int
    max_position_embeddings: int
    type_vocab_size: int
    layer_norm_eps: float
    hidden_act: str
    position_embedding_type: str = "absolute"
    is_decoder: bool = False

    @classmethod
    def read(cls, folder: Path) -> BertConfig | None:
        """The folder's config, or None when it is not a plain BERT that ``bert.py``
        reproduces (another architecture, activation or kind of position)."""
        raw = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        names = {f.name for f in fields(cls)}
        if not names - {"position_embedding_type", "is_decoder"} <= raw.keys():
            return None
        config = cls(**{k: v for k, v in raw.items() if k in names})
        plain = (
            config.model_type == "bert"
            and config.hidden_act == "gelu"
            and config.position_embedding_type == "absolute"
            and not config.is_decoder
        )
        return config if plain else None


class _Linear(nn.Linear):
    def reset_parameters(self) -> None:
        """Nothing: every weight is loaded. A random start took 0.3 s of a 2-core load, and
        building on torch's meta device instead imports torch._dynamo (2 s)."""


class _Embedding(nn.Embedding):
    def reset_parameters(self) -> None:
        """Nothing, as ``_Linear``."""


class _Embeddings(nn.Module):
    def __init__(self, c: BertConfig) -> None:
        super().__init__()
        self.word_embeddings = _Embedding(c.vocab_size, c.hidden_size)
        self.position_embeddings = _Embedding(c.max_position_embeddings, c.hidden_size)
        self.token_type_embeddings = _Embedding(c.type_vocab_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)


class _Dense(nn.Module):
    """A Linear with a LayerNorm after it (attention output, layer output) or without one."""

    def __init__(self, n_in: int, n_out: int, eps: float | None) -> None:
        super().__init__()
        self.dense = _Linear(n_in, n_out)
        if eps is not None:
            self.LayerNorm = nn.LayerNorm(n_out, eps=eps)


class _SelfAttention(nn.Module):
    def __init__(self, c: BertConfig) -> None:
        super().__init__()
        self.query = _Linear(c.hidden_size, c.hidden_size)
        self.key = _Linear(c.hidden_size, c.hidden_size)
        self.value = _Linear(c.hidden_size, c.hidden_size)


class _Attention(nn.Module):
    def __init__(self, c: BertConfig) -> None:
        super().__init__()
        self.self = _SelfAttention(c)
        self.output = _Dense(c.hidden_size, c.hidden_size, c.layer_norm_eps)


class _Layer(nn.Module):
    def __init__(self, c: BertConfig) -> None:
        super().__init__()
        self.attention = _Attention(c)
        self.intermediate = _Dense(c.hidden_size, c.intermediate_size, None)
        self.output = _Dense(c.intermediate_size, c.hidden_size, c.layer_norm_eps)


class _Layers(nn.Module):
    def __init__(self, c: BertConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList(_Layer(c) for _ in range(c.num_hidden_layers))


class BertEncoder(nn.Module):
    """A BERT's modules under transformers' names; ``bert.hidden_states`` runs them."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.config = config
        self.embeddings = _Embeddings(config)
        self.encoder = _Layers(config)


class BertQA(nn.Module):
    """``BertForQuestionAnswering``'s modules: the encoder and a start/end head."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.config = config
        self.bert = BertEncoder(config)
        self.qa_outputs = _Linear(config.hidden_size, 2)


def load_encoder(folder: Path) -> BertEncoder | None:
    """A sentence encoder's BERT (keys without a prefix), in fp32; None when the folder's
    model is not a plain BERT."""
    config = BertConfig.read(folder)
    if config is None:
        return None
    return _loaded(BertEncoder(config), folder)


def load_qa(folder: Path) -> BertQA | None:
    """A question-answering BERT (``bert.`` keys and ``qa_outputs``), in fp32; None when
    the folder's model is not a plain BERT."""
    config = BertConfig.read(folder)
    if config is None:
        return None
    return _loaded(BertQA(config), folder)


def _loaded(model: _Model, folder: Path) -> _Model:
    from safetensors.torch import load_file

    weights = {
        key: value.float()  # the reader ships fp16; both run in fp32 (or bf16 Linears)
        for key, value in load_file(folder / "model.safetensors").items()
        if not key.removeprefix("bert.").startswith(_UNUSED)
    }
    model.load_state_dict(weights, strict=True, assign=True)
    model.eval().requires_grad_(False)
    return model
