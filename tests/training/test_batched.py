"""train_batched against the single Trainer: same numbers, same files, resumable either way.

Tolerances: losses agree to 1e-5 relative at every step and unit metrics to 1e-4 absolute.
What differs is float rounding only (batched matmuls, the rotary pairs' summation order, a
fused cross-entropy); over these 24 steps the observed gap is ~2e-7 relative, so the bounds
leave room for reassociation to accumulate without letting a real difference (another seed,
another batch: > 1e-3) pass.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest
import torch

from mda_augment.corpus.packing import PackConfig, pack
from mda_augment.errors import ConfigError
from mda_augment.training import rundir
from mda_augment.training.batched import train_batched
from mda_augment.training.config import TrainConfig
from mda_augment.training.loop import train

STEPS = 24
LOSS_RTOL = 1e-5
UNITS_ATOL = 1e-4


@pytest.fixture(scope="module")
def corpora(packed_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two corpora of the same shape with different data orders (another packing seed)."""
    root = tmp_path_factory.mktemp("batched")
    docs = Path(packed_corpus).parent / "docs"
    other = pack(docs, root / "other", PackConfig(tokenizer="bpe-300", seq_len=32, heldout_fraction=0.1,
                                                    bpe_training_mb=1.0, seed=7))
    return packed_corpus, other


def _cfg(corpus: Path, out: Path, seed: int, **kw) -> TrainConfig:
    base = {"preset": "tiny", "corpus": corpus, "out": out, "steps": STEPS, "seed": seed, "threads": 1,
            "checkpoint_log_until": 4, "checkpoint_every": 10, "eval_every": 8, "progress": False,
            "units": {"n_random": 4, "n_natural": 8}}
    return TrainConfig(**{**base, **kw})


def _members(corpora: tuple[Path, Path], root: Path, **kw) -> list[TrainConfig]:
    a, b = corpora
    return [_cfg(a, root / "m0", 0, **kw), _cfg(a, root / "m1", 1, **kw), _cfg(b, root / "m2", 2, **kw)]


