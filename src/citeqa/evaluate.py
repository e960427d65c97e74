"""Evaluate ``QA.ask`` on a QA set: answers, abstention, citations, retrieval and latency.

A QA set is JSONL, one question per line::

    {"id": "q001", "question": "...", "answers": ["verbatim", "variants"],
     "sources": ["file.txt"], "category": "number", "split": "dev"}

``answers`` empty means the documents do not answer it. ``sources``, ``category`` and
``split`` are optional. Every question is answered once with abstention switched off, so
one run gives both the figures at the threshold in use and the whole coverage curve.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from citeqa.metrics import (
    best_over,
    contains_answer,
    coverage_curve,
    expected_calibration_error,
    mrr,
    recall_at,
)


@dataclass(frozen=True)
class QAItem:
    id: str
    question: str
    answers: tuple[str, ...]
    sources: tuple[str, ...] = ()
    category: str = ""
    split: str = ""

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


@dataclass(frozen=True)
class QASet:
    items: tuple[QAItem, ...]
    errors: tuple[str, ...] = field(default=())
    """One message per rejected line: 'line N: reason'."""


def load_qa_set(path: Path, *, split: str | None = None) -> QASet:
    """Read a QA set; a malformed line is reported with its number and skipped."""
    items: list[QAItem] = []
    errors: list[str] = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            items.append(_item(json.loads(line)))
        except (ValueError, TypeError, KeyError) as exc:
            errors.append(f"line {n}: {exc}")
    if split is not None:
        items = [i for i in items if i.split == split]
    return QASet(tuple(items), tuple(errors))


def _item(row: Any) -> QAItem:
    if not isinstance(row, dict):
        raise TypeError("not a JSON object")
    for key in ("id", "question", "answers"):
        if key not in row:
            raise KeyError(f"missing {key!r}")
    if not isinstance(row["question"], str) or not row["question"].strip():
        raise ValueError("'question' must be a non-empty string")
    answers = row["answers"]
    if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
        raise TypeError("'answers' must be a list of strings")
    sources = row.get("sources") or []
    if not isinstance(sources, list):
        raise TypeError("'sources' must be a list of file names")
    return QAItem(
        id=str(row["id"]),
        question=row["question"],
        answers=tuple(answers),
        sources=tuple(str(s) for s in sources),
        category=str(row.get("category") or ""),
        split=str(row.get("split") or ""),
    )


@dataclass(frozen=True)
class Row:
    """One question's outcome."""

    id: str
    question: str
    category: str
    gold: tuple[str, ...]
    prediction: str
    """The answer given ("" when abstained at the threshold in use)."""
    candidate: str
    """The reader's best span, whatever its confidence."""
    abstained: bool
    score: float
    em: float
    f1: float
    cited: bool
    """First citation's source is a gold source and its text contains a gold answer."""
    ms: float
    gold_rank: dict[str, int]
    """Rank (1-based; 0 = not in the top 10) of the first passage holding a gold answer,
    for dense, lexical and hybrid retrieval."""


RANK_DEPTH = 10


def run(
    qa: Any,
    items: Sequence[QAItem],
    *,
    top_k: int = 5,
    progress: bool = False,
    gold_setting: bool = False,
) -> list[Row]:
    """Answer every item. ``qa`` is a loaded ``QA``; its abstention threshold is applied
    after the fact, so ``Row.candidate`` and ``Row.score`` exist for every question. In
    the gold setting the reader sees only the passages of the item's own sources (all of
    them when it names none, as for an unanswerable question)."""
    threshold = qa.policy.min_confidence
    open_qa = dataclasses.replace(qa.policy, min_confidence=0.0)
    saved, qa.policy = qa.policy, open_qa
    try:
        rows = [_one(qa, item, top_k, threshold, gold_setting) for item in _bar(items, progress)]
    finally:
        qa.policy = saved
    return rows


def _bar(items: Sequence[QAItem], progress: bool) -> Any:
    if not progress:
        return items
    from tqdm import tqdm

    return tqdm(items, unit="question", desc="evaluating")


def _one(qa: Any, item: QAItem, top_k: int, threshold: float, gold_setting: bool) -> Row:
    started = time.perf_counter()
    if gold_setting and item.sources:
        ans = qa.ask(item.question, top_k=top_k, sources=frozenset(item.sources))
    else:  # open, or a question with no sources (unanswerable): all documents
        ans = qa.ask(item.question, top_k=top_k)
    ms = (time.perf_counter() - started) * 1000
    abstained = ans.abstained or ans.score < threshold
    pred = "" if abstained else ans.text
    first = ans.citations[0] if ans.citations and not abstained else None
    cited = bool(
        first is not None
        and (not item.sources or first.source in item.sources)
        and contains_answer(first.text, item.answers)
    )
    if item.answers:
        em, f1 = best_over("em", pred, item.answers), best_over("f1", pred, item.answers)
    else:
        em = f1 = float(abstained)
    return Row(
        id=item.id,
        question=item.question,
        category=item.category,
        gold=item.answers,
        prediction=pred,
        candidate=ans.text,
        abstained=abstained,
        score=ans.score,
        em=em,
        f1=f1,
        cited=cited,
        ms=ms,
        gold_rank=_gold_ranks(qa, item) if item.answers else {},
    )


