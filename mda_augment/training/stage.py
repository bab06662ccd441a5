"""The ``train`` stage: the baseline runs, every scale x seed, on the packed corpus.

Layout: ``train/<scale>/seed<k>/`` (a run directory, see :mod:`.rundir`) per run, and the stage's
``config.json`` / ``_COMPLETE.json`` once every run is complete. Attribution reads these runs
(the checkpoint before the head forms); the experiment's baseline arm *is* these runs, so the
baseline is trained once.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ..artifacts import CONFIG_NAME, MARKER, atomic_write_json, is_complete, read_json, to_jsonable
from ..stage import Section, Stage
from .config import TrainGridConfig

PLOT = "prefix_matching.png"


def run_path(root: Path, scale: str, seed: int) -> Path:
    """Where the train stage keeps the run of ``scale`` and ``seed``."""
    return Path(root) / scale / f"seed{seed}"


def run_configs(cfg: TrainGridConfig, corpus: Path, root: Path) -> list[dict]:
    """One TrainConfig dict per scale x seed (single-thread, no per-run progress bar)."""
    options = cfg.options.model_dump(exclude_unset=True)
    return [{**options, "preset": scale, "corpus": str(corpus), "out": str(run_path(root, scale, seed)),
             "steps": cfg.steps, "seed": seed, "threads": 1, "progress": False}
            for scale in cfg.scales for seed in cfg.seeds]


def grid_of(train_dir: Path) -> TrainGridConfig:
    """The resolved grid a complete train stage recorded (what later stages pair with)."""
    return TrainGridConfig.model_validate(read_json(Path(train_dir) / CONFIG_NAME))


def best_head_curve(run: Path, metric: str = "prefix_matching"):
    """(steps, values): the best head's score per evaluated step of one run."""
    import polars as pl

    from .rundir import UNITS

    units = pl.read_parquet(Path(run) / UNITS)
    best = (units.filter((pl.col("metric") == metric) & (pl.col("layer") >= 0))
            .group_by("step").agg(pl.col("value").max()).sort("step"))
    return best["step"].to_numpy(), best["value"].to_numpy()


def plot_baseline(out: Path, cfg: TrainGridConfig) -> Path:
    """``train/prefix_matching.png``: the best head's prefix matching of every run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for scale in cfg.scales:
        for seed in cfg.seeds:
            ax.plot(*best_head_curve(run_path(out, scale, seed)), lw=1.2, label=f"{scale} seed {seed}")
    ax.axhline(0.3, color="grey", ls="--", lw=0.8)
    ax.set_xlabel("step")
    ax.set_ylabel("prefix matching (best head)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    path = out / PLOT
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


class TrainStage(Stage):
    """Train the baseline grid; resumable run by run."""

    name = "train"
    Config = TrainGridConfig
    needs = ("pack",)
    summary = "baseline runs train/<scale>/seed<k>/: checkpoints, metrics.parquet, units.parquet"

    def complete(self, out: Path, cfg: TrainGridConfig | None = None) -> bool:
        if not is_complete(out):
            return False
        return cfg is None or all(is_complete(run_path(out, s, k)) for s in cfg.scales for k in cfg.seeds)

    def build(self, inputs: Mapping[str, Path], out: Path, cfg: TrainGridConfig, *, overwrite: bool = False) -> Path:
        import shutil

        from .grid import train_runs

        if overwrite and out.exists():
            shutil.rmtree(out)
        jobs = run_configs(cfg, inputs["pack"], out)
        train_runs(jobs, cfg.jobs, "train", root=out, **cfg.backend_options())
        atomic_write_json(out / CONFIG_NAME, to_jsonable(cfg))
        plot_baseline(out, cfg)
        atomic_write_json(out / MARKER, {"runs": [j["out"] for j in jobs]})
        return out

    def report_section(self, out: Path) -> Section | None:
        import polars as pl

        from ..report.html import images, table
        from ..units.report import emergence_step

        cfg = grid_of(out)
        rows = []
        for scale in cfg.scales:
            for seed in cfg.seeds:
                steps, values = best_head_curve(run_path(out, scale, seed))
                rows.append({"scale": scale, "seed": seed, "final prefix matching (best head)": float(values[-1]),
                             "first step from which it stays >= 0.3": emergence_step(steps, values, 0.3)})
        plot = [out / PLOT] if (out / PLOT).is_file() else []
        return Section("Baseline runs", table(pl.DataFrame(rows)) + images(plot))
