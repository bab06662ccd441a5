"""Per-run measures against hand-computed values: area, interpolated crossing, probe SE bound."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from mda_augment.experiments.measures import (
    area,
    crossing,
    head_curve,
    probe_se,
    top_head,
    trapezoid_weights,
)


def test_area_is_the_time_averaged_score():
    steps = np.array([0, 100, 300])
    values = np.array([0.0, 0.2, 0.4])
    # trapezoids: 100 * 0.1 + 200 * 0.3 = 70, over a span of 300
    assert area(steps, values) == pytest.approx(70 / 300)
    assert trapezoid_weights(steps) @ values == pytest.approx(70 / 300)


def test_crossing_is_interpolated_sustained_and_censored_at_the_horizon():
    steps = np.array([0, 100, 200, 300, 400])
    # a spike at 100 does not count; the sustained crossing lies between 200 (0.1) and 300 (0.5)
    assert crossing(steps, np.array([0.0, 0.4, 0.1, 0.5, 0.6]), 0.3) == (pytest.approx(250.0), True)
    assert crossing(steps, np.array([0.0, 0.1, 0.2, 0.25, 0.29]), 0.3) == (400.0, False)
    assert crossing(steps, np.array([0.0, 0.1, 0.2, 0.5, 0.2]), 0.3) == (400.0, False)  # fell back below
    assert crossing(steps, np.full(5, 0.9), 0.3) == (0.0, True)


def _units(rows: list[tuple[int, int, int, str, float]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["step", "layer", "head", "metric", "value"], orient="row")


def test_target_head_is_the_highest_at_the_last_step_not_the_max_over_heads_curve():
    units = _units([(0, 1, 0, "prefix_matching", 0.9), (0, 1, 1, "prefix_matching", 0.1),
                    (10, 1, 0, "prefix_matching", 0.2), (10, 1, 1, "prefix_matching", 0.5)])
    assert top_head(units, "prefix_matching") == (1, 1)
    steps, values = head_curve(units, "prefix_matching", (1, 1))
    assert steps.tolist() == [0, 10] and values.tolist() == [0.1, 0.5]
    assert head_curve(units, "prefix_matching", None)[1].tolist() == [0.9, 0.5]


def test_probe_se_of_the_area_is_the_weighted_sum_of_per_step_standard_errors():
    # n = 5 probe sequences; per step mean m and mean square sq give SE = sqrt((sq - m^2) / 4)
    m, sq = [0.1, 0.3, 0.5], [0.02, 0.13, 0.29]
    rows = [(s, 1, 0, "prefix_matching", v) for s, v in zip((0, 10, 20), m, strict=True)]
    rows += [(s, 1, 0, "prefix_matching_sq", v) for s, v in zip((0, 10, 20), sq, strict=True)]
    se = [math.sqrt((q - a * a) / 4) for a, q in zip(m, sq, strict=True)]
    se_max, se_auc = probe_se(_units(rows), (1, 0), 5, 0, 20)
    assert se_max == pytest.approx(max(se))
    assert se_auc == pytest.approx(0.25 * se[0] + 0.5 * se[1] + 0.25 * se[2])
    assert all(math.isnan(x) for x in probe_se(_units(rows[:3]), (1, 0), 5, 0, 20))  # not tracked
