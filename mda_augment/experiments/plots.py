"""Plots of an experiment: target-head curves, Kaplan-Meier curves, per-seed effects.

``curves-<scale>.png``   each arm beside the baseline: the target head's score over the horizon,
                         one thin line per seed, the mean thick
``km-<scale>.png``       share of runs whose head has not yet emerged, per arm (Kaplan-Meier;
                         runs still unformed at the horizon are censored there)
``effects-<scale>.png``  per comparison, each seed's paired difference on the primary endpoint
                         with the mean and its 95% CI: heterogeneity is visible, not averaged away
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from .config import PRIMARY, ExperimentConfig
from .measures import curve_table, parse_head
from .spawn import run_dir
from .stats import kaplan_meier


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path, dpi: int = 110) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=dpi, bbox_inches="tight")  # long axis labels are not cut off
    _plt().close(fig)
    return path


def _grid(n: int, width: float = 4.0, height: float = 3.2):
    cols = min(n, 4)
    rows = -(-n // cols)
    fig, axes = _plt().subplots(rows, cols, figsize=(width * cols, height * rows), sharex=True, sharey=True,
                                squeeze=False)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    return fig, axes


def plot_curves(cfg: ExperimentConfig, root: Path, results: pl.DataFrame, scale: str) -> Path | None:
    """Each non-baseline arm in its own panel beside the baseline, seeds thin, means thick."""
    at = results.filter(pl.col("scale") == scale)
    others = [v for v in cfg.variants if v != "baseline" and v in set(at["variant"])]
    if at.is_empty():
        return None
    fig, axes = _grid(max(1, len(others)))
    for ax, variant in zip(axes.flat, others or ["baseline"], strict=False):
        for name, color in (("baseline", "grey"), (variant, "C0")):
            curves = [curve_table(run_dir(root, name, scale, r["seed"]), parse_head(r["head"]), cfg,
                                  run_dir(root, "baseline", scale, r["seed"]))
                      for r in at.filter(pl.col("variant") == name).iter_rows(named=True)]
            for c in curves:
                ax.plot(c["step"], c["value"], color=color, lw=0.6, alpha=0.6)
            if curves:
                n = min(len(c) for c in curves)
                ax.plot(curves[0]["step"][:n], np.mean([c["value"].to_numpy()[:n] for c in curves], axis=0),
                        color=color, lw=2, label=f"{name} (mean of {len(curves)})")
        ax.axhline(cfg.endpoint.threshold, color="k", ls="--", lw=0.6)
        ax.set_title(variant, fontsize=9)
        ax.legend(fontsize=7, loc="upper left")
    for ax in axes[-1]:
        ax.set_xlabel("step")
    for ax in axes[:, 0]:
        ax.set_ylabel(f"{cfg.endpoint.metric}, target head")
    fig.suptitle(f"{scale}: target head over the horizon (thin: seeds)", fontsize=10)
    return _save(fig, root / f"curves-{scale}.png")


def plot_km(cfg: ExperimentConfig, root: Path, results: pl.DataFrame, scale: str) -> Path | None:
    """Kaplan-Meier curves of time to emergence, one panel per arm beside the baseline."""
    at = results.filter(pl.col("scale") == scale)
    others = [v for v in cfg.variants if v != "baseline" and v in set(at["variant"])]
    if at.is_empty():
        return None
    fig, axes = _grid(max(1, len(others)), height=2.8)
    for ax, variant in zip(axes.flat, others or ["baseline"], strict=False):
        for name, color in (("baseline", "grey"), (variant, "C0")):
            g = at.filter(pl.col("variant") == name)
            if g.height:
                kaplan_meier(g["time"].to_numpy(), g["event"].to_numpy(), label=f"{name} ({int(g['event'].sum())}/"
                             f"{g.height} formed)").plot_survival_function(ax=ax, ci_show=False, color=color,
                                                                           show_censors=True)
        ax.set_ylim(-0.05, 1.05)
        ax.set_xlim(*cfg.horizon)
        ax.set_xlabel("step")  # lifelines labels the axis 'timeline'
        ax.legend(fontsize=7, loc="lower left")
    for ax in axes[:, 0]:
        ax.set_ylabel("share not yet emerged")
    fig.suptitle(f"{scale}: time to emergence (threshold {cfg.endpoint.threshold}, censored at the horizon)",
                 fontsize=10)
    return _save(fig, root / f"km-{scale}.png")


def plot_effects(summary: pl.DataFrame, root: Path, scale: str) -> Path | None:
    """Per comparison: each seed's paired difference in the primary endpoint, mean and 95% CI."""
    rows = summary.filter((pl.col("scale") == scale) & (pl.col("measure") == PRIMARY)
                          & pl.col("reference").is_not_null()) if not summary.is_empty() else summary
    if rows.is_empty():
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 0.45 * rows.height + 1.2))
    for i, r in enumerate(rows.iter_rows(named=True)):
        per = json.loads(r["per_seed"] or "{}")
        ax.scatter(list(per.values()), [i] * len(per), s=14, color="C0", alpha=0.7, zorder=3)
        ax.errorbar(r["diff_mean"], i, xerr=[[r["diff_mean"] - r["diff_ci_low"]], [r["diff_ci_high"] - r["diff_mean"]]],
                    fmt="D", color="k", ms=4, capsize=3)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_yticks(range(rows.height), [f"{v} vs {r}" for v, r in zip(rows["variant"], rows["reference"], strict=True)],
                  fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("paired difference in AUC of the target head (dots: seeds; diamond: mean, 95% CI)")
    ax.set_title(f"{scale}: effect per seed on the primary endpoint", fontsize=10)
    return _save(fig, root / f"effects-{scale}.png")
