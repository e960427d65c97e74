"""``citeqa bench --warm``'s report: each reader's latency, the cascade's share read by
its large reader, and the ratio to the fast reader alone from the same run."""

from __future__ import annotations

import pytest

from citeqa.evaluation import bench


def _figures(reader: str, p50: float, share: float = 0.0) -> dict[str, object]:
    return {
        "reader": reader,
        "questions": 200,
        "p50_ms": p50,
        "p95_ms": 2 * p50,
        "p99_ms": 3 * p50,
        "large_share": share,
    }


@pytest.mark.parametrize("bf16", [True, False])
def test_the_cascade_against_the_fast_reader_alone(
    bf16: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench, "native_bf16", lambda: bf16)
    text = bench.render_warm(
        {"cascade": _figures("cascade", 90.0, 0.35), "span": _figures("span", 40.0)}
    )
    lines = text.splitlines()
    assert lines[0].startswith("CPU with native bf16" if bf16 else "CPU without native bf16")
    assert "cascade reader: p50 90.0 ms, p95 180.0 ms" in lines[1]
    assert lines[1].endswith("; 35% read by the large reader")
    assert "read by the large reader" not in lines[2]
    assert lines[3] == "p50 against the fast reader alone, same run: 2.25x (cascade)"


def test_a_cascade_that_fell_back_to_the_fast_reader_says_so() -> None:
    text = bench.render_warm({"cascade": _figures("span", 41.0), "span": _figures("span", 40.0)})
    assert "cascade (fell back to span) reader" in text
    assert "read by the large reader" not in text


def test_the_fast_reader_is_timed_beside_any_other_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bench, "DEFAULT_READER", "cascade")
    assert bench.compared_readers() == ("cascade", "span")
    monkeypatch.setattr(bench, "DEFAULT_READER", "span")
    assert bench.compared_readers() == ("span",)
