"""`mda-augment run` chains every stage on the tiny preset: corpus to report, then resumes."""

from __future__ import annotations

import polars as pl
from typer.testing import CliRunner

from mda_augment.artifacts import is_complete, read_json
from mda_augment.cli import app
from mda_augment.stages import STAGES
from mda_augment.training.rundir import list_checkpoints

runner = CliRunner()


def test_every_stage_completes_into_a_folder_named_after_it(pipeline_run):
    root, _, result = pipeline_run
    assert result.exit_code == 0, result.output
    for stage in ("corpus", "pack", "train", "attribute", "cluster", "extract", "synthesize"):
        assert is_complete(root / stage), stage
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == sorted(STAGES.names())
    summary = pl.read_parquet(root / "experiment" / "summary.parquet")
    assert set(summary["variant"]) == {"baseline", "synthetic"}
    assert (root / "report" / "report.html").stat().st_size > 10_000
    assert read_json(root / "attribute" / "config.json")["attribution"]["step"] == 16
    assert "attributing the last checkpoint (step 16)" in result.output


def test_baseline_arm_is_the_experiments_trunk_and_the_arm_branches_from_it(pipeline_run):
    root, _, _ = pipeline_run
    runs = root / "experiment" / "runs"
    assert not (runs / "baseline").is_symlink()
    for seed in (0, 1):
        trunk, arm = runs / "baseline" / "tiny" / f"seed{seed}", runs / "synthetic" / "tiny" / f"seed{seed}"
        assert is_complete(trunk) and is_complete(arm)
        trunk_m, arm_m = pl.read_parquet(trunk / "metrics.parquet"), pl.read_parquet(arm / "metrics.parquet")
        assert trunk_m["step"].min() == 0 and arm_m["step"].min() == 8  # the arm logs from the branch on
        # before the branch the arm *is* the trunk: its step-8 checkpoint is a copy of the trunk's
        assert 8 in list_checkpoints(arm) and 8 in list_checkpoints(trunk)
    prereg = read_json(root / "experiment" / "preregistration.json")
    assert prereg["branch"] == {"step": 8} and prereg["endpoint"]["threshold"] == 0.05


def test_synthetic_variant_trains_on_the_extracted_generators(pipeline_run):
    root, _, _ = pipeline_run
    synth_sources = set(pl.read_parquet(root / "synthesize" / "*.parquet")["source"])
    accepted = {p.stem for p in (root / "extract" / "generators").glob("*.py")}
    assert accepted and synth_sources == {f"generator:{name}" for name in accepted}
    meta = pl.read_parquet(root / "experiment" / "variants" / "synthetic" / "index.parquet")
    assert meta["seq"].max() >= pl.read_parquet(root / "pack" / "index.parquet")["seq"].max()


def test_rerun_skips_every_complete_stage(pipeline_run):
    _, recipe, _ = pipeline_run
    again = runner.invoke(app, ["run", str(recipe)])
    assert again.exit_code == 0, again.output
    assert again.output.count("complete, skipping") == 7  # corpus .. synthesize; experiment and report rebuild
    assert "4 of 4 runs complete" in again.output


def test_run_one_stage_builds_only_it_and_what_it_needs(pipeline_run, tmp_path):
    from mda_augment.recipe import load_recipe

    _, recipe, _ = pipeline_run
    text = recipe.read_text().replace("name: t", "name: only")
    (tmp_path / "r.yaml").write_text(text)
    result = runner.invoke(app, ["run", str(tmp_path / "r.yaml"), "--stage", "pack"])
    assert result.exit_code == 0, result.output
    root = load_recipe(tmp_path / "r.yaml").root
    assert is_complete(root / "pack") and not (root / "train").exists()
