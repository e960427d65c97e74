"""Fit the span reader's abstention (``abstain.Calibration``) on data no test touches.

Two kinds of questions, each asked with abstention off:

- **held-out training articles** (the validation articles of ``citeqa train-reader``, the
  same seeded split), indexed as a corpus of their own. Each question is asked twice: over
  the whole corpus, where it is answerable, and over every paragraph except those holding
  its answer, where it is not. The second is a retrieval miss on a question the corpus is
  about: the case "the documents don't say" exists for.
- **the seeds dev split**, the product's own kind of questions and documents.

An answer counts as right at F1 >= 0.5. The threshold maximises the mean, over the two
kinds, of answer F1 on answerable questions plus correct abstentions on the others.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from citeqa.answer import abstain
from citeqa.answer.read import Evidence
from citeqa.evaluation.metrics import best_over, expected_calibration_error
from citeqa.evaluation.qa_set import QAItem

NOTHING_READ = Evidence("", False, 0.0, 0.0, 1.0, "?", margin=-20.0)
"""The evidence of a question the reader found no text for: every signal says "no"."""


@dataclass(frozen=True)
class Sample:
    group: str
    features: tuple[float, ...]
    f1: float
    """F1 of the reader's answer against the gold answers (0 when unanswerable)."""
    answerable: bool

    @property
    def right(self) -> bool:
        return self.answerable and self.f1 >= 0.5


def sample(qa: Any, item: QAItem, group: str, sources: frozenset[str] | None = None) -> Sample:
    """One question asked with abstention off, as the numbers the calibration learns from."""
    _, reading = qa.read(item.question, sources=sources)
    if reading is None:  # nothing to answer with: as sure a "no" as there is
        return Sample(group, tuple(abstain.features(NOTHING_READ)), 0.0, item.answerable)
    f1 = best_over("f1", reading.text, item.answers) if item.answerable else 0.0
    return Sample(group, tuple(abstain.features(reading.evidence)), f1, item.answerable)


def squad_samples(
    qa: Any,
    items: Sequence[QAItem],
    texts: dict[str, str],
    limit: int,
    seed: int,
    group: str = "held-out articles",
) -> list[Sample]:
    """Each of a seeded ``limit`` of ``items`` (0: all of them) over all of ``texts``
    (source -> text), and again over the sources that do not hold its answer."""
    from citeqa.training.data import holds_answer

    chosen = list(items)
    if 0 < limit < len(chosen):
        chosen = random.Random(seed).sample(chosen, limit)
    out = []
    for item in chosen:
        out.append(sample(qa, item, group))
        misses = frozenset(s for s, t in texts.items() if not holds_answer(t, item.answers))
        missed = QAItem(item.id, item.question, ())
        out.append(sample(qa, missed, group, sources=misses))
    return out


def fit(samples: Sequence[Sample], drop: frozenset[str] = frozenset()) -> abstain.Calibration:
    """Each group weighs the same in the fit, whatever its size: a few dozen questions
    about the product's own documents count as much as a thousand held-out SQuAD ones.
    A feature in ``drop`` gets weight 0 (its column is zeroed, and the ridge keeps an
    all-zero column's weight at 0)."""
    unknown = drop - set(abstain.FEATURES)
    if unknown:
        raise ValueError(f"no such feature: {', '.join(sorted(unknown))}")
    keep = np.array([name not in drop for name in abstain.FEATURES], dtype=float)
    x = np.array([s.features for s in samples], dtype=float) * keep
    y = np.array([float(s.right) for s in samples])
    size = {g: sum(1 for s in samples if s.group == g) for g in {s.group for s in samples}}
    share = np.array([len(samples) / (len(size) * size[s.group]) for s in samples])
    weights, bias = abstain.fit_logistic(x, y, weights=share)
    unfitted = abstain.Calibration(tuple(float(w) for w in weights), bias, 0.5)
    conf = [unfitted.confidence_of(s.features) for s in samples]
    groups = []
    for name in sorted({s.group for s in samples}):
        rows = [(c, s) for c, s in zip(conf, samples, strict=True) if s.group == name]
        groups.append(
            ([c for c, _ in rows], [s.f1 for _, s in rows], [s.answerable for _, s in rows])
        )
    return abstain.Calibration(unfitted.weights, bias, abstain.best_threshold(groups))


