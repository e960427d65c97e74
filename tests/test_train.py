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


def _tokenizer() -> object:
    from transformers import AutoTokenizer

    from citeqa.embed import model_path

    return AutoTokenizer.from_pretrained(str(model_path()))


def test_all_answers_marks_every_distinct_gold_span() -> None:
    from citeqa.squad import load_squad
    from citeqa.train import featurize

    _, questions = load_squad(SAMPLE)
    q = next(q for q in questions if q.id == "56ddde6b9a695914005b9629")
    assert set(q.answers) == {"10th and 11th centuries", "in the 10th and 11th centuries"}
    tok = _tokenizer()
    (first,) = featurize(tok, [q], 384, 128)
    (every,) = featurize(tok, [q], 384, 128, all_answers=True)
    assert len(first["start_positions"]) == 1 and len(every["start_positions"]) == 2
    assert every["end_positions"] == first["end_positions"]  # both variants end alike
    ids = every["input_ids"]
    decoded = {
        tok.decode(ids[s : every["end_positions"][0] + 1])  # type: ignore[attr-defined]
        for s in every["start_positions"]
    }
    assert decoded == {"10th and 11th centuries", "in the 10th and 11th centuries"}


def test_unanswerable_and_missed_windows_point_at_cls() -> None:
    from citeqa.squad import load_squad
    from citeqa.train import featurize

    _, questions = load_squad(SAMPLE)
    unanswerable = next(q for q in questions if not q.answerable)
    (feature,) = featurize(_tokenizer(), [unanswerable], 384, 128, all_answers=True)
    assert feature["start_positions"] == feature["end_positions"] == [0]
    answerable = next(q for q in questions if q.answerable)
    windows = featurize(_tokenizer(), [answerable], 40, 16, all_answers=True)
    assert len(windows) > 1
    assert any(w["start_positions"] == [0] for w in windows)
    assert any(w["start_positions"] != [0] for w in windows)


def test_span_loss_is_cross_entropy_for_one_gold_and_lower_with_more() -> None:
    import torch

    from citeqa.train import span_loss

    torch.manual_seed(0)
    start, end = torch.randn(3, 7), torch.randn(3, 7)
    gold_s, gold_e = torch.tensor([1, 0, 4]), torch.tensor([2, 0, 6])
    one_s = torch.nn.functional.one_hot(gold_s, 7).bool()
    one_e = torch.nn.functional.one_hot(gold_e, 7).bool()
    expected = (
        torch.nn.functional.cross_entropy(start, gold_s)
        + torch.nn.functional.cross_entropy(end, gold_e)
    ) / 2
    assert torch.allclose(span_loss(start, end, one_s, one_e), expected)
    more_s = one_s.clone()
    more_s[0, 3] = True  # a second acceptable start can only add probability
    assert span_loss(start, end, more_s, one_e) < expected


def test_keep_unanswerable_samples_only_unanswerable_questions() -> None:
    from citeqa.squad import load_squad
    from citeqa.train import keep_unanswerable

    _, questions = load_squad(SAMPLE)
    answerable = [q for q in questions if q.answerable]
    assert answerable and len(answerable) < len(questions)
    assert keep_unanswerable(questions, 1.0, 13) == questions
    assert keep_unanswerable(questions, 0.0, 13) == answerable
    # Many copies, so the seeded share is measurable; the order is kept.
    many = [q for q in questions if not q.answerable] * 200
    kept = keep_unanswerable(many, 0.25, 13)
    assert 0.15 < len(kept) / len(many) < 0.35
    assert kept == keep_unanswerable(many, 0.25, 13)
    with pytest.raises(ValueError, match="unanswerable share"):
        keep_unanswerable(questions, 1.5, 13)


@pytest.mark.parametrize("share", ["1.5", "-0.1", "half", "nan"])
def test_train_reader_rejects_a_bad_unanswerable_share_before_loading(
    share: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from citeqa import cli

    args = ["train-reader", "--squad", str(SAMPLE), "--out", "unused", "--unanswerable", share]
    with pytest.raises(SystemExit) as exc:
        cli.main(args)
    assert exc.value.code == 2
    assert "must be a number from 0 to 1" in capsys.readouterr().err
