"""The experiment stage on artifacts the real stages wrote (the shared tiny pipeline run)."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from mda_augment.cli import app
from mda_augment.errors import ConfigError
from mda_augment.experiments.config import ExperimentStageConfig
from mda_augment.experiments.stage import require_store_coverage
from mda_augment.training.stage import grid_of

runner = CliRunner()


def test_the_section_takes_its_grid_from_the_train_stage_unless_set(pipeline_run):
    root, _, _ = pipeline_run
    grid = grid_of(root / "train")
    exp = ExperimentStageConfig(branch={"step": 8}).resolve(grid)
    assert (exp.scales, exp.seeds, exp.steps, exp.eval_every) == (["tiny"], [0, 1], 16, 4)
    assert exp.train["checkpoint_every"] == 8 and exp.backend == "process" and list(exp.variants) == ["baseline"]
    assert ExperimentStageConfig(seeds=[3], steps=24, branch={"step": 8}).resolve(grid).seeds == [3]
    with pytest.raises(ConfigError, match="branch.step .* must be a multiple of train.checkpoint_every"):
        ExperimentStageConfig(branch={"step": 4}).resolve(grid)


def test_a_synthetic_store_below_min_coverage_is_refused(pipeline_run, tmp_path):
    root, _, _ = pipeline_run
    store = tmp_path / "store"
    shutil.copytree(root / "synthesize", store)
    cov = json.loads((store / "coverage.json").read_text())
    (store / "coverage.json").write_text(json.dumps({**cov, "covered_mass_share": 0.5}))
    arms = {"s": {"variant": "synthetic", "ratio": 0.25, "synthetic": str(store)}}
    grid = grid_of(root / "train")
    cfg = ExperimentStageConfig(variants=arms, branch={"step": 8})
    with pytest.raises(ConfigError, match="cover 50% .* below min_coverage 80%"):
        require_store_coverage(cfg.resolve(grid), cfg)
    lenient = ExperimentStageConfig(variants=arms, branch={"step": 8}, allow_low_coverage=True)
    require_store_coverage(lenient.resolve(grid), lenient)  # consented: no error
    real = ExperimentStageConfig(variants={**arms, "s": {**arms["s"], "synthetic": str(root / "synthesize")}},
                                 branch={"step": 8}, min_coverage=1.0)
    require_store_coverage(real.resolve(grid), real)  # the pipeline's own store covers 100%


def test_pilot_verb_prints_the_seeds_a_stated_effect_needs(pipeline_run):
    root, recipe, _ = pipeline_run
    result = runner.invoke(app, ["experiment", str(recipe), "--pilot"])
    assert result.exit_code == 0, result.output
    assert "Pilot on seeds [0, 1]" in result.output and "seeds_for_stated" in result.output
    assert (root / "experiment" / "pilot.md").is_file()
