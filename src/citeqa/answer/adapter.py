"""A reader shipped as LoRA adapters and a span head over a base encoder installed apart.

A LoRA reader (``citeqa train-reader --lora-rank``) differs from its base in a few MB: a
low-rank update ``B @ A`` to each linear layer and a new span head. That is all citeqa
ships of it; the base (all-mpnet-base-v2, 438 MB) comes from its own packages
(``bases.py``). The folder is a PEFT adapter folder (``adapter_config.json`` and
``adapter_model.safetensors``), so PEFT loads it too; citeqa merges it into the base's
weights itself, without PEFT, into the key names of transformers' question-answering
model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from citeqa.errors import CiteQAError

CONFIG = "adapter_config.json"
WEIGHTS = "adapter_model.safetensors"
_PREFIX = "base_model.model."  # PEFT's wrapping of the task model, in every saved key


def is_adapter(folder: Path) -> bool:
    return (folder / CONFIG).is_file() and (folder / WEIGHTS).is_file()


@dataclass(frozen=True)
class AdapterConfig:
    base: str
    """The base encoder: a name ``bases.py`` assembles (its hub id), or a local folder."""
    rank: int
    alpha: float

    @classmethod
    def read(cls, folder: Path) -> AdapterConfig:
        raw = json.loads((folder / CONFIG).read_text(encoding="utf-8"))
        if raw.get("peft_type") != "LORA" or raw.get("use_dora") or raw.get("use_rslora"):
            raise CiteQAError(f"{folder / CONFIG} is not a plain LoRA adapter")
        return cls(str(raw["base_model_name_or_path"]), int(raw["r"]), float(raw["lora_alpha"]))


def base_folder(config: AdapterConfig) -> Path:
    """The base's model folder: assembled from its packages when citeqa knows it by name
    (``bases.py``), else the local folder the adapter names."""
    from citeqa.bases import BaseModelError, by_hub_id

    split = by_hub_id(config.base)
    if split is not None:
        from citeqa.bases import assemble

        return assemble(split)
    folder = Path(config.base)
    if not (folder / "model.safetensors").is_file():
        raise BaseModelError(
            f"the adapter's base {config.base!r} is neither a base citeqa installs nor a"
            " model folder here"
        )
    return folder


def merged_weights(folder: Path, base: Path, keys: set[str], prefix: str) -> dict[str, Any]:
    """The weights, fp32, under ``keys`` (the question-answering model's): the base's,
    found under their own name or under ``prefix`` (``mpnet.``, for an encoder saved
    alone), with each adapted layer's ``W + (alpha / rank) * B @ A``, and the adapter's
    span head. Whatever else the base's file holds (a pooler, a language-model head) is
    left out."""
    from safetensors.torch import load_file

    config = AdapterConfig.read(folder)
    weights = {}
    for key, value in load_file(base / "model.safetensors").items():
        name = key if key in keys else prefix + key
        if name in keys:
            weights[name] = value.float()
    adapter = {k.removeprefix(_PREFIX): v.float() for k, v in load_file(folder / WEIGHTS).items()}
    scale = config.alpha / config.rank
    merged = 0
    for key, a in adapter.items():
        if not key.endswith(".lora_A.weight"):
            continue
        layer = key.removesuffix(".lora_A.weight")
        target = f"{layer}.weight"
        if target not in weights:
            raise CiteQAError(f"the adapter in {folder} adapts {layer}, which its base lacks")
        weights[target] = weights[target] + scale * (adapter[f"{layer}.lora_B.weight"] @ a)
        merged += 1
    if not merged:
        raise CiteQAError(f"the adapter in {folder} holds no LoRA weights")
    for key, value in adapter.items():  # the span head, trained whole
        if ".lora_" not in key:
            weights[key] = value
    return weights
