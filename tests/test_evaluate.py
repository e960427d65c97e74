"""citeqa eval and bench end to end, with the fake embedder and tiny sizes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from citeqa import cli
from citeqa.cli import common
from citeqa.evaluation import squad_eval
from citeqa.evaluation.qa_set import load_qa_set
from citeqa.evaluation.squad import load_squad

from conftest import REPO, FakeEmbedder

QA_SET = REPO / "tests" / "data" / "seeds_qa.jsonl"
SQUAD = REPO / "tests" / "data" / "squad_sample.json"


@pytest.fixture(autouse=True)
def fake(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common, "make_embedder", FakeEmbedder)


def test_seeds_qa_set_is_well_formed() -> None:
    qa_set = load_qa_set(QA_SET)
    assert qa_set.errors == () and len(qa_set.items) >= 60
    unanswerable = [i for i in qa_set.items if not i.answerable]
    assert len(unanswerable) >= 15
    assert sum(i.category == "paraphrase" for i in qa_set.items) >= 10
    assert {i.split for i in qa_set.items} == {"dev", "test"}
    raws = {p.name: p.read_text(encoding="utf-8") for p in (REPO / "seeds").glob("*.txt")}
    for item in qa_set.items:  # every gold answer is verbatim text of a listed source
        for source in item.sources:
            assert any(a in raws[source] for a in item.answers), (item.id, source)


def test_malformed_lines_are_reported_by_number(tmp_path: Path) -> None:
    path = tmp_path / "qa.jsonl"
    path.write_text(
        '{"id": "a", "question": "What is AMEG?", "answers": ["x"]}\n'
        "not json\n"
        '{"id": "b", "answers": []}\n'
        '{"id": "c", "question": "Q?", "answers": "x"}\n'
        '{"id": "d", "question": "Who?", "answers": []}\n'
    )
    qa_set = load_qa_set(path)
    assert [i.id for i in qa_set.items] == ["a", "d"]
    assert [e.split(":")[0] for e in qa_set.errors] == ["line 2", "line 3", "line 4"]
    assert "missing 'question'" in qa_set.errors[1]


def test_line_separators_inside_a_row_stay_in_it(tmp_path: Path) -> None:
    rows = [
        {"id": "a", "question": "Who\u2028chairs it?", "answers": ["Ms\x85Lee"]},
        {"id": "b", "question": "When?", "answers": ["May"]},
    ]
    path = tmp_path / "qa.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\r\n" for r in rows))
    qa_set = load_qa_set(path)
    assert qa_set.errors == ()
    assert [(i.question, i.answers) for i in qa_set.items] == [
        ("Who\u2028chairs it?", ("Ms\x85Lee",)),
        ("When?", ("May",)),
    ]


def test_eval_end_to_end_writes_reports(
    seeds_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    args = ["eval", str(QA_SET), "--corpus", str(seeds_copy), "--work", str(tmp_path / "w")]
    code = cli.main([*args, "--limit", "6", "--out", str(out)])
    assert code == 0
    assert "| F1 (answerable) |" in capsys.readouterr().out
    rep = json.loads((out / "report.json").read_text())
    assert rep["summary"]["questions"] == 6 and len(rep["rows"]) == 6
    assert set(rep["summary"]["retrieval"]) == {"dense", "lexical", "hybrid"}
    row = rep["rows"][0]
    assert {"prediction", "gold", "f1", "abstained", "gold_rank", "ms"} <= set(row)
    assert (out / "report.md").read_text().startswith("# Evaluation")
    assert (out / "coverage.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "latency.png").stat().st_size > 1000


def test_baseline_comparison_and_regression_exit(
    seeds_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base_dir = tmp_path / "base"
    args = ["eval", str(QA_SET), "--corpus", str(seeds_copy), "--limit", "4"]
    args += ["--work", str(tmp_path / "w")]
    assert cli.main([*args, "--out", str(base_dir)]) == 0
    rep = json.loads((base_dir / "report.json").read_text())
    rep["summary"]["f1"] = 2.0  # a baseline no run can match: F1 "dropped"
    rep["rows"][0]["f1"] = 2.0
    (base_dir / "report.json").write_text(json.dumps(rep))
    capsys.readouterr()
    baseline = ["--baseline", str(base_dir / "report.json")]
    assert cli.main([*args, *baseline]) == 0
    out = capsys.readouterr().out
    assert "f1: -" in out and f"worse:  {rep['rows'][0]['id']}" in out
    assert cli.main([*args, *baseline, "--fail-on-regression"]) == 1


def test_eval_needs_one_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["eval"]) == 2
    assert "give a QA-set file or --squad" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("setting", ["gold", "open"])
def test_squad_settings_on_the_committed_sample(
    tmp_path: Path, setting: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    args = ["eval", "--squad", str(SQUAD), "--setting", setting, "--work", str(tmp_path / "w")]
    assert cli.main([*args, "--out", str(out)]) == 0
    rep = json.loads((out / "report.json").read_text())
    s = rep["summary"]
    assert s["questions"] == 36 and s["answerable"] == 30
    assert 0.0 <= s["em"] <= s["f1"] <= 1.0 and s["f1_no_abstain"] > 0.1
    # SQuAD v2.0's overall figure: HasAns F1 and NoAns accuracy weighted by their counts
    overall = (30 * s["f1"] + 6 * s["abstention_recall"]) / 36
    assert s["overall_f1"] == pytest.approx(overall)
    # the corpus is one file per paragraph; gold sees only the question's own paragraph
    corpus = tmp_path / "w" / "squad-squad_sample" / "corpus"
    assert len(list(corpus.rglob("*.txt"))) == 6
    if setting == "gold":  # every answer comes from the question's own paragraph
        context = {q.id: q.context for q in load_squad(SQUAD)[1]}
        answered = [r for r in rep["rows"] if r["candidate"]]
        assert answered and all(r["candidate"] in context[r["id"]] for r in answered)


@pytest.mark.slow
def test_squad_articles_subset(tmp_path: Path) -> None:
    args = ["eval", "--squad", str(SQUAD), "--articles", "Warsaw", "--work", str(tmp_path)]
    assert cli.main([*args, "--out", str(tmp_path / "o")]) == 0
    rep = json.loads((tmp_path / "o" / "report.json").read_text())
    assert {r["category"] for r in rep["rows"]} == {"Warsaw"}
    # only Warsaw's questions, against every paragraph of the file
    corpus = tmp_path / "squad-squad_sample" / "corpus"
    assert {p.parent.name for p in corpus.rglob("*.txt")} == {p.title for p in load_squad(SQUAD)[0]}
    # each question's gold source is its own paragraph
    context = {q.id: q.context for q in load_squad(SQUAD)[1]}
    _, items = squad_eval.prepare(SQUAD, tmp_path, articles=frozenset({"Warsaw"}))
    assert items and all(
        (corpus / i.sources[0]).read_text(encoding="utf-8") == context[i.id] for i in items
    )


def test_gold_setting_on_a_qa_set_searches_only_the_questions_sources(
    seeds_copy: Path, tmp_path: Path
) -> None:
    # The phrase is in 000_ only; the gold setting must answer from the source it names,
    # and a question naming no source (an unanswerable one) still searches everything.
    phrase = "East-meets-West cultural fusion"
    raws = {p.name: p.read_text(encoding="utf-8") for p in sorted(seeds_copy.glob("*.txt"))}
    assert [name for name, raw in raws.items() if phrase in raw] == ["000_ccf088dfa326e9ee.txt"]
    other = "002_424a6c7695f088a1.txt"
    lines = [
        {"id": "a", "question": f"What is the {phrase}?", "answers": ["x"], "sources": [other]},
        {"id": "b", "question": f"What is the {phrase}?", "answers": []},
    ]
    path = tmp_path / "qa.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    args = ["eval", str(path), "--corpus", str(seeds_copy), "--work", str(tmp_path / "w")]
    for setting in ("gold", "open"):
        out = tmp_path / setting
        assert cli.main([*args, "--setting", setting, "--out", str(out)]) == 0
        rows = {r["id"]: r for r in json.loads((out / "report.json").read_text())["rows"]}
        assert rows["b"]["candidate"], setting  # searched the whole corpus
        if setting == "gold":
            assert rows["a"]["candidate"] in raws[other]
            assert rows["a"]["candidate"] not in raws["000_ccf088dfa326e9ee.txt"]


def test_extra_validation_is_what_training_held_out_of_an_extra_file(tmp_path: Path) -> None:
    """``--articles extra-validation`` names the titles ``train-reader`` validated on for
    a file given with ``--extra`` (a share of its titles), not ``validation``'s count."""
    from citeqa.training.config import TrainConfig
    from citeqa.training.loop import _questions

    extra = tmp_path / "extra.json"
    articles = [
        {
            "title": f"Title {n}",
            "paragraphs": [
                {
                    "context": f"Item {n} was made in {1900 + n}.",
                    "qas": [
                        {
                            "id": f"q{n}",
                            "question": f"When was item {n} made?",
                            "answers": [{"text": str(1900 + n), "answer_start": 19 + len(str(n))}],
                        }
                    ],
                }
            ],
        }
        for n in range(70)
    ]
    extra.write_text(json.dumps({"version": "1.1", "data": articles}), encoding="utf-8")
    config = TrainConfig(
        squad=str(SQUAD), out=str(tmp_path / "run"), extra=(str(extra),), val_articles=1
    )
    _, validation, _ = _questions(config)
    trained_on = frozenset(q.title for q in validation["extra"])
    assert len(trained_on) == 3  # 3% of 70 titles, rounded up
    assert squad_eval.parse_articles("extra-validation", extra) == trained_on
    assert len(squad_eval.parse_articles("validation", extra) or ()) == 10
