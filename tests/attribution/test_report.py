"""Concentration of influence beside its nulls (lorenz.json / lorenz.png / concentration.md)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mda_augment.attribution.report import (
    concentration_markdown,
    lorenz_summary,
    null_draw,
    plot_lorenz,
)


def test_noise_is_not_called_concentrated() -> None:
    """Gaussian scores: the observed top-10% share sits inside the Gaussian null's band."""
    scores = np.random.default_rng(0).normal(0.2, 1.0, 3000)
    s = lorenz_summary(scores)
    band = s["null"]["gaussian"]["top10"]
    assert band["low"] <= s["top10_share"] <= band["high"]
    assert abs(s["top10_excess_over_null"]) < 0.05


def test_heavy_positive_tail_beats_both_nulls() -> None:
    """A few large positive scores on top of noise: concentration beyond magnitude and sign chance."""
    rng = np.random.default_rng(1)
    scores = np.concatenate([rng.normal(0, 1, 2700), rng.exponential(6, 300)])
    s = lorenz_summary(scores)
    for kind in ("sign_permutation", "gaussian"):
        assert s["top10_share"] > s["null"][kind]["top10"]["high"], kind
    assert s["top10_excess_over_null"] > 0.05
    assert s["top10_share_null_gaussian"] == s["null"]["gaussian"]["top10"]["mean"]


def test_sign_permutation_keeps_magnitudes_and_positive_share() -> None:
    scores = np.random.default_rng(2).laplace(0.3, 1.0, 500)
    draw = null_draw(scores, "sign_permutation", np.random.default_rng(0))
    assert np.allclose(np.sort(np.abs(draw)), np.sort(np.abs(scores)))
    assert (draw > 0).sum() == (scores > 0).sum() and not np.allclose(draw, scores)


def test_null_is_seeded_and_written(tmp_path: Path) -> None:
    scores = np.random.default_rng(3).standard_t(2, 800)
    a, b = lorenz_summary(scores), lorenz_summary(scores)
    assert a["null"] == b["null"]
    table = concentration_markdown(a)
    assert "| 10% |" in table and "sign-permutation" in table
    plot_lorenz(a, tmp_path / "l.png", "t")
    assert (tmp_path / "l.png").stat().st_size > 1000
