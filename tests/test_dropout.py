"""The training path's cheaper dropout behaves as ``torch.nn.Dropout``."""

from __future__ import annotations

import pytest
import torch

from citeqa.training.dropout import Dropout, use_fast_dropout


def test_training_mode_drops_a_share_p_and_scales_the_rest() -> None:
    torch.manual_seed(0)
    x = torch.rand(1000, 1000) + 0.5  # no zeros of its own
    out = Dropout(0.1).train()(x)
    dropped = out == 0
    assert abs(float(dropped.float().mean()) - 0.1) < 0.003  # 10 standard deviations
    kept = ~dropped
    scale = 65536 / (65536 - round(0.1 * 65536))
    torch.testing.assert_close(out[kept], x[kept] * scale)
    # each element independently: rows and columns drop alike
    assert float(dropped.float().mean(0).std()) < 0.02
    assert float(dropped.float().mean(1).std()) < 0.02


def test_eval_mode_and_p_zero_are_the_identity() -> None:
    x = torch.randn(8, 16)
    assert Dropout(0.5).eval()(x) is x
    assert Dropout(0.0).train()(x) is x


def test_masks_follow_torchs_seed_and_differ_between_calls() -> None:
    x = torch.ones(64, 384, dtype=torch.bfloat16)
    drop = Dropout(0.3).train()
    torch.manual_seed(7)
    first, second = drop(x), drop(x)
    torch.manual_seed(7)
    assert torch.equal(drop(x), first) and torch.equal(drop(x), second)
    assert not torch.equal(first, second)
    assert first.dtype == torch.bfloat16 and first.shape == x.shape


def test_the_gradient_is_the_mask_times_the_scale() -> None:
    x = torch.randn(200, 300, requires_grad=True)
    out = Dropout(0.2).train()(x)
    out.sum().backward()
    assert x.grad is not None
    expected = (out != 0).float() * (65536 / (65536 - round(0.2 * 65536)))
    torch.testing.assert_close(x.grad, expected)


def test_a_bad_probability_is_refused() -> None:
    with pytest.raises(ValueError, match="dropout probability"):
        Dropout(1.0)


def test_every_dropout_module_is_swapped_and_others_kept() -> None:
    model = torch.nn.Sequential(
        torch.nn.Linear(4, 4),
        torch.nn.Dropout(0.1),
        torch.nn.Sequential(torch.nn.Dropout(0.2), torch.nn.ReLU()),
    )
    assert use_fast_dropout(model) == 2
    inner = model[2]
    assert isinstance(inner, torch.nn.Sequential)
    assert isinstance(model[1], Dropout) and model[1].p == 0.1
    assert isinstance(inner[0], Dropout) and inner[0].p == 0.2
    assert isinstance(model[0], torch.nn.Linear) and isinstance(inner[1], torch.nn.ReLU)
    assert not any(type(m) is torch.nn.Dropout for m in model.modules())
