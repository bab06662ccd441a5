"""What one run is worth: the pre-registered endpoint and the secondary measures.

Primary (pre-registered in the recipe): the **area under the target head's** prefix-matching
curve over the horizon ``[start, steps]``, as a time-averaged score (trapezoid / span). The
target head is fixed per seed from that seed's baseline run (the head with the highest score
at the horizon), not the max over heads: a max over heads picks whichever head is noisiest in
each arm and turns a curve into a threshold race. The area is continuous, uses every
evaluation, and is defined whether or not the head formed inside the horizon.

Secondary: time to emergence as censored data: the first *sustained* crossing of the
threshold, linearly interpolated between the two evaluations around it (an event), or the
horizon (censored) when the head has not settled above it. Also the score at a fixed step
(what earlier studies reported), the same area for the max over heads, held-out losses at the
horizon, and the probe's own sampling error (see :func:`probe_se`).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl

from ..artifacts import CONFIG_NAME, read_json
from ..errors import ArtifactError
from ..training.rundir import UNITS
from .config import ExperimentConfig

Head = tuple[int, int]


def parse_head(name: str) -> Head:
    layer, head = name[1:].split("H")
    return int(layer), int(head)


def head_name(head: Head) -> str:
    return f"L{head[0]}H{head[1]}"


def read_units(run: Path, trunk: Path | None = None) -> pl.DataFrame:
    """A run's unit metrics; for an arm, preceded by its trunk's rows before the arm's first step
    (the arm *is* the trunk until it branched, so its curve over the horizon starts there)."""
    path = Path(run) / UNITS
    if not path.is_file():
        raise ArtifactError(f"{run}: no {UNITS}; the run has not trained (rerun the experiment)")
    units = pl.read_parquet(path)
    if trunk is None or Path(trunk) == Path(run) or units.is_empty():
        return units
    before = read_units(trunk).filter(pl.col("step") < units["step"].min())
    return pl.concat([before, units.select(before.columns).cast(before.schema)])


def head_curve(units: pl.DataFrame, metric: str, head: Head | None) -> tuple[np.ndarray, np.ndarray]:
    """(steps, values) of one head's ``metric``, or of the max over heads when ``head`` is None."""
    data = units.filter((pl.col("metric") == metric) & (pl.col("layer") >= 0))
    if data.is_empty():
        raise ArtifactError(f"metric '{metric}' was not tracked in this run; add it to units.probes")
    if head is not None:
        data = data.filter((pl.col("layer") == head[0]) & (pl.col("head") == head[1]))
        if data.is_empty():
            raise ArtifactError(f"head {head_name(head)} is not in this run's {metric} rows")
    curve = data.group_by("step").agg(pl.col("value").max()).sort("step")
    return curve["step"].to_numpy(), curve["value"].to_numpy()


def top_head(units: pl.DataFrame, metric: str) -> Head:
    """The head with the highest ``metric`` at the last evaluated step (the baseline's head)."""
    data = units.filter((pl.col("metric") == metric) & (pl.col("layer") >= 0))
    last = data.filter(pl.col("step") == data["step"].max()).sort(["value", "layer", "head"], descending=True)
    if last.is_empty():
        raise ArtifactError(f"no {metric} rows to choose a target head from")
    return int(last["layer"][0]), int(last["head"][0])


