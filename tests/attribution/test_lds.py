"""LDS machinery on ``tiny``: faithful continuations, in-place subsets, slot order, statistics."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from mda_augment.attribution import lds
from mda_augment.attribution.probes import copy_target
from mda_augment.attribution.window import probe_tokens
from mda_augment.corpus.packed import PackedCorpus
from mda_augment.training import rundir

from .helpers import train_tiny

START, STEPS, BATCH = 6, 6, 8


@pytest.fixture(scope="module")
def run(packed_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("lds") / "run"
    return train_tiny(packed_corpus, out, 24, log_until=0)


def _job(run: Path, corpus: Path, out: Path, packed: Path) -> lds.Continuation:
    from mda_augment.attribution.window import PackedOrder

    probes = probe_tokens(PackedOrder(packed, BATCH), 4, 8, 0)
    return lds.Continuation(str(run), str(corpus), str(out), START, STEPS, ("L1H0",), "copy_target", probes, 8)


def test_design_keeps_exactly_half_and_fillers_come_after_the_window(packed_corpus: Path) -> None:
    corpus = PackedCorpus(packed_corpus)
    d = lds.make_design(corpus, START, STEPS, BATCH, m=5, seed=1)
    n = STEPS * BATCH
    assert d.keep.shape == (5, n) and (d.keep.sum(axis=1) == n // 2).all()
    assert np.array_equal(d.window, corpus.order(START * BATCH, (START + STEPS) * BATCH))
    assert np.array_equal(d.filler, corpus.order((START + STEPS) * BATCH, (START + 2 * STEPS) * BATCH))
    consumed = d.consumed(0)
    assert np.array_equal(consumed[d.keep[0]], d.window[d.keep[0]])
    assert np.array_equal(consumed[~d.keep[0]], d.filler[~d.keep[0]])
    assert not np.array_equal(d.keep[0], d.keep[1])
    score = {int(s): 1.0 for s in d.window} | {int(s): 0.0 for s in d.filler}
    assert np.allclose(d.predictions(score), n // 2) and np.allclose(d.window_only(score), n // 2)


def test_subset_corpus_replaces_slots_in_place(packed_corpus: Path, tmp_path: Path) -> None:
    base = PackedCorpus(packed_corpus)
    d = lds.make_design(base, START, STEPS, BATCH, m=2, seed=0)
    sub = PackedCorpus(lds.subset_corpus(packed_corpus, tmp_path / "s", d, 1))
    assert np.array_equal(sub.order(0, START * BATCH), base.order(0, START * BATCH))
    for step in range(START, START + STEPS):
        got = sub.batch_ids(step, BATCH)
        slots = slice((step - START) * BATCH, (step - START + 1) * BATCH)
        assert np.array_equal(got, d.consumed(1)[slots])


def test_slot_order_scores_window_and_fillers_at_their_slot_steps(packed_corpus: Path) -> None:
    d = lds.make_design(PackedCorpus(packed_corpus), START, STEPS, BATCH, m=1)
    rows = lds.SlotOrder(packed_corpus, d).step_ids(START, START + STEPS)
    assert rows.height == 2 * STEPS * BATCH and rows["pos"].is_unique().all()
    by_seq = dict(zip(rows["seq"].to_list(), rows["step"].to_list(), strict=True))
    for i, (w, f) in enumerate(zip(d.window, d.filler, strict=True)):
        assert by_seq[int(w)] == by_seq[int(f)] == START + i // BATCH


def test_continuation_on_the_untouched_window_reproduces_the_run(run: Path, packed_corpus: Path, tmp_path: Path) -> None:
    """Keeping every window sequence must land exactly on the run's own checkpoint."""
    d = lds.make_design(PackedCorpus(packed_corpus), START, STEPS, BATCH, m=2, seed=0)
    full = dataclasses.replace(d, keep=np.ones_like(d.keep))
    same = lds.continue_run(_job(run, lds.subset_corpus(packed_corpus, tmp_path / "full", full, 0),
                                 tmp_path / "c0", packed_corpus))
    job = _job(run, packed_corpus, tmp_path / "unused", packed_corpus)
    model = rundir.load_model_at(run, START + STEPS)
    with torch.no_grad():
        expected = float(copy_target(model, torch.from_numpy(job.probes), [], job.half).double().sum())
    assert same["probe"] == pytest.approx(expected, rel=1e-5)
    half = lds.continue_run(_job(run, lds.subset_corpus(packed_corpus, tmp_path / "half", d, 0),
                                 tmp_path / "c1", packed_corpus))
    assert half["probe"] != pytest.approx(expected, rel=1e-5)  # the subset changes training
    assert 0.0 <= half["prefix_matching"] <= 1.0 and not (tmp_path / "c1").exists()


def test_lds_table_separates_a_good_predictor_from_noise() -> None:
    rng = np.random.default_rng(0)
    actual = rng.normal(size=40)
    preds = {"good": actual + 0.3 * rng.normal(size=40), "noise": rng.normal(size=40)}
    table = lds.lds_table(preds, actual, "noise", reps=500).sort("method")
    good, noise = table.row(0, named=True), table.row(1, named=True)
    assert good["lds"] > 0.8 and good["ci_low"] > 0.6 and good["ci_low"] <= good["lds"] <= good["ci_high"]
    assert noise["ci_low"] < 0 < noise["ci_high"]
    assert good["diff_ci_low"] > 0 and good["p_holm"] < 0.01 and noise["p_holm"] == 1.0


def test_shadow_run_adds_a_faithful_checkpoint_between_the_runs_own(run: Path, packed_corpus: Path,
                                                                     tmp_path: Path) -> None:
    shadow = lds.shadow_run(run, tmp_path / "shadow", 9)
    assert rundir.list_checkpoints(shadow) == sorted(rundir.list_checkpoints(run) + [9])
    d = lds.make_design(PackedCorpus(packed_corpus), 9, 3, BATCH, m=1)
    full = dataclasses.replace(d, keep=np.ones_like(d.keep))
    job = dataclasses.replace(_job(shadow, lds.subset_corpus(packed_corpus, tmp_path / "c", full, 0), tmp_path / "o",
                                   packed_corpus), start=9, steps=3)
    with torch.no_grad():
        expected = float(copy_target(rundir.load_model_at(run, 12), torch.from_numpy(job.probes), [], job.half).double().sum())
    assert lds.continue_run(job)["probe"] == pytest.approx(expected, rel=1e-6)
