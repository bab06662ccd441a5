"""Two runs with identical inputs on one machine give bit-identical curves, and the run
records the fingerprint that makes "identical inputs" checkable."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import torch

from mda_augment.artifacts import read_json
from mda_augment.corpus.fingerprint import packed_fingerprint
from mda_augment.training.config import TrainConfig
from mda_augment.training.loop import TIMING_COLUMNS, train


def _cfg(corpus: Path, out: Path) -> TrainConfig:
    return TrainConfig(preset="tiny", corpus=corpus, out=out, steps=16, seed=5, threads=1,
                       checkpoint_log_until=2, checkpoint_every=8, eval_every=8, progress=False,
                       units={"n_random": 4, "n_natural": 8})


def test_two_identical_runs_give_identical_metrics_and_units(packed_corpus: Path, tmp_path: Path) -> None:
    a, b = (train(_cfg(packed_corpus, tmp_path / name)) for name in ("a", "b"))
    timing = list(TIMING_COLUMNS)  # wall-clock throughput: the columns that may differ
    ma, mb = (pl.read_parquet(run / "metrics.parquet").drop(timing).sort("step") for run in (a, b))
    assert ma.height == 16 and ma.equals(mb)
    ua, ub = (pl.read_parquet(run / "units.parquet").sort("step", "metric", "layer", "head") for run in (a, b))
    assert ua.height > 0 and ua.equals(ub)
    fa, fb = (read_json(run / "config.json")["fingerprint"] for run in (a, b))
    assert fa == fb
    corpus = packed_fingerprint(packed_corpus)
    assert fa["tokens_sha256"] == corpus["tokens_sha256"] and fa["order_sha256"] == corpus["order_sha256"]
    assert (fa["torch"], fa["threads"]) == (torch.__version__, 1)
