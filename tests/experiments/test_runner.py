"""The experiment end to end on the tiny preset: per-seed orders, arms branched from the
baseline trunk, the pre-registered endpoint, Holm-corrected tables, pilot and sequential looks."""

from __future__ import annotations

import json
import math

import numpy as np
import polars as pl
import pytest

from mda_augment.artifacts import is_complete, read_json
from mda_augment.corpus.packed import PackedCorpus
from mda_augment.errors import ConfigError
from mda_augment.experiments.config import ExperimentConfig
from mda_augment.experiments.design import run_pilot, run_sequential
from mda_augment.experiments.runner import complete_seeds, run_experiment
from mda_augment.experiments.spawn import run_dir
from mda_augment.experiments.tables import compact_table

STEPS, BRANCH = 24, 8
UNITS = {"probes": ["prefix_matching", "prefix_matching_sq", "heldout_loss", "heldout_loss_novel"],
         "n_random": 8, "n_natural": 8}
CONTROL = {"n_docs": 60, "span": 6}


def config(scores, **kw) -> ExperimentConfig:
    variants = {
        "baseline": {},
        "null": {"variant": "synthetic", "ratio": 0.0, "control": "repeated_spans", "control_options": CONTROL},
        "positive": {"variant": "synthetic", "ratio": 0.3, "control": "repeated_spans", "control_options": CONTROL},
        "upweight_top": {"variant": "upweight_top", "k_frac": 0.2, "scores": scores},
        "remove_top": {"variant": "remove_top", "k_frac": 0.2, "scores": scores},
    }
    base = {"variants": variants, "scales": ["tiny"], "seeds": [0, 1], "steps": STEPS, "eval_every": 4,
            "branch": {"step": BRANCH}, "endpoint": {"threshold": 0.05}, "backend": "inline", "jobs": 1,
            "stats": {"compare": [["positive", "null"]], "bootstrap": 200}, "power": {"seeds": 2},
            "train": {"checkpoint_every": 8, "units": UNITS}}
    return ExperimentConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def scores(packed_corpus, tmp_path_factory):
    """Scores for the window block's sequences (the same set for every seed)."""
    window = PackedCorpus(packed_corpus).order(BRANCH * 8, STEPS * 8)
    path = tmp_path_factory.mktemp("scores") / "scores.parquet"
    pl.DataFrame({"seq": window, "score": np.random.default_rng(0).normal(size=len(window))}).write_parquet(path)
    return path


@pytest.fixture(scope="module")
def experiment(packed_corpus, scores, tmp_path_factory):
    root = tmp_path_factory.mktemp("exp") / "e"
    cfg = config(scores)
    return cfg, root, run_experiment(cfg, packed_corpus, root), packed_corpus


def _units(run):
    return pl.read_parquet(run / "units.parquet").sort("step", "metric", "layer", "head")


def test_every_run_trained_and_arms_branch_from_the_baseline_trunk(experiment):
    cfg, root, _, _ = experiment
    results = pl.read_parquet(root / "results.parquet")
    assert results.height == len(cfg.variants) * len(cfg.seeds)
    for seed in cfg.seeds:
        assert _units(run_dir(root, "baseline", "tiny", seed))["step"].min() == 0
        arm = run_dir(root, "positive", "tiny", seed)
        assert is_complete(arm) and _units(arm)["step"].min() == BRANCH
    assert results["auc"].is_finite().all() and results["auc_probe_se"].is_finite().all()


def test_an_arm_that_changes_nothing_reproduces_the_baseline_exactly(experiment):
    _, root, summary, _ = experiment
    for seed in (0, 1):
        base = _units(run_dir(root, "baseline", "tiny", seed)).filter(pl.col("step") >= BRANCH)
        null = _units(run_dir(root, "null", "tiny", seed))
        assert np.allclose(base["value"].to_numpy(), null["value"].to_numpy(), atol=1e-6)
    row = summary.filter((pl.col("variant") == "null") & (pl.col("measure") == "auc")).row(0, named=True)
    assert row["diff_mean"] == pytest.approx(0.0, abs=1e-7)


def test_positive_arm_changes_exactly_its_declared_share_of_the_window(experiment):
    cfg, root, _, _ = experiment
    results = pl.read_parquet(root / "results.parquet")
    budget, window = STEPS * 8, (STEPS - BRANCH) * 8
    same = results.filter(pl.col("variant") == "positive")["same_fraction"].to_list()
    assert same == pytest.approx([1 - round(0.3 * window) / budget] * 2)
    assert results.filter(pl.col("variant") == "baseline")["same_fraction"].to_list() == [1.0, 1.0]


def test_target_head_is_fixed_per_seed_from_the_baseline(experiment):
    _, root, _, _ = experiment
    heads = read_json(root / "target_heads.json")["tiny"]
    results = pl.read_parquet(root / "results.parquet")
    for seed, head in heads.items():
        assert set(results.filter(pl.col("seed") == int(seed))["head"]) == {head}


def test_summary_pairs_every_comparison_and_corrects_with_holm(experiment):
    _, root, summary, _ = experiment
    primary = summary.filter((pl.col("measure") == "auc") & pl.col("reference").is_not_null())
    pairs = set(zip(primary["variant"], primary["reference"], strict=True))
    assert pairs == {("null", "baseline"), ("positive", "baseline"), ("upweight_top", "baseline"),
                     ("remove_top", "baseline"), ("positive", "null")}
    p, adj = primary["p_value"].to_numpy(), primary["p_holm"].to_numpy()
    ok = ~np.isnan(p)
    assert (adj[ok] >= p[ok] - 1e-12).all()
    assert len(compact_table(summary)) == len(pairs)
    assert (root / "km-tiny.png").stat().st_size > 1000 and (root / "effects-tiny.png").stat().st_size > 1000
    assert "Primary endpoint" in (root / "summary.md").read_text()


