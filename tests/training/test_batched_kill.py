"""Kill -9 a batched run mid-way, rerun the same call: every member equals an uninterrupted batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from mda_augment.training.rundir import list_checkpoints
from tests.training.helpers import kill_after_checkpoint

ROOT = Path(__file__).resolve().parents[2]
STEPS = 60
SCRIPT = ("import json, sys; from mda_augment.training.batched import train_batched; "
          "from mda_augment.training.config import TrainConfig; "
          "train_batched([TrainConfig(**c) for c in json.load(open(sys.argv[1]))])")


def _spec(tmp: Path, corpus: Path, name: str) -> Path:
    cfgs = [{"preset": "tiny", "corpus": str(corpus), "out": str(tmp / name / f"seed{s}"), "steps": STEPS,
             "seed": s, "threads": 1, "checkpoint_log_until": 8, "checkpoint_every": 10, "eval_every": 20,
             "flush_every_s": 0.05, "progress": False, "units": {"n_random": 4, "n_natural": 8}}
            for s in range(3)]
    path = tmp / f"{name}.json"
    path.write_text(json.dumps(cfgs))
    return path


def _command(spec: Path) -> list[str]:
    return [sys.executable, "-c", SCRIPT, str(spec)]


@pytest.mark.slow
def test_kill9_then_rerun_matches_uninterrupted(tmp_path: Path, packed_corpus: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run(_command(_spec(tmp_path, packed_corpus, "straight")), check=True, cwd=ROOT,
                   env=env, capture_output=True, timeout=300)
    spec = _spec(tmp_path, packed_corpus, "killed")
    kill_after_checkpoint(_command(spec), tmp_path / "killed" / "seed2", min_step=20, cwd=ROOT, env=env)
    assert not (tmp_path / "killed" / "seed0" / "_COMPLETE.json").exists()
    subprocess.run(_command(spec), check=True, cwd=ROOT, env=env, capture_output=True, timeout=300)
    for seed in range(3):
        a, b = (tmp_path / name / f"seed{seed}" for name in ("straight", "killed"))
        ma, mb = (pl.read_parquet(r / "metrics.parquet").sort("step") for r in (a, b))
        assert ma["step"].to_list() == list(range(STEPS)) == mb["step"].to_list()
        assert (ma["loss"] - mb["loss"]).abs().max() <= 1e-6
        ua, ub = (pl.read_parquet(r / "units.parquet").sort("step", "metric", "layer", "head") for r in (a, b))
        assert ua.select("step", "metric", "layer", "head").equals(ub.select("step", "metric", "layer", "head"))
        assert (ua["value"] - ub["value"]).abs().max() <= 1e-6
        assert list_checkpoints(a) == list_checkpoints(b)
