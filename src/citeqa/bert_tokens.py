"""A model folder's ``tokenizer.json``, called the way transformers' fast tokenizer calls it.

transformers' fast tokenizers are the ``tokenizers`` library underneath: a call with
truncation, a stride or padding sets those on the Rust tokenizer, encodes the batch, and
flattens each text's overflowing windows after it. These do the same, without importing
transformers (``bert_load.py`` says why); tests compare ids, token types, offsets and
sequence ids with transformers' for the shipped models.

A ``tokenizers.Tokenizer`` is not re-entrant, and each call here sets its truncation and
padding: callers keep one thread per tokenizer, or a lock.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch


@dataclass(frozen=True)
class Windows:
    """A batch of (first, second) text pairs as model inputs, one row per window."""

    inputs: dict[str, torch.Tensor]
    """``input_ids``, ``token_type_ids`` and ``attention_mask``, (windows, tokens)."""
    offsets: list[list[list[int]]]
    """Each token's character offsets into its own text (the question's or the passage's)."""
    owners: list[int]
    """The pair each window came from."""
    sequence_ids: list[list[int | None]]
    """Each token's sequence: 0 the first text, 1 the second, None a special token."""


class BertTokens:
    """Encodes texts and text pairs from a folder's ``tokenizer.json``."""

    def __init__(self, folder: Path) -> None:
        from tokenizers import Tokenizer

        self._tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
        config_file = folder / "tokenizer_config.json"
        config = json.loads(config_file.read_text(encoding="utf-8")) if config_file.exists() else {}
        pad = str(config.get("pad_token", "[PAD]"))
        pad_id = self._tok.token_to_id(pad)
        if pad_id is None:
            raise ValueError(f"the tokenizer in {folder} has no pad token {pad!r}")
        self._padding: dict[str, Any] = {
            "direction": str(config.get("padding_side", "right")),
            "pad_id": pad_id,
            "pad_type_id": int(config.get("pad_token_type_id", 0)),
            "pad_token": pad,
        }

    def offsets(self, text: str, max_tokens: int | None = None) -> list[tuple[int, int]]:
        """The character offsets of ``text``'s tokens (its first ``max_tokens``), without
        special tokens."""
        tok = self._tok
        tok.no_padding()
        if max_tokens is None:
            tok.no_truncation()
        else:
            tok.enable_truncation(max_tokens, stride=0, strategy="longest_first")
        return tok.encode(text, add_special_tokens=False).offsets

    def texts(self, texts: list[str], max_length: int) -> dict[str, torch.Tensor]:
        """Single texts, cut at ``max_length`` tokens (special tokens included) and padded
        to the longest, as model inputs."""
        tok = self._tok
        tok.enable_truncation(max_length, stride=0, strategy="longest_first")
        tok.enable_padding(**self._padding)
        return _inputs(tok.encode_batch(texts))

    def windows(self, pairs: list[tuple[str, str]], *, max_length: int, stride: int) -> Windows:
        """(first, second) pairs with the second cut into windows of ``max_length`` tokens
        that overlap by ``stride``, every window padded to the longest."""
        tok = self._tok
        tok.enable_truncation(max_length, stride=stride, strategy="only_second")
        tok.enable_padding(**self._padding)
        flat, owners = [], []
        for owner, encoding in enumerate(tok.encode_batch(pairs)):
            for window in (encoding, *encoding.overflowing):
                flat.append(window)
                owners.append(owner)
        return Windows(
            inputs=_inputs(flat),
            offsets=[[list(o) for o in w.offsets] for w in flat],
            owners=owners,
            sequence_ids=[w.sequence_ids for w in flat],
        )


def _inputs(encodings: list[Any]) -> dict[str, torch.Tensor]:
    return {
        "input_ids": torch.tensor([e.ids for e in encodings], dtype=torch.long),
        "token_type_ids": torch.tensor([e.type_ids for e in encodings], dtype=torch.long),
        "attention_mask": torch.tensor([e.attention_mask for e in encodings], dtype=torch.long),
    }
