"""Summary statistics against hand-computed values."""

from __future__ import annotations

import math

import pytest

from mda_augment.experiments.stats import paired, summarize


def test_summarize_matches_hand_computed_t_interval():
    s = summarize([1.0, 2.0, 3.0])
    # mean 2, sd 1, t(0.975, 2) = 4.302652..., half-width = 4.3027 / sqrt(3)
    assert s.mean == 2.0 and s.n == 3
    assert s.ci_high - s.mean == pytest.approx(4.302652729749464 / math.sqrt(3), rel=1e-9)
    assert summarize([5.0]).ci_low == 5.0
    assert summarize([float("nan"), 1.0, 3.0]).n == 2


def test_paired_difference_pairs_by_seed_and_reports_relative_change():
    base = {0: 0.20, 1: 0.30, 2: 0.25, 3: 0.9}
    var = {0: 0.25, 1: 0.36, 2: 0.31}  # seed 3 missing: dropped
    p = paired(var, base)
    assert p.n == 3
    assert p.diff.mean == pytest.approx((0.05 + 0.06 + 0.06) / 3)
    assert p.rel_change_pct == pytest.approx(100 * p.diff.mean / 0.25)
    assert (p.rel_ci_low, p.rel_ci_high) == pytest.approx((100 * p.diff.ci_low / 0.25, 100 * p.diff.ci_high / 0.25))
    assert p.p_value < 0.01  # consistent positive differences
    assert p.diff.ci_low > 0


def test_paired_with_no_variation_has_no_p_value():
    p = paired({0: 1.0, 1: 2.0}, {0: 0.0, 1: 1.0})
    assert p.diff.mean == 1.0 and math.isnan(p.p_value)
