"""Kill -9 mid-run, rerun the same command: the loss curve must equal an uninterrupted run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from tests.training.helpers import kill_after_checkpoint

ROOT = Path(__file__).resolve().parents[2]
STEPS = 60


def _recipe(tmp: Path, corpus: Path, name: str) -> Path:
    recipe = {"preset": "tiny", "corpus": str(corpus), "out": str(tmp / name), "steps": STEPS,
              "seed": 3, "threads": 1, "checkpoint_log_until": 8, "checkpoint_every": 10,
              "eval_every": 20, "flush_every_s": 0.05, "progress": False,
              "units": {"n_random": 4, "n_natural": 8}}
    path = tmp / f"{name}.json"
    path.write_text(json.dumps(recipe))
    return path


def _command(recipe: Path) -> list[str]:
    return [sys.executable, "-c", "from mda_augment.cli import main; main()", "train",
            "--recipe", str(recipe)]


def _run(recipe: Path) -> None:
    subprocess.run(_command(recipe), check=True, cwd=ROOT, capture_output=True, timeout=300)


@pytest.mark.slow
def test_kill9_then_resume_matches_uninterrupted(tmp_path: Path, packed_corpus: Path) -> None:
    _run(_recipe(tmp_path, packed_corpus, "straight"))
    killed = _recipe(tmp_path, packed_corpus, "killed")
    kill_after_checkpoint(_command(killed), tmp_path / "killed", min_step=20, cwd=ROOT)
    assert not (tmp_path / "killed" / "_COMPLETE.json").exists()
    _run(killed)
    a = pl.read_parquet(tmp_path / "straight" / "metrics.parquet").sort("step")
    b = pl.read_parquet(tmp_path / "killed" / "metrics.parquet").sort("step")
    assert a["step"].to_list() == list(range(STEPS)) == b["step"].to_list()
    diff = (a["loss"] - b["loss"]).abs().max()
    assert diff <= 1e-6, f"resumed losses differ by {diff}"
    ua = pl.read_parquet(tmp_path / "straight" / "units.parquet").sort("step", "metric", "layer", "head")
    ub = pl.read_parquet(tmp_path / "killed" / "units.parquet").sort("step", "metric", "layer", "head")
    assert ua.select("step", "metric", "layer", "head").equals(ub.select("step", "metric", "layer", "head"))
    assert (ua["value"] - ub["value"]).abs().max() <= 1e-5
