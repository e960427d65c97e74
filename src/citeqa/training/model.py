"""The model a training run starts from and what it saves: a base encoder (``bases``), a
saved reader or a LoRA reader's adapters (its own base under them), with a span head,
optionally LoRA adapters; saved in fp16 for any loader."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from citeqa.errors import CiteQAError
from citeqa.training.config import TrainConfig

if TYPE_CHECKING:
    from citeqa.answer.adapter import AdapterConfig


def base_model(config: TrainConfig) -> tuple[Any, Any]:
    import torch
    from transformers import AutoConfig, AutoModelForQuestionAnswering, AutoTokenizer

    from citeqa.answer import adapter
    from citeqa.bases import base_path
    from citeqa.training import attention
    from citeqa.training.dropout import use_fast_dropout

    adapters = init_adapters(config)
    if adapters is not None:  # a LoRA reader (the shipped large one): its adapters train on
        base = adapter.base_folder(adapters)
    else:
        base = Path(config.init) if config.init else base_path(config.base)
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    extra: dict[str, Any] = {}
    if AutoConfig.from_pretrained(str(base)).model_type == "bert":
        # Eager attention, its padding mask kept in bf16 (``attention``): on 2 cores under
        # bf16 autocast, SDPA's costs about as much as the rest of a step. (MPNet's
        # attention, with its relative position bias, is its own.)
        attention.register()
        extra["attn_implementation"] = attention.NAME
    # fp32 whatever the saved dtype: the shipped readers are stored in fp16. Hidden
    # dropout draws its masks with NumPy (``dropout``), a third of torch's cost.
    model = AutoModelForQuestionAnswering.from_pretrained(
        str(base),
        dtype=torch.float32,
        hidden_dropout_prob=config.dropout,
        attention_probs_dropout_prob=(
            config.dropout if config.attention_dropout is None else config.attention_dropout
        ),
        **extra,
    )
    use_fast_dropout(model)
    if adapters is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(config.init), is_trainable=True)
    elif config.lora_rank:
        model = with_lora(model, config.lora_rank)
    return model, tokenizer


def init_adapters(config: TrainConfig) -> AdapterConfig | None:
    """The config of ``config.init`` when that is a LoRA reader's adapters, checked against
    the run's rank (before minutes of data preparation: ``loop.train`` asks first); else
    None."""
    from citeqa.answer import adapter

    init = Path(config.init) if config.init else None
    if init is None or not adapter.is_adapter(init):
        return None
    adapters = adapter.AdapterConfig.read(init)
    if config.lora_rank != adapters.rank:
        raise CiteQAError(
            f"{init} holds rank-{adapters.rank} LoRA adapters; continue them with"
            f" --lora-rank {adapters.rank}"
        )
    return adapters


LORA_TARGETS = ("query", "key", "value", "q", "k", "v", "o", "dense")
"""Every linear layer of a BERT or MPNet encoder (attention and feed-forward), by name."""


def with_lora(model: Any, rank: int) -> Any:
    """``model`` with its encoder frozen and LoRA adapters (alpha twice the rank) on every
    linear layer; the span head trains whole."""
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=rank,
        lora_alpha=2 * rank,
        lora_dropout=0.0,
        target_modules=[t for t in LORA_TARGETS if has_linear(model, t)],
        modules_to_save=["qa_outputs"],
    )
    return get_peft_model(model, config)


def has_linear(model: Any, name: str) -> bool:
    import torch

    return any(
        n.rsplit(".", 1)[-1] == name and isinstance(m, torch.nn.Linear)
        for n, m in model.named_modules()
        if "qa_outputs" not in n
    )


def export(
    model: Any, tokenizer: Any, dest: Path, config: TrainConfig, metrics: dict[str, Any]
) -> None:
    """fp16 safetensors (half the size, same answers to within rounding) and the tokenizer.
    A LoRA reader is saved whole, its adapters merged, and its adapters and head alone
    under ``adapter/``: what a reader ships."""
    import copy

    dest.mkdir(parents=True, exist_ok=True)
    recipe = {"config": _shipped_recipe(config), "validation": metrics}
    training = json.dumps(recipe, indent=2) + "\n"
    if config.lora_rank:
        _save_adapter(model, dest / "adapter", config)
        (dest / "adapter" / "training.json").write_text(training)
        copy.deepcopy(model).merge_and_unload().half().save_pretrained(
            dest, safe_serialization=True
        )
    else:
        copy.deepcopy(model).half().save_pretrained(dest, safe_serialization=True)
    tokenizer.save_pretrained(dest)
    (dest / "training.json").write_text(training)


def _shipped_recipe(config: TrainConfig) -> dict[str, Any]:
    """The recipe as ``training.json`` ships it: its files and folders named, not placed
    where they lay on the machine that trained (the last two parts of a path)."""
    recipe = asdict(config)
    for key in ("squad", "out", "init"):
        recipe[key] = _last_parts(recipe[key])
    recipe["extra"] = [_last_parts(e) for e in config.extra]
    return recipe


def _last_parts(path: str) -> str:
    return "/".join(Path(path).parts[-2:]) if path else ""


def _save_adapter(model: Any, dest: Path, config: TrainConfig) -> None:
    """PEFT's adapter folder, in fp16, naming as its base what ``answer/adapter.py``
    finds again on another machine: the base's hub id when citeqa assembles it, else the
    folder it was trained from; adapters trained on from ``init`` keep the base it named."""
    from safetensors.torch import load_file, save_file

    from citeqa.answer import adapter
    from citeqa.bases import MPNET

    model.save_pretrained(dest, safe_serialization=True)
    weights = load_file(dest / adapter.WEIGHTS)
    save_file({k: v.half().contiguous() for k, v in weights.items()}, dest / adapter.WEIGHTS)
    settings = json.loads((dest / adapter.CONFIG).read_text(encoding="utf-8"))
    if config.base == "mpnet" and not config.init:
        settings["base_model_name_or_path"] = MPNET.hub_id
    (dest / adapter.CONFIG).write_text(json.dumps(settings, indent=2) + "\n")
    (dest / "README.md").unlink(missing_ok=True)  # PEFT's blank model card
