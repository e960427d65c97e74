"""SQuAD-format files (v1.1 and v2.0): the questions, their paragraphs and gold answers;
and which articles of a training file are held out for validation, the same for
``citeqa train-reader``, ``fit-abstention`` and ``eval --articles validation``."""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from pathlib import Path

# The 13 v1.1 dev articles that v2.0 dev does not contain: the held-out test split. Nothing
# trained or tuned here may see them (see the SQuAD README shipped with the data).
HELD_OUT_V11 = frozenset(
    {
        "American_Broadcasting_Company",
        "Apollo_program",
        "Chloroplast",
        "Doctor_Who",
        "Genghis_Khan",
        "Kenya",
        "Martin_Luther",
        "Newcastle_upon_Tyne",
        "Nikola_Tesla",
        "Super_Bowl_50",
        "Teacher",
        "United_Methodist_Church",
        "Victoria_and_Albert_Museum",
    }
)


@dataclass(frozen=True)
class SquadQuestion:
    id: str
    title: str
    paragraph: int
    """Index of the paragraph among those loaded, in file order."""
    context: str
    question: str
    answers: tuple[str, ...]
    answer_starts: tuple[int, ...]

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


@dataclass(frozen=True)
class SquadParagraph:
    index: int
    title: str
    context: str


def load_squad(
    path: Path, *, articles: frozenset[str] | None = None
) -> tuple[list[SquadParagraph], list[SquadQuestion]]:
    """Paragraphs and questions of a SQuAD JSON file, optionally only some articles. A
    paragraph's index is its position in the whole file, whichever articles are chosen."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    paragraphs: list[SquadParagraph] = []
    questions: list[SquadQuestion] = []
    index = -1
    for article in data["data"]:
        title = article["title"]
        if articles is not None and title not in articles:
            index += len(article["paragraphs"])
            continue
        for para in article["paragraphs"]:
            index += 1
            paragraphs.append(SquadParagraph(index, title, para["context"]))
            for qa in para["qas"]:
                answers = [] if qa.get("is_impossible", False) else qa["answers"]
                questions.append(
                    SquadQuestion(
                        id=qa["id"],
                        title=title,
                        paragraph=index,
                        context=para["context"],
                        question=qa["question"],
                        answers=tuple(a["text"] for a in answers),
                        answer_starts=tuple(a["answer_start"] for a in answers),
                    )
                )
    return paragraphs, questions


def article_titles(path: Path) -> list[str]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return [article["title"] for article in data["data"]]


VALIDATION_ARTICLES = 10
"""Articles of the SQuAD training file held out for validation, early stopping and
threshold fitting."""

SPLIT_SEED = 13
"""Which articles those are (and ``train-reader``'s default seed)."""

EXTRA_VAL_SHARE = 0.03
"""Share of an extra training file's articles held out for validation."""

DEV_FILES = ("dev-v1.1.json", "dev-v2.0.json")
"""Test sets: a training file beside them may share none of their articles."""


def dev_titles(squad: Path) -> frozenset[str]:
    """Article titles of the SQuAD dev files that lie beside ``squad``, and the held-out
    v1.1 articles: nothing trained may see them."""
    titles = set(HELD_OUT_V11)
    for name in DEV_FILES:
        dev = squad.parent / name
        if dev.exists() and dev.resolve() != squad.resolve():
            titles.update(article_titles(dev))
    return frozenset(titles)


def held_out_articles(path: Path, *, first: bool, val_articles: int) -> int:
    """How many articles of a training file are held out: ``val_articles`` of the first
    (SQuAD), ``EXTRA_VAL_SHARE`` of any other's (QED: thousands of one-paragraph titles)."""
    if first:
        return val_articles
    return math.ceil(len(article_titles(path)) * EXTRA_VAL_SHARE)


def split_articles(squad: Path, n_val: int, seed: int) -> tuple[list[str], list[str]]:
    """(train, validation) article titles: ``n_val`` seeded articles are validation."""
    titles = article_titles(squad)
    leaked = sorted(set(titles) & dev_titles(squad))
    if leaked:
        raise ValueError(f"{squad} contains test articles {leaked[:5]}; refusing to train")
    if n_val >= len(titles):
        raise ValueError(f"need more than {n_val} articles to hold {n_val} out")
    val = set(random.Random(seed).sample(titles, n_val))
    return [t for t in titles if t not in val], [t for t in titles if t in val]
