"""GPU readiness on CPU: bf16 autocast (accelerate's mixed precision) and torch.compile.

accelerate wraps the prepared model's forward in ``torch.autocast`` on the training device (CUDA
on a GPU, the CPU here), so the same code path is checked; what cannot be checked without a
GPU is CUDA's own bf16 kernels and speed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from mda_augment.artifacts import read_json
from mda_augment.training.config import TrainConfig
from mda_augment.training.loop import THROUGHPUT, Trainer, train


def _cfg(corpus: Path, out: Path, **kw) -> TrainConfig:
    return TrainConfig(**{"preset": "tiny", "corpus": corpus, "out": out, "steps": 3, "seed": 2,
                          "threads": 1, "progress": False, "eval_every": 100,
                          "units": {"probes": ["heldout_loss"], "n_natural": 4}, **kw})


def _dtypes_in_one_step(trainer: Trainer) -> tuple[torch.dtype, torch.dtype]:
    """(dtype of an attention projection's output, dtype of the logits) during a training step."""
    seen: dict[str, torch.dtype] = {}
    layer = trainer.raw_model.gpt_neox.layers[0].attention.query_key_value

    def record(module, inputs, out) -> None:
        seen.setdefault("qkv", out.dtype)

    hook = layer.register_forward_hook(record)
    try:
        batch = trainer._batch(0)[: trainer.cfg.micro_batch]
        logits = trainer.forward(batch[:, :-1]).logits  # (micro, seq-1, vocab)
        loss = trainer.train_step(0)
    finally:
        hook.remove()
    assert isinstance(loss, float) and loss == loss
    return seen["qkv"], logits.dtype


def test_bf16_autocasts_the_forward_and_keeps_logits_loss_and_weights_fp32(packed_corpus, tmp_path):
    bf16 = Trainer(_cfg(packed_corpus, tmp_path / "bf16", precision="bf16"))
    inner, logits = _dtypes_in_one_step(bf16)
    assert inner == torch.bfloat16  # the matmuls ran in bf16
    assert logits == torch.float32  # outputs are cast back: the loss is computed in fp32
    assert all(p.dtype == torch.float32 for p in bf16.raw_model.parameters())  # fp32 master weights
    assert bf16.precision == "bf16"
    fp32 = Trainer(_cfg(packed_corpus, tmp_path / "fp32", precision="fp32"))
    assert _dtypes_in_one_step(fp32) == (torch.float32, torch.float32)


def test_auto_precision_is_fp32_on_cpu_and_recorded(packed_corpus, tmp_path):
    run = train(_cfg(packed_corpus, tmp_path / "auto"))
    summary = read_json(run / THROUGHPUT)
    assert (summary["precision"], summary["device"]) == ("fp32", "cpu")


@pytest.mark.slow  # compiling even the tiny model takes ~2 minutes of CPU here
def test_compiled_training_runs_and_matches_eager(packed_corpus, tmp_path):
    eager = Trainer(_cfg(packed_corpus, tmp_path / "eager"))
    compiled = Trainer(_cfg(packed_corpus, tmp_path / "compiled", compile=True))
    a = [eager.train_step(s) for s in range(3)]
    b = [compiled.train_step(s) for s in range(3)]
    assert compiled.forward is not compiled.model  # really the compiled module
    assert max(abs(x - y) for x, y in zip(a, b, strict=True)) <= 1e-5, (a, b)
