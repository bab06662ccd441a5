"""The ``experiment`` stage: every arm on the train section's grid, paired by seed with a baseline.

Layout under ``experiment/``: ``preregistration.json`` (the design, recorded before the first
run), ``variants/<name>/`` (content and per-seed orders, see :mod:`.mix`),
``runs/<name>/<scale>/seed<k>/``, ``results.parquet``, ``summary.{parquet,md}`` and plots.

The baseline arm is trained here, not taken from the ``train`` stage: with per-seed orders and
branching, seed ``s``'s baseline is cut from the experiment's own order plan (its blocks depend
on the branch point and horizon) and is the trunk every other arm of ``s`` continues from. The
``train`` stage's runs serve the attribution; the grid settings are shared.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..stage import Section, Stage
from .config import ExperimentConfig, ExperimentStageConfig


def drop_old_baseline_link(root: Path) -> None:
    """Directories written before the experiment trained its own baseline linked ``runs/baseline``
    to the train stage; that link would make the train runs pass for the trunks."""
    link = root / "runs" / "baseline"
    if link.is_symlink():
        link.unlink()


def require_store_coverage(exp: ExperimentConfig, cfg: ExperimentStageConfig) -> None:
    """A synthetic arm whose generators cover too little of the attributed mass is refused."""
    from ..motifs.coverage import require_coverage

    for mix in exp.variants.values():
        if mix.synthetic is not None:
            require_coverage(mix.synthetic, cfg.min_coverage, cfg.allow_low_coverage)


class ExperimentStage(Stage):
    """Arms x the grid's seeds: trunks, branched arms, pre-registered endpoint, paired statistics."""

    name = "experiment"
    Config = ExperimentStageConfig
    needs = ("train", "pack")
    summary = ("preregistration.json, variants/, runs/<variant>/<scale>/seed<k>/, results.parquet, "
               "summary.{parquet,md}, curves, Kaplan-Meier, effects")

    def check(self, cfg: ExperimentStageConfig, recipe: Any) -> None:
        grid = getattr(recipe, "train", None)
        if grid is not None:
            cfg.resolve(grid)  # the design must fit the grid (branch below steps, window inside, ...)

    def complete(self, out: Path, cfg: ExperimentStageConfig | None = None) -> bool:
        return False  # always rebuilt: complete runs are skipped run by run, the summary is cheap

    def build(self, inputs: Mapping[str, Path], out: Path, cfg: ExperimentStageConfig, *,
              overwrite: bool = False) -> Path:
        from ..artifacts import is_complete
        from ..console import say
        from ..training.stage import grid_of
        from .design import run_pilot
        from .mix import build_variant
        from .runner import run_experiment
        from .spawn import run_dir

        grid = grid_of(inputs["train"])
        exp = cfg.resolve(grid)
        require_store_coverage(exp, cfg)
        out.mkdir(parents=True, exist_ok=True)
        drop_old_baseline_link(out)
        if overwrite:  # otherwise the runner builds (or skips) each variant itself
            for name, mix in exp.variants.items():
                build_variant(inputs["pack"], out / "variants" / name, mix, overwrite=True)
        if not exp.sequential.enabled:
            runs = [run_dir(out, v, sc, s) for v in exp.variants for sc in exp.scales for s in exp.seeds]
            say(f"experiment: {sum(is_complete(r) for r in runs)} of {len(runs)} runs complete "
                f"(trunks: baseline; arms branch at step {exp.branch.step})")
        options = {k: v for k, v in grid.backend_options().items() if k != "backend"}
        options = options if exp.backend == "ray" else None
        if cfg.pilot:
            run_pilot(exp, inputs["pack"], out, options)
        else:
            run_experiment(exp, inputs["pack"], out, options)
        return out

    def report_section(self, out: Path) -> Section | None:
        from .report import experiment_section

        return experiment_section(out)