def _gold_ranks(qa: Any, item: QAItem) -> dict[str, int]:
    question = " ".join(item.question.split())
    query = qa.embedder.encode([question])[0]
    ranked = {
        "dense": [row for row, _ in qa.retriever.dense(query, RANK_DEPTH)],
        "lexical": [row for row, _ in qa.retriever.lexical(question, RANK_DEPTH)],
        "hybrid": [
            qa.retriever.rows[h.passage.id]
            for h in qa.retriever.search(question, query, RANK_DEPTH)
        ],
    }
    passages = qa.index.passages

    def is_gold(row: int) -> bool:
        p = passages[row]
        return (not item.sources or p.source in item.sources) and contains_answer(
            p.text, item.answers
        )

    return {
        kind: next((rank for rank, row in enumerate(rows, 1) if is_gold(row)), 0)
        for kind, rows in ranked.items()
    }


def summarise(rows: list[Row], threshold: float) -> dict[str, Any]:
    """Headline figures. EM/F1 are over answerable questions (an abstention scores 0);
    abstention recall is the share of unanswerable questions abstained on."""
    answerable = [r for r in rows if r.gold]
    unanswerable = [r for r in rows if not r.gold]
    abstained = [r for r in rows if r.abstained]

    def mean(xs: Sequence[float]) -> float:
        return float(np.mean(xs)) if len(xs) else 0.0

    correct = [float(r.f1 >= 0.5) if r.gold else 0.0 for r in rows if not r.abstained]
    confident = [r.score for r in rows if not r.abstained]
    ms = [r.ms for r in rows]
    out: dict[str, Any] = {
        "questions": len(rows),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "threshold": threshold,
        "em": mean([r.em for r in answerable]),
        "f1": mean([r.f1 for r in answerable]),
        # the reader's best span whatever its confidence: comparable to published readers
        "em_no_abstain": mean([best_over("em", r.candidate, r.gold) for r in answerable]),
        "f1_no_abstain": mean([best_over("f1", r.candidate, r.gold) for r in answerable]),
        "abstention_recall": mean([float(r.abstained) for r in unanswerable]),
        # SQuAD v2.0's official figures: every question, an abstention being the right
        # answer to an unanswerable one (HasAns = em/f1 above, NoAns = abstention_recall)
        "overall_em": mean([r.em for r in rows]),
        "overall_f1": mean([r.f1 for r in rows]),
        "abstention_precision": (
            sum(1 for r in abstained if not r.gold) / len(abstained) if abstained else 1.0
        ),
        "false_abstention": mean([float(r.abstained) for r in answerable]),
        "citation_accuracy": mean([float(r.cited) for r in answerable]),
        "ece": expected_calibration_error(confident, correct),
        "ms_p50": float(np.percentile(ms, 50)) if ms else 0.0,
        "ms_p95": float(np.percentile(ms, 95)) if ms else 0.0,
        "retrieval": {},
    }
    for kind in ("dense", "lexical", "hybrid"):
        ranks = [r.gold_rank[kind] for r in answerable if r.gold_rank]
        out["retrieval"][kind] = {
            **{f"recall@{k}": recall_at(ranks, k) for k in (1, 5, 10)},
            "mrr": mrr(ranks),
        }
    return out


