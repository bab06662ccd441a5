"""Statistics for paired multi-seed comparisons.

Seeds pair runs: an arm and the baseline of one seed share the initialisation, the data order
and (when branched) the trunk, so the per-seed difference removes what the seed does and the
paired t-test is the test. With few seeds a Wilcoxon test cannot reach p < 0.05 at all (n = 3
gives a smallest two-sided p of 0.25).

* Relative changes are a ratio of two estimated means; dividing a difference's CI by the
  baseline mean as if that mean were known understates the uncertainty. :func:`fieller`
  gives the exact CI of the ratio of paired means (unbounded when the baseline mean is not
  itself distinguishable from zero), with a paired bootstrap beside it.
* :func:`holm` corrects a table's p-values together (statsmodels ``multipletests``).
* Time to emergence is censored at the horizon: Kaplan-Meier curves, the log-rank test and
  restricted mean times come from lifelines; the paired restricted-mean test is the paired
  t-test on ``min(T, horizon)`` (with one common censoring time, that is exactly each run's
  restricted time).
* :func:`seeds_needed` uses statsmodels' ``TTestPower`` on the paired differences.
* Sequential looks spend alpha with a Lan-DeMets function; each look is tested at the alpha
  it newly spends, which by the union bound keeps the overall error at or below alpha
  whatever the correlation between looks (conservative, and valid for t-tests at small n,
  where the Gaussian group-sequential boundaries are not).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import stats


@dataclass
class Summary:
    """Mean and confidence interval of a sample (NaN-free values only)."""

    n: int
    mean: float
    ci_low: float
    ci_high: float

    def as_dict(self, prefix: str = "") -> dict[str, float]:
        return {f"{prefix}{k}": v for k, v in asdict(self).items()}


def _clean(values) -> np.ndarray:
    return np.asarray([v for v in values if v is not None and not math.isnan(v)], dtype=float)


def summarize(values: list[float] | np.ndarray, level: float = 0.95) -> Summary:
    """Mean and t-distribution CI; with one value the CI is that value; NaNs are dropped."""
    x = _clean(values)
    if len(x) == 0:
        return Summary(0, math.nan, math.nan, math.nan)
    mean = float(x.mean())
    if len(x) == 1:
        return Summary(1, mean, mean, mean)
    half = float(stats.t.ppf(0.5 + level / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))
    return Summary(len(x), mean, mean - half, mean + half)


def fieller(v: np.ndarray, b: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """(ratio, low, high) of mean(v) / mean(b) for paired samples, by Fieller's theorem.

    Solves ``(v_bar - r b_bar)^2 <= t^2 var(v_bar - r b_bar)`` for r, with the paired
    covariance. When the baseline mean is not significantly non-zero the set is unbounded and
    (ratio, -inf, inf) is returned.
    """
    n = len(v)
    if n < 2:
        return (float(v.mean() / b.mean()) if n and b.mean() else math.nan), math.nan, math.nan
    t2 = stats.t.ppf(0.5 + level / 2, n - 1) ** 2
    vb, bb = v.mean(), b.mean()
    cov = np.cov(v, b, ddof=1) / n  # (2, 2) covariance of the two means
    a = bb**2 - t2 * cov[1, 1]
    bq = -2 * (vb * bb - t2 * cov[0, 1])
    c = vb**2 - t2 * cov[0, 0]
    ratio = float(vb / bb) if bb else math.nan
    disc = bq**2 - 4 * a * c
    if a <= 0 or disc < 0:
        return ratio, -math.inf, math.inf
    root = math.sqrt(disc)
    return ratio, float((-bq - root) / (2 * a)), float((-bq + root) / (2 * a))


def bootstrap_ratio(v: np.ndarray, b: np.ndarray, n_boot: int, level: float = 0.95,
                    seed: int = 0) -> tuple[float, float]:
    """Percentile CI of mean(v) / mean(b), resampling seeds (pairs) with replacement."""
    if n_boot <= 0 or len(v) < 2:
        return math.nan, math.nan
    idx = np.random.default_rng(seed).integers(0, len(v), size=(n_boot, len(v)))
    den = b[idx].mean(axis=1)
    ratios = np.where(den != 0, v[idx].mean(axis=1) / np.where(den != 0, den, 1), np.nan)
    lo, hi = np.nanquantile(ratios, [0.5 - level / 2, 0.5 + level / 2])
    return float(lo), float(hi)


@dataclass
class Paired:
    """Variant minus reference over the seeds present in both."""

    n: int
    diff: Summary
    p_value: float
    rel_change_pct: float  # (mean variant / mean reference - 1), in %
    rel_ci_low: float = math.nan  # Fieller CI of that change, in %
    rel_ci_high: float = math.nan
    boot_rel_ci_low: float = math.nan  # paired-bootstrap CI of the same change, in %
    boot_rel_ci_high: float = math.nan
    corr: float = math.nan  # Pearson correlation of the paired values over seeds
    sd_diff: float = math.nan
    per_seed: dict[int, float] = field(default_factory=dict)


def paired(variant: dict[int, float], baseline: dict[int, float], *, level: float = 0.95,
           bootstrap: int = 0) -> Paired:
    """Paired comparison keyed by seed; seeds missing on either side (or NaN) are dropped."""
    seeds = sorted(s for s in variant.keys() & baseline.keys()
                   if not (math.isnan(variant[s]) or math.isnan(baseline[s])))
    v = np.array([variant[s] for s in seeds], dtype=float)
    b = np.array([baseline[s] for s in seeds], dtype=float)
    d = v - b
    p = float(stats.ttest_rel(v, b).pvalue) if len(seeds) >= 2 and np.ptp(d) > 0 else math.nan
    ratio, lo, hi = fieller(v, b, level)
    blo, bhi = bootstrap_ratio(v, b, bootstrap, level)
    corr = float(np.corrcoef(v, b)[0, 1]) if len(seeds) >= 3 and v.std() > 0 and b.std() > 0 else math.nan
    return Paired(len(seeds), summarize(d, level), p, 100 * (ratio - 1), 100 * (lo - 1), 100 * (hi - 1),
                  100 * (blo - 1), 100 * (bhi - 1), corr, float(d.std(ddof=1)) if len(d) >= 2 else math.nan,
                  dict(zip(seeds, d.tolist(), strict=True)))


def holm(p_values: list[float], alpha: float = 0.05) -> list[float]:
    """Holm-adjusted p-values (NaNs stay NaN and do not count as tests)."""
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(p_values, dtype=float)
    out = np.full(len(p), math.nan)
    ok = ~np.isnan(p)
    if ok.any():
        out[ok] = multipletests(p[ok], alpha=alpha, method="holm")[1]
    return out.tolist()


def kaplan_meier(times: np.ndarray, events: np.ndarray, label: str = ""):
    """A fitted lifelines ``KaplanMeierFitter`` (survival = not yet emerged)."""
    from lifelines import KaplanMeierFitter

    return KaplanMeierFitter(label=label).fit(np.asarray(times, float), np.asarray(events, bool))


def restricted_mean(times: np.ndarray, events: np.ndarray, horizon: float) -> float:
    """Kaplan-Meier restricted mean time to emergence up to ``horizon`` (lifelines)."""
    from lifelines.utils import restricted_mean_survival_time

    return float(restricted_mean_survival_time(kaplan_meier(times, events), t=horizon))


def logrank(t1: np.ndarray, e1: np.ndarray, t2: np.ndarray, e2: np.ndarray) -> float:
    """Two-sided log-rank p-value (unpaired; NaN when no run emerged in either arm)."""
    from lifelines.statistics import logrank_test

    if not (np.any(e1) or np.any(e2)):
        return math.nan
    return float(logrank_test(t1, t2, event_observed_A=e1, event_observed_B=e2).p_value)


def seeds_needed(sd_diff: float, effect: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Seeds (pairs) a two-sided paired t-test needs to detect a mean difference ``effect``."""
    from statsmodels.stats.power import TTestPower

    if not (sd_diff > 0 and effect != 0) or math.isnan(sd_diff):
        return math.nan
    d = abs(effect) / sd_diff
    # The power of a paired t-test grows with n, so the smallest n reaching ``power`` is found by
    # bisection on statsmodels' power function (its own solver gives up on large n).

    def powered(n: int) -> bool:
        return TTestPower().power(effect_size=d, nobs=n, alpha=alpha, alternative="two-sided") >= power

    lo, hi = 2, 4
    while not powered(hi):
        lo, hi = hi, hi * 2
        if hi > 10**7:
            return math.inf
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if powered(mid) else (mid, hi)
    return float(lo if powered(lo) else hi)


