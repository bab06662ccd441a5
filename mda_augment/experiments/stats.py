"""Statistics for multi-seed comparisons: means with t-based 95% CIs and paired tests.

Seeds pair runs: variant and baseline trained from the same initialisation (same seed) differ
only by the data, so the per-seed difference removes init variance and the paired t-test is
the right test (with few seeds, a Wilcoxon test cannot reach p < 0.05 at all: n=3 gives a
smallest two-sided p of 0.25).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats


@dataclass
class Summary:
    """Mean and 95% confidence interval of a sample (NaN-free values only)."""

    n: int
    mean: float
    ci_low: float
    ci_high: float

    def as_dict(self, prefix: str = "") -> dict[str, float]:
        return {f"{prefix}{k}": v for k, v in asdict(self).items()}


def summarize(values: list[float] | np.ndarray, level: float = 0.95) -> Summary:
    """Mean and t-distribution CI; with one value the CI is that value; NaNs are dropped."""
    x = np.asarray([v for v in values if v is not None and not math.isnan(v)], dtype=float)
    if len(x) == 0:
        return Summary(0, math.nan, math.nan, math.nan)
    mean = float(x.mean())
    if len(x) == 1:
        return Summary(1, mean, mean, mean)
    half = float(stats.t.ppf(0.5 + level / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))
    return Summary(len(x), mean, mean - half, mean + half)


@dataclass
class Paired:
    """Variant minus baseline over seeds present in both."""

    n: int
    diff: Summary
    p_value: float
    rel_change_pct: float  # mean difference as % of the baseline mean
    rel_ci_low: float = math.nan  # the difference's CI as % of the baseline mean (taken as fixed)
    rel_ci_high: float = math.nan


def paired(variant: dict[int, float], baseline: dict[int, float]) -> Paired:
    """Paired comparison keyed by seed; seeds missing on either side (or NaN) are dropped."""
    seeds = sorted(s for s in variant.keys() & baseline.keys()
                   if not (math.isnan(variant[s]) or math.isnan(baseline[s])))
    v = np.array([variant[s] for s in seeds])
    b = np.array([baseline[s] for s in seeds])
    d = summarize(v - b)
    if len(seeds) >= 2 and np.any(v - b != (v - b)[0]):
        p = float(stats.ttest_rel(v, b).pvalue)
    else:
        p = math.nan
    base_mean = float(b.mean()) if len(b) else math.nan
    scale = 100.0 / base_mean if base_mean and not math.isnan(base_mean) else math.nan
    return Paired(len(seeds), d, p, scale * d.mean, scale * d.ci_low, scale * d.ci_high)
