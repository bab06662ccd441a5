"""Tokens/s and MFU: PaLM FLOP accounting, the peak table, and what a run records."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from mda_augment.artifacts import read_json
from mda_augment.model.build import build_model, count_parameters
from mda_augment.model.presets import get_preset
from mda_augment.training import rundir
from mda_augment.training.config import TrainConfig
from mda_augment.training.loop import THROUGHPUT, train
from mda_augment.training.throughput import flops_per_token, peak_flops


def test_pythia_14m_flops_per_token_by_palm_accounting():
    model = build_model(get_preset("pythia-14m"), vocab_size=50277, seq_len=2048)
    n = count_parameters(model, non_embedding=True)
    assert n == 1_189_888  # Pythia paper, table 1: non-embedding parameters of 14M
    # 6 N + 12 L d T = 6 * 1,189,888 + 12 * 6 * 128 * 2048
    assert flops_per_token(n, 6, 128, 2048) == 7_139_328 + 18_874_368


@pytest.mark.parametrize(("name", "precision", "tflops"), [
    ("NVIDIA H100 80GB HBM3", "bf16", 989.0), ("NVIDIA H200", "bf16", 989.0),
    ("NVIDIA H100 PCIe", "bf16", 756.0), ("NVIDIA A100-SXM4-80GB", "bf16", 312.0),
    ("NVIDIA A100-SXM4-80GB", "fp32", 19.5), ("NVIDIA L40S", "bf16", 362.0), ("NVIDIA L4", "bf16", 121.0)])
def test_peak_table_by_device_name(name, precision, tflops):
    peak, source = peak_flops(name, precision, None)
    assert peak == pytest.approx(tflops * 1e12) and precision in source


def test_cpu_has_no_peak_unless_configured():
    assert peak_flops("x86_64", "fp32", None)[0] is None
    assert peak_flops("x86_64", "fp32", 0.5) == (0.5e12, "peak_tflops setting")
    assert peak_flops("NVIDIA H100 80GB HBM3", "bf16", 100.0)[0] == 100e12  # a setting wins


def _cfg(corpus: Path, out: Path, **kw) -> TrainConfig:
    return TrainConfig(**{"preset": "tiny", "corpus": corpus, "out": out, "steps": 12, "seed": 1,
                          "threads": 1, "progress": False, "checkpoint_log_until": 2,
                          "checkpoint_every": 6, "eval_every": 100,
                          "units": {"probes": ["heldout_loss"], "n_natural": 4}, **kw})


def test_run_records_mfu_per_step_and_a_summary(packed_corpus, tmp_path):
    run = train(_cfg(packed_corpus, tmp_path / "r", peak_tflops=0.01))
    summary = read_json(run / THROUGHPUT)
    config = read_json(run / "config.json")
    context = config["seq_len"] - 1
    assert summary["flops_per_token"] == flops_per_token(
        count_parameters(rundir.load_model_at(run), non_embedding=True), config["model"]["num_hidden_layers"],
        config["model"]["hidden_size"], context)
    m = pl.read_parquet(run / "metrics.parquet")
    # mfu = model FLOPs of the step / step time / peak, the step time being consumed tokens / tokens_per_s
    step_s = config["global_batch"] * config["seq_len"] / m["tokens_per_s"]
    expected = summary["flops_per_token"] * config["global_batch"] * context / step_s / 0.01e12
    assert (m["mfu"] - expected).abs().max() < 1e-9 and (m["mfu"] > 0).all()
    assert summary["steps_timed"] == 12 and summary["tokens_per_s"] > 0 and summary["mfu"] > 0
    assert summary["devices"] == 1 and summary["peak_flops"] == 0.01e12


def test_old_metrics_without_mfu_resume_and_cpu_mfu_is_null(packed_corpus, tmp_path):
    run = train(_cfg(packed_corpus, tmp_path / "old"))
    assert read_json(run / THROUGHPUT)["mfu"] is None  # CPU, no peak_tflops: unknown, not made up
    assert pl.read_parquet(run / "metrics.parquet")["mfu"].null_count() == 12
    # make it look like a run of the version before the mfu column, interrupted after step 6
    old = pl.read_parquet(run / "metrics.parquet").drop("mfu")
    old.write_parquet(run / "metrics.parquet")
    shutil.rmtree(rundir.checkpoint_dir(run, 12))
    (run / "_COMPLETE.json").unlink()
    train(_cfg(packed_corpus, run, peak_tflops=0.01))
    m = pl.read_parquet(run / "metrics.parquet").sort("step")
    assert m["step"].to_list() == list(range(12))
    assert m.filter(pl.col("step") < 6)["mfu"].null_count() == 6  # the old rows: no figure
    assert m.filter(pl.col("step") >= 6)["mfu"].null_count() == 0  # the resumed steps have one
