from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from citeqa.corpus.ingest import load_corpus
from citeqa.errors import CorpusError

BODY = "The council approved the new budget on Tuesday. It adds two libraries.\n"


def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")
    return path


def test_empty_folder_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match=f"corpus folder {tmp_path} has no readable text"):
        load_corpus(tmp_path)


def test_missing_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="does not exist"):
        load_corpus(tmp_path / "nope")


def test_folder_of_unreadable_files_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", b"\x00\x01\x02binary")
    with pytest.raises(CorpusError, match="no readable text"):
        load_corpus(tmp_path)


def test_binary_and_non_utf8_files_are_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write(tmp_path / "good.txt", BODY)
    write(tmp_path / "blob.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    write(tmp_path / "latin1.md", "Caf\xe9 ouvert.".encode("latin-1"))
    with caplog.at_level(logging.WARNING):
        corpus = load_corpus(tmp_path)
    assert [d.source for d in corpus.documents] == ["good.txt"]
    reasons = {f.source: f.reason for f in corpus.skipped}
    assert reasons["blob.txt"].startswith("binary file")
    assert reasons["latin1.md"].startswith("not UTF-8")
    assert "blob.txt" in caplog.text and "latin1.md" in caplog.text


def test_unknown_extensions_and_hidden_files(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", BODY)
    write(tmp_path / "notes.odt", b"PK\x03\x04")
    write(tmp_path / ".hidden.txt", BODY)
    corpus = load_corpus(tmp_path)
    assert [d.source for d in corpus.documents] == ["a.txt"]
    assert [(f.source, f.reason) for f in corpus.ignored] == [
        ("notes.odt", "unknown extension '.odt'")
    ]


def test_subfolders_are_read_with_relative_sources(tmp_path: Path) -> None:
    write(tmp_path / "sub" / "b.md", BODY)
    write(tmp_path / "a.txt", BODY)
    assert [d.source for d in load_corpus(tmp_path).documents] == ["a.txt", "sub/b.md"]


def test_links_out_of_the_corpus_are_not_followed(tmp_path: Path) -> None:
    outside = write(tmp_path / "outside" / "secret.txt", "The password is swordfish, they said.\n")
    corpus_dir = tmp_path / "corpus"
    write(corpus_dir / "a.txt", BODY)
    os.symlink(outside, corpus_dir / "link.txt")
    corpus = load_corpus(corpus_dir)
    assert [d.source for d in corpus.documents] == ["a.txt"]
    assert [f.source for f in corpus.ignored] == ["link.txt"]


def test_files_that_cannot_be_read_are_named_not_fatal(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", BODY)
    os.symlink(tmp_path / "gone.txt", tmp_path / "dangling.txt")
    os.mkfifo(tmp_path / "pipe.txt")  # reading it would block for ever
    write(tmp_path / os.fsdecode(b"caf\xe9.txt"), BODY)
    write(tmp_path / "real" / "b.md", BODY)
    os.symlink(tmp_path / "real", tmp_path / "linked")
    corpus = load_corpus(tmp_path)
    assert [d.source for d in corpus.documents] == ["a.txt", "real/b.md"]
    assert [(f.source, f.reason) for f in corpus.skipped] == [
        ("dangling.txt", "cannot read it (No such file or directory)")
    ]
    assert sorted((f.source, f.reason) for f in corpus.ignored) == [
        ("caf\\xe9.txt", "file name is not UTF-8"),
        ("linked", "link to a folder (not followed)"),
        ("pipe.txt", "not a regular file"),
    ]


def test_oversized_files_are_skipped(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", BODY)
    write(tmp_path / "big.txt", BODY * 100)
    corpus = load_corpus(tmp_path, max_file_bytes=1000)
    assert [f.source for f in corpus.skipped] == ["big.txt"]
    assert "over the 1,000-byte limit" in corpus.skipped[0].reason


def test_bom_and_crlf_match_read_text(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", b"\xef\xbb\xbfHeadline Here\r\n\r\n" + BODY.encode())
    (doc,) = load_corpus(tmp_path).documents
    assert doc.text == path.read_text(encoding="utf-8")
    assert doc.title == "Headline Here"
    assert all(doc.text[b.start] != "\ufeff" for b in doc.blocks)


def test_only_boilerplate_file_has_no_blocks(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", BODY)
    write(tmp_path / "junk.txt", "Advertisement\n\nAccept all\nTo Top\n")
    docs = {d.source: d for d in load_corpus(tmp_path).documents}
    assert docs["junk.txt"].blocks == ()
    assert len(docs["junk.txt"].skipped) == 3


def test_document_ids_are_stable(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", BODY)
    first = load_corpus(tmp_path).documents[0].id
    write(tmp_path / "a.txt", BODY + "More text follows here.\n")
    assert load_corpus(tmp_path).documents[0].id == first
