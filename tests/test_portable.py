"""A built index folder is portable: copied away from its corpus it still answers (with one
warning that its freshness cannot be checked); with its corpus beside it and changed, it
is stale as before; damaged, it is refused as before."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
from formats import html_page

from citeqa import QA, cli
from citeqa.cli import common
from citeqa.errors import CorpusError, IndexCorruptError, IndexStaleError
from citeqa.index import store as ix
from citeqa.index.build import build_index

from conftest import SEEDS, FakeEmbedder

QUESTIONS = (
    "How much is Alibaba investing in Hong Kong?",
    "What is AMEG?",
    "How many visitors did the Harbour Festival draw?",
)
WARNING = "cannot be checked"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of the seeds plus one HTML page, built beside its corpus."""
    root = tmp_path_factory.mktemp("built")
    shutil.copytree(SEEDS, root / "corpus")
    (root / "corpus" / "festival.html").write_text(html_page(), encoding="utf-8")
    build_index(root / "corpus", root / "index", FakeEmbedder())
    return root


@pytest.fixture
def copied(built: Path, tmp_path: Path) -> Path:
    """The index folder alone, copied where no corpus is."""
    dest = tmp_path / "elsewhere" / "index"
    shutil.copytree(built / "index", dest)
    assert not (dest / ix.read_manifest(dest)["corpus"]).exists()
    return dest


def load(index_dir: Path) -> QA:
    return QA.load(index_dir, reader="sentence", embedder=FakeEmbedder())


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_copied_index_answers_as_the_original_with_one_warning(
    built: Path, copied: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="citeqa"):
        original = load(built / "index")
    assert warnings_of(caplog) == []  # its corpus is beside it: checked, fresh, quiet
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="citeqa"):
        moved = load(copied)
        answers = [moved.ask(q) for q in QUESTIONS]
    logged = warnings_of(caplog)
    assert len(logged) == 1 and WARNING in logged[0] and str(copied) in logged[0]
    assert [a.to_dict() for a in answers] == [original.ask(q).to_dict() for q in QUESTIONS]
    assert any(not a.abstained for a in answers)
    raws = {p.name: p.read_text(encoding="utf-8") for p in SEEDS.iterdir()}
    for a in answers:  # the offsets still point into the original files
        for c in a.citations + a.related:
            if c.source in raws:
                assert raws[c.source][c.start : c.end] == c.text


