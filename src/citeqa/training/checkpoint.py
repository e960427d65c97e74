"""A training run's checkpoint: the model, optimiser, schedule, step, RNG state and the
recipe it was made with, so a stopped run resumes exactly and a changed one is refused."""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from citeqa.errors import CiteQAError
from citeqa.training.config import TrainConfig


def save(
    path: Path,
    model: Any,
    optimizer: Any,
    scheduler: Any,
    step: int,
    history: list[Any],
    config: TrainConfig,
) -> None:
    import torch

    tmp = path.with_suffix(".tmp")
    torch.save(
        {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "step": step,
            "history": history,
            "rng": torch.get_rng_state(),
            "recipe": recipe(config),
        },
        tmp,
    )
    os.replace(tmp, path)


NOT_RECIPE = ("out", "threads", "checkpoint_every", "val_limit", "max_steps")
"""Settings a run may resume with changed. None of them changes which batch a step is.
``max_steps`` changes the learning rate from the resumed step on: the schedule is rebuilt
for the new total, so a long run cut short still decays to zero at its new last step."""


def recipe(config: TrainConfig) -> dict[str, Any]:
    return {k: v for k, v in asdict(config).items() if k not in NOT_RECIPE}


def check_recipe(ckpt: Path, state: dict[str, Any], config: TrainConfig) -> None:
    """Refuse to resume a checkpoint with other settings: its step count would index
    another run's batches and schedule."""
    saved = state.get("recipe")
    if saved is None:  # a checkpoint from before recipes were saved
        return
    now = recipe(config)
    # a setting the checkpoint did not record (one added since) had its default; one it
    # recorded that may change now (``NOT_RECIPE``) is not compared
    saved = {
        k: v
        for k, v in {**recipe(TrainConfig(squad="", out="")), **saved}.items()
        if k not in NOT_RECIPE
    }
    changed = [
        f"{k} {saved.get(k)!r} -> {now.get(k)!r}"
        for k in sorted(set(saved) | set(now))
        if saved.get(k) != now.get(k)
    ]
    if changed:
        raise CiteQAError(
            f"{ckpt} was made with other settings ({'; '.join(changed)}); resume with the"
            " same ones, or train into another --out"
        )
