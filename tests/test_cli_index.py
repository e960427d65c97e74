from __future__ import annotations

from pathlib import Path

import pytest

from citeqa import cli
from citeqa.cli import common

from conftest import FakeEmbedder


@pytest.fixture(autouse=True)
def fake(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common, "make_embedder", FakeEmbedder)


def run(*argv: str | Path) -> int:
    return cli.main([str(a) for a in argv])


def test_build_check_and_stale(
    seeds_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index_dir = tmp_path / "idx"
    assert run("index", seeds_copy, "--index", index_dir, "--quiet") == 0
    assert run("index", "--index", index_dir, "--check") == 0
    assert "is fresh: 3 documents" in capsys.readouterr().out
    (seeds_copy / "extra.md").write_text("# Extra\n\nSome extra words here. More of them.\n")
    assert run("index", "--index", index_dir, "--check") == 1
    out = capsys.readouterr().out
    assert "is stale" in out and "added: extra.md" in out
    assert run("index", "--index", index_dir) == 0
    assert "indexed 4 documents into " in capsys.readouterr().out
    assert run("index", "--index", index_dir) == 0
    assert "is up to date" in capsys.readouterr().out


def test_check_of_missing_index_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("index", "--index", tmp_path / "none", "--check") == 1
    assert "no index at" in capsys.readouterr().err


def test_empty_corpus_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    assert run("index", tmp_path / "empty", "--index", tmp_path / "idx") == 2
    assert f"corpus folder {tmp_path / 'empty'} has no readable text" in capsys.readouterr().err


def test_bad_usage_is_exit_2() -> None:
    with pytest.raises(SystemExit) as exc:
        run("index", "--no-such-flag")
    assert exc.value.code == 2


def test_explain_lists_drops_and_ignored(
    seeds_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (seeds_copy / "picture.jpg").write_bytes(b"\xff\xd8")
    (seeds_copy / "junk.txt").write_text("Advertisement\nAccept all\n")
    assert run("index", seeds_copy, "--explain") == 0
    out = capsys.readouterr().out
    assert "dropped 0-29 cookie or consent notice: 'Customize Consent Preferences'" in out
    assert "advertisement marker: 'Advertisment'" in out
    assert "junk.txt: 0 passages" in out and "only boilerplate" in out
    assert "picture.jpg: unknown extension '.jpg'" in out


def test_binary_file_warns_and_the_rest_indexes(
    seeds_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (seeds_copy / "blob.txt").write_bytes(b"\x00\x01binary")
    assert run("index", seeds_copy, "--index", tmp_path / "idx", "--quiet") == 0
    assert "skipping blob.txt: binary file" in capsys.readouterr().err


def test_files_of_other_types_are_named_when_indexing(
    seeds_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("notes.rtf", "old.doc", "a.jpg", "b.jpg"):
        (seeds_copy / name).write_bytes(b"\xff\xd8")
    assert run("index", seeds_copy, "--index", tmp_path / "idx", "--quiet") == 0
    assert (
        "note: not indexed: a.jpg (unknown extension '.jpg'), b.jpg (unknown extension"
        " '.jpg'), notes.rtf (unknown extension '.rtf') and 1 more (--explain lists them)"
    ) in capsys.readouterr().err


def test_files_over_the_size_limit_are_skipped_with_a_warning(
    seeds_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (seeds_copy / "huge.txt").write_text("A long sentence about ships. " * 40_000)
    args: list[str | Path] = ["index", seeds_copy, "--index", tmp_path / "idx", "--quiet"]
    args += ["--max-file-mb", "1"]
    assert run(*args) == 0
    assert "skipping huge.txt: file is 1,160,000 bytes, over the 1,000,000-byte limit" in (
        capsys.readouterr().err
    )
    assert run("index", seeds_copy, "--explain", "--max-file-mb", "1") == 0
    assert "huge.txt: file is 1,160,000 bytes" in capsys.readouterr().out
