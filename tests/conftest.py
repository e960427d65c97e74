"""Shared fixtures. ``FakeEmbedder`` is deterministic and instant: a hashed bag of words,
so texts that share words get similar vectors, which is enough for retrieval tests."""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

from citeqa.index.embed import normalise

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"

# How many inputs a property is tried on, unless it says: a few dozen by default, so that
# the fuzz tests stay in `make test`; `make test-all` passes --hypothesis-profile=full.
settings.register_profile("quick", max_examples=25)
settings.register_profile("full", max_examples=150)
settings.load_profile("quick")


class FakeEmbedder:
    name = "fake-hashed-bag-of-words"
    dim = 64

    def __init__(self) -> None:
        self.calls: list[int] = []

    def fingerprint(self) -> str:
        return "fake-weights-v1"

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        self.calls.append(len(texts))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "big")
                out[row, h % self.dim] += 1.0
            out[row, 0] += 1e-3  # never the zero vector
        return normalise(out)


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


def make_home(dest: Path) -> Path:
    """A private citeqa home in ``dest``: copies of seeds/ and the committed index/."""
    shutil.copytree(SEEDS, dest / "seeds")
    shutil.copytree(REPO / "index", dest / "index")
    return dest


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_home(tmp_path_factory.mktemp("home"))


@pytest.fixture
def seeds_copy(tmp_path: Path) -> Path:
    """A private copy of seeds/, for tests that change the corpus."""
    dest = tmp_path / "corpus"
    shutil.copytree(SEEDS, dest)
    return dest


HOSTILE = (
    "Harbour Festival Draws Record Crowd\n\n"
    "The Harbour Festival opened on Friday in Kowloon. Organisers said"
    " <img src=x onerror=alert('img')> the festival drew 12,000 visitors over the weekend."
    " A [spoof link](javascript:alert('md')) and <b>bold</b> text were posted with $5 and $6"
    " prices.\n"
)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The real app, served by `citeqa serve` in a subprocess on a free loopback port, over
    the seeds plus one hostile document and a two-page PDF. Yields (url, home)."""
    import os

    from formats import make_pdf

    from citeqa.evaluation.loadtest import served

    home = tmp_path_factory.mktemp("serve-home")
    shutil.copytree(SEEDS, home / "seeds")
    (home / "seeds" / "hostile.txt").write_text(HOSTILE, encoding="utf-8")
    (home / "seeds" / "report.pdf").write_bytes(make_pdf())
    env = {k: v for k, v in os.environ.items() if k != "CITEQA_TOKEN"}  # an open server
    env["CITEQA_HOME"] = str(home)
    with served(None, env=env, log=home / "serve.log") as srv:
        yield srv.url, home
