"""The ``experiment`` stage: train every variant on the train stage's grid, pair with the baseline.

Layout under ``experiment/``: ``variants/<name>/`` (packed-corpus variants, see :mod:`.mix`),
``runs/<name>/<scale>/seed<k>/``, ``results.parquet``, ``summary.parquet``/``summary.md`` and
plots. ``runs/baseline`` links to the train stage's runs: the baseline arm is trained once.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from ..stage import Section, Stage
from .config import ExperimentStageConfig


def resolved(cfg: ExperimentStageConfig, train_dir: Path):
    """The runner's config: this stage's arms on the train stage's recorded grid."""
    from ..training.stage import grid_of
    from .mix import MixConfig
    from .runner import ExperimentConfig

    grid = grid_of(train_dir)
    # Every option as recorded, except the per-process settings the grid runner chooses itself.
    options = grid.options.model_dump(exclude={"threads", "progress"})
    eval_every = options.pop("eval_every")
    variants = {"baseline": MixConfig(), **cfg.variants}
    return ExperimentConfig(variants=variants, scales=grid.scales, seeds=grid.seeds, steps=grid.steps,
                            eval_every=eval_every, train=options, metric=cfg.metric, head=cfg.head,
                            threshold=cfg.threshold, fixed_step=cfg.fixed_step, jobs=grid.jobs)


def link_baseline(root: Path, train_dir: Path) -> None:
    """``runs/baseline`` -> the train stage's runs (relative, so the run root can move)."""
    link = root / "runs" / "baseline"
    link.parent.mkdir(parents=True, exist_ok=True)
    target = os.path.relpath(Path(train_dir).resolve(), link.parent.resolve())
    if link.is_symlink() and os.readlink(link) == target:
        return
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(target, target_is_directory=True)


class ExperimentStage(Stage):
    """Variants x the baseline grid, measured and compared (paired by seed)."""

    name = "experiment"
    Config = ExperimentStageConfig
    needs = ("train", "pack")
    summary = "variants/, runs/<variant>/<scale>/seed<k>/, results.parquet, summary.{parquet,md}, curves"

    def complete(self, out: Path, cfg: ExperimentStageConfig | None = None) -> bool:
        return False  # always rebuilt: complete runs are skipped run by run, the summary is cheap

    def build(self, inputs: Mapping[str, Path], out: Path, cfg: ExperimentStageConfig, *,
              overwrite: bool = False) -> Path:
        from ..console import say
        from ..training.grid import train_runs
        from .mix import build_variant
        from .runner import train_configs, write_summary

        exp = resolved(cfg, inputs["train"])
        out.mkdir(parents=True, exist_ok=True)
        link_baseline(out, inputs["train"])
        dirs = {name: build_variant(inputs["pack"], out / "variants" / name, mix, overwrite=overwrite)
                for name, mix in exp.variants.items() if name != "baseline"}
        jobs = train_configs(exp, out, dirs)
        say(f"experiment: {sum(1 for j in jobs if (Path(j['out']) / '_COMPLETE.json').is_file())} of "
            f"{len(jobs)} variant runs complete")
        train_runs(jobs, exp.jobs, "experiment", root=out / "runs")
        write_summary(exp, out)
        return out

    def report_section(self, out: Path) -> Section | None:
        from .report import experiment_section

        return experiment_section(out)