def by_category(rows: list[Row]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for cat in sorted({r.category for r in rows}):
        sub = [r for r in rows if r.category == cat]
        out[cat] = {
            "n": len(sub),
            "em": float(np.mean([r.em for r in sub])),
            "f1": float(np.mean([r.f1 for r in sub])),
            "abstained": float(np.mean([r.abstained for r in sub])),
        }
    return out


def curve(rows: list[Row]) -> list[dict[str, float]]:
    """Coverage and accuracy for every threshold (accuracy: mean F1 of the answered
    questions, an answered unanswerable question counting 0)."""
    scores = [r.score for r in rows]
    quality = [best_over("f1", r.candidate, r.gold) if r.gold else 0.0 for r in rows]
    return coverage_curve(scores, quality)


def compare(report: dict[str, Any], baseline: dict[str, Any]) -> dict[str, Any]:
    """Metric deltas and the questions that got better or worse against a baseline."""
    keys = ("em", "f1", "abstention_recall", "false_abstention", "citation_accuracy")
    deltas = {k: report["summary"][k] - baseline["summary"].get(k, 0.0) for k in keys}
    before = {r["id"]: r for r in baseline.get("rows", [])}
    better, worse = [], []
    for row in report["rows"]:
        old = before.get(row["id"])
        if old is None:
            continue
        if row["f1"] > old["f1"] + 1e-9:
            better.append(row["id"])
        elif row["f1"] < old["f1"] - 1e-9:
            worse.append(row["id"])
    return {"deltas": deltas, "better": better, "worse": worse}


def report(rows: list[Row], threshold: float, *, name: str) -> dict[str, Any]:
    return {
        "name": name,
        "summary": summarise(rows, threshold),
        "categories": by_category(rows),
        "curve": curve(rows),
        "rows": [dataclasses.asdict(r) for r in rows],
    }


def write_outputs(rep: dict[str, Any], out: Path) -> list[Path]:
    """report.json, report.md and two PNG plots into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "report.json", out / "report.md"]
    paths[0].write_text(json.dumps(rep, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    paths[1].write_text(markdown(rep), encoding="utf-8")
    paths += _plots(rep, out)
    return paths


def markdown(rep: dict[str, Any]) -> str:
    s = rep["summary"]
    lines = [
        f"# Evaluation: {rep['name']}",
        "",
        f"{s['questions']} questions ({s['answerable']} answerable, {s['unanswerable']}"
        f" unanswerable); abstention threshold {s['threshold']:.2f}.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| EM (answerable) | {s['em']:.3f} |",
        f"| F1 (answerable) | {s['f1']:.3f} |",
        f"| EM / F1 never abstaining | {s['em_no_abstain']:.3f} / {s['f1_no_abstain']:.3f} |",
        f"| abstention on unanswerable (recall) | {s['abstention_recall']:.3f} |",
        f"| EM / F1 over all questions (SQuAD v2.0 overall) | {s['overall_em']:.3f}"
        f" / {s['overall_f1']:.3f} |",
        f"| abstention precision | {s['abstention_precision']:.3f} |",
        f"| false abstention on answerable | {s['false_abstention']:.3f} |",
        f"| citation accuracy | {s['citation_accuracy']:.3f} |",
        f"| expected calibration error | {s['ece']:.3f} |",
        f"| latency p50 / p95 (ms) | {s['ms_p50']:.1f} / {s['ms_p95']:.1f} |",
        "",
        "## Retrieval (passage holding a gold answer)",
        "",
        "| retriever | recall@1 | recall@5 | recall@10 | MRR |",
        "|---|---|---|---|---|",
    ]
    for kind, m in s["retrieval"].items():
        lines.append(
            f"| {kind} | {m['recall@1']:.3f} | {m['recall@5']:.3f} | {m['recall@10']:.3f}"
            f" | {m['mrr']:.3f} |"
        )
    lines += [
        "",
        "## By category",
        "",
        "| category | n | EM | F1 | abstained |",
        "|---|---|---|---|---|",
    ]
    for cat, m in rep["categories"].items():
        lines.append(f"| {cat} | {m['n']} | {m['em']:.2f} | {m['f1']:.2f} | {m['abstained']:.2f} |")
    misses = sorted(rep["rows"], key=lambda r: (r["f1"], -r["score"]))[:10]
    lines += [
        "",
        "## Worst misses",
        "",
        "| id | question | gold | prediction | score |",
        "|---|---|---|---|---|",
    ]
    for r in misses:
        if r["f1"] >= 1.0:
            break
        gold = r["gold"][0] if r["gold"] else "(unanswerable)"
        pred = r["prediction"] or "(abstained)"
        cells = [r["id"], _cell(r["question"]), _cell(gold), _cell(pred), f"{r['score']:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _cell(text: str, width: int = 80) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= width else text[: width - 1] + "…"


def _plots(rep: dict[str, Any], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    pts = rep["curve"]
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot([p["coverage"] for p in pts], [p["accuracy"] for p in pts], marker=".")
    t = rep["summary"]["threshold"]
    used = min(pts, key=lambda p: abs(p["threshold"] - t)) if pts else None
    if used:
        ax.scatter(
            [used["coverage"]],
            [used["accuracy"]],
            color="red",
            zorder=3,
            label=f"threshold {t:.2f}",
        )
        ax.legend()
    ax.set(
        xlabel="coverage (share answered)",
        ylabel="accuracy (mean F1 of answered)",
        title="Coverage vs accuracy",
    )
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    fig.tight_layout()
    paths.append(out / "coverage.png")
    fig.savefig(paths[-1], dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5, 3))
    ax.hist([r["ms"] for r in rep["rows"]], bins=20)
    ax.set(xlabel="ms per question", ylabel="questions", title="Latency")
    fig.tight_layout()
    paths.append(out / "latency.png")
    fig.savefig(paths[-1], dpi=100)
    plt.close(fig)
    return paths
