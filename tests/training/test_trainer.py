"""The trainer: schedule, calendar, provenance, resume from a checkpoint, model loading."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch

from mda_augment.config import validate
from mda_augment.corpus.packed import PackedCorpus
from mda_augment.errors import ArtifactError, ConfigError
from mda_augment.training import rundir
from mda_augment.training.config import TrainConfig
from mda_augment.training.loop import Trainer, train
from mda_augment.training.schedule import checkpoint_steps, lr_at


def _cfg(corpus: Path, out: Path, **kw) -> TrainConfig:
    base = {"preset": "tiny", "corpus": corpus, "out": out, "steps": 24, "seed": 1, "threads": 1,
            "checkpoint_log_until": 4, "checkpoint_every": 10, "eval_every": 8, "progress": False,
            "units": {"n_random": 4, "n_natural": 8}}
    return TrainConfig(**{**base, **kw})


def test_checkpoint_calendar_is_pythia_style() -> None:
    assert checkpoint_steps(3000, 512, 1000) == [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000, 2000, 3000]
    assert checkpoint_steps(10, 4, 6) == [0, 1, 2, 4, 6, 10]


def test_lr_warmup_then_cosine_to_ten_percent() -> None:
    kw = {"peak": 1.0, "warmup": 10, "total": 110, "schedule": "cosine", "min_ratio": 0.1}
    assert lr_at(0, **kw) == pytest.approx(0.1)
    assert lr_at(9, **kw) == pytest.approx(1.0)
    assert lr_at(60, **kw) == pytest.approx(0.55)
    assert lr_at(110, **kw) == pytest.approx(0.1)
    assert lr_at(80, **{**kw, "schedule": "constant"}) == 1.0


def test_config_fills_from_preset_and_rejects_bad_batch(packed_corpus: Path, tmp_path: Path) -> None:
    cfg = _cfg(packed_corpus, tmp_path / "r")
    assert (cfg.lr, cfg.global_batch, cfg.micro_batch, cfg.warmup_steps) == (3e-3, 8, 4, 1)
    with pytest.raises(ConfigError, match="field '<root>'|multiple of micro_batch"):
        validate(TrainConfig, {"preset": "tiny", "corpus": "x", "out": "y", "steps": 5,
                               "global_batch": 6, "micro_batch": 4}, "recipe.yaml")
    with pytest.raises(ConfigError, match=r"recipe.yaml: stepz: unknown field; did you mean steps\?"):
        validate(TrainConfig, {"preset": "tiny", "corpus": "x", "out": "y", "steps": 5, "stepz": 1},
                 "recipe.yaml")


def test_step_consumes_exactly_the_corpus_batch(packed_corpus: Path, tmp_path: Path) -> None:
    trainer = Trainer(_cfg(packed_corpus, tmp_path / "r"))
    corpus = PackedCorpus(packed_corpus)
    for step in (0, 3, 17):
        expected = corpus.tokens[corpus.batch_ids(step, 8)].astype(np.int64)
        assert np.array_equal(trainer._batch(step).numpy(), expected)


def test_resume_from_checkpoint_replays_identical_losses(packed_corpus: Path, tmp_path: Path) -> None:
    """Simulate a crash after step 10: drop later checkpoints and the end marker, rerun."""
    full = train(_cfg(packed_corpus, tmp_path / "full"))
    crashed = tmp_path / "crashed"
    shutil.copytree(full, crashed)
    for step in rundir.list_checkpoints(crashed):
        if step > 10:
            shutil.rmtree(rundir.checkpoint_dir(crashed, step))
    (crashed / "_COMPLETE.json").unlink()
    # a half-written later checkpoint (no marker) must be ignored
    (rundir.checkpoint_dir(crashed, 20)).mkdir()
    train(_cfg(packed_corpus, crashed))
    a = pl.read_parquet(full / "metrics.parquet")
    b = pl.read_parquet(crashed / "metrics.parquet")
    assert a["step"].to_list() == b["step"].to_list() == list(range(24))
    assert (a["loss"] - b["loss"]).abs().max() <= 1e-6
    # a different seed is a different curve: the comparison above can fail
    other = train(_cfg(packed_corpus, tmp_path / "other", seed=2))
    assert (a["loss"] - pl.read_parquet(other / "metrics.parquet")["loss"]).abs().max() > 1e-3


def test_resuming_with_another_recipe_is_refused(packed_corpus: Path, tmp_path: Path) -> None:
    Trainer(_cfg(packed_corpus, tmp_path / "r"))
    with pytest.raises(ConfigError, match="different lr"):
        Trainer(_cfg(packed_corpus, tmp_path / "r", lr=1e-2))


def test_load_model_at_step_reproduces_training_weights(packed_corpus: Path, tmp_path: Path) -> None:
    run = train(_cfg(packed_corpus, tmp_path / "r", steps=12))
    assert rundir.list_checkpoints(run) == [0, 1, 2, 4, 10, 12]
    ids = torch.randint(0, 300, (1, 16))
    first, last = rundir.load_model_at(run, 0), rundir.load_model_at(run)
    assert not torch.allclose(first(ids).logits, last(ids).logits)
    with pytest.raises(ArtifactError, match="no checkpoint at step 3"):
        rundir.load_model_at(run, 3)
    units = pl.read_parquet(run / "units.parquet")
    assert set(units["step"].unique()) == {0, 1, 2, 4, 8, 10, 12}
    assert {"prefix_matching", "previous_token", "induction_tl", "copying", "icl",
            "heldout_loss"} <= set(units["metric"].unique())
    assert units.filter(pl.col("metric") == "prefix_matching").height == 7 * 2 * 2
