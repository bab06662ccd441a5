"""``experiment``: train variants x scales x seeds and compare them with the baseline.

Layout under the experiment directory::

    variants/<variant>/                 packed-corpus variants (see :mod:`mix`)
    runs/<variant>/<scale>/seed<k>/     one training run each (see training.rundir)
    results.parquet                     one row per run: emergence step, area, score at the
                                        fixed step, ICL, held-out loss
    summary.parquet, summary.md         per (scale, variant): mean, 95% CI, paired difference
                                        with the baseline (same seeds), p-value, % change
    curves-<scale>.png                  the target unit's score over steps, mean and 95% band
    sweep-<scale>.png                   with >= 2 synthetic ratios: score gain and held-out loss
                                        change against the ratio (paired, 95% CI)

Runs are independent single-thread jobs executed ``jobs`` at a time (two one-thread jobs on two
cores each keep 90-100% of their solo speed, FACTS.md). Each run resumes from its own
checkpoints, so rerunning the command after a crash only finishes what is missing. The
seed sets the model initialisation; the data order is the variant's, derived from one base
order, so a variant and the baseline with the same seed differ only by the data.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from pydantic import Field, model_validator
from tqdm import tqdm

from ..artifacts import atomic_write_json, atomic_write_text, is_complete
from ..config import StrictModel
from ..errors import ArtifactError
from .mix import MixConfig, build_variant
from .stats import paired, summarize

MEASURES = ("emergence_step", "emergence_or_budget", "area", "score_at_fixed_step", "final_score", "icl",
            "heldout_loss")


class ExperimentConfig(StrictModel):
    """What to train and how to compare it."""

    variants: dict[str, MixConfig] = Field(default_factory=lambda: {"baseline": MixConfig()},
                                           description="name -> corpus variant; must include 'baseline'")
    scales: list[str] = Field(default_factory=lambda: ["nano"], min_length=1, description="model presets")
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2], min_length=1)
    steps: int = Field(2000, ge=1, description="optimizer steps per run (equal token budget)")
    eval_every: int = Field(100, ge=1)
    train: dict[str, Any] = Field(default_factory=dict, description="extra TrainConfig fields (lr, ...)")
    metric: str = Field("prefix_matching", description="unit metric that defines the target unit")
    head: str | None = Field(None, pattern=r"^L\d+H\d+$", description="target head, e.g. L1H2; default: max over heads")
    threshold: float = Field(0.3, description="emergence threshold on the target unit's score")
    fixed_step: int | None = Field(None, ge=0, description="step for the paper's score comparison (default: steps // 2)")
    jobs: int = Field(2, ge=1, description="runs trained at the same time (one thread each)")

    @model_validator(mode="after")
    def _baseline(self) -> ExperimentConfig:
        if "baseline" not in self.variants:
            raise ValueError("variants must include 'baseline' (the comparison everything is paired with)")
        return self

    @property
    def at_step(self) -> int:
        return self.fixed_step if self.fixed_step is not None else self.steps // 2


def run_dir(root: Path, variant: str, scale: str, seed: int) -> Path:
    return root / "runs" / variant / scale / f"seed{seed}"


def _train_one(cfg_dict: dict) -> str:
    """Worker entry (a fresh process): train or resume one run."""
    from ..training.config import TrainConfig
    from ..training.loop import train

    return str(train(TrainConfig(**cfg_dict)))


def train_configs(cfg: ExperimentConfig, root: Path, variant_dirs: dict[str, Path]) -> list[dict]:
    jobs = []
    for variant, vdir in variant_dirs.items():
        for scale in cfg.scales:
            for seed in cfg.seeds:
                jobs.append({"preset": scale, "corpus": str(vdir), "out": str(run_dir(root, variant, scale, seed)),
                             "steps": cfg.steps, "seed": seed, "eval_every": cfg.eval_every,
                             "threads": 1, "progress": False, **cfg.train})
    return jobs


def build_variants(cfg: ExperimentConfig, base: Path, root: Path) -> dict[str, Path]:
    return {name: build_variant(base, root / "variants" / name, mix) for name, mix in cfg.variants.items()}


def train_all(jobs: list[dict], parallel: int) -> None:
    """Train every job not yet complete, ``parallel`` at a time, in fresh processes."""
    todo = [j for j in jobs if not is_complete(j["out"])]
    if not todo:
        return
    ctx = mp.get_context("spawn")  # no forked torch state
    with ProcessPoolExecutor(max_workers=min(parallel, len(todo)), mp_context=ctx) as pool:
        futures = {pool.submit(_train_one, j): j["out"] for j in todo}
        for fut in tqdm(as_completed(futures), total=len(futures), desc="experiment runs", unit="run"):
            fut.result()


def unit_curve(units: pl.DataFrame, metric: str, head: str | None) -> pl.DataFrame:
    """The target unit's score per evaluated step: one head, or the max over heads."""
    data = units.filter((pl.col("metric") == metric) & (pl.col("layer") >= 0))
    if data.is_empty():
        raise ArtifactError(f"metric '{metric}' was not tracked in this run; add it to units.probes")
    if head:
        layer, h = (int(x) for x in head[1:].split("H"))
        data = data.filter((pl.col("layer") == layer) & (pl.col("head") == h))
    return data.group_by("step").agg(pl.col("value").max()).sort("step")


