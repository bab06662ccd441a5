"""Finite-difference check on ``tiny``: one step on a sequence moves the probe as its score says.

A real kronfluence run (EK-FAC on the head's qk block) scores a window; then, for the top,
bottom and random sequences, one step restricted to that block is taken in fp64 and the probe
change per unit lr is compared with the score:

* the EK-FAC-preconditioned step must follow the kronfluence score (sign, rank and slope 1);
* the plain SGD step must follow the gradient dot product (and is only loosely ranked by the
  EK-FAC score: reported, not asserted);
* the same comparisons with shuffled scores must fail, so the assertions can fail.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from mda_augment.attribution import fd
from mda_augment.attribution.config import AttributionConfig
from mda_augment.attribution.window import PackedOrder
from mda_augment.training import rundir

from .helpers import train_tiny

STEPS = 12


@pytest.fixture(scope="module")
def checked(packed_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[pl.DataFrame, dict]:
    root = tmp_path_factory.mktemp("fd")
    run = train_tiny(packed_corpus, root / "run", STEPS)
    cfg = AttributionConfig(heads=["L1H0"], step=STEPS, end_step=STEPS, mode="qk", factor_examples=48,
                            n_probe=8, probe_half=8, train_batch=8, query_batch=8)
    return fd.check(rundir.load_model_at(run, STEPS), PackedOrder(packed_corpus, 8), cfg, root / "work", k=8)


def test_groups_are_top_bottom_and_random(checked) -> None:
    frame, lrs = checked
    assert frame.group_by("group").len().sort("group")["len"].to_list() == [8, 8, 8]
    top, bottom = (frame.filter(pl.col("group") == g)["score"] for g in ("top", "bottom"))
    assert top.min() > bottom.max()
    assert all(lr > 0 for lr in lrs.values())


def test_independent_ekfac_reproduces_kronfluence_scores(checked) -> None:
    """H^-1 rebuilt from the stored factors gives kronfluence's scores (sign convention included)."""
    frame, _ = checked
    assert np.allclose(frame["score_ekfac"], frame["score"], rtol=1e-3, atol=1e-6 * frame["score"].abs().max())


@pytest.mark.parametrize(("score", "delta"), [("score", "delta_precond"), ("graddot", "delta_plain")])
def test_one_step_changes_the_probe_by_lr_times_score(checked, score: str, delta: str) -> None:
    frame, _ = checked
    rows = fd.summary_rows(frame, score, delta)
    for row in rows:
        assert row["sign_agreement"] >= 0.95, row
        assert row["spearman"] >= 0.95, row
    assert 0.9 <= rows[0]["slope"] <= 1.1, rows[0]  # delta / lr = +score: the sign of task.py


def test_top_sequences_raise_and_bottom_ones_lower_the_probe(checked) -> None:
    """In the tracked block, with the step the score describes (preconditioned)."""
    by = {r["group"]: r for r in fd.summary_rows(checked[0], "score", "delta_precond")}
    assert by["top"]["share_up"] == 1.0 and by["bottom"]["share_up"] == 0.0


@pytest.mark.parametrize(("score", "delta"), [("score", "delta_precond"), ("graddot", "delta_plain")])
def test_shuffled_scores_fail_the_same_check(checked, score: str, delta: str) -> None:
    frame, _ = checked
    shuffled = np.random.default_rng(0).permutation(frame[score].to_numpy())
    res = fd.agreement(shuffled, frame[delta].to_numpy())
    assert res["spearman"] < 0.5 and res["sign_agreement"] < 0.8
    flipped = fd.agreement(-frame[score].to_numpy(), frame[delta].to_numpy())
    assert flipped["sign_agreement"] < 0.05  # a sign error in the convention would show here
