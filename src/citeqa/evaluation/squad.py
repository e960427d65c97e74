"""SQuAD-format files (v1.1 and v2.0): the questions, their paragraphs and gold answers."""

from __future__ import annotations

import json
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
