"""Words as citeqa counts them, and an index's lexicon: BM25 over its passages and how many
passages hold each word.

A build writes the lexicon into the index folder (``bm25/``, in bm25s's own format), and
serving maps it from disk: tokenising and stemming every passage again at each start took
most of the load time of a large index (docs/scaling.md, "An index of 96k passages"). An index
without one builds it in memory when loaded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

_TOKEN = re.compile(r"(?u)\b\w+\b")

K1, B = 1.5, 0.75
"""BM25's term-frequency saturation and length normalisation: the usual values. They are
baked into the stored scores, so a lexicon answers for these values only."""

LIBRARIES = ("bm25s", "PyStemmer")
"""What decides the stored words and scores besides the passages: a stored lexicon made
with other versions is built anew rather than trusted to split questions the same way."""

FILES = (
    "params.index.json",
    "vocab.index.json",
    "data.csc.index.npy",
    "indices.csc.index.npy",
    "indptr.csc.index.npy",
)
"""What ``bm25s.BM25.save`` writes (the scores as a sparse matrix, one column per word)."""


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


def is_stopword(word: str) -> bool:
    return word in _stopwords()


def terms(text: str) -> list[str]:
    """Lower-cased, stemmed words without stopwords: the vocabulary of BM25 and of the
    reader's overlap features, so the two agree on what a match is."""
    words = [w for w in _TOKEN.findall(text.lower()) if w not in _stopwords()]
    stems: list[str] = _stemmer().stemWords(words)
    return stems


@dataclass(frozen=True)
class Lexicon:
    """BM25 scores of every passage for every word, and each word's passage count."""

    bm25: Any  # bm25s.BM25; None when no passage has a word that is not a stopword
    vocab: dict[str, int]
    doc_freq: np.ndarray
    """Passages holding word ``vocab[w]``, by word id."""

    @classmethod
    def build(cls, texts: Sequence[str], k1: float = K1, b: float = B) -> Lexicon:
        import bm25s

        corpus = [terms(t) for t in texts]
        if not any(corpus):  # bm25s cannot index a corpus of stopwords only ("A a a.")
            return cls(None, {}, np.zeros(0, dtype=np.int64))
        from bm25s.tokenization import Tokenized

        # Word ids in sorted order, not bm25s's set order: the same passages then give the
        # same files in every process, so a rebuild of an unchanged corpus changes nothing.
        vocab = {t: i for i, t in enumerate(sorted({t for words in corpus for t in words}))}
        ids = [[vocab[t] for t in words] for words in corpus]
        bm25 = bm25s.BM25(k1=k1, b=b)
        bm25.index(Tokenized(ids=ids, vocab=vocab), show_progress=False)
        return cls(bm25, bm25.vocab_dict, _doc_freq(bm25))

    @classmethod
    def load(cls, folder: Path) -> Lexicon:
        """A saved lexicon, its arrays mapped from disk rather than read."""
        import bm25s

        bm25 = bm25s.BM25.load(str(folder), mmap=True, show_progress=False)
        return cls(bm25, bm25.vocab_dict, _doc_freq(bm25))

    @staticmethod
    def stored_params(folder: Path) -> tuple[float, float, str, str]:
        """(k1, b, scoring method, IDF method) of a saved lexicon."""
        p = json.loads((folder / FILES[0]).read_text(encoding="utf-8"))
        return float(p["k1"]), float(p["b"]), str(p["method"]), str(p["idf_method"])

    @property
    def passages(self) -> int:
        return int(self.bm25.scores["num_docs"]) if self.bm25 is not None else 0

    def save(self, folder: Path) -> list[str]:
        """Write the lexicon into ``folder``; the names of the files written (none for an
        empty lexicon)."""
        if self.bm25 is None:
            return []
        self.bm25.save(str(folder), show_progress=False)
        written = sorted(p.name for p in folder.iterdir())
        if written != sorted(FILES):
            raise RuntimeError(f"bm25s wrote {written}, expected {sorted(FILES)}")
        return written

    def knows(self, term: str) -> bool:
        return bool(term) and term in self.vocab  # bm25s lists "" too, with no scores

    def passages_with(self, term: str) -> int:
        i = self.vocab.get(term)
        return int(self.doc_freq[i]) if i is not None and i < len(self.doc_freq) else 0

    def scores(self, known: list[str]) -> np.ndarray:
        """BM25 score of every passage for ``known`` (words this lexicon knows)."""
        return np.asarray(self.bm25.get_scores(known))


def _doc_freq(bm25: Any) -> np.ndarray:
    # one sparse column per word: its non-zero rows are the passages that hold it
    return np.diff(np.asarray(bm25.scores["indptr"])).astype(np.int64)