def restrict(steps: np.ndarray, values: np.ndarray, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
    keep = (steps >= start) & (steps <= end)
    return steps[keep], values[keep]


def area(steps: np.ndarray, values: np.ndarray) -> float:
    """Trapezoidal area divided by the step span: the time-averaged score."""
    if len(steps) < 2:
        return float(values[0]) if len(values) else math.nan
    return float(np.trapezoid(values, steps) / (steps[-1] - steps[0]))


def crossing(steps: np.ndarray, values: np.ndarray, threshold: float) -> tuple[float, bool]:
    """(time, event): the interpolated first sustained crossing, or (last step, False) if censored.

    Sustained: from the crossing on, every later evaluation is at or above the threshold (a
    transient spike is not emergence). A curve above the threshold from its first evaluation
    crossed at or before it: (first step, True).
    """
    below = np.nonzero(values < threshold)[0]
    if len(below) == 0:
        return float(steps[0]), True
    j = int(below[-1])
    if j == len(values) - 1:
        return float(steps[-1]), False
    s0, s1, v0, v1 = steps[j], steps[j + 1], values[j], values[j + 1]
    return float(s0 + (threshold - v0) / (v1 - v0) * (s1 - s0)), True


def trapezoid_weights(steps: np.ndarray) -> np.ndarray:
    """w such that ``area(steps, v) == w @ v``."""
    if len(steps) < 2:
        return np.ones(len(steps))
    d = np.diff(steps.astype(float))
    w = np.zeros(len(steps))
    w[:-1] += d / 2
    w[1:] += d / 2
    return w / (steps[-1] - steps[0])


def probe_se(units: pl.DataFrame, head: Head, n_probe: int, start: int, end: int) -> tuple[float, float]:
    """(largest per-evaluation SE, SE bound of the area) from the probe's per-sequence spread.

    Per evaluation, SE = sqrt((E[x^2] - E[x]^2) / (n - 1)) over the n probe sequences. The
    area is a weighted sum of evaluations, so its SE is at most the same weighted sum of the
    per-evaluation SEs (equality if the sequences' errors were perfectly correlated over
    time): a conservative bound. NaN when ``prefix_matching_sq`` was not tracked.
    """
    steps, mean = restrict(*head_curve(units, "prefix_matching", head), start, end)
    if units.filter(pl.col("metric") == "prefix_matching_sq").is_empty() or n_probe < 2:
        return math.nan, math.nan
    sq_steps, sq = restrict(*head_curve(units, "prefix_matching_sq", head), start, end)
    if not np.array_equal(sq_steps, steps):
        return math.nan, math.nan
    se = np.sqrt(np.clip(sq - mean**2, 0, None) / (n_probe - 1))
    return float(se.max()), float(trapezoid_weights(steps) @ se)


def model_metric(units: pl.DataFrame, metric: str, at_step: int) -> float:
    """A model-level metric (held-out loss, ...) at the last evaluation at or before ``at_step``."""
    rows = units.filter((pl.col("metric") == metric) & (pl.col("layer") < 0) & (pl.col("step") <= at_step)).sort("step")
    return float(rows["value"][-1]) if rows.height else math.nan


def measure_run(run: Path, head: Head, cfg: ExperimentConfig, trunk: Path | None = None) -> dict:
    """Every measure of one run on its seed's target head (see the module docstring)."""
    ep = cfg.endpoint
    start, end = cfg.horizon
    units = read_units(run, trunk)
    steps, values = restrict(*head_curve(units, ep.metric, head), start, end)
    if len(steps) == 0 or steps[-1] < end:
        raise ArtifactError(f"{run}: {ep.metric} is not evaluated up to the horizon step {end}; rerun the experiment")
    time, event = crossing(steps, values, ep.threshold)
    max_steps, max_values = restrict(*head_curve(units, ep.metric, None), start, end)
    n_probe = read_json(Path(run) / CONFIG_NAME).get("units", {}).get("n_random", 0)
    se_max, se_auc = probe_se(units, head, n_probe, start, end) if ep.metric == "prefix_matching" else (math.nan,) * 2
    at = values[steps <= cfg.at_step]
    return {"head": head_name(head), "auc": area(steps, values), "crossing_step": time if event else math.nan,
            "time": time, "event": event, "restricted_time": min(time, float(end)),
            "score_at_fixed_step": float(at[-1]) if len(at) else math.nan, "final_score": float(values[-1]),
            "auc_max_heads": area(max_steps, max_values), "probe_se_max": se_max, "auc_probe_se": se_auc,
            "heldout_loss": model_metric(units, "heldout_loss", end),
            "heldout_loss_novel": model_metric(units, "heldout_loss_novel", end), "icl": model_metric(units, "icl", end)}


def curve_table(run: Path, head: Head, cfg: ExperimentConfig, trunk: Path | None = None) -> pl.DataFrame:
    """(step, value) of the target head over the horizon, for plots."""
    steps, values = restrict(*head_curve(read_units(run, trunk), cfg.endpoint.metric, head), *cfg.horizon)
    return pl.DataFrame({"step": steps, "value": values})
