"""The experiment runner end to end on the tiny preset: variants x seeds, resumable, summarized."""

from __future__ import annotations

import math

import polars as pl
import pytest

from mda_augment.artifacts import is_complete
from mda_augment.experiments.mix import MixConfig
from mda_augment.experiments.runner import (
    ExperimentConfig,
    compact_table,
    plot_sweep,
    run_dir,
    run_experiment,
    summarize_results,
    sweep_ratios,
)
from tests.conftest import make_store


@pytest.fixture(scope="module")
def experiment(packed_corpus, tmp_path_factory):
    root = tmp_path_factory.mktemp("exp")
    synth = make_store(root / "synth_docs", n_docs=40, seed=5)
    cfg = ExperimentConfig(
        variants={"baseline": MixConfig(), "synthetic": MixConfig(variant="synthetic", ratio=0.3, synthetic=synth)},
        scales=["tiny"], seeds=[0, 1], steps=16, eval_every=8, threshold=0.05, jobs=2,
        train={"units": {"probes": ["prefix_matching", "icl", "heldout_loss"], "n_random": 4, "n_natural": 8}})
    summary = run_experiment(cfg, packed_corpus, root / "e")
    return cfg, root / "e", summary, packed_corpus


def test_every_run_trained_and_measured(experiment):
    cfg, root, _, _ = experiment
    results = pl.read_parquet(root / "results.parquet")
    assert len(results) == 4
    for variant in cfg.variants:
        for seed in cfg.seeds:
            assert is_complete(run_dir(root, variant, "tiny", seed))
    assert results["heldout_loss"].is_finite().all() and results["score_at_fixed_step"].is_finite().all()
    assert (root / "curves-tiny.png").stat().st_size > 1000


def test_summary_pairs_variant_with_baseline(experiment):
    _, root, summary, _ = experiment
    results = pl.read_parquet(root / "results.parquet")
    row = summary.filter((pl.col("variant") == "synthetic") & (pl.col("measure") == "heldout_loss")).row(0, named=True)
    base = results.filter(pl.col("variant") == "baseline").sort("seed")["heldout_loss"].to_numpy()
    var = results.filter(pl.col("variant") == "synthetic").sort("seed")["heldout_loss"].to_numpy()
    assert row["n"] == 2 and math.isclose(row["diff_mean"], float((var - base).mean()), rel_tol=1e-9)
    assert "| synthetic |" in (root / "summary.md").read_text()


def test_rerun_skips_completed_runs_and_reproduces_the_summary(experiment):
    cfg, root, summary, base = experiment
    marker = run_dir(root, "baseline", "tiny", 0) / "_COMPLETE.json"
    before = marker.stat().st_mtime_ns
    again = run_experiment(cfg, base, root)
    assert marker.stat().st_mtime_ns == before
    assert again.equals(summary)


def test_unformed_runs_count_at_the_budget_in_emergence_or_budget(experiment):
    cfg, root, _, _ = experiment
    results = pl.read_parquet(root / "results.parquet")
    for row in results.iter_rows(named=True):
        expected = cfg.steps if math.isnan(row["emergence_step"]) else row["emergence_step"]
        assert row["emergence_or_budget"] == expected


def _sweep_rows(ratios: dict[str, float]) -> pl.DataFrame:
    rows = []
    for variant, ratio in ratios.items():
        for seed in range(3):
            rows.append({"variant": variant, "scale": "nano", "seed": seed, "emergence_step": 1000.0,
                         "emergence_or_budget": 1000.0, "area": 0.1, "score_at_fixed_step": 0.2 + ratio + 0.01 * seed,
                         "final_score": 0.5, "icl": 0.3, "heldout_loss": 4.0 + ratio / 10 + 0.001 * seed})
    return pl.DataFrame(rows)


def test_ratio_sweep_plot_only_when_there_are_several_ratios(tmp_path):
    ratios = {"baseline": 0.0, "s1": 0.01, "s5": 0.05}
    variants = {n: MixConfig() if r == 0 else MixConfig(variant="synthetic", ratio=r, synthetic=tmp_path)
                for n, r in ratios.items()}
    cfg = ExperimentConfig(variants=variants, steps=2000)
    summary = summarize_results(_sweep_rows(ratios), cfg)
    assert sweep_ratios(cfg) == ratios
    path = plot_sweep(cfg, summary, tmp_path, "nano")
    assert path is not None and path.stat().st_size > 1000
    single = ExperimentConfig(variants={k: v for k, v in variants.items() if k != "s5"}, steps=2000)
    assert sweep_ratios(single) == {} and plot_sweep(single, summary, tmp_path / "none", "nano") is None


def test_compact_table_has_one_row_per_variant_with_the_paired_change(tmp_path):
    ratios = {"baseline": 0.0, "s5": 0.05}
    variants = {"baseline": MixConfig(), "s5": MixConfig(variant="synthetic", ratio=0.05, synthetic=tmp_path)}
    cfg = ExperimentConfig(variants=variants, steps=2000)
    rows = _sweep_rows(ratios).with_columns(score_at_fixed_step=pl.Series([0.2, 0.3, 0.1, 0.3, 0.35, 0.25]))
    table = compact_table(summarize_results(rows, cfg), 1000)
    assert table["variant"].to_list() == ["baseline", "s5"]
    s5 = table.row(1, named=True)
    # paired differences 0.1, 0.05, 0.15: mean 0.1 = +50% of the baseline mean 0.2
    assert s5["change [95% CI]"].startswith("+50.0% [") and s5["score@1000"] == "0.3"
    assert table.row(0, named=True)["change [95% CI]"] == "-"
