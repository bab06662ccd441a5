"""Checkpoints across the window: choice, assignment, weights, and a real nearest/tracin run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from mda_augment.attribution.checkpoints import (
    assignments,
    combine,
    nearest_checkpoint,
    pick_checkpoints,
    tracin_weights,
)
from mda_augment.attribution.runs import attribute_run, run_lr
from mda_augment.errors import ConfigError

from .helpers import train_tiny

FAST = {"factor_examples": 32, "n_probe": 8, "probe_half": 8, "train_batch": 8, "query_batch": 8}


def test_picked_checkpoints_cover_the_window_evenly() -> None:
    available = [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512] + list(range(1000, 16000, 1000))
    assert pick_checkpoints(available, 0, 15000, 4, 15000) == [2000, 6000, 9000, 13000]
    assert pick_checkpoints(available, 9000, 10000, 2, 10000) == [9000, 10000]
    assert pick_checkpoints(available, 0, 15000, 4, 5000) == [2000, 5000]  # never after the attributed step
    with pytest.raises(ConfigError, match="no checkpoint"):
        pick_checkpoints([0, 100], 10, 50, 2, 50)


def test_nearest_assignment_and_tracin_weights() -> None:
    assert nearest_checkpoint(np.array([0, 249, 250, 251, 999]), [0, 500, 1000]).tolist() == [0, 0, 0, 500, 1000]
    w = tracin_weights([0, 1000], 0, 1000, lambda s: 1.0 if s else 0.5)
    assert w == {0: 0.5 * 0.501, 1000: 0.499}  # lr ratio x share of the window's steps


def test_combine_weights_scores_by_lr_and_checkpoint() -> None:
    window = pl.DataFrame({"pos": [0, 1], "step": [0, 9], "seq": [5, 6]})
    near = assignments(window, [0, 10], "nearest")
    assert near["checkpoint"].to_list() == [0, 10]
    got = combine(near.with_columns(pl.Series("score", [2.0, 3.0])), "nearest", {}, lambda s: 0.5 if s == 0 else 1.0)
    assert got["score"].to_list() == [1.0, 3.0]
    both = assignments(window, [0, 10], "tracin").with_columns(pl.Series("score", [1.0, 1.0, 10.0, 10.0]))
    got = combine(both, "tracin", {0: 0.25, 10: 0.75}, lambda s: 1.0)
    assert got.sort("pos")["score"].to_list() == [7.75, 7.75]


def test_attribution_config_imports_without_torch() -> None:
    code = ("import sys; from mda_augment.attribution.config import AttributionConfig, MODES, CHECKPOINT_MODES; "
            "AttributionConfig(heads=['L0H0'], step=1, end_step=1, checkpoint_mode='tracin'); "
            "print('torch' in sys.modules, MODES, CHECKPOINT_MODES)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split()[0] == "False" and "nearest" in out


@pytest.fixture(scope="module")
def run(packed_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ckpt") / "run"
    return train_tiny(packed_corpus, out, 12, log_until=0)


@pytest.mark.slow
def test_tracin_is_the_weighted_sum_of_per_checkpoint_scores(run: Path, tmp_path: Path) -> None:
    """Real kronfluence runs: tracin over checkpoints 6 and 12; its step-12 scores equal mode end's."""
    kw = {"heads": "L1H0", "step": 12, "start_step": 6, **FAST}
    out = attribute_run(run, tmp_path / "t", checkpoint_mode="tracin", max_checkpoints=2, **kw)
    per = pl.read_parquet(out / "checkpoint_scores.parquet")
    timings = json.loads((out / "timings.json").read_text())
    assert timings["checkpoints"] == [6, 12] and per.height == 2 * 6 * 8
    w = {int(c): v for c, v in timings["checkpoint_weights"].items()}
    wide = per.pivot(on="checkpoint", index="seq", values="score").sort("seq")
    scores = pl.read_parquet(out / "scores.parquet").sort("seq")
    assert np.allclose(scores["score"], w[6] * wide["6"] + w[12] * wide["12"], rtol=1e-6)
    assert not np.allclose(wide["6"], wide["12"])  # the checkpoints do disagree
    end = pl.read_parquet(attribute_run(run, tmp_path / "e", **kw) / "scores.parquet").sort("seq")
    assert np.allclose(end["score"], wide["12"], rtol=1e-4, atol=1e-6 * end["score"].abs().max())


def test_nearest_scores_each_sequence_at_its_closest_checkpoint(run: Path, tmp_path: Path) -> None:
    """A real kronfluence run per checkpoint; steps 6-9 go to checkpoint 6, steps 10-11 to 12."""
    out = attribute_run(run, tmp_path / "n", heads="L1H0", step=12, start_step=6, checkpoint_mode="nearest",
                        max_checkpoints=2, **FAST)
    rows = pl.read_parquet(out / "checkpoint_scores.parquet").sort("pos")
    assert rows["checkpoint"].to_list() == [6] * 32 + [12] * 16
    scores = pl.read_parquet(out / "scores.parquet").sort("pos")
    lr = run_lr(json.loads((run / "config.json").read_text()))
    scale = np.array([lr(s) for s in rows["step"].to_list()])  # tiny decays its lr (cosine)
    assert scale.min() < 0.99 and np.allclose(scores["score"], rows["score"] * scale, rtol=1e-6)
    assert json.loads((out / "config.json").read_text())["attribution"]["checkpoint_mode"] == "nearest"


def test_nearest_needs_checkpoints(tmp_path: Path) -> None:
    from mda_augment.attribution.config import AttributionConfig
    from mda_augment.attribution.pipeline import attribute

    with pytest.raises(ConfigError, match="needs the run's checkpoints"):
        attribute(None, None, AttributionConfig(heads=["L1H0"], step=4, end_step=4, checkpoint_mode="nearest"),
                  tmp_path / "x")