def _model_metric(units: pl.DataFrame, metric: str) -> float:
    rows = units.filter((pl.col("metric") == metric) & (pl.col("layer") < 0)).sort("step")
    return float(rows["value"][-1]) if len(rows) else math.nan


def measure_run(run: Path, cfg: ExperimentConfig) -> dict[str, float]:
    """Emergence step, area, score at the fixed step, final score, ICL, held-out loss."""
    from ..units.report import emergence_step, mean_area

    units = pl.read_parquet(run / "units.parquet")
    curve = unit_curve(units, cfg.metric, cfg.head)
    steps, values = curve["step"].to_numpy(), curve["value"].to_numpy()
    emerged = emergence_step(steps, values, cfg.threshold)
    at = values[steps <= cfg.at_step]
    # A run whose unit never crossed the threshold has no emergence step, so the paired test on
    # ``emergence_step`` drops that seed; ``emergence_or_budget`` keeps it at the step budget (a
    # lower bound on its true emergence), so every seed counts and the censoring is visible.
    return {"emergence_step": math.nan if emerged is None else float(emerged),
            "emergence_or_budget": float(steps[-1]) if emerged is None else float(emerged),
            "area": mean_area(steps, values),
            "score_at_fixed_step": float(at[-1]) if len(at) else math.nan,
            "final_score": float(values[-1]),
            "icl": _model_metric(units, "icl"), "heldout_loss": _model_metric(units, "heldout_loss")}


def collect(cfg: ExperimentConfig, root: Path) -> pl.DataFrame:
    rows = []
    for variant in cfg.variants:
        for scale in cfg.scales:
            for seed in cfg.seeds:
                run = run_dir(root, variant, scale, seed)
                if is_complete(run):
                    rows.append({"variant": variant, "scale": scale, "seed": seed, **measure_run(run, cfg)})
    return pl.DataFrame(rows)


def summarize_results(results: pl.DataFrame, cfg: ExperimentConfig) -> pl.DataFrame:
    """Per (scale, variant, measure): mean, CI, and the paired comparison with the baseline."""
    rows = []
    for (scale, variant), g in results.group_by(["scale", "variant"], maintain_order=True):
        base = results.filter((pl.col("scale") == scale) & (pl.col("variant") == "baseline"))
        for m in (m for m in MEASURES if m in results.columns):  # results written before a measure existed
            s = summarize(g[m].to_list())
            row = {"scale": scale, "variant": variant, "measure": m, **s.as_dict()}
            if m in ("emergence_step", "emergence_or_budget"):
                row["formed"] = f"{int(np.isfinite(g['emergence_step'].to_numpy()).sum())}/{len(g)}"
            if variant != "baseline":
                p = paired(dict(zip(g["seed"], g[m], strict=True)), dict(zip(base["seed"], base[m], strict=True)))
                row.update({"diff_mean": p.diff.mean, "diff_ci_low": p.diff.ci_low,
                            "diff_ci_high": p.diff.ci_high, "p_value": p.p_value, "rel_change_pct": p.rel_change_pct,
                            "rel_ci_low": p.rel_ci_low, "rel_ci_high": p.rel_ci_high})
            rows.append(row)
    return pl.DataFrame(rows, infer_schema_length=None)


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, float):
        return f"{v:.0f}" if abs(v) >= 1000 else f"{v:.4g}"
    return str(v)


def _pct_ci(row: dict | None) -> str:
    """'+12.3% [+1.0, +23.6]': paired difference as % of the baseline mean, with its 95% CI."""
    values = [(row or {}).get(k) for k in ("rel_change_pct", "rel_ci_low", "rel_ci_high")]
    if any(v is None or math.isnan(v) for v in values):
        return "-"
    return "{:+.1f}% [{:+.1f}, {:+.1f}]".format(*values)


