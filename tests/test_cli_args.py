"""Bad arguments are usage errors (exit 2) named up front, before any model loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from citeqa import cli
from citeqa.cli import common

from conftest import REPO

QA_SET = REPO / "tests" / "data" / "seeds_qa.jsonl"
SAMPLE = REPO / "tests" / "data" / "squad_sample.json"


@pytest.fixture(autouse=True)
def no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse() -> None:
        raise AssertionError("a model was loaded before the arguments were checked")

    monkeypatch.setattr(common, "make_embedder", refuse)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["eval", "missing.jsonl"], "no such file: missing.jsonl"),
        (["eval", "--squad", "missing.json"], "no such file: missing.json"),
        (["eval", str(QA_SET), "--top-k", "0"], "must be a whole number from 1, got '0'"),
        (["eval", str(QA_SET), "--limit", "-3"], "must be a whole number from 0, got '-3'"),
        (["eval", str(QA_SET), "--baseline", "gone.json"], "no such file: gone.json"),
        (["fit-abstention", "--squad", "x.json", "--qa-set", str(QA_SET)], "no such file: x.json"),
        (["ask", "What is AMEG?", "--top-k", "0"], "must be a whole number from 1"),
        (["bench", "--repeats", "0"], "must be a whole number from 1"),
        (["bench", "--ann", "--ann-sizes", "10k"], "got '10k'"),
        (["index", "--max-file-mb", "0"], "megabytes above 0, got '0'"),
        (["index", "--max-file-mb", "nan"], "megabytes above 0, got 'nan'"),
        (["index", "--max-file-mb", "inf"], "megabytes above 0, got 'inf'"),
        (["index", "--max-file-mb", "ten"], "megabytes above 0, got 'ten'"),
    ],
)
def test_bad_arguments_are_refused_before_anything_loads(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    err = capsys.readouterr().err
    assert exited.value.code == 2 and message in err and "Traceback" not in err


def test_articles_a_squad_file_lacks_are_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["eval", "--squad", str(SAMPLE), "--articles", "Nope", "--work", str(tmp_path)]
    assert cli.main(argv) == 2
    assert "has none of the articles asked for" in capsys.readouterr().err


def test_a_samples_path_that_is_a_folder_is_refused_before_any_reading(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["fit-abstention", "--squad", str(SAMPLE), "--qa-set", str(QA_SET)]
    argv += ["--samples", str(tmp_path), "--out", str(tmp_path / "fit")]
    assert cli.main(argv) == 2
    assert f"--samples {tmp_path} is not a file" in capsys.readouterr().err
    assert not (tmp_path / "fit").exists()


def test_output_on_a_terminal_that_is_not_utf8_is_replaced_not_a_crash(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    (tmp_path / "café.txt").write_text("Le café ouvre à sept heures. Il ferme tard.\n")
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    run = subprocess.run(
        [sys.executable, "-m", "citeqa.cli", "index", str(tmp_path), "--explain"],
        capture_output=True,
        env=env,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr.decode()
    assert b"caf?.txt: 1 passage\n" in run.stdout


def test_logged_problems_print_with_their_level(capsys: pytest.CaptureFixture[str]) -> None:
    import logging

    from citeqa.cli import _log_warnings_to_stderr

    _log_warnings_to_stderr()
    log = logging.getLogger("citeqa.serve.app")
    log.warning("a.pdf skipped")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        log.exception("answering 'q' failed")
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "warning: a.pdf skipped"
    assert lines[1] == "error: answering 'q' failed" and "RuntimeError: boom" in lines[-1]
