"""Where the default corpus and index live.

In a checkout (an editable install) they are ``seeds/`` and ``index/`` at the top of the
repository, wherever the current directory is. ``CITEQA_HOME`` points elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    env = os.environ.get("CITEQA_HOME")
    if env:
        return Path(env)
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "seeds").is_dir():
        return checkout
    return Path.cwd()


def default_corpus() -> Path:
    return home() / "seeds"


def default_index() -> Path:
    return home() / "index"