def compact_table(summary: pl.DataFrame, fixed_step: int) -> pl.DataFrame:
    """One row per (scale, variant), as text: the comparisons people read first, paired with the baseline."""
    rows = []
    for (scale, variant), g in summary.group_by(["scale", "variant"], maintain_order=True):
        r = {row["measure"]: row for row in g.iter_rows(named=True)}
        sc, em, cap, ho = (r.get(m, {}) for m in ("score_at_fixed_step", "emergence_step", "emergence_or_budget",
                                                   "heldout_loss"))
        shift = "-" if cap.get("diff_mean") is None else \
            f"{cap['diff_mean']:+.0f} [{cap['diff_ci_low']:+.0f}, {cap['diff_ci_high']:+.0f}]"
        rows.append({"scale": scale, "variant": variant, "n": _fmt(sc.get("n")),
                     f"score@{fixed_step}": _fmt(sc.get("mean")), "change [95% CI]": _pct_ci(sc),
                     "p": _fmt(sc.get("p_value")), "formed": _fmt(em.get("formed")),
                     "emergence step": _fmt(em.get("mean")), "shift, unformed = budget [95% CI]": shift,
                     "held-out loss change [95% CI]": _pct_ci(ho), "p (held-out)": _fmt(ho.get("p_value"))})
    return pl.DataFrame(rows)


def compact_markdown(summary: pl.DataFrame, fixed_step: int) -> str:
    table = compact_table(summary, fixed_step)
    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(row) + " |" for row in table.iter_rows()]
    return "\n".join(lines) + "\n"


def markdown(summary: pl.DataFrame) -> str:
    """The summary as a Markdown table (rounded)."""
    fmt = _fmt

    cols = [c for c in ("scale", "variant", "measure", "n", "mean", "ci_low", "ci_high", "formed", "diff_mean",
                        "diff_ci_low", "diff_ci_high", "p_value", "rel_change_pct") if c in summary.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(fmt(r[c]) for c in cols) + " |" for r in summary.iter_rows(named=True)]
    return "\n".join(lines) + "\n"


