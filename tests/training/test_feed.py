"""The prefetching batch feed: the same batches as building them inline, errors surface, and
a run trained with prefetching equals one without."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import torch

from mda_augment.training.config import TrainConfig
from mda_augment.training.feed import BatchFeed
from mda_augment.training.loop import TIMING_COLUMNS, Trainer, train


def _cfg(corpus: Path, out: Path, **kw) -> TrainConfig:
    return TrainConfig(**{"preset": "tiny", "corpus": corpus, "out": out, "steps": 12, "seed": 3,
                          "threads": 1, "progress": False, "checkpoint_log_until": 2,
                          "checkpoint_every": 6, "eval_every": 6,
                          "units": {"probes": ["prefix_matching", "heldout_loss"], "n_random": 4,
                                    "n_natural": 8}, **kw})


def test_feed_yields_the_inline_batches_in_order(packed_corpus, tmp_path):
    trainer = Trainer(_cfg(packed_corpus, tmp_path / "r"))
    with BatchFeed(trainer._batch, range(3, 9), torch.device("cpu"), depth=2) as feed:
        for step in range(3, 9):
            got = feed.get(step)
            assert got.dtype == torch.int64 and torch.equal(got, trainer._batch(step))
        with pytest.raises(RuntimeError, match="ended before step 9"):
            feed.get(9)


def test_an_error_building_a_batch_is_raised_at_its_step(tmp_path):
    def make(step: int) -> torch.Tensor:
        if step == 2:
            raise ValueError("bad rows")
        return torch.full((2, 4), step)

    with BatchFeed(make, range(5), torch.device("cpu"), depth=2) as feed:
        assert feed.get(0)[0, 0] == 0 and feed.get(1)[0, 0] == 1
        with pytest.raises(ValueError, match="bad rows"):
            feed.get(2)


def test_leaving_early_stops_the_thread():
    feed = BatchFeed(lambda step: torch.zeros(1), range(1000), torch.device("cpu"), depth=2)
    with feed:
        feed.get(0)
    assert feed._thread is not None and not feed._thread.is_alive()


def test_prefetching_run_equals_inline_run(packed_corpus, tmp_path):
    a, b = (train(_cfg(packed_corpus, tmp_path / f"p{depth}", prefetch=depth)) for depth in (0, 2))
    ma, mb = (pl.read_parquet(r / "metrics.parquet").drop(list(TIMING_COLUMNS)).sort("step") for r in (a, b))
    assert ma.height == 12 and ma.equals(mb)
    ua, ub = (pl.read_parquet(r / "units.parquet").sort("step", "metric", "layer", "head") for r in (a, b))
    assert ua.height > 0 and ua.equals(ub)
