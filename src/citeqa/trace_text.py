"""A trace (``citeqa.explain``) in plain words, stage by stage: for the terminal
(``ask --explain``) and the chat's "Why this answer?" panel. Lines of plain text; each face
makes them safe for itself (control characters for a terminal, markup for the chat)."""

from __future__ import annotations

from collections.abc import Sequence

from citeqa.explain import Abstention, Candidate, PassageStep, QuestionWords, Trace


def trace_lines(trace: Trace) -> list[str]:
    lines = [f"Retrieval: the {len(trace.candidates)} closest passages"]
    lines += _words(trace.words)
    lines += [line for c in trace.candidates for line in _candidate(c)]
    lines.append(f"Reading ({trace.reader} reader): {_read_count(trace.reading)}")
    lines += [_step(s) for s in trace.reading]
    lines.append("Abstention:")
    lines += _abstention(trace.abstention)
    lines.append(f"Verdict: {trace.verdict.text} (look at: {trace.verdict.stage})")
    lines += [f"Warning: {note}" for note in trace.notes]
    return lines


def _words(words: QuestionWords) -> list[str]:
    return [
        f"  question words that count: {_list(words.content)}",
        f"  in no document: {_list(words.unknown)}",
        f"  too common to count: {_list(words.common)}",
    ]


def _candidate(c: Candidate) -> list[str]:
    dense = f"dense #{c.dense_rank} ({c.dense_score:.2f})" if c.dense_rank else "dense: not ranked"
    bm25 = f"BM25 #{c.bm25_rank} ({c.bm25_score:.2f})" if c.bm25_rank else "BM25: not ranked"
    return [
        f"  [{c.rank}] {c.source} · {c.title}",
        f"      fused {c.fused:.2f} · {dense} · {bm25}",
        f"      holds: {_list(c.matched)} · lacks: {_list(c.unmatched)}",
    ]


def _read_count(steps: Sequence[PassageStep]) -> str:
    if not steps:
        return "nothing to read"
    return f"{len(steps)} passage{'s' if len(steps) != 1 else ''} read"


def _step(s: PassageStep) -> str:
    margin = f", {s.margin:+.1f} over no answer" if s.margin is not None else ""
    chosen = "  <- the candidate" if s.chosen else ""
    span = " ".join(s.span.split())
    return f"  [{s.rank}] {s.read_in}: “{span}”{margin}{chosen}"


def _abstention(ab: Abstention) -> list[str]:
    decision = "answered" if ab.answered else "declined"
    lines = [f"  confidence {ab.confidence:.3f} against threshold {ab.threshold:.3f}: {decision}"]
    if ab.bias is None or ab.logit is None:
        return [*lines, "  (this reader's confidence is its own score, not a fitted sum)"]
    lines.append("  what it is made of (each feature's value × weight, then the bias):")
    width = max(len(f.name) for f in ab.features) if ab.features else 0
    for f in ab.features:
        lines.append(
            f"    {f.name:<{width}}  {f.value:8.3f} × {f.weight:+.3f} = {f.contribution:+.3f}"
        )
    lines.append(f"    {'bias':<{width}}  {'':19} {ab.bias:+.3f}")
    lines.append(f"    {'sum':<{width}}  {'':19} {ab.logit:+.3f}  (the confidence's logit)")
    return lines


def _list(words: Sequence[str]) -> str:
    return ", ".join(words) if words else "none"
