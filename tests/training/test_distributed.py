"""Data-parallel training through ``accelerate launch``: two processes (DDP over gloo on CPU)
at the same global batch give the one-process loss curve, and the same run directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from mda_augment.artifacts import read_json
from mda_augment.training.config import TrainConfig
from mda_augment.training.loop import THROUGHPUT, train

ROOT = Path(__file__).resolve().parents[2]
STEPS = 20
# One process accumulates g1/2 + g2/2, DDP averages (g1 + g2)/2: equal in floats when halving is
# exact, and measured bit-identical here (max |diff| 0.0 over 20 steps). Other world sizes or
# reduction orders may differ in the last bits, which AdamW can grow: the bound leaves room.
LOSS_TOLERANCE = 1e-5


def _recipe(corpus: Path, out: Path) -> dict:
    # global batch 8 = 2 micro-batches of 4: one process accumulates both, two take one each
    return {"preset": "tiny", "corpus": str(corpus), "out": str(out), "steps": STEPS, "seed": 4,
            "threads": 1, "global_batch": 8, "micro_batch": 4, "checkpoint_log_until": 4,
            "checkpoint_every": 10, "eval_every": 10, "progress": False,
            "units": {"probes": ["prefix_matching", "heldout_loss"], "n_random": 4, "n_natural": 8}}


def _files(run: Path) -> list[str]:
    return sorted(str(p.relative_to(run)) for p in run.rglob("*") if p.is_file())


@pytest.mark.slow  # 40 s on the shared 2-core machine, mostly two processes importing torch
def test_two_processes_match_one_at_the_same_global_batch(packed_corpus: Path, tmp_path: Path) -> None:
    one = train(TrainConfig(**_recipe(packed_corpus, tmp_path / "one")))
    recipe = tmp_path / "two.json"
    recipe.write_text(json.dumps(_recipe(packed_corpus, tmp_path / "two")))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
              "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
              "-m", "mda_augment", "train", "--recipe", str(recipe)]
    done = subprocess.run(launch, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    two = tmp_path / "two"
    assert read_json(two / THROUGHPUT)["devices"] == 2 and read_json(one / THROUGHPUT)["devices"] == 1

    a, b = (pl.read_parquet(r / "metrics.parquet").sort("step") for r in (one, two))
    assert a["step"].to_list() == b["step"].to_list() == list(range(STEPS))
    diff = (a["loss"] - b["loss"]).abs().max()
    assert diff <= LOSS_TOLERANCE, f"2-process losses differ from 1-process by {diff}"
    assert (a["loss"][0] - a["loss"][-1]) > 0.1  # it trained: the curve is not flat
    assert _files(one) == _files(two)  # same format: checkpoints, logs, progress written once
    ua, ub = (pl.read_parquet(r / "units.parquet").sort("step", "metric", "layer", "head") for r in (one, two))
    assert ua.select("step", "metric", "layer", "head").equals(ub.select("step", "metric", "layer", "head"))
    assert (ua["value"] - ub["value"]).abs().max() <= 1e-4
