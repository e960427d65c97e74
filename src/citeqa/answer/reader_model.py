"""A span reader's model folder: its weights, tokenizer and fitted abstention, loaded for
any extractive-QA architecture.

A plain BERT (the packaged reader) or an MPNet loads through citeqa's own modules
(``bert_load``, ``mpnet``), with no transformers import; any other architecture (RoBERTa,
DeBERTa) through transformers. Both read the folder's ``tokenizer.json`` the way transformers' fast
tokenizer does (``bert_tokens``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from citeqa.answer import adapter
from citeqa.answer.abstain import Calibration
from citeqa.errors import CiteQAError

MODEL_DIR = Path(__file__).resolve().parents[1] / "models" / "reader"
LARGE_DIR = MODEL_DIR.with_name("reader-large")
"""LoRA adapters and a span head over all-mpnet-base-v2, installed apart (``bases.py``)."""
CALIBRATION = "abstention.json"


def model_available(path: Path = MODEL_DIR) -> bool:
    """Whether ``path`` holds a reader: a whole model, or LoRA adapters over a base
    (``adapter.py``), which may still have to be assembled."""
    whole = (path / "model.safetensors").exists() and (path / "tokenizer.json").exists()
    return whole or adapter.is_adapter(path)


def base_missing(folder: Path) -> str:
    """What keeps the adapters in ``folder`` from their base, with the command that
    installs it ("" when nothing does, or the folder holds a whole model)."""
    from citeqa.bases import by_hub_id, installed

    if not adapter.is_adapter(folder):
        return ""
    split = by_hub_id(adapter.AdapterConfig.read(folder).base)
    if split is None or installed(split):
        return ""
    return f"the large reader's base {split.name} is not installed ({split.install_command()})"


def fitted_calibration(folder: Path, calibration: Calibration | None = None) -> Calibration:
    """``calibration``, else the abstention fitted beside the reader in ``folder``."""
    if calibration is not None:
        return calibration
    fitted = folder / CALIBRATION
    if not fitted.exists():
        raise CiteQAError(
            f"the reader at {folder} has no fitted abstention ({CALIBRATION});"
            f" fit one with: citeqa fit-abstention --reader-model {folder}"
            f" --out {folder} --squad SQUAD-TRAIN.json --qa-set QA.jsonl"
        )
    return Calibration.load(fitted)


@dataclass(frozen=True)
class ReaderFolder:
    model: Any
    """In eval mode; its Linear layers in bf16 when ``bf16``."""
    tokenizer: Any
    """A ``bert_tokens.BertTokens``."""
    calibration: Calibration
    token_types: bool
    """Whether the model takes token types (MPNet's does not)."""
    bf16: bool

    @classmethod
    def load(cls, folder: Path, calibration: Calibration | None, *, bf16: bool) -> ReaderFolder:
        """The reader in ``folder``, with ``calibration`` or else the abstention fitted
        beside it, and bf16 where asked and the CPU has it natively."""
        if not model_available(folder):
            raise CiteQAError(
                f"no span reader model at {folder} (it needs model.safetensors and"
                " tokenizer.json, or LoRA adapters); train one with citeqa train-reader"
            )
        calibration = fitted_calibration(folder, calibration)
        import torch

        from citeqa.bert_load import load_qa
        from citeqa.bert_tokens import BertTokens
        from citeqa.mpnet import load_qa as mpnet_load_qa

        try:
            if adapter.is_adapter(folder):
                model, tokenizer = _adapted(folder)
            else:
                tokenizer = BertTokens(folder)  # transformers' fast tokenizer, without it
                model = load_qa(folder) or mpnet_load_qa(folder) or _transformers_model(folder)
        except CiteQAError:
            raise
        except Exception as exc:  # tokenizers raises a bare Exception for a bad file
            raise CiteQAError(
                f"{folder} is not a transformers extractive-QA model folder: {exc}"
            ) from None
        # Native bf16 only: oneDNN's own check (``_is_mkldnn_bf16_supported``) also passes
        # on plain AVX512, where bf16 is emulated and slower than fp32.
        native = torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
        bf16 = bf16 and native
        if bf16:
            for layer in model.modules():
                if isinstance(layer, torch.nn.Linear):
                    layer.to(torch.bfloat16)
        return cls(
            model.eval(),
            tokenizer,
            calibration,
            _takes_token_types(model),
            bf16,
        )


def without_token_types(inputs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in inputs.items() if k != "token_type_ids"}


def _transformers_model(folder: Path) -> Any:
    """A model that neither ``bert_load`` nor ``mpnet`` builds, loaded by transformers."""
    import torch
    from transformers import AutoModelForQuestionAnswering
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    return AutoModelForQuestionAnswering.from_pretrained(str(folder), dtype=torch.float32)


def _adapted(folder: Path) -> tuple[Any, Any]:
    """The reader that ``folder``'s adapters make of their base, and the base's tokenizer:
    citeqa's own MPNet (``mpnet.py``) when the base is one, else transformers' model."""
    import json

    from citeqa import mpnet
    from citeqa.bert_tokens import BertTokens

    base = adapter.base_folder(adapter.AdapterConfig.read(folder))
    raw = json.loads((base / "config.json").read_text(encoding="utf-8"))
    own = mpnet.MPNetConfig.from_dict(raw)
    if own is not None:
        empty = mpnet.MPNetQA(own)  # its keys say which base weights the adapters need
        weights = adapter.merged_weights(folder, base, set(empty.state_dict()), "mpnet.")
        return mpnet.from_weights(empty, weights), BertTokens(base)
    import torch
    from transformers import AutoConfig, AutoModelForQuestionAnswering
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    config = AutoConfig.from_pretrained(str(base))
    model = AutoModelForQuestionAnswering.from_config(config, dtype=torch.float32)  # type: ignore[no-untyped-call]
    keys, prefix = set(model.state_dict()), model.base_model_prefix + "."
    model.load_state_dict(adapter.merged_weights(folder, base, keys, prefix), strict=True)
    return model, BertTokens(base)


def _takes_token_types(model: Any) -> bool:
    """Whether ``model`` reads token types: citeqa's own BERT does and its MPNet does not,
    and a transformers model does when its forward pass names them (the tokenizer gives
    them to all)."""
    import inspect

    from citeqa.bert_load import BertQA
    from citeqa.mpnet import MPNetQA

    if isinstance(model, MPNetQA):
        return False
    return (
        isinstance(model, BertQA) or "token_type_ids" in inspect.signature(model.forward).parameters
    )