def test_rerun_skips_completed_runs_and_reproduces_the_summary(experiment):
    cfg, root, summary, base = experiment
    marker = run_dir(root, "positive", "tiny", 0) / "_COMPLETE.json"
    before = marker.stat().st_mtime_ns
    again = run_experiment(cfg, base, root)
    assert marker.stat().st_mtime_ns == before
    assert again.drop("per_seed").equals(summary.drop("per_seed"))


def test_complete_seeds_are_those_with_every_arm_trained(experiment, scores):
    cfg, root, _, _ = experiment
    assert complete_seeds(cfg, root) == [0, 1]
    assert complete_seeds(config(scores, seeds=[0, 1, 2]), root) == [0, 1]  # seed 2 never trained
    more = {**cfg.model_dump()["variants"], "remove_more": {"variant": "remove_top", "k_frac": 0.4, "scores": scores}}
    assert complete_seeds(config(scores, variants=more), root) == []  # an arm not trained in any seed


def test_changing_the_preregistered_endpoint_is_refused(experiment):
    cfg, root, _, base = experiment
    changed = cfg.model_copy(update={"endpoint": cfg.endpoint.model_copy(update={"threshold": 0.2})})
    with pytest.raises(ConfigError, match="pre-registered"):
        run_experiment(changed, base, root)


def test_pilot_reports_the_paired_sd_and_seeds_needed(experiment):
    cfg, root, _, base = experiment
    table = run_pilot(cfg, base, root)
    row = table.filter(pl.col("comparison") == "positive vs baseline").row(0, named=True)
    diffs = pl.read_parquet(root / "results.parquet").pivot(on="variant", index="seed", values="auc")
    d = (diffs["positive"] - diffs["baseline"]).to_numpy()
    assert row["n"] == 2 and row["sd_diff"] == pytest.approx(float(np.std(d, ddof=1)))
    assert math.isnan(row["seeds_for_stated"]) or row["seeds_for_stated"] >= 2
    assert "seeds a two-sided paired t-test needs" in (root / "pilot.md").read_text()


def test_sequential_mode_records_every_look_and_replays_them(packed_corpus, scores, tmp_path):
    cfg = config(scores, seeds=[0, 1, 2], variants={"baseline": {}, "positive": config(scores).variants["positive"]},
                 stats={}, sequential={"enabled": True, "first": 2, "step": 1, "max_seeds": 3})
    run_sequential(cfg, packed_corpus, tmp_path)
    looks = [json.loads(line) for line in (tmp_path / "looks.jsonl").read_text().splitlines()]
    assert [lk["seeds"] for lk in looks][0] == [0, 1] and 1 <= len(looks) <= 2
    assert sum(lk["alpha_spent"] for lk in looks) <= 0.05 + 1e-12
    assert looks[-1]["stop"] or looks[-1]["seeds"] == [0, 1, 2]
    run_sequential(cfg, packed_corpus, tmp_path)
    assert len((tmp_path / "looks.jsonl").read_text().splitlines()) == len(looks)


def test_an_arm_acting_later_branches_later_and_its_curve_starts_at_the_horizon(experiment, scores):
    cfg, root, _, base = experiment
    late = {"variant": "synthetic", "ratio": 0.3, "control": "repeated_spans", "control_options": CONTROL,
            "start_step": 16}
    cfg2 = cfg.model_copy(update={"variants": {**cfg.variants, "positive_late": late}})
    cfg2 = ExperimentConfig.model_validate(cfg2.model_dump())
    assert cfg2.branch_step("positive_late") == 16 and cfg2.branch_step("positive") == BRANCH
    summary = run_experiment(cfg2, base, root)
    arm = _units(run_dir(root, "positive_late", "tiny", 0))
    assert arm["step"].min() == 16  # trained only from its own window
    slots = np.load(root / "variants" / "positive_late" / "orders" / "tiny" / "seed0" / "slots.npy")
    assert slots.min() >= 16 * 8 and len(slots) == round(0.3 * (STEPS - 16) * 8)
    results = pl.read_parquet(root / "results.parquet").filter(pl.col("variant") == "positive_late")
    assert results.height == 2 and results["auc"].is_finite().all()  # measured over [BRANCH, STEPS]
    prereg = read_json(root / "preregistration.json")
    assert "positive_late" in prereg["added_later"] and "positive_late" not in prereg["variants"]
    assert "positive_late" in set(summary["variant"])


def test_ray_backend_branches_arms_in_ray_tasks_and_matches_inline(experiment, packed_corpus, tmp_path):
    """A real local Ray (2 CPUs): the trunk and an arm that waits in its task for the trunk's
    branch checkpoint; the curves equal the inline run's (same code, one thread, same order)."""
    pytest.importorskip("ray")
    cfg, inline_root, _, _ = experiment
    small = ExperimentConfig(**{**cfg.model_dump(), "seeds": [0], "backend": "ray", "jobs": 2,
                                "variants": {k: v for k, v in cfg.model_dump()["variants"].items()
                                             if k in ("baseline", "positive")}, "stats": {"bootstrap": 0}})
    root = tmp_path / "ray"
    run_experiment(small, packed_corpus, root)
    for variant in ("baseline", "positive"):
        run = run_dir(root, variant, "tiny", 0)
        assert read_json(run / "worker.json")["backend"] == "ray"
        assert np.allclose(_units(run)["value"].to_numpy(),
                           _units(run_dir(inline_root, variant, "tiny", 0))["value"].to_numpy(), atol=1e-6)