def ablation(samples: Sequence[Sample], folds: int = 5, seed: int = 13) -> dict[str, Any]:
    """Cross-validated, with every feature and without each one: the fit's own objective
    (per group, the mean of ``abstain.gain``; then the mean over groups) and false
    abstention, each question scored by the fit and threshold of the folds it was left out
    of. A feature whose loss does not lower the objective earns no place: word overlap,
    say, that declines paraphrase."""
    order = list(range(len(samples)))
    random.Random(seed).shuffle(order)
    fold_of = {i: k % folds for k, i in enumerate(order)}
    variants = {"all features": frozenset[str]()}
    variants |= {f"without {name}": frozenset({name}) for name in abstain.FEATURES}
    out = {}
    for label, drop in variants.items():
        answered = [False] * len(samples)
        for k in range(folds):
            train = [s for i, s in enumerate(samples) if fold_of[i] != k]
            fitted = fit(train, drop)
            for i, s in enumerate(samples):
                if fold_of[i] == k:
                    answered[i] = fitted.confidence_of(s.features) >= fitted.threshold
        gains, missed = [], []
        for name in sorted({s.group for s in samples}):
            rows = [(s, a) for s, a in zip(samples, answered, strict=True) if s.group == name]
            gains.append(_mean([abstain.gain(s.f1, s.answerable, a) for s, a in rows]))
            missed.append(_mean([float(not a) for s, a in rows if s.answerable]))
        out[label] = {"objective": _mean(gains), "false_abstention": _mean(missed)}
    return out


def describe(calibration: abstain.Calibration, samples: Sequence[Sample]) -> dict[str, Any]:
    """Per group, at the fitted threshold: questions, how many answerable, F1 over the
    answerable (an abstention scores 0), false abstention, abstention on the unanswerable,
    and expected calibration error."""
    out: dict[str, Any] = {"threshold": calibration.threshold, "groups": {}}
    for name in sorted({s.group for s in samples}):
        rows = [s for s in samples if s.group == name]
        conf = [calibration.confidence_of(s.features) for s in rows]
        answered = [c >= calibration.threshold for c in conf]
        yes = [(r.f1, a) for r, a in zip(rows, answered, strict=True) if r.answerable]
        no = [a for r, a in zip(rows, answered, strict=True) if not r.answerable]
        out["groups"][name] = {
            "questions": len(rows),
            "answerable": len(yes),
            "f1": _mean([f if a else 0.0 for f, a in yes]),
            "false_abstention": _mean([float(not a) for _, a in yes]),
            "abstention_recall": _mean([float(not a) for a in no]),
            "ece": expected_calibration_error(conf, [float(r.right) for r in rows]),
        }
    return out


def fingerprint(reader_dir: Path, inputs: Sequence[Path], settings: dict[str, Any]) -> str:
    """What a set of samples was read with: the reader's weights, the input files (the
    questions, the documents they are asked of) and the run's settings. Samples read with
    another of any of them describe another fit."""
    digest = hashlib.sha256(json.dumps([abstain.FEATURES, settings], sort_keys=True).encode())
    for path in [*sorted(reader_dir.glob("*.safetensors")), *inputs]:
        digest.update(path.name.encode())
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def save_samples(path: Path, key: str, samples: Sequence[Sample]) -> None:
    """``samples`` in ``path`` (JSON), written whole or not at all, its folder made if
    need be: minutes of reading are not lost to a folder that is not there yet."""
    data = {"fingerprint": key, "samples": [asdict(s) for s in samples]}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def load_samples(path: Path, key: str) -> list[Sample]:
    """The samples kept in ``path``; a ``ValueError`` when they were read with another
    reader, other questions or other settings (``fingerprint``)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        kept = data["fingerprint"]
        samples = [
            Sample(r["group"], tuple(r["features"]), r["f1"], r["answerable"])
            for r in data["samples"]
        ]
    except (ValueError, KeyError, TypeError):
        raise ValueError(f"{path} is not a file of fit-abstention's samples") from None
    if kept != key:
        raise ValueError(
            f"{path} holds what another reader, other questions, documents or settings gave;"
            " name a new file, or delete it to read them again"
        )
    return samples


def _mean(xs: Sequence[float]) -> float:
    return float(np.mean(xs)) if xs else 0.0


def write(calibration: abstain.Calibration, model_dir: Path) -> Path:
    from citeqa.answer.reader_model import CALIBRATION

    path = model_dir / CALIBRATION
    calibration.save(path)
    return path
