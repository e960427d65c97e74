"""The evaluation report: headline figures, retrieval, categories, the coverage curve,
a comparison with a baseline, and the report written as JSON, Markdown and plots."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from citeqa.evaluation.metrics import (
    best_over,
    coverage_curve,
    expected_calibration_error,
    mrr,
    recall_at,
)
from citeqa.evaluation.scoring import Row


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
    if any(r.read_by for r in rows):  # a cascade: what share its large reader read
        out["large_share"] = mean([float(r.read_by == "large") for r in rows])
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
    lines = [*_headline(rep), *_retrieval(rep), *_categories(rep), *_misses(rep)]
    return "\n".join(lines) + "\n"


def _headline(rep: dict[str, Any]) -> list[str]:
    s = rep["summary"]
    return [
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
        f"| expected calibration error (answered questions) | {s['ece']:.3f} |",
        f"| latency p50 / p95 (ms) | {s['ms_p50']:.1f} / {s['ms_p95']:.1f} |",
        *(
            [f"| questions read by the large reader | {s['large_share']:.3f} |"]
            if "large_share" in s
            else []
        ),
    ]


def _retrieval(rep: dict[str, Any]) -> list[str]:
    rows = [
        [kind, *(f"{m[f'recall@{k}']:.3f}" for k in (1, 5, 10)), f"{m['mrr']:.3f}"]
        for kind, m in rep["summary"]["retrieval"].items()
    ]
    header = ["retriever", "recall@1", "recall@5", "recall@10", "MRR"]
    return _section("Retrieval (passage holding a gold answer)", header, rows)


def _categories(rep: dict[str, Any]) -> list[str]:
    rows = [
        [cat, str(m["n"]), *(f"{m[key]:.2f}" for key in ("em", "f1", "abstained"))]
        for cat, m in rep["categories"].items()
    ]
    # Over every question of the category, as v2.0's overall: an unanswerable question
    # scores 1 when abstained on, so these are comparable with the overall row, not the
    # answerable-only headline.
    header = ["category", "n", "EM (all)", "F1 (all)", "abstained"]
    return _section("By category", header, rows)


def _misses(rep: dict[str, Any]) -> list[str]:
    rows = []
    for r in sorted(rep["rows"], key=lambda r: (r["f1"], -r["score"]))[:10]:
        if r["f1"] >= 1.0:
            break
        gold = r["gold"][0] if r["gold"] else "(unanswerable)"
        pred = r["prediction"] or "(abstained)"
        rows.append([r["id"], _cell(r["question"]), _cell(gold), _cell(pred), f"{r['score']:.2f}"])
    return _section("Worst misses", ["id", "question", "gold", "prediction", "score"], rows)


def _section(title: str, header: list[str], rows: list[list[str]]) -> list[str]:
    """A Markdown section: a heading and a table."""
    lines = ["", f"## {title}", "", "| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _cell(text: str, width: int = 80) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= width else text[: width - 1] + "…"


def _plots(rep: dict[str, Any], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    for name, draw, size in (
        ("coverage.png", _coverage_plot, (5, 4)),
        ("latency.png", _latency_plot, (5, 3)),
    ):
        fig, ax = plt.subplots(figsize=size)
        draw(rep, ax)
        fig.tight_layout()
        paths.append(out / name)
        fig.savefig(paths[-1], dpi=100)
        plt.close(fig)
    return paths


def _coverage_plot(rep: dict[str, Any], ax: Any) -> None:
    pts = rep["curve"]
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


def _latency_plot(rep: dict[str, Any], ax: Any) -> None:
    ax.hist([r["ms"] for r in rep["rows"]], bins=20)
    ax.set(xlabel="ms per question", ylabel="questions", title="Latency")
