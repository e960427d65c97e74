"""The span reader's abstention: the logistic fit, the threshold, the fitting data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from citeqa.answer import abstain
from citeqa.answer.read import Evidence
from citeqa.evaluation.qa_set import QAItem
from citeqa.training import calibrate
from citeqa.types import Hit


def test_logistic_fit_recovers_known_weights() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4000, 2))
    p = 1 / (1 + np.exp(-(2.0 * x[:, 0] - 1.0 * x[:, 1] + 0.5)))
    y = (rng.random(4000) < p).astype(float)
    w, b = abstain.fit_logistic(x, y, l2=0.0)
    assert w == pytest.approx([2.0, -1.0], abs=0.2) and b == pytest.approx(0.5, abs=0.15)


def test_threshold_trades_answers_against_abstentions() -> None:
    # Two right answers at 0.9 and 0.8, an unanswerable question at 0.6, a wrong answer
    # at 0.3: answering down to 0.8 is best (2 right + 1 abstention + 0 = 3 of 4).
    conf, f1 = [0.9, 0.8, 0.6, 0.3], [1.0, 1.0, 0.0, 0.0]
    answerable = [True, True, False, True]
    t = abstain.best_threshold([(conf, f1, answerable)])
    assert 0.6 < t <= 0.8
    # Groups count alike, whatever their size: a one-question group right only at 0.4
    # or below (0.5 + 1 against 0.75 + 0, halved) pulls the threshold down to it.
    t2 = abstain.best_threshold([(conf, f1, answerable), ([0.4], [1.0], [True])])
    assert 0.3 < t2 <= 0.4


def test_calibration_round_trips_and_refuses_other_features(tmp_path: Path) -> None:
    cal = abstain.Calibration((0.3, -0.2, 1.0, 0.5, -1.0, -4.0, -0.7), -0.4, 0.42)
    path = tmp_path / "abstention.json"
    cal.save(path)
    assert abstain.Calibration.load(path) == cal
    data = json.loads(path.read_text())
    data["features"] = ["margin"]
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="fitted on features"):
        abstain.Calibration.load(path)


def test_confidence_rises_with_the_margin_and_falls_for_a_missing_name() -> None:
    cal = abstain.UNFITTED

    def ev(margin: float, missing: str = "") -> Evidence:
        return Evidence("other", True, 0.5, 0.5, 0.0, missing, margin=margin, rank=0)

    assert cal.confidence(ev(-4)) < cal.confidence(ev(0)) == 0.5 < cal.confidence(ev(4))
    assert cal.confidence(ev(4, "Tencent")) < 0.01


def test_a_nan_feature_gives_no_confidence() -> None:
    ev = Evidence("other", True, float("nan"), 0.5, 0.0, "", margin=8.0, rank=0)
    assert abstain.UNFITTED.confidence(ev) == 0.0


class _RecordingQA:
    """Stands in for ``QA.read``: records which sources each question was asked over."""

    def __init__(self) -> None:
        self.asked: list[frozenset[str] | None] = []
        self.questions: list[str] = []

    def read(
        self, question: str, *, sources: frozenset[str] | None = None
    ) -> tuple[list[Hit], None]:
        self.asked.append(sources)
        self.questions.append(question)
        return [], None


def test_near_misses_are_asked_only_over_sources_without_the_answer() -> None:
    texts = {
        "a.txt": "The Danube is 2,850 km long.",
        "b.txt": "Guides give 2,850 KM for the Danube.",
        "c.txt": "The Rhine rises in the Alps.",
    }
    item = QAItem("q1", "How long is the Danube?", ("2,850 km",), ("a.txt",))
    qa = _RecordingQA()
    samples = calibrate.squad_samples(qa, [item], texts, 10, 13)
    assert qa.asked == [None, frozenset({"c.txt"})]
    assert [s.answerable for s in samples] == [True, False]
    assert not any(s.right for s in samples)  # no reading: nothing is right


def test_a_limit_of_zero_asks_every_question_and_a_limit_a_seeded_sample() -> None:
    texts = {"a.txt": "The Danube is 2,850 km long.", "c.txt": "The Rhine rises in the Alps."}
    items = [QAItem(f"q{i}", f"Question {i}?", ("2,850 km",), ("a.txt",)) for i in range(6)]

    def asked(limit: int, seed: int) -> list[str]:
        qa = _RecordingQA()
        samples = calibrate.squad_samples(qa, items, texts, limit, seed)
        assert [s.answerable for s in samples] == [True, False] * (len(samples) // 2)
        return qa.questions[::2]

    assert asked(0, 13) == [item.question for item in items]
    assert len(asked(4, 13)) == 4 and asked(4, 13) == asked(4, 13) != asked(4, 14)


def test_row_weights_count_like_repeated_rows() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 2))
    y = (rng.random(300) < 1 / (1 + np.exp(-x[:, 0]))).astype(float)
    doubled = abstain.fit_logistic(np.vstack([x, x[:100]]), np.concatenate([y, y[:100]]))
    weights = np.concatenate([np.full(100, 2.0), np.ones(200)])
    weighted = abstain.fit_logistic(x, y, weights=weights)
    assert weighted[0] == pytest.approx(doubled[0]) and weighted[1] == pytest.approx(doubled[1])


def _margin_decides(n: int, seed: int) -> list[calibrate.Sample]:
    """Questions whose answer is right exactly when the margin says so (plus noise); every
    other feature is noise."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        answerable = bool(rng.random() < 0.6)
        right = answerable and bool(rng.random() < 0.7)
        values = rng.normal(size=len(abstain.FEATURES))
        values[0] += 2.0 if right else -2.0  # the margin
        out.append(calibrate.Sample("ab"[i % 2], tuple(values), float(right), answerable))
    return out


def test_a_dropped_feature_weighs_nothing_and_an_unknown_one_is_refused() -> None:
    samples = _margin_decides(400, 0)
    coverage = abstain.FEATURES.index("coverage")
    assert calibrate.fit(samples).weights[coverage] != 0.0
    assert calibrate.fit(samples, frozenset({"coverage"})).weights[coverage] == 0.0
    with pytest.raises(ValueError, match="no such feature: overlap"):
        calibrate.fit(samples, frozenset({"overlap"}))


def test_the_ablation_finds_the_feature_that_decides_and_the_ones_that_do_not() -> None:
    ablation = calibrate.ablation(_margin_decides(600, 1))
    assert set(ablation) == {"all features"} | {f"without {f}" for f in abstain.FEATURES}
    full = ablation["all features"]
    assert full["objective"] > 0.8
    # without the margin there is nothing to tell right from wrong
    assert ablation["without margin"]["objective"] < full["objective"] - 0.15
    for name in abstain.FEATURES[1:]:
        assert ablation[f"without {name}"]["objective"] == pytest.approx(
            full["objective"], abs=0.03
        )
    assert calibrate.ablation(_margin_decides(600, 1)) == ablation  # seeded folds


def test_kept_samples_round_trip_and_refuse_another_reader_or_settings(tmp_path: Path) -> None:
    reader = tmp_path / "reader"
    reader.mkdir()
    (reader / "model.safetensors").write_bytes(b"weights")
    questions = tmp_path / "train.json"
    questions.write_text("{}")
    key = calibrate.fingerprint(reader, [questions], {"limit": 8})
    samples = _margin_decides(20, seed=1)
    kept = tmp_path / "not yet" / "samples.json"
    calibrate.save_samples(kept, key, samples)
    assert calibrate.load_samples(kept, key) == samples
    assert [p.name for p in kept.parent.iterdir()] == ["samples.json"]

    assert calibrate.fingerprint(reader, [questions], {"limit": 9}) != key
    questions.write_text('{"data": []}')
    assert calibrate.fingerprint(reader, [questions], {"limit": 8}) != key
    questions.write_text("{}")
    (reader / "model.safetensors").write_bytes(b"retrained")
    retrained = calibrate.fingerprint(reader, [questions], {"limit": 8})
    assert retrained != key
    with pytest.raises(ValueError, match="another reader, other questions, documents or settings"):
        calibrate.load_samples(kept, retrained)
    kept.write_text('{"samples": 3}')
    with pytest.raises(ValueError, match="not a file of fit-abstention's samples"):
        calibrate.load_samples(kept, key)