def test_copied_index_with_its_corpus_unchanged_is_fresh_and_quiet(
    built: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shutil.copytree(built, tmp_path / "moved")  # index and corpus, side by side as built
    with caplog.at_level(logging.WARNING, logger="citeqa"):
        qa = load(tmp_path / "moved" / "index")
    assert warnings_of(caplog) == []
    assert qa.index.corpus_dir == (tmp_path / "moved" / "corpus").resolve()


def test_corpus_beside_and_changed_is_stale_as_before(
    built: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shutil.copytree(built, tmp_path / "moved")
    (tmp_path / "moved" / "corpus" / "extra.txt").write_text("A new fact. Another one.\n")
    with (
        caplog.at_level(logging.WARNING, logger="citeqa"),
        pytest.raises(IndexStaleError, match=r"is stale \(added: extra\.txt\)"),
    ):
        load(tmp_path / "moved" / "index")
    assert warnings_of(caplog) == []


def test_corpus_path_that_is_a_file_is_still_stale(copied: Path) -> None:
    """Only a corpus that is not there at all is let go; anything else is compared."""
    corpus = copied / ix.read_manifest(copied)["corpus"]
    corpus.write_text("not a folder")
    with pytest.raises(IndexStaleError, match="is missing"):
        load(copied)


def test_damaged_copied_index_is_refused(copied: Path) -> None:
    path = copied / ix.PASSAGES
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(IndexCorruptError, match="truncated or edited"):
        load(copied)


def test_document_text_from_the_index_alone(built: Path, copied: Path) -> None:
    """Extracted documents' text is in the index; a plain-text document's whole text is
    its file, so without the corpus that is a clear error, not a FileNotFoundError."""
    here = ix.load_index(built / "index")
    away = ix.load_index(copied)
    assert away.document_text("festival.html") == here.document_text("festival.html")
    assert "12,000 visitors" in away.document_text("festival.html")
    txt = next(s for s in away.manifest["sources"] if s.endswith(".txt"))
    assert here.document_text(txt) == (SEEDS / txt).read_text(encoding="utf-8")
    with pytest.raises(CorpusError, match=f"whole text of {txt} is its file"):
        away.document_text(txt)


def test_document_text_is_the_text_indexed_or_an_error(built: Path, tmp_path: Path) -> None:
    """Offsets point into the file as it was indexed: an edited file is stale, not text
    the offsets would misread; a document the index lacks is named."""
    shutil.copytree(built, tmp_path / "b")
    index = ix.load_index(tmp_path / "b" / "index")
    txt = next(s for s in index.manifest["sources"] if s.endswith(".txt"))
    path = tmp_path / "b" / "corpus" / txt
    path.write_text("New words. " + path.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(IndexStaleError, match=f"{txt} has changed since index"):
        index.document_text(txt)
    (tmp_path / "b" / "corpus" / "new.txt").write_text("Not indexed yet.", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"has no document new\.txt"):
        index.document_text("new.txt")


def test_cli_ask_on_a_copied_index_warns_once(
    copied: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(common, "make_embedder", FakeEmbedder)
    argv = ["ask", QUESTIONS[0], "--index", str(copied), "--reader", "sentence", "--json"]
    assert cli.main(argv) == 0
    out, err = capsys.readouterr()
    assert '"question"' in out
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: ") and WARNING in lines[0]


def test_cli_check_of_a_copied_index_still_says_it_cannot_vouch(
    copied: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``index --check`` asks whether the index matches its corpus: without one, no."""
    monkeypatch.setattr(common, "make_embedder", FakeEmbedder)
    assert cli.main(["index", "--index", str(copied), "--check"]) == 1
    assert "is missing" in capsys.readouterr().out


def snapshot(folder: Path) -> dict[str, tuple[int, int, str]]:
    """Every entry's size, mtime and checksum: what a writer would change."""
    return {
        str(p.relative_to(folder)): (
            p.stat().st_size,
            p.stat().st_mtime_ns,
            ix.file_sha256(p) if p.is_file() else "",
        )
        for p in sorted(folder.rglob("*"))
    }


def post_ask(url: str, question: str) -> dict[str, object]:
    import json
    import urllib.request

    body = json.dumps({"question": question}).encode()
    req = urllib.request.Request(
        url + "api/ask", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=120) as resp:
        answer: dict[str, object] = json.loads(resp.read())
        return answer


@pytest.mark.model
@pytest.mark.slow
def test_two_servers_share_one_read_only_index_folder(tmp_path: Path) -> None:
    """Two `citeqa serve` processes on two ports over one copied, read-only index folder
    (no corpus beside it), as behind a load balancer: both answer the same, at once, each
    says once that freshness cannot be checked, and nothing in the folder changes."""
    import os
    import stat
    from concurrent.futures import ThreadPoolExecutor

    from citeqa.evaluation.loadtest import served

    from conftest import REPO

    shared = tmp_path / "shared" / "index"
    shutil.copytree(REPO / "index", shared)
    before = snapshot(shared)
    env = {k: v for k, v in os.environ.items() if k != "CITEQA_TOKEN"}  # open servers
    env["CITEQA_HOME"] = str(tmp_path / "no-home")  # no default index to fall back on
    entries = [shared, *shared.rglob("*")]
    modes = {p: p.stat().st_mode for p in entries}
    for p in reversed(entries):  # files and subfolders before the folders holding them
        readable = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH
        p.chmod(readable | (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH if p.is_dir() else 0))
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    try:
        with (
            served(shared, env=env, log=logs[0]) as a,
            served(shared, env=env, log=logs[1]) as b,
        ):
            assert a.url != b.url and a.pid != b.pid
            jobs = [(url, q) for q in QUESTIONS[:2] for url in (a.url, b.url)]
            with ThreadPoolExecutor(len(jobs)) as pool:  # both servers answer at once
                got = list(pool.map(lambda job: post_ask(*job), jobs))
    finally:
        for p, mode in modes.items():  # folders first, so their entries can be reached
            p.chmod(mode)
    for i in range(0, len(got), 2):  # same folder, same answer from either server
        one, two = got[i], got[i + 1]
        assert (one["text"], one["start"], one["end"]) == (two["text"], two["start"], two["end"])
        # two processes' threaded matmuls may differ in the last bits of a score
        score_one, score_two = one["score"], two["score"]
        assert isinstance(score_one, int | float) and isinstance(score_two, int | float)
        assert abs(score_one - score_two) < 1e-4
    assert not got[0]["abstained"] and "$640 million" in str(got[0]["text"])
    for log in logs:
        assert log.read_text().count(WARNING) == 1, log.read_text()
    assert snapshot(shared) == before
    assert sorted(os.listdir(shared.parent)) == ["index"]  # no lock, temp or cache beside it
