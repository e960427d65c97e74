"""The real seeds: cleaning and chunking (no model needed)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from citeqa.corpus.chunk import chunk_corpus
from citeqa.corpus.ingest import load_corpus

from conftest import SEEDS

BOILERPLATE = re.compile(
    r"cookie|consent|advertis(e)?ment|Always Active|Post a Comment|0 Comments|coinpayu"
    r"|To Top|#buttons",
    re.IGNORECASE,
)


@pytest.fixture(scope="module")
def passages():  # type: ignore[no-untyped-def]
    return chunk_corpus(load_corpus(SEEDS).documents)


def test_no_boilerplate_in_any_passage(passages) -> None:  # type: ignore[no-untyped-def]
    for p in passages:
        assert not BOILERPLATE.search(p.text), (p.source, BOILERPLATE.search(p.text))


@pytest.mark.parametrize(
    "needle",
    [
        "Chinese tech giant Alibaba is injecting $640 million (HK$5 billion) into Hong Kong’s",
        "Youku, will collaborate with industry heavyweights like TVB, Shaw Brothers Pictures, "
        "and Media Asia Group to bring new TV series to life.",
        "(contributing roughly 2.3%)",
        "Damai, a subsidiary of Alibaba Pictures",
    ],
)
def test_key_sentences_are_in_a_passage(passages, needle: str) -> None:  # type: ignore[no-untyped-def]
    assert any(needle in p.text for p in passages)


def test_every_body_sentence_is_in_some_passage(passages) -> None:  # type: ignore[no-untyped-def]
    """Each article paragraph (a line of 20+ words that is not boilerplate) is fully covered."""
    covered = {(p.source, s.start, s.end) for p in passages for s in p.sentences}
    by_source: dict[str, list[tuple[int, int]]] = {}
    for source, a, b in covered:
        by_source.setdefault(source, []).append((a, b))
    for path in sorted(SEEDS.glob("*.txt")):
        raw = path.read_text(encoding="utf-8")
        spans = sorted(by_source[path.name])
        for m in re.finditer(r"[^\n]+", raw):
            line = m.group()
            if len(line.split()) < 20 or BOILERPLATE.search(line):
                continue
            inside = [(a, b) for a, b in spans if m.start() <= a and b <= m.end()]
            text = " ".join(raw[a:b] for a, b in inside)
            assert " ".join(text.split()) == " ".join(line.replace("date 2024-03-18", "").split())


def test_offsets_match_the_seed_files(passages) -> None:  # type: ignore[no-untyped-def]
    raws = {p.name: p.read_text(encoding="utf-8") for p in Path(SEEDS).glob("*.txt")}
    for p in passages:
        assert raws[p.source][p.start : p.end] == p.text
        for s in p.sentences:
            assert raws[p.source][s.start : s.end] == s.text


def test_titles_and_dates() -> None:
    docs = {d.source: d for d in load_corpus(SEEDS).documents}
    assert docs["000_ccf088dfa326e9ee.txt"].date == "2024-03-18"
    assert docs["001_cb6ebb0004de6f45.txt"].title.startswith("Alibaba Injects $640 Million into")
    assert docs["002_424a6c7695f088a1.txt"].title == (
        "Alibaba Injects $640 Million to Revive Hong Kong’s Entertainment Powerhouse"
    )
