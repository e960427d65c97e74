"""``citeqa calibrate``: the threshold checked on an operator's own questions."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from citeqa import QA, cli
from citeqa.answer.abstain import Calibration
from citeqa.answer.reader_model import CALIBRATION, LARGE_DIR, MODEL_DIR
from citeqa.cli import common
from citeqa.training import own_questions as oq
from citeqa.training.own_questions import Scored

from conftest import REPO, SEEDS, FakeEmbedder

CURRENT = Calibration.load(MODEL_DIR / CALIBRATION).threshold


def made_up(answerable: list[float], unanswerable: list[float]) -> list[Scored]:
    """Right answers to the answerable at the first confidences, and (wrong) answers to
    the unanswerable at the second."""
    return [Scored(c, 1.0, True) for c in answerable] + [
        Scored(c, 0.0, False) for c in unanswerable
    ]


def test_confident_wrong_answers_raise_the_threshold() -> None:
    scored = made_up([0.8, 0.85, 0.9, 0.95] * 3, [0.5, 0.55, 0.6, 0.7] * 3)
    before = oq.outcome(scored, CURRENT)
    assert before.answered_unanswerable == 12  # all of them answered at today's threshold
    suggested = oq.suggest(scored)
    assert CURRENT < 0.7 < suggested <= 0.8
    after = oq.outcome(scored, suggested)
    assert (after.answered_right, after.answered_unanswerable, after.declined_unanswerable) == (
        12,
        0,
        12,
    )


def test_right_answers_declined_lower_the_threshold() -> None:
    scored = made_up([0.2, 0.25, 0.3, 0.32] * 3, [0.01, 0.05, 0.1, 0.12] * 3)
    assert oq.outcome(scored, CURRENT).declined_answerable == 12
    suggested = oq.suggest(scored)
    assert 0.12 < suggested <= 0.2 < CURRENT


def test_the_curve_trades_coverage_for_accuracy() -> None:
    scored = made_up([0.9, 0.8, 0.3], [0.6, 0.2])
    points = {o.threshold: o for o in oq.curve(scored)}
    assert points[0.0].coverage == 1.0 and points[0.0].accuracy == pytest.approx(3 / 5)
    assert points[0.7].coverage == pytest.approx(2 / 5) and points[0.7].accuracy == 1.0


def write_set(path: Path, answerable: int, unanswerable: int) -> Path:
    rows = [{"id": f"a{n}", "question": f"Q{n}?", "answers": ["x"]} for n in range(answerable)]
    rows += [{"id": f"u{n}", "question": f"U{n}?", "answers": []} for n in range(unanswerable)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("answerable", "unanswerable", "told"),
    [
        (2, 1, "this set has 3 (2 answerable, 1 unanswerable)"),
        (30, 4, "this set has 34 (30 answerable, 4 unanswerable)"),
    ],
)
def test_a_set_too_small_is_refused_before_any_loading(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    answerable: int,
    unanswerable: int,
    told: str,
) -> None:
    def refuse() -> None:
        raise AssertionError("nothing is loaded for a set too small")

    monkeypatch.setattr(common, "make_embedder", refuse)
    qa_set = write_set(tmp_path / "qa.jsonl", answerable, unanswerable)
    assert cli.main(["calibrate", str(qa_set)]) == 2
    err = capsys.readouterr().err
    assert "calibrating needs at least 20 questions, at least 5 of them answerable and 5" in err
    assert told in err


def test_the_test_split_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    qa_set = write_set(tmp_path / "qa.jsonl", 20, 5)
    assert cli.main(["calibrate", str(qa_set), "--split", "test"]) == 2
    assert "the test split is for reporting only" in capsys.readouterr().err


@pytest.fixture
def own_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, list[dict[str, object]]]:
    """An index of the seeds (fake embedder) and 23 of their dev questions as an operator's
    own set: its file and its rows."""
    from citeqa.index.build import build_index

    shutil.copytree(SEEDS, tmp_path / "corpus")
    build_index(tmp_path / "corpus", tmp_path / "index", FakeEmbedder())
    monkeypatch.setattr(common, "make_embedder", FakeEmbedder)
    rows = [
        json.loads(line)
        for line in (REPO / "tests" / "data" / "seeds_qa.jsonl").read_text().splitlines()
        if line.strip()
    ]
    dev = [r for r in rows if r.get("split") == "dev"]
    chosen = [r for r in dev if r["answers"]][:15] + [r for r in dev if not r["answers"]][:8]
    qa_set = tmp_path / "mine.jsonl"
    qa_set.write_text("".join(json.dumps(r) + "\n" for r in chosen), encoding="utf-8")
    return qa_set, chosen


@pytest.mark.model
def test_calibrate_writes_a_file_ask_and_load_take(
    tmp_path: Path,
    own_set: tuple[Path, list[dict[str, object]]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    qa_set, chosen = own_set
    out = tmp_path / "cal" / "mine.json"
    packaged = [(d / CALIBRATION).read_bytes() for d in (MODEL_DIR, LARGE_DIR)]
    # the default reader, the cascade: its large reader's threshold decides every answer
    deciding = Calibration.load(LARGE_DIR / CALIBRATION)
    argv = ["calibrate", str(qa_set), "--index", str(tmp_path / "index"), "--out", str(out)]
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert "Asked 23 questions (15 answerable, 8 unanswerable)." in printed
    assert f"Current threshold {deciding.threshold:.3f}: answers " in printed
    written = Calibration.load(out)
    assert f"Suggested threshold {written.threshold:.3f}: answers " in printed
    assert written.weights == deciding.weights
    # the package is untouched
    assert [(d / CALIBRATION).read_bytes() for d in (MODEL_DIR, LARGE_DIR)] == packaged
    qa = QA.load(tmp_path / "index", embedder=FakeEmbedder(), calibration=out)
    assert qa.policy.min_confidence == written.threshold
    question = str(chosen[0]["question"])
    assert cli.main(["ask", question, "--index", str(tmp_path / "index"), "--json",
                     "--calibration", str(out)]) == 0  # fmt: skip
    asked = json.loads(capsys.readouterr().out)
    assert asked["abstained"] == (qa.ask(question).abstained)


@pytest.mark.model
def test_calibrate_a_chosen_reader_writes_its_own_abstention(
    tmp_path: Path,
    own_set: tuple[Path, list[dict[str, object]]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    qa_set, _ = own_set
    out = tmp_path / "fast.json"
    fast = Calibration.load(MODEL_DIR / CALIBRATION)
    argv = ["calibrate", str(qa_set), "--index", str(tmp_path / "index"), "--out", str(out)]
    assert cli.main([*argv, "--reader", "span"]) == 0
    printed = capsys.readouterr().out
    assert f"Current threshold {fast.threshold:.3f}: answers " in printed
    written = Calibration.load(out)
    assert written.weights == fast.weights  # the fast reader's fit, not the cascade's
    # the file goes with its reader, and the hint says so
    assert f"use it with: citeqa ask --reader span --calibration {out} ..." in printed
    qa = QA.load(tmp_path / "index", reader="span", embedder=FakeEmbedder(), calibration=out)
    assert qa.policy.min_confidence == written.threshold
