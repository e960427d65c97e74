"""Tiny random models of other architectures than the packaged BERT, made in seconds."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import SEEDS


def tiny_roberta(folder: Path) -> Path:
    """A 2-layer RoBERTa QA model in ``folder``, random, with a byte-level BPE tokenizer
    trained on the seeds: no token types, and offsets of its own kind."""
    import torch
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaConfig, RobertaForQuestionAnswering, RobertaTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    bpe = ByteLevelBPETokenizer()
    bpe.train(
        [str(p) for p in sorted(SEEDS.glob("*.txt"))],
        vocab_size=600,
        special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
    )
    bpe.save_model(str(folder))
    vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
    lines = (folder / "merges.txt").read_text(encoding="utf-8").splitlines()[1:]  # a header
    # transformers annotates merges as list[str], but the BPE model under it takes pairs
    pairs = [tuple(m.split()) for m in lines if m]
    tokenizer = RobertaTokenizerFast(vocab=vocab, merges=pairs)  # type: ignore[arg-type]
    torch.manual_seed(0)
    config = RobertaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=514,
        pad_token_id=tokenizer.pad_token_id,
    )
    RobertaForQuestionAnswering(config).save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder
