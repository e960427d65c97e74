"""The span-reader training path, two steps on the committed SQuAD sample (CI never trains
for real)."""

from __future__ import annotations

from pathlib import Path

import pytest

from citeqa.squad import HELD_OUT_V11
from citeqa.train import TrainConfig, split_articles, train

from conftest import REPO

SAMPLE = REPO / "tests" / "data" / "squad_sample.json"
pytestmark = pytest.mark.model


def test_two_steps_with_a_resume_then_save_and_reload(tmp_path: Path) -> None:
    import dataclasses

    import torch

    config = TrainConfig(
        squad=str(SAMPLE),
        out=str(tmp_path),
        epochs=1,
        batch_size=4,
        max_steps=1,
        checkpoint_every=1,
        val_articles=1,
        max_length=128,
        stride=48,
    )
    train(config)
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=False)["step"] == 1
    metrics = train(dataclasses.replace(config, max_steps=2), resume=True)  # one more step
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=False)
    assert state["step"] == 2 and [h["step"] for h in state["history"]] == [1, 2]
    assert metrics["questions"] > 0 and 0.0 <= metrics["f1"] <= 100.0

    final = tmp_path / "final"
    assert (final / "model.safetensors").stat().st_size > 10_000_000
    assert (final / "tokenizer.json").exists() and (final / "training.json").exists()
    from citeqa.train import load_reader_model

    model, tokenizer = load_reader_model(final)
    assert model.config.model_type == "bert" and tokenizer("hello")["input_ids"]
    assert next(model.parameters()).dtype == torch.float32


def test_training_refuses_held_out_articles(tmp_path: Path) -> None:
    import json

    data = {"version": "1.1", "data": [{"title": sorted(HELD_OUT_V11)[0], "paragraphs": []}]}
    path = tmp_path / "leak.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="held-out test articles"):
        split_articles(path, 0)