def spent_alpha(t: float, alpha: float, kind: str) -> float:
    """Lan-DeMets spending function: alpha spent by information fraction ``t`` in [0, 1]."""
    t = min(max(t, 0.0), 1.0)
    if t == 0:
        return 0.0
    if kind == "obrien_fleming":
        return float(2 - 2 * stats.norm.cdf(stats.norm.ppf(1 - alpha / 2) / math.sqrt(t)))
    if kind == "pocock":
        return float(alpha * math.log(1 + (math.e - 1) * t))
    raise ValueError(f"unknown spending function {kind!r}")


def look_alphas(ns: list[int], n_max: int, alpha: float, kind: str) -> list[float]:
    """Alpha newly spent at each look (seeds ``ns``, ascending); they sum to at most ``alpha``."""
    spent = [spent_alpha(n / n_max, alpha, kind) for n in ns]
    return [s - p for s, p in zip(spent, [0.0, *spent[:-1]], strict=True)]


def look_decision(diffs: dict[str, np.ndarray], alpha_k: float) -> dict[str, dict]:
    """Per comparison at one look: mean, CI at level 1 - alpha_k / m (Bonferroni over the m
    comparisons), p, and whether that CI excludes zero."""
    m = max(1, len(diffs))
    out = {}
    for name, d in diffs.items():
        d = _clean(d)
        s = summarize(d, level=1 - alpha_k / m)
        se = d.std(ddof=1) / math.sqrt(len(d)) if len(d) >= 2 else 0.0
        p = float(2 * stats.t.sf(abs(s.mean) / se, len(d) - 1)) if se > 0 else math.nan  # one-sample t
        out[name] = {"n": s.n, "mean": s.mean, "ci_low": s.ci_low, "ci_high": s.ci_high, "p": p,
                     "level": 1 - alpha_k / m, "excludes_zero": bool(s.n >= 2 and (s.ci_low > 0 or s.ci_high < 0))}
    return out


def sequential_stop_look(diffs: dict[str, np.ndarray], first: int, step: int, n_max: int, alpha: float,
                         kind: str) -> tuple[int | None, list[dict]]:
    """Replay the sequential rule on complete data: (seeds at the stopping look or None, looks).

    ``diffs`` holds each comparison's paired differences in seed order; look k uses the first
    ``first + k * step`` of them. Stops at the first look where every comparison's CI excludes zero.
    """
    ns = list(range(first, n_max + 1, step))
    if ns[-1] != n_max:
        ns.append(n_max)
    looks = []
    for n, a_k in zip(ns, look_alphas(ns, n_max, alpha, kind), strict=True):
        decision = look_decision({k: v[:n] for k, v in diffs.items()}, a_k)
        stop = all(r["excludes_zero"] for r in decision.values())
        looks.append({"seeds": n, "alpha_spent": a_k, "stop": stop, "comparisons": decision})
        if stop:
            return n, looks
    return None, looks
