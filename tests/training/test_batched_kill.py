"""Kill -9 a batched run mid-way, rerun the same call: every member equals an uninterrupted batch."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from mda_augment.training.rundir import list_checkpoints

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
    proc = subprocess.Popen(_command(spec), cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if any(s >= 20 for s in list_checkpoints(tmp_path / "killed" / "seed2")):
            time.sleep(0.05)
            break
        time.sleep(0.01)
    if proc.poll() is not None:
        pytest.fail("training finished before it could be killed; raise STEPS")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
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
