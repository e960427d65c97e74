"""SQuAD as a benchmark nobody here wrote.

- **open**: every paragraph of the file is a document in one index; each question (of the
  articles asked for) is asked against the whole corpus. This is the real task.
- **gold**: the reader sees only the question's own paragraph (the classic reading
  comprehension figure, comparable to published ones).
"""

from __future__ import annotations

from pathlib import Path

from citeqa.evaluation.qa_set import QAItem
from citeqa.evaluation.squad import (
    HELD_OUT_V11,
    SPLIT_SEED,
    VALIDATION_ARTICLES,
    SquadParagraph,
    SquadQuestion,
    held_out_articles,
    load_squad,
    split_articles,
)

HELD_OUT = "held-out"
VALIDATION = "validation"
EXTRA_VALIDATION = "extra-validation"
VALIDATIONS = (VALIDATION, EXTRA_VALIDATION)


def parse_articles(spec: str | None, squad: Path) -> frozenset[str] | None:
    """``None`` (all), ``held-out`` (the 13 v1.1-only articles), ``validation`` (the
    articles that ``citeqa train-reader`` holds out of its ``--squad`` file, with its
    default count and seed), ``extra-validation`` (those it holds out of an ``--extra``
    file: a share of its titles) or ``A,B,...``."""
    if not spec:
        return None
    if spec == HELD_OUT:
        return HELD_OUT_V11
    if spec in VALIDATIONS:
        first = spec == VALIDATION
        n_val = held_out_articles(squad, first=first, val_articles=VALIDATION_ARTICLES)
        return frozenset(split_articles(squad, n_val, SPLIT_SEED)[1])
    return frozenset(a.strip() for a in spec.split(",") if a.strip())


def source_of(p: SquadParagraph) -> str:
    return f"{p.title}/{p.index:05d}.txt"


def write_corpus(paragraphs: list[SquadParagraph], dest: Path) -> None:
    """One file per paragraph. Unchanged files are left alone so a rebuild reuses them;
    files of paragraphs not asked for are removed."""
    wanted = {source_of(p) for p in paragraphs}
    for old in dest.rglob("*.txt") if dest.exists() else []:
        if old.relative_to(dest).as_posix() not in wanted:
            old.unlink()
    for p in paragraphs:
        path = dest / source_of(p)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = p.context.encode("utf-8")
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)


def items(paragraphs: list[SquadParagraph], questions: list[SquadQuestion]) -> list[QAItem]:
    by_index = {p.index: p for p in paragraphs}
    return [
        QAItem(
            id=q.id,
            question=q.question,
            answers=q.answers,
            sources=(source_of(by_index[q.paragraph]),),
            category=q.title,
            split="squad",
        )
        for q in questions
    ]


def prepare(
    squad: Path, workdir: Path, *, articles: frozenset[str] | None, only_articles: bool = False
) -> tuple[Path, list[QAItem]]:
    """Write every paragraph of ``squad`` as the corpus under ``workdir``, and return it
    with the questions of ``articles`` (all when None) as QA items. The corpus is the whole
    file, so other articles' paragraphs compete in retrieval, as in real use; with
    ``only_articles`` it is just those articles (the validation articles of a training
    file, whose other articles the reader was trained on)."""
    paragraphs, questions = load_squad(squad)
    if only_articles and articles is not None:
        paragraphs = [p for p in paragraphs if p.title in articles]
    if articles is not None:
        if not any(p.title in articles for p in paragraphs):
            raise ValueError(f"{squad} has none of the articles asked for")
        questions = [q for q in questions if q.title in articles]
    corpus = workdir / "corpus"
    write_corpus(paragraphs, corpus)
    return corpus, items(paragraphs, questions)
