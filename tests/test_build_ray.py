"""`citeqa index --ray`: the same index folder as a local build, from Ray Data stages."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from formats import html_page

from citeqa import cli
from citeqa.cli import common
from citeqa.index import build_ray
from citeqa.index import store as ix
from citeqa.index.build import build_index

from conftest import SEEDS, FakeEmbedder


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """The seeds, an HTML page (its text goes into documents.jsonl) and an unreadable file
    (skipped, with a warning, and recorded in the manifest)."""
    dest = tmp_path / "corpus"
    shutil.copytree(SEEDS, dest)
    (dest / "festival.html").write_text(html_page(), encoding="utf-8")
    (dest / "broken.txt").write_bytes(b"\x00\x01binary")
    (dest / "big.md").write_text("Too big to index. " * 2000)  # over SETTINGS' limit
    return dest


SETTINGS = ix.IndexSettings(max_file_bytes=20_000)


def comparable(manifest: dict[str, object]) -> dict[str, object]:
    """A manifest without what two equal builds may differ in: the build time, and the
    checksums of the two vector files (the vectors agree to ~1e-7, not bit for bit, since
    Ray batches texts differently; their sizes are compared)."""
    out = {k: v for k, v in manifest.items() if k != "built_at"}
    files = json.loads(json.dumps(manifest["files"]))
    for name in (ix.VECTORS, ix.SENTENCES):
        del files[name]["sha256"]
    out["files"] = files
    return out


@pytest.mark.model
@pytest.mark.slow
def test_ray_build_equals_a_local_build(
    corpus: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from citeqa.index.embed import MiniLMEmbedder

    build_index(corpus, tmp_path / "local", MiniLMEmbedder(), SETTINGS)
    local_warnings = [r.getMessage() for r in caplog.records if r.name.startswith("citeqa")]
    caplog.clear()
    report = build_ray.build_index_ray(
        corpus,
        tmp_path / "ray",
        MiniLMEmbedder,
        SETTINGS,
        build_ray.RaySettings(num_cpus=2, batch_size=32),  # several batches
    )
    warnings = [r.getMessage() for r in caplog.records if r.name.startswith("citeqa")]
    assert warnings == local_warnings
    assert [w.split(":")[0] for w in warnings] == ["skipping big.md", "skipping broken.txt"]
    local, ray = ix.load_index(tmp_path / "local"), ix.load_index(tmp_path / "ray")
    assert report.passages == len(ray.passages) > 20 and report.reused == 0
    assert ray.passages == local.passages  # the same rows in the same order
    for name in (ix.PASSAGES, ix.DOCUMENTS):
        assert (tmp_path / "ray" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()
    np.testing.assert_allclose(
        ray.vectors.reconstruct_n(0, ray.vectors.ntotal),
        local.vectors.reconstruct_n(0, local.vectors.ntotal),
        atol=1e-5,
        rtol=0,
    )
    np.testing.assert_allclose(ray.sentence_vectors, local.sentence_vectors, atol=1e-5, rtol=0)
    assert comparable(ray.manifest) == comparable(local.manifest)
    assert set(ray.manifest["skipped_sources"]) == {"big.md", "broken.txt"}
    beside = sorted(p.name for p in tmp_path.iterdir())  # no temporary folder left behind
    assert beside == [".local.lock", ".ray.lock", "corpus", "local", "ray"]


def test_ray_flag_without_ray_names_the_extra(
    corpus: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    monkeypatch.setattr(common, "make_embedder", FakeEmbedder)
    assert cli.main(["index", str(corpus), "--index", str(tmp_path / "ix"), "--ray"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "error: --ray needs Ray, which is not installed;"
        " install it with: pip install 'citeqa[ray]'\n"
    )
    assert not (tmp_path / "ix").exists()


def test_ray_address_that_is_the_corpus_is_a_usage_error(
    corpus: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--ray`` takes an optional address, so ``--ray CORPUS`` would read the corpus as
    one: refused, saying where the corpus goes."""
    monkeypatch.setattr(common, "make_embedder", FakeEmbedder)
    assert cli.main(["index", "--ray", str(corpus)]) == 2
    assert "put the corpus folder before --ray" in capsys.readouterr().err


@pytest.mark.parametrize(("flag", "address"), [([], "local"), (["auto"], "auto")])
def test_ray_flag_reaches_the_ray_build(
    corpus: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    flag: list[str],
    address: str,
) -> None:
    """The command hands the corpus, the index and the address to ``build_index_ray``, and
    builds nothing locally."""
    seen: list[build_ray.RaySettings] = []

    def fake_ray_build(corpus_dir, index_dir, make_embedder, settings, rs, **kw):  # type: ignore[no-untyped-def]
        seen.append(rs)
        return build_index(corpus_dir, index_dir, make_embedder(), settings)

    def no_local_build(*args: object, **kw: object) -> None:
        raise AssertionError("built locally")

    monkeypatch.setattr(build_ray, "require_ray", lambda: None)
    monkeypatch.setattr(build_ray, "build_index_ray", fake_ray_build)
    monkeypatch.setattr("citeqa.index.build.build_index", no_local_build)
    monkeypatch.setattr(common, "make_embedder", FakeEmbedder)
    argv = ["index", str(corpus), "--index", str(tmp_path / "ix"), "--quiet", "--ray", *flag]
    assert cli.main(argv) == 0
    assert [rs.address for rs in seen] == [address]
    assert ix.load_index(tmp_path / "ix").manifest["counts"]["documents"] == 5
