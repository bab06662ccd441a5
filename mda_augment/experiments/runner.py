"""``experiment``: train variants x scales x seeds, branch arms from shared trunks, compare.

Layout under the experiment directory (see :mod:`.spawn` for variants/ and runs/)::

    preregistration.json        endpoint, arms, horizon, branch point, alpha, correction and
                                stopping rule, written before the first run trains
    target_heads.json           per scale and seed, the baseline's target head (fixed once)
    results.parquet             one row per run (see measures)
    summary.parquet, summary.md paired comparisons with CIs and Holm-adjusted p (see tables)
    curves-/km-/effects-<scale>.png
    pilot.json, pilot.md        ``run_pilot``: SD of the paired difference, seeds needed
    looks.jsonl                 ``run_sequential``: every look, its alpha and decision

Order of work: the baseline of every seed first (it is the trunk the other arms branch from),
then the other arms. Each run resumes from its own checkpoints, so rerunning after a crash only
finishes what is missing. The stage functions (``train_variants``, ``write_summary``) are what a
pipeline calls; ``run_experiment`` chains them for the ``experiment`` verb.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import polars as pl

from ..artifacts import atomic_write_json, atomic_write_text, is_complete, read_json
from ..errors import ConfigError
from .config import (
    PREREGISTRATION,
    RESULTS,
    SETTINGS,
    SUMMARY,
    SUMMARY_MD,
    ExperimentConfig,
    MixConfig,
)
from .mix import build_variant
from .plots import plot_curves, plot_effects, plot_km
from .spawn import RunSpec, run_dir, run_specs, train_specs
from .tables import (
    collect,
    compact_markdown,
    compact_table,
    markdown,
    per_seed_table,
    summarize_results,
)

__all__ = ["ExperimentConfig", "MixConfig", "compact_markdown", "compact_table", "complete_seeds", "preregister", "run_dir",
           "run_experiment", "summarize_results", "train_all", "train_configs", "train_variants", "write_summary"]



def preregister(cfg: ExperimentConfig, root: Path) -> dict:
    """Record the design before anything trains; refuse a later change of it in the same directory."""
    path = Path(root) / PREREGISTRATION
    declared = cfg.preregistration() | {"registered_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    if not path.is_file():
        atomic_write_json(path, declared)
        return declared
    old = read_json(path)
    for key in ("steps", "order", "branch", "window", "endpoint", "stats", "sequential"):
        if old.get(key) != declared[key]:
            raise ConfigError(f"{path}: experiment.{key} was pre-registered as {old.get(key)} and is now "
                              f"{declared[key]}; a new design needs a new experiment directory")
    for name, mix in declared["variants"].items():  # an arm may be added later, never redefined
        before = old["variants"].get(name) or old.get("added_later", {}).get(name, {}).get("definition")
        if before is not None and _arm(before) != _arm(mix):
            raise ConfigError(f"{path}: variant '{name}' was registered as {before}; give a changed arm a new name")
        if before is None:
            old.setdefault("added_later", {})[name] = {"definition": mix, "at": declared["registered_at"]}
            atomic_write_json(path, old)
    return old


def _arm(mix: dict) -> dict:
    """An arm's definition, defaults filled, without its input paths (a recipe resolves
    @-placeholders to paths, and a field added to MixConfig later takes its default)."""
    return MixConfig(**mix).model_dump(mode="json", exclude={"scores", "synthetic"})


def train_configs(cfg: ExperimentConfig, root: Path, variant_dirs: dict[str, Path],
                  seeds: list[int] | None = None) -> list[RunSpec]:
    """Every run of ``variant_dirs`` (variant -> content from :func:`build_variant`), orders built."""
    preregister(cfg, root)
    return run_specs(cfg, Path(root), variant_dirs, seeds)


def train_all(specs: list[RunSpec], parallel: int, backend: str = "process", **options: object) -> None:
    """Train every run not yet complete (trunks first; arms branch from them, see spawn)."""
    train_specs(specs, parallel, backend, **options)


def build_contents(cfg: ExperimentConfig, base: Path, root: Path, names: list[str]) -> dict[str, Path]:
    """Each named variant's content directory (tokens, index; the orders come per seed)."""
    return {name: build_variant(base, Path(root) / "variants" / name, cfg.variants[name]) for name in names}


def train_variants(cfg: ExperimentConfig, base: str | os.PathLike, root: str | os.PathLike,
                   names: list[str] | None = None, seeds: list[int] | None = None,
                   options: dict | None = None) -> list[RunSpec]:
    """Build and train the named variants (default: all) for ``seeds`` (default: all).

    ``options``: the backend's keyword arguments (the train section's Ray settings)."""
    root = Path(root)
    names = names if names is not None else list(cfg.variants)
    specs = train_configs(cfg, root, build_contents(cfg, Path(base), root, names), seeds)
    train_all(specs, cfg.jobs, cfg.backend, **(options or {}))
    return specs


def complete_seeds(cfg: ExperimentConfig, root: str | os.PathLike) -> list[int]:
    """Seeds whose every arm at every scale has a complete run: a summary over them is balanced."""
    return [s for s in cfg.seeds
            if all(is_complete(run_dir(Path(root), v, sc, s)) for v in cfg.variants for sc in cfg.scales)]


def write_summary(cfg: ExperimentConfig, root: str | os.PathLike, seeds: list[int] | None = None) -> pl.DataFrame:
    """Measure every complete run and write results, summary (Parquet + Markdown) and plots."""
    root = Path(root)
    atomic_write_json(root / SETTINGS, cfg.model_dump(mode="json"))
    results = collect(cfg, root, seeds)
    results.write_parquet(root / RESULTS)
    summary = summarize_results(results, cfg)
    summary.write_parquet(root / SUMMARY)
    lo, hi = cfg.horizon
    text = (f"Primary endpoint: area under the target head's {cfg.endpoint.metric} over steps [{lo}, {hi}] "
            f"(time-averaged score); Holm within the primary and within the secondary family.\n\n"
            + markdown(compact_table(summary)) + "\nPrimary endpoint per seed:\n\n" + markdown(per_seed_table(results))
            + "\nEvery measure:\n\n" + markdown(summary.drop("per_seed", strict=False)))
    atomic_write_text(root / SUMMARY_MD, text)
    for scale in cfg.scales:
        if not results.is_empty():
            plot_curves(cfg, root, results, scale)
            plot_km(cfg, root, results, scale)
            plot_effects(summary, root, scale)
    return summary


def run_experiment(cfg: ExperimentConfig, base: str | os.PathLike, root: str | os.PathLike,
                   options: dict | None = None) -> pl.DataFrame:
    """Build variants, train every run (resuming), and write results, summary and plots."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    if cfg.sequential.enabled:
        from .design import run_sequential

        return run_sequential(cfg, base, root, options)
    train_variants(cfg, base, root, options=options)  # one call: trunks first, arms start as soon as a worker and a trunk are ready
    return write_summary(cfg, root)
