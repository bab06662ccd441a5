"""``run RECIPE --smoke``: the GPU recipes at CPU size, every stage end to end (the slow tests),
and the transform itself: it validates, keeps the model shapes and the tokenizer, never writes
into the real run's folder, and refuses a recipe it cannot shrink in one line (the fast ones)."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from mda_augment.artifacts import is_complete
from mda_augment.cli import app
from mda_augment.errors import ConfigError
from mda_augment.experiments.config import SUMMARY_MD
from mda_augment.recipe import load_recipe
from mda_augment.report.stage import REPORT
from mda_augment.smoke import SUFFIX, smoke_recipe
from mda_augment.stages import STAGES

runner = CliRunner()
ALWAYS_REBUILT = ("experiment", "report")  # no completion marker: runs are kept run by run, the rest is cheap
GPU_RECIPES = [Path("recipes/paper-14m.yaml"), Path("recipes/cross-scale.yaml")]


@pytest.mark.parametrize("path", GPU_RECIPES, ids=lambda p: p.stem)
def test_smoke_check_validates_and_builds_nothing(path, tmp_path):
    result = runner.invoke(app, ["run", str(path), "--smoke", "--check", "--out-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert f"outputs under {tmp_path / (path.stem + SUFFIX)}" in result.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("path", GPU_RECIPES, ids=lambda p: p.stem)
def test_smoke_keeps_shapes_tokenizer_and_design_and_shrinks_the_rest(path):
    real = load_recipe(path)
    smoke = smoke_recipe(real, str(path))
    assert smoke.name == real.name + SUFFIX and smoke.root != real.root
    assert smoke.present() == real.present()
    assert smoke.train.scales == real.train.scales  # the real presets: 50k vocabulary, real widths
    assert smoke.pack.tokenizer == real.pack.tokenizer == "pythia"
    assert smoke.train.options.precision == "auto"  # bf16 on a GPU, fp32 on CPU
    assert smoke.experiment.variants == real.experiment.variants
    assert smoke.corpus.source == "folder" and Path(smoke.corpus.path).is_dir()  # offline: no Debian download
    assert smoke.pack.seq_len <= 128 < real.pack.seq_len
    assert smoke.train.steps <= 50 < real.train.steps
    assert smoke.train.options.units.n_natural <= 16 and smoke.attribute.options.sample <= 64
    design = smoke.experiment.resolve(smoke.train)
    assert design.steps == smoke.train.steps and design.scales == real.train.scales
    assert 0 < design.branch.step < design.at_step < design.steps


def test_out_dir_alone_moves_the_run_and_keeps_the_name(tmp_path):
    result = runner.invoke(app, ["run", "recipes/paper-14m.yaml", "--check", "--out-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert f"outputs under {tmp_path / 'paper-14m'}" in result.output


def test_a_recipe_that_cannot_be_smoked_is_one_line_naming_the_field(tmp_path):
    text = Path("recipes/paper-14m.yaml").read_text().replace(
        "ratio: 0.05, synthetic:", "ratio: 0.05, start_step: 2000, synthetic:")
    (tmp_path / "late.yaml").write_text(text)
    load_recipe(tmp_path / "late.yaml")  # valid as a real run
    result = runner.invoke(app, ["run", str(tmp_path / "late.yaml"), "--smoke", "--check"])
    assert result.exit_code == 2
    line = result.output.strip()
    assert "\n" not in line and "--smoke" in line and "start_step" in line and "cannot be smoked" in line


def test_smoking_a_smoke_recipe_is_refused():
    smoke = smoke_recipe(load_recipe("recipes/paper-14m.yaml"))
    with pytest.raises(ConfigError, match="already a smoke run"):
        smoke_recipe(smoke)


def _run_smoke(path: Path, out: Path) -> Path:
    result = runner.invoke(app, ["run", str(path), "--smoke", "--out-dir", str(out)])
    assert result.exit_code == 0, result.output
    root = out / (path.stem + SUFFIX)
    for name in STAGES.names():
        assert f"{name}: {root / name}" in result.output, name  # the pipeline built (or kept) it
        if name not in ALWAYS_REBUILT:
            assert is_complete(root / name), name
    assert (root / "experiment" / SUMMARY_MD).is_file()
    assert (root / "report" / REPORT).stat().st_size > 10_000
    return root


def _check_experiment(root: Path, scales: list[str], variants: set[str]) -> None:
    summary = pl.read_parquet(root / "experiment" / "summary.parquet")
    assert set(summary["variant"]) == {"baseline", *variants}
    assert set(summary["scale"]) == set(scales)
    for scale in scales:
        for seed in (0, 1):
            assert is_complete(root / "experiment" / "runs" / "synthetic" / scale / f"seed{seed}")


@pytest.mark.slow
def test_paper_14m_smoke_runs_every_stage(tmp_path):
    """Measured: 11.5 min wall on the shared 2-core machine (nice 10, beside other work): 8 runs
    of 20 steps in all (2 baseline, 2 trunks, 4 arms) of which the unit evaluations (~35 s each
    at 50k vocabulary, 5 per run) are most; corpus to synthesize ~1.5 min."""
    root = _run_smoke(Path("recipes/paper-14m.yaml"), tmp_path)
    _check_experiment(root, ["pythia-14m"], {"synthetic", "upweight_random"})
    shutil.rmtree(root / "train")  # checkpoints of the 50k-vocabulary model: ~170 MB each


@pytest.mark.slow
def test_cross_scale_smoke_runs_every_stage(tmp_path):
    """Not yet timed to the end: four scales up to pythia-160m, 2 seeds, baseline + trunk + arm
    runs of each; expect several times the 14m smoke (the 14m runs alone take ~3 min)."""
    root = _run_smoke(Path("recipes/cross-scale.yaml"), tmp_path)
    _check_experiment(root, ["pythia-14m", "pythia-31m", "pythia-70m", "pythia-160m"], {"synthetic"})
    shutil.rmtree(root)  # pythia-160m checkpoints with optimizer state are ~2 GB each
