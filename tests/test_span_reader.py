"""The span reader shipped inside the package."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

from citeqa import QA
from citeqa.read_span import MODEL_DIR, SpanReader, model_available

from conftest import REPO

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def qa(tmp_path_factory: pytest.TempPathFactory) -> QA:
    home = tmp_path_factory.mktemp("home")
    shutil.copytree(REPO / "seeds", home / "seeds")
    shutil.copytree(REPO / "index", home / "index")
    return QA.load(home / "index", reader="span")


def test_weights_ship_inside_the_package_within_budget() -> None:
    assert model_available()
    size = sum(p.stat().st_size for p in MODEL_DIR.iterdir())
    assert size <= 50_000_000
    assert MODEL_DIR.is_relative_to(Path(__file__).resolve().parents[1] / "src" / "citeqa")


def test_loads_with_the_network_unavailable(monkeypatch: pytest.MonkeyPatch, qa: QA) -> None:
    def refuse(*args: object, **kw: object) -> None:
        raise OSError("network disabled by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    reader = SpanReader(qa.index)
    assert reader.model.config.model_type == "bert"


def test_answers_a_seed_question_with_the_span_and_its_offsets(qa: QA) -> None:
    ans = qa.ask("Which body is rolling out funding programs to rejuvenate the film industry?")
    assert not ans.abstained and ans.text == "Hong Kong Film Development Council"
    raw = (REPO / "seeds" / ans.source).read_text(encoding="utf-8")
    assert raw[ans.start : ans.end] == ans.text
    assert ans.sentence.start <= ans.start < ans.end <= ans.sentence.end
    assert raw[ans.sentence.start : ans.sentence.end] == ans.sentence.text


def test_model_card_names_the_data_and_its_licence() -> None:
    card = (MODEL_DIR / "MODEL_CARD.md").read_text(encoding="utf-8")
    for needle in ("all-MiniLM-L6-v2", "SQuAD", "CC BY-SA 4.0", "citeqa train-reader", "seed"):
        assert needle in card
