"""Statistics against hand-computed values, and the sequential rule on synthetic data."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from mda_augment.experiments.stats import (
    fieller,
    holm,
    kaplan_meier,
    logrank,
    look_alphas,
    paired,
    restricted_mean,
    seeds_needed,
    sequential_stop_look,
    spent_alpha,
    summarize,
)


def test_summarize_matches_hand_computed_t_interval():
    s = summarize([1.0, 2.0, 3.0])
    # mean 2, sd 1, t(0.975, 2) = 4.302652..., half-width = 4.3027 / sqrt(3)
    assert s.mean == 2.0 and s.n == 3
    assert s.ci_high - s.mean == pytest.approx(4.302652729749464 / math.sqrt(3), rel=1e-9)
    assert summarize([5.0]).ci_low == 5.0
    assert summarize([float("nan"), 1.0, 3.0]).n == 2


def test_paired_difference_pairs_by_seed():
    base = {0: 0.20, 1: 0.30, 2: 0.25, 3: 0.9}
    var = {0: 0.25, 1: 0.36, 2: 0.31}  # seed 3 missing: dropped
    p = paired(var, base)
    assert p.n == 3 and p.per_seed == pytest.approx({0: 0.05, 1: 0.06, 2: 0.06})
    assert p.diff.mean == pytest.approx((0.05 + 0.06 + 0.06) / 3)
    assert p.rel_change_pct == pytest.approx(100 * ((0.25 + 0.36 + 0.31) / (0.2 + 0.3 + 0.25) - 1))
    assert p.p_value < 0.01 and p.diff.ci_low > 0
    assert p.rel_ci_low < p.rel_change_pct < p.rel_ci_high


def test_fieller_interval_bounds_are_where_the_ratio_test_is_exactly_at_its_critical_value():
    v, b = np.array([0.30, 0.42, 0.35, 0.50, 0.38]), np.array([0.20, 0.33, 0.30, 0.36, 0.31])
    ratio, lo, hi = fieller(v, b)
    t = sps.t.ppf(0.975, len(v) - 1)

    def stat(r):  # the t statistic of v - r b, computed directly from the paired differences
        d = v - r * b
        return abs(d.mean()) / (d.std(ddof=1) / math.sqrt(len(d)))

    assert ratio == pytest.approx(v.mean() / b.mean())
    assert stat(lo) == pytest.approx(t, rel=1e-8) and stat(hi) == pytest.approx(t, rel=1e-8)
    assert stat(ratio) < t and stat(lo - 0.01) > t and stat(hi + 0.01) > t
    # a baseline mean indistinguishable from zero gives an unbounded set
    assert fieller(np.array([1.0, 2.0, 1.5]), np.array([0.1, -0.1, 0.05]))[1:] == (-math.inf, math.inf)


def test_holm_matches_hand_computed_adjustment():
    # sorted 0.01, 0.03, 0.04, 0.2 -> x4, x3, x2, x1 = 0.04, 0.09, 0.08 -> 0.09 (monotone), 0.2
    assert holm([0.01, 0.04, 0.03, 0.2]) == pytest.approx([0.04, 0.09, 0.09, 0.2])
    out = holm([0.01, math.nan, 0.04])
    assert math.isnan(out[1]) and out[0] == pytest.approx(0.02) and out[2] == pytest.approx(0.04)


def test_kaplan_meier_and_restricted_mean_match_hand_computed_values():
    km = kaplan_meier(np.array([1, 2, 3, 4, 5.0]), np.array([1, 0, 1, 1, 0]))
    s = km.survival_function_.iloc[:, 0]
    # S(1) = 4/5; t=2 censored; S(3) = 0.8 * 2/3; S(4) = S(3) * 1/2
    assert s.loc[1.0] == pytest.approx(0.8) and s.loc[3.0] == pytest.approx(0.8 * 2 / 3)
    assert s.loc[4.0] == pytest.approx(0.8 * 2 / 3 / 2)
    # area under S on [0, 5]: 1 + 2 * 0.8 + 0.5333 + 0.2667 = 3.4
    assert restricted_mean(np.array([1, 2, 3, 4, 5.0]), np.array([1, 0, 1, 1, 0]), 5.0) == pytest.approx(3.4)
    # with every censoring at the horizon, the restricted mean is the mean of min(T, horizon)
    assert restricted_mean(np.array([2, 3, 5, 5.0]), np.array([1, 1, 0, 0]), 5.0) == pytest.approx(3.75)


def test_logrank_matches_the_hand_computed_statistic():
    # A: events at 1 and 3; B: events at 2 and 4. Observed A = 2, expected = 1/2 + 1/3 + 1/2,
    # variance = 1/4 + 2/9 + 1/4 (hypergeometric at each event time)
    chi2 = (2 - (0.5 + 1 / 3 + 0.5)) ** 2 / (0.25 + 2 / 9 + 0.25)
    p = logrank(np.array([1, 3.0]), np.array([1, 1]), np.array([2, 4.0]), np.array([1, 1]))
    assert p == pytest.approx(1 - sps.chi2.cdf(chi2, 1), rel=1e-9)
    assert math.isnan(logrank(np.array([5.0]), np.array([0]), np.array([5.0]), np.array([0])))


def test_seeds_needed_for_a_one_sd_paired_effect_is_ten():
    # paired t, d = 1, alpha 0.05 two-sided, power 0.8: n = 9.94 -> 10 (G*Power: 10)
    assert seeds_needed(1.0, 1.0) == 10
    assert seeds_needed(0.5, 1.0) < seeds_needed(1.0, 1.0)
    assert math.isnan(seeds_needed(0.0, 1.0))


def test_alpha_spending_sums_to_alpha_and_obrien_fleming_spends_little_early():
    ns = [3, 4, 5, 6, 8, 10]
    for kind in ("obrien_fleming", "pocock"):
        a = look_alphas(ns, 10, 0.05, kind)
        assert sum(a) == pytest.approx(0.05) and all(x >= 0 for x in a)
    assert spent_alpha(0.3, 0.05, "obrien_fleming") < spent_alpha(0.3, 0.05, "pocock") < 0.05


def _stop_rate(effect: float, reps: int, alpha_rule: str | None, rng: np.random.Generator) -> tuple[float, float]:
    """(share of datasets where the rule stops = rejects, mean seeds used) for N(effect, 1) differences."""
    stops, used = 0, []
    for _ in range(reps):
        d = {"arm": rng.normal(effect, 1.0, size=12)}
        if alpha_rule is None:  # naive: test every look at the full alpha
            x = d["arm"]
            n_stop = next((n for n in range(3, 13) if abs(x[:n].mean()) / (x[:n].std(ddof=1) / math.sqrt(n))
                           > sps.t.ppf(0.975, n - 1)), None)
        else:
            n_stop, _ = sequential_stop_look(d, first=3, step=1, n_max=12, alpha=0.05, kind=alpha_rule)
        stops += n_stop is not None
        used.append(n_stop or 12)
    return stops / reps, float(np.mean(used))


def test_sequential_rule_keeps_the_error_rate_under_alpha_where_naive_looks_do_not():
    rng = np.random.default_rng(0)
    corrected, _ = _stop_rate(0.0, 800, "obrien_fleming", rng)
    naive, _ = _stop_rate(0.0, 400, None, rng)
    assert corrected <= 0.05 + 0.016  # Monte Carlo SE ~0.008
    assert naive > 0.1  # ten looks at 5% each: the inflation the correction prevents


def test_sequential_rule_stops_early_on_a_large_effect_and_later_on_a_small_one():
    rng = np.random.default_rng(1)
    big_rate, big_n = _stop_rate(2.5, 150, "obrien_fleming", rng)
    small_rate, small_n = _stop_rate(1.0, 150, "obrien_fleming", rng)
    assert big_rate > 0.95 and small_rate > 0.5
    assert big_n < small_n < 12


def test_sequential_stops_at_the_first_look_whose_ci_at_the_spent_alpha_excludes_zero():
    d = np.array([0.5, 1.5, 0.2, 1.0, 1.1, 0.9, 1.2, 0.8])
    n_stop, looks = sequential_stop_look({"arm": d}, first=3, step=1, n_max=8, alpha=0.05, kind="pocock")
    alphas = look_alphas(list(range(3, 9)), 8, 0.05, "pocock")
    expected = None
    for n, a in zip(range(3, 9), alphas, strict=True):  # by hand: t-interval at level 1 - a_k
        half = sps.t.ppf(1 - a / 2, n - 1) * d[:n].std(ddof=1) / math.sqrt(n)
        if d[:n].mean() - half > 0:
            expected = n
            break
    assert expected is not None and n_stop == expected and looks[-1]["stop"]
    assert [lk["seeds"] for lk in looks] == list(range(3, expected + 1))
    assert not any(lk["stop"] for lk in looks[:-1])
