"""Bring your own reader: any transformers extractive-QA folder, here a tiny random RoBERTa
with a byte-level BPE tokenizer (no token types, offsets of its own kind), loads through
``--reader-model`` and gives answers whose offsets are the file's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from citeqa.answer.abstain import FEATURES, UNFITTED, Calibration
from citeqa.cli import main
from citeqa.errors import CiteQAError
from citeqa.index.embed import Embedder, MiniLMEmbedder
from citeqa.pipeline import QA

from conftest import REPO, make_home
from tiny_models import tiny_roberta

# Each loads the real embedder and a tiny RoBERTa; fitting abstention reads dozens of
# questions. The usage errors load nothing.
pytestmark = pytest.mark.model
QA_SET = REPO / "tests" / "data" / "seeds_qa.jsonl"


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    """The index's own embedder: the committed index was built with it."""
    return MiniLMEmbedder()


@pytest.fixture(scope="module")
def roberta(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_roberta(tmp_path_factory.mktemp("roberta"))


def _always_answer(folder: Path) -> None:
    """An abstention fit that answers whatever the evidence: every answer is checked."""
    Calibration(weights=(0.0,) * len(FEATURES), bias=10.0, threshold=0.5).save(
        folder / "abstention.json"
    )


@pytest.mark.slow
def test_a_reader_without_a_fitted_abstention_is_refused_with_the_command(
    roberta: Path, home: Path, embedder: Embedder
) -> None:
    (roberta / "abstention.json").unlink(missing_ok=True)
    with pytest.raises(CiteQAError, match=r"fit one with: citeqa fit-abstention --reader-model"):
        QA.load(home / "index", embedder=embedder, reader_model=roberta)


@pytest.mark.slow
def test_a_folder_that_is_no_qa_model_is_refused(
    tmp_path: Path, home: Path, embedder: Embedder
) -> None:
    (tmp_path / "model.safetensors").write_bytes(b"not weights")
    (tmp_path / "tokenizer.json").write_text("{}")
    UNFITTED.save(tmp_path / "abstention.json")
    with pytest.raises(CiteQAError, match=r"is not a transformers extractive-QA model folder"):
        QA.load(home / "index", embedder=embedder, reader_model=tmp_path)


@pytest.mark.slow
def test_another_architectures_answers_are_verbatim_spans_of_the_file(
    roberta: Path, home: Path, embedder: Embedder
) -> None:
    _always_answer(roberta)
    qa = QA.load(home / "index", reader="span", embedder=embedder, reader_model=roberta)
    assert type(qa.reader.model).__name__ == "RobertaForQuestionAnswering"  # type: ignore[attr-defined]
    for question in ("How much is Alibaba investing?", "Who leads Alibaba Pictures?"):
        answer = qa.ask(question)
        assert not answer.abstained and answer.text
        raw = (home / "seeds" / answer.source).read_text(encoding="utf-8")
        assert raw[answer.start : answer.end] == answer.text
        s = answer.sentence
        assert raw[s.start : s.end] == s.text and s.start <= answer.start < answer.end <= s.end


@pytest.mark.slow
def test_ask_takes_a_reader_model_folder(
    roberta: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _always_answer(roberta)
    code = main(
        ["ask", "How much is Alibaba investing?", "--index", str(home / "index"),
         "--reader-model", str(roberta), "--json"]
    )  # fmt: skip
    assert code == 0
    answer = json.loads(capsys.readouterr().out)
    raw = (home / "seeds" / answer["source"]).read_text(encoding="utf-8")
    assert raw[answer["start"] : answer["end"]] == answer["text"] != ""


def test_a_missing_reader_model_folder_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["ask", "What?", "--reader-model", "no/such/folder"])
    assert exit_.value.code == 2
    assert "no such folder: no/such/folder" in capsys.readouterr().err


def test_a_reader_model_is_for_the_span_reader(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ask", "What?", "--reader", "sentence", "--reader-model", str(tmp_path)]) == 2
    assert "--reader-model is a span reader's model folder" in capsys.readouterr().err


@pytest.mark.slow
def test_fit_abstention_writes_to_out_and_leaves_the_package_alone(
    roberta: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from citeqa.answer.reader_model import CALIBRATION, MODEL_DIR

    home = make_home(tmp_path / "home")  # its own: the test changes a document
    monkeypatch.setenv("CITEQA_HOME", str(home))
    # twelve articles, so that the ten held out for validation leave some to train on
    sample = json.loads((REPO / "tests" / "data" / "squad_sample.json").read_text())
    articles = [{**a, "title": f"{a['title']} {i}"} for i in range(4) for a in sample["data"]]
    squad = tmp_path / "train.json"
    squad.write_text(json.dumps({"version": "1.1", "data": articles}))
    extra = tmp_path / "extra.json"  # 3% of its articles held out: one
    extra.write_text(
        json.dumps(
            {"version": "1.1", "data": [{**a, "title": f"x {a['title']}"} for a in articles]}
        )
    )
    packaged = (MODEL_DIR / CALIBRATION).read_bytes()
    out = tmp_path / "fit"
    argv = ["fit-abstention", "--squad", str(squad), "--qa-set", str(QA_SET), "--limit", "8"]
    argv += ["--work", str(tmp_path / "work"), "--reader-model", str(roberta), "--out", str(out)]
    argv += ["--extra", str(extra), "--samples", str(tmp_path / "samples.json")]
    assert main([*argv, "--drop", "coverage"]) == 0
    fitted = Calibration.load(out / CALIBRATION)
    assert len(fitted.weights) == len(FEATURES) and 0.0 <= fitted.threshold <= 1.0
    assert fitted.weights[FEATURES.index("coverage")] == 0.0
    assert (MODEL_DIR / CALIBRATION).read_bytes() == packaged
    report = json.loads(capsys.readouterr().out.split("\nwrote ")[0])
    assert {"held-out articles", "held-out extra", "seeds_qa dev"} <= set(report["groups"])
    assert report["dropped"] == ["coverage"]
    assert set(report["cross-validated"]) == {"all features"} | {f"without {f}" for f in FEATURES}

    # again with every feature, from the samples kept: no question is asked
    def asked(*_: object) -> None:
        raise AssertionError("a question was read again")

    monkeypatch.setattr("citeqa.training.calibrate.sample", asked)
    assert main(argv) == 0
    refitted = Calibration.load(out / CALIBRATION)
    assert refitted.weights[FEATURES.index("coverage")] != 0.0
    again = json.loads(capsys.readouterr().out.split("\nwrote ")[0])
    assert again["cross-validated"] == report["cross-validated"]  # the same questions' evidence
    # samples read with other settings are refused, and nothing is written
    out.joinpath(CALIBRATION).unlink()
    assert main([*argv, "--limit", "9"]) == 2
    assert "or settings gave" in capsys.readouterr().err
    assert not (out / CALIBRATION).exists()
    # and so are samples read over other documents: the seeds questions' answers changed
    seed = sorted((home / "seeds").iterdir())[0]
    seed.write_text(seed.read_text(encoding="utf-8") + "\nOne more sentence.\n", encoding="utf-8")
    assert main(argv) == 2
    assert "documents or settings" in capsys.readouterr().err
    assert not (out / CALIBRATION).exists()
