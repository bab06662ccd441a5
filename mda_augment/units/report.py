"""Read a run's ``units.parquet`` and say when each unit formed.

Emergence step of a unit = the first evaluated step from which its score stays at or above
the threshold for every later evaluation (a transient spike does not count). Area under the
curve = the trapezoidal integral of the score over log-free steps, divided by the step span,
i.e. the mean score over training: a head that forms earlier has a larger area.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from ..artifacts import atomic_write_json  # noqa: E402
from ..errors import ArtifactError  # noqa: E402
from ..training.rundir import UNITS  # noqa: E402

HEADS_DIR = "heads"  # inside a run directory
TABLE_CSV = "units_summary.csv"  # unit_table(): the per-unit table, readable outside Python
SUMMARY = "summary.json"  # thresholds, the text summary and the table as records

# Default thresholds per metric (prefix matching: FACTS/brief; others by analogy, recorded).
THRESHOLDS = {"prefix_matching": 0.3, "induction_tl": 0.15, "previous_token": 0.3, "copying": 0.3, "copying_resid": 0.5}


@dataclass
class HeadsReport:
    text: str
    table: pl.DataFrame
    plots: list[Path] = field(default_factory=list)


def emergence_step(steps: np.ndarray, values: np.ndarray, threshold: float) -> int | None:
    """First step after which every value is >= threshold (None if it never settles above)."""
    below = np.nonzero(values < threshold)[0]
    if len(below) == 0:
        return int(steps[0])
    last_below = below[-1]
    return None if last_below == len(values) - 1 else int(steps[last_below + 1])


def mean_area(steps: np.ndarray, values: np.ndarray) -> float:
    """Trapezoidal area under the curve divided by the step span (= time-averaged score)."""
    if len(steps) < 2:
        return float(values[0]) if len(values) else float("nan")
    return float(np.trapezoid(values, steps) / (steps[-1] - steps[0]))


def unit_table(units: pl.DataFrame, thresholds: dict[str, float]) -> pl.DataFrame:
    """One row per (metric, layer, head): final, max, area, emergence step and threshold."""
    rows = []
    per_head = units.filter(pl.col("layer") >= 0)
    for (metric, layer, head), g in per_head.group_by(["metric", "layer", "head"]):
        g = g.sort("step")
        steps, values = g["step"].to_numpy(), g["value"].to_numpy()
        thr = thresholds.get(metric)
        rows.append({"metric": metric, "layer": layer, "head": head, "final": float(values[-1]),
                     "max": float(values.max()), "area": mean_area(steps, values),
                     "threshold": thr,
                     "emergence_step": emergence_step(steps, values, thr) if thr is not None else None})
    return pl.DataFrame(rows).sort("metric", "layer", "head")


def plot_metric(units: pl.DataFrame, metric: str, path: Path, threshold: float | None) -> Path:
    """Score over steps, one line per head (or one line for model-level metrics)."""
    fig, ax = plt.subplots(figsize=(6, 3.6))
    data = units.filter(pl.col("metric") == metric)
    for (layer, head), g in data.group_by(["layer", "head"], maintain_order=True):
        g = g.sort("step")
        label = "model" if layer < 0 else f"L{layer}H{head}"
        ax.plot(g["step"].to_numpy(), g["value"].to_numpy(), label=label, lw=1.2)
    if threshold is not None:
        ax.axhline(threshold, color="grey", ls="--", lw=0.8)
    ax.set_xlabel("step")
    ax.set_ylabel(metric)
    ax.set_title(metric)
    if data["layer"].n_unique() * data["head"].n_unique() <= 16:
        ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _top(table: pl.DataFrame, metric: str, n: int) -> str:
    t = table.filter(pl.col("metric") == metric).sort("final", descending=True).head(n)
    return ", ".join(f"L{r['layer']}H{r['head']}={r['final']:.3f} (max {r['max']:.3f}, "
                     f"emerged {r['emergence_step']})" for r in t.iter_rows(named=True))


def heads_report(run: str | os.PathLike, threshold: float = 0.3, top: int = 5) -> HeadsReport:
    """Summarise ``run/units.parquet``; writes ``run/heads/`` (table, JSON summary, PNGs)."""
    run = Path(run)
    path = run / UNITS
    if not path.is_file():
        raise ArtifactError(f"{run}: no {UNITS}; train first (mda-augment train)")
    units = pl.read_parquet(path)
    thresholds = {**THRESHOLDS, "prefix_matching": threshold}
    table = unit_table(units, thresholds)
    out = run / HEADS_DIR
    out.mkdir(exist_ok=True)
    table.write_csv(out / TABLE_CSV)
    plots = [plot_metric(units, m, out / f"{m}.png", thresholds.get(m))
             for m in sorted(units["metric"].unique())]
    lines = [f"run {run}: {units['step'].n_unique()} evaluations, steps "
             f"{units['step'].min()}..{units['step'].max()}"]
    for metric in ("prefix_matching", "induction_tl", "previous_token", "copying", "copying_resid"):
        if metric in table["metric"].to_list():
            lines.append(f"top {metric} (threshold {thresholds[metric]}): {_top(table, metric, top)}")
    model_level = units.filter(pl.col("layer") < 0).sort("step")
    for metric in sorted(model_level["metric"].unique()):
        g = model_level.filter(pl.col("metric") == metric)
        lines.append(f"{metric}: first {g['value'][0]:.3f} -> last {g['value'][-1]:.3f}")
    text = "\n".join(lines)
    atomic_write_json(out / SUMMARY, {"thresholds": thresholds, "text": text,
                                             "units": table.to_dicts()})
    return HeadsReport(text=text, table=table, plots=plots)
