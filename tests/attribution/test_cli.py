"""The ``attribute`` verb: user mistakes are one line on stderr with exit status 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from mda_augment.cli import app


@pytest.mark.parametrize(("args", "message"), [
    (["attribute", "nowhere", "--out", "o"], "not a run directory"),
    (["attribute", "--out", "o"], "RUN: missing"),
    (["attribute", "r"], "--out: required"),
    (["attribute", "r", "--out", "o", "--mode", "heads"], "mode: use one of qk"),
    (["attribute", "r", "--out", "o", "--probe", "nope"], "probe: unknown attribution probe 'nope'"),
    (["attribute", "--pythia", "pythia-14m", "--out", "o"], "--pythia-data"),
])
def test_user_errors_are_one_line(args: list[str], message: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "config.json").write_text('{"corpus": "c", "global_batch": 8}')
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.output.strip().splitlines() if ln]
    assert len(lines) == 1 and message in lines[0], result.output