def _seed_curves(cfg: ExperimentConfig, root: Path, scale: str, variant: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(steps, (seeds, evals) target-unit scores) over the variant's complete runs; None if none."""
    curves = [unit_curve(pl.read_parquet(run_dir(root, variant, scale, s) / "units.parquet"), cfg.metric, cfg.head)
              for s in cfg.seeds if is_complete(run_dir(root, variant, scale, s))]
    if not curves:
        return None
    steps = curves[0]["step"].to_numpy()
    return steps, np.stack([c["value"].to_numpy()[: len(steps)] for c in curves])


def _draw_variant(ax: Any, variant: str, steps: np.ndarray, stack: np.ndarray, color: str) -> None:
    """One variant's mean curve, its seeds (thin) and, from 3 seeds, a 95% band."""
    ax.plot(steps, stack.mean(axis=0), color=color, label=f"{variant} (mean of {len(stack)})", lw=1.6)
    for row in stack:
        ax.plot(steps, row, color=color, lw=0.6, alpha=0.5)
    if len(stack) >= 3:  # a t-interval from 2 seeds (t = 12.7) says nothing; show the seeds
        bands = [summarize(stack[:, i]) for i in range(stack.shape[1])]
        low = np.clip([b.ci_low for b in bands], 0, None)
        ax.fill_between(steps, low, [b.ci_high for b in bands], color=color, alpha=0.2)


def _save(fig: Any, path: Path, dpi: int) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def plot_curves(cfg: ExperimentConfig, root: Path, scale: str) -> Path:
    """Mean target-unit score per variant with a shaded 95% band over seeds.

    Up to three variants share one panel; with more, each other variant gets its own panel
    beside the baseline (eight overlapping bands cannot be read).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    others = [v for v in cfg.variants if v != "baseline"]
    groups = [list(cfg.variants)] if len(cfg.variants) <= 3 else [["baseline", v] for v in others]
    cols = min(len(groups), 4)
    rows = -(-len(groups) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols if cols > 1 else 6.4, 3.4 * rows if cols > 1 else 3.8),
                             sharex=True, sharey=True, squeeze=False)
    palette = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    colors = {v: palette[i % len(palette)] for i, v in enumerate(cfg.variants)}
    curves = {v: _seed_curves(cfg, root, scale, v) for v in cfg.variants}  # read once; the baseline is in every panel
    for ax, group in zip(axes.flat, groups, strict=False):
        for variant in group:
            if curves[variant] is not None:
                _draw_variant(ax, variant, *curves[variant], colors[variant])
        ax.axhline(cfg.threshold, color="grey", ls="--", lw=0.8)
        ax.legend(fontsize=7, loc="upper left")
    for ax in list(axes.flat)[len(groups):]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("step")
    for ax in axes[:, 0]:
        ax.set_ylabel(f"{cfg.metric} ({cfg.head or 'max over heads'})")
    fig.suptitle(f"{scale}: target unit over training (thin: seeds; band: 95% CI if n >= 3)", fontsize=10)
    return _save(fig, root / f"curves-{scale}.png", dpi=110)


def sweep_ratios(cfg: ExperimentConfig) -> dict[str, float]:
    """variant -> synthetic ratio, baseline as 0, when the variants form a ratio sweep (>= 2 ratios)."""
    ratios = {name: mix.ratio for name, mix in cfg.variants.items() if mix.variant == "synthetic"}
    return {"baseline": 0.0, **ratios} if len(set(ratios.values())) >= 2 else {}


def plot_sweep(cfg: ExperimentConfig, summary: pl.DataFrame, root: Path, scale: str) -> Path | None:
    """Gain in the unit's score and change in held-out loss against the synthetic ratio.

    The two panels answer "where does the gain stop, and where does the model start to pay
    for it": paired differences with the baseline (95% CI over seeds), in % of the baseline.
    """
    ratios = sweep_ratios(cfg)
    if not ratios:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = (("score_at_fixed_step", f"unit score at step {cfg.at_step}"), ("heldout_loss", "held-out loss"))
    fig, axes = plt.subplots(1, 2, figsize=(9.6, 3.6))
    for ax, (measure, label) in zip(axes, panels, strict=True):
        rows = summary.filter((pl.col("scale") == scale) & (pl.col("measure") == measure)
                              & pl.col("variant").is_in(list(ratios)))
        base = rows.filter(pl.col("variant") == "baseline")
        if base.is_empty() or not base["mean"][0]:
            continue
        # the baseline is the 0% point, by definition no change
        points = sorted((100 * ratios[r["variant"]], *((0.0, 0.0, 0.0) if r["variant"] == "baseline" else
                         (r["rel_change_pct"], r["rel_ci_low"], r["rel_ci_high"]))) for r in rows.iter_rows(named=True))
        x, mid, low, high = (np.array(v, dtype=float) for v in zip(*points, strict=True))
        ax.errorbar(x, mid, yerr=[mid - low, high - mid], marker="o", capsize=3)
        ax.axhline(0, color="grey", lw=0.8)
        if measure == "heldout_loss":
            ax.axhspan(-1, 1, color="green", alpha=0.08, label="within 1% of baseline")
            ax.legend(fontsize=8)
        ax.set_xscale("symlog", linthresh=1)
        ax.set_xlim(-0.3, x.max() * 1.4)
        ax.set_xticks(x, [f"{v:g}" for v in x])
        ax.set_xlabel("synthetic share of training sequences (%)")
        ax.set_ylabel("change vs baseline (%)")
        ax.set_title(f"{scale}: {label}", fontsize=10)
    return _save(fig, root / f"sweep-{scale}.png", dpi=120)


def write_summary(cfg: ExperimentConfig, root: Path) -> pl.DataFrame:
    """Measure every complete run and write results, summary (Parquet + Markdown) and curves."""
    atomic_write_json(root / "experiment.json", cfg.model_dump(mode="json"))
    results = collect(cfg, root)
    results.write_parquet(root / "results.parquet")
    summary = summarize_results(results, cfg)
    summary.write_parquet(root / "summary.parquet")
    atomic_write_text(root / "summary.md", compact_markdown(summary, cfg.at_step)
                      + "\nEvery measure (mean and 95% CI over seeds; paired difference with the baseline):\n\n"
                      + markdown(summary))
    for scale in cfg.scales:
        plot_curves(cfg, root, scale)
        plot_sweep(cfg, summary, root, scale)
    return summary


def run_experiment(cfg: ExperimentConfig, base: str | os.PathLike, root: str | os.PathLike) -> pl.DataFrame:
    """Build variants, train every run (resuming), and write results, summary and plots."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    variant_dirs = build_variants(cfg, Path(base), root)
    train_all(train_configs(cfg, root, variant_dirs), cfg.jobs)
    return write_summary(cfg, root)