@pytest.fixture(scope="module")
def runs(corpora: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The same three configs trained one by one (single Trainer) and as one batch."""
    root = tmp_path_factory.mktemp("runs")
    single = [train(c) for c in _members(corpora, root / "single")]
    batched = train_batched(_members(corpora, root / "batched"))
    return {"single": single, "batched": batched, "corpora": corpora, "root": root}


def _losses(run: Path) -> pl.Series:
    return pl.read_parquet(run / "metrics.parquet").sort("step")["loss"]


def _units(run: Path) -> pl.DataFrame:
    return pl.read_parquet(run / "units.parquet").sort("step", "metric", "layer", "head")


def _assert_same_curves(a: Path, b: Path, loss_rtol: float = LOSS_RTOL, units_atol: float = UNITS_ATOL) -> None:
    la, lb = _losses(a), _losses(b)
    assert len(la) == len(lb) == STEPS
    rel = ((la - lb).abs() / la).max()
    assert rel <= loss_rtol, f"{a.name}: losses differ by {rel:.2e} relative"
    ua, ub = _units(a), _units(b)
    assert ua.select("step", "metric", "layer", "head").equals(ub.select("step", "metric", "layer", "head"))
    assert (ua["value"] - ub["value"]).abs().max() <= units_atol


def test_batched_members_match_single_runs(runs: dict) -> None:
    for single, batched in zip(runs["single"], runs["batched"], strict=True):
        _assert_same_curves(single, batched)
    # the members really are different runs: the comparison above can fail
    assert ((_losses(runs["batched"][0]) - _losses(runs["batched"][1])).abs() > 1e-3).any()
    assert ((_losses(runs["batched"][1]) - _losses(runs["batched"][2])).abs() > 1e-3).any()


def test_a_member_curve_does_not_depend_on_its_batch(runs: dict, tmp_path: Path) -> None:
    """Members never mix: trained alone, member 2 follows the curve it had among three."""
    (alone,) = train_batched([_members(runs["corpora"], tmp_path)[2]])
    _assert_same_curves(runs["batched"][2], alone, loss_rtol=1e-6, units_atol=1e-6)


def test_member_directories_have_the_single_run_format(runs: dict) -> None:
    for single, batched in zip(runs["single"], runs["batched"], strict=True):
        a, b = (json.loads((r / "config.json").read_text()) for r in (single, batched))
        assert {k for k in a if a[k] != b.get(k)} == {"out"} and a.keys() == b.keys()
        assert rundir.list_checkpoints(single) == rundir.list_checkpoints(batched) == [0, 1, 2, 4, 10, 20, 24]
        assert (batched / "_COMPLETE.json").is_file()
        last_a, last_b = (rundir.checkpoint_dir(r, STEPS) for r in (single, batched))
        assert sorted(p.name for p in last_a.iterdir()) == sorted(p.name for p in last_b.iterdir())
        opt_a, opt_b = (torch.load(d / "optimizer.pt", weights_only=False) for d in (last_a, last_b))
        assert opt_a["param_groups"] == opt_b["param_groups"]
        for i, entry in opt_a["state"].items():
            assert entry.keys() == opt_b["state"][i].keys()
            assert torch.equal(entry["step"], opt_b["state"][i]["step"])
            assert torch.allclose(entry["exp_avg"], opt_b["state"][i]["exp_avg"], atol=1e-6)
        rng_a, rng_b = (torch.load(d / "rng.pt", weights_only=False) for d in (last_a, last_b))
        assert torch.equal(rng_a["torch"], rng_b["torch"])
        assert json.loads((last_a / "state.json").read_text()) == json.loads((last_b / "state.json").read_text())
        ids = torch.randint(0, 200, (1, 16))
        logits_a, logits_b = (rundir.load_model_at(r, 10)(ids).logits for r in (single, batched))
        assert torch.allclose(logits_a, logits_b, atol=1e-4)


def _crash(run: Path, keep_until: int) -> None:
    """What a kill leaves: checkpoints up to ``keep_until``, logs past it, no end marker."""
    for step in rundir.list_checkpoints(run):
        if step > keep_until:
            shutil.rmtree(rundir.checkpoint_dir(run, step))
    (run / "_COMPLETE.json").unlink()


def test_crash_resume_regroups_members_and_replays_the_same_curves(runs: dict, tmp_path: Path) -> None:
    root = tmp_path / "crashed"
    shutil.copytree(runs["root"] / "batched", root)
    _crash(root / "m0", keep_until=20)  # member 0 is a checkpoint ahead of the others
    _crash(root / "m1", keep_until=10)
    _crash(root / "m2", keep_until=10)
    train_batched(_members(runs["corpora"], root))
    for done, resumed in zip(runs["batched"], sorted(root.iterdir()), strict=True):
        _assert_same_curves(done, resumed, loss_rtol=1e-6, units_atol=1e-6)
        assert rundir.list_checkpoints(resumed) == rundir.list_checkpoints(done)


def test_single_trainer_resumes_a_batched_member(runs: dict, tmp_path: Path) -> None:
    member = tmp_path / "m2"
    shutil.copytree(runs["batched"][2], member)
    _crash(member, keep_until=10)
    train(_members(runs["corpora"], tmp_path)[2])
    _assert_same_curves(runs["single"][2], member)


def test_branches_continue_from_a_trunk_checkpoint(runs: dict, tmp_path: Path) -> None:
    """Arms start from their own latest checkpoint: a trunk's step-10 copied into each arm."""
    trunk = rundir.checkpoint_dir(runs["single"][0], 10)
    a, b = runs["corpora"]
    arms = [_cfg(a, tmp_path / "arm_a", 0), _cfg(b, tmp_path / "arm_b", 0)]
    solo = [_cfg(a, tmp_path / "solo_a", 0), _cfg(b, tmp_path / "solo_b", 0)]
    for cfg in arms + solo:
        shutil.copytree(trunk, rundir.checkpoint_dir(cfg.out, 10))
    train_batched(arms)
    for arm, ref in zip(arms, solo, strict=True):
        train(ref)
        la, lb = (pl.read_parquet(Path(c.out) / "metrics.parquet")["step"] for c in (arm, ref))
        assert la.to_list() == lb.to_list() == list(range(10, STEPS))
        ra = (_losses(Path(arm.out)) - _losses(Path(ref.out))).abs() / _losses(Path(ref.out))
        assert ra.max() <= LOSS_RTOL
    # the arms saw different data after the branch point
    assert (_losses(Path(arms[0].out)) - _losses(Path(arms[1].out))).abs().max() > 1e-3


def test_members_must_share_the_recipe(corpora: tuple[Path, Path], tmp_path: Path) -> None:
    a, _ = corpora
    with pytest.raises(ConfigError, match="members must share lr"):
        train_batched([_cfg(a, tmp_path / "x", 0), _cfg(a, tmp_path / "y", 1, lr=1e-2)])
    with pytest.raises(ConfigError, match="same out directory"):
        train_batched([_cfg(a, tmp_path / "x", 0), _cfg(a, tmp_path / "x", 1)])
    with pytest.raises(ConfigError, match="compile is not supported"):
        train_batched([_cfg(a, tmp_path / "x", 0, compile=True)])
    short = pack(Path(a).parent / "docs", tmp_path / "short", PackConfig(tokenizer="bpe-300", seq_len=16,
                                                                         heldout_fraction=0.1, bpe_training_mb=1.0))
    with pytest.raises(ConfigError, match="members need the same shape"):
        train_batched([_cfg(a, tmp_path / "x", 0), _cfg(short, tmp_path / "y", 1)])
