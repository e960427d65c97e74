from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from citeqa.corpus.chunk import ChunkSettings, chunk_document, split_sentences
from citeqa.corpus.ingest import load_document
from citeqa.corpus.parse import parse_document


@pytest.mark.parametrize(
    "sentence",
    [
        "Alibaba is injecting US$640 million (HK$5 billion) into the industry.",
        "The unit contributes roughly 2.3% of revenue.",
        "Revenue rose 18% in Q3 to about $710 million.",
        "Dr. Chan spoke to the U.S. delegation at 5 p.m. on Monday.",
    ],
)
def test_segmenter_keeps_tricky_sentences_whole(sentence: str) -> None:
    text = f"First sentence here. {sentence} Last sentence here."
    spans = split_sentences(text, 0, len(text))
    assert [text[a:b] for a, b in spans] == [
        "First sentence here.",
        sentence,
        "Last sentence here.",
    ]


def _doc(n: int) -> str:
    return " ".join(f"Sentence number {i} is here." for i in range(n))


def test_passages_are_windows_with_overlap() -> None:
    text = _doc(10)
    doc = parse_document(text, "a.txt")
    passages = chunk_document(doc, ChunkSettings(sentences=4, overlap=1))
    sizes = [len(p.sentences) for p in passages]
    assert sizes == [4, 4, 4]
    for left, right in itertools.pairwise(passages):
        assert left.sentences[-1] == right.sentences[0]
    assert passages[0].start == 0 and passages[-1].end == len(text)


def test_passage_grows_no_longer_than_max_chars() -> None:
    doc = parse_document(_doc(12), "a.txt")
    for p in chunk_document(doc, ChunkSettings(sentences=5, overlap=1, max_chars=80)):
        assert len(p.text) <= 80


def test_text_without_sentence_breaks_is_cut_at_whitespace_within_max_chars() -> None:
    words = [f"cell{i}" for i in range(8000)]
    text = " ".join(words) + "\n"  # one 40,000-character line: a table row, say
    doc = parse_document(text, "a.csv.txt")
    passages = chunk_document(doc, ChunkSettings(sentences=4, overlap=1, max_chars=1200))
    pieces = [s for p in passages for s in p.sentences]
    assert all(len(p.text) <= 1200 for p in passages)
    assert all(text[s.start : s.end] == s.text for s in pieces)
    # every word whole, in exactly one piece, in order (the overlap repeats a sentence)
    unique = list(dict.fromkeys(pieces))
    assert " ".join(s.text for s in unique).split() == words


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="overlap must be in"):
        ChunkSettings(sentences=3, overlap=3)
    with pytest.raises(ValueError, match="at least 1"):
        ChunkSettings(sentences=0)


def test_passages_never_cross_a_dropped_span() -> None:
    text = "One sentence here. Two sentence here.\n\nAdvertisement\n\nThree is here. Four is.\n"
    doc = parse_document(text, "a.txt")
    passages = chunk_document(doc, ChunkSettings(sentences=5, overlap=1))
    assert [p.text for p in passages] == [
        "One sentence here. Two sentence here.",
        "Three is here. Four is.",
    ]
    (ad,) = doc.skipped
    assert all(p.end <= ad.start or p.start >= ad.end for p in passages)


def test_passage_ids_are_content_hashes() -> None:
    a = chunk_document(parse_document("Alpha beta gamma. Delta epsilon.", "a.txt"))
    b = chunk_document(
        parse_document(
            "Intro line here.\n\nAdvertisement\n\nAlpha beta gamma. Delta epsilon.", "a.txt"
        )
    )
    assert a[0].id == b[-1].id
    c = chunk_document(parse_document("Alpha beta gamma. Delta epsilon!", "a.txt"))
    assert a[0].id != c[0].id


_ALPHABET = st.sampled_from(
    [
        *list("abc XYZ.,!?;:'\"-\n\r\t0123456789$%()"),
        "\r\n",
        "’",
        "“",
        "”",
        "😀",
        "🇭🇰",
        "漢",
        "字",
        "。",
        "\xa0",
        "\ufeff",
        "\u200b",
        "Dr. ",
        "U.S. ",
        "Advertisement\n",
        "Accept all\n",
        "\n\n",
        "é",
    ]
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    pieces=st.lists(_ALPHABET, max_size=120),
    size=st.integers(1, 5),
    max_chars=st.sampled_from([8, 40, 1200]),
)
def test_offsets_round_trip_through_the_file(
    tmp_path: Path, pieces: list[str], size: int, max_chars: int
) -> None:
    """The contract: raw[start:end] == text, where raw is Path.read_text of the file."""
    path = tmp_path / "doc.txt"
    path.write_bytes("".join(pieces).encode("utf-8", "surrogatepass"))
    raw = path.read_text(encoding="utf-8")
    doc = load_document(path, "doc.txt")
    assert doc.text == raw
    for span in doc.skipped:
        assert 0 <= span.start <= span.end <= len(raw)
    passages = chunk_document(
        doc, ChunkSettings(sentences=size, overlap=size - 1, max_chars=max_chars)
    )
    for p in passages:
        assert raw[p.start : p.end] == p.text and p.text.strip() == p.text and p.text
        assert len(p.text) <= max_chars
        for s in p.sentences:
            assert raw[s.start : s.end] == s.text and s.text
            assert p.start <= s.start < s.end <= p.end
