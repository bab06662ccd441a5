"""The run directory: what training writes and what later stages read.

Layout of ``runs/NAME/``::

    config.json                 resolved TrainConfig (every default filled in), plus
                                "corpus" (absolute packed-corpus path), "global_batch",
                                "seq_len", "vocab_size" and "model" (the GPT-NeoX config dict)
    checkpoints/
      step-00000000/            initial weights (a checkpoint at step N = after N updates)
        model.safetensors       weights (tied tensors stored once)
        model_config.json       GPTNeoXConfig dict (``mda_attention_only`` for attn-only)
        optimizer.pt            AdamW state dict
        rng.pt                  torch / CUDA / numpy / python RNG states
        state.json              step, tokens seen, sequences consumed, global_batch, corpus
        _COMPLETE.json          written last; directories without it are ignored
      step-00000001/ ...        Pythia calendar: 0, 1, 2, 4, ..., 512, then every K, and the end
    metrics.parquet             step, tokens, loss, lr, tokens_per_s, mfu (one row per step;
                                mfu null where the device's peak is unknown, and in runs
                                written before the column existed)
    throughput.json             the run's tokens/s and MFU, and what they were computed from
    progress.json               live step, loss, score, ETA (what the grid's board shows)
    worker.json                 pid and host of the process training it (grid runs; Ray attempt)
    units.parquet               step, layer, head, metric, value (per-head metrics; layer = head
                                = -1 for model-level metrics such as icl and heldout_loss)
    _COMPLETE.json              the run reached its last step

Provenance: the sequences consumed at step ``s`` are
``PackedCorpus(config["corpus"]).batch_ids(s, config["global_batch"])``; a checkpoint at step N
has seen exactly ``sequences_before_step(N, global_batch)``.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_model, save_model
from transformers import GPTNeoXConfig, GPTNeoXForCausalLM

from ..artifacts import MARKER, atomic_write_json, building, read_json, require_complete
from ..errors import ArtifactError
from ..model.build import from_config

CKPT_DIR = "checkpoints"
METRICS = "metrics.parquet"
UNITS = "units.parquet"
WEIGHTS = "model.safetensors"  # a checkpoint's weights
OPTIMIZER = "optimizer.pt"
RNG = "rng.pt"  # python, numpy and torch generator states
STATE = "state.json"  # a checkpoint's step, tokens seen and data position


def checkpoint_dir(run: str | os.PathLike, step: int) -> Path:
    return Path(run) / CKPT_DIR / f"step-{step:08d}"


def list_checkpoints(run: str | os.PathLike) -> list[int]:
    """Steps of the complete checkpoints in ``run``, ascending."""
    root = Path(run) / CKPT_DIR
    if not root.is_dir():
        return []
    steps = [int(p.name.split("-")[1]) for p in root.glob("step-*") if (p / MARKER).is_file()]
    return sorted(steps)


def rng_state() -> dict:
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(run: str | os.PathLike, step: int, model: GPTNeoXForCausalLM,
                    optimizer: torch.optim.Optimizer, state: dict) -> Path:
    """Write checkpoint ``step`` atomically (temp dir + rename; never half-written)."""
    out = checkpoint_dir(run, step)
    with building(out, overwrite=True) as tmp:
        save_model(model, str(tmp / WEIGHTS))
        (tmp / "model_config.json").write_text(model.config.to_json_string(), encoding="utf-8")
        torch.save(optimizer.state_dict(), tmp / OPTIMIZER)
        torch.save(rng_state(), tmp / RNG)
        atomic_write_json(tmp / STATE, state)
    return out


def model_config_at(directory: Path) -> GPTNeoXConfig:
    data = read_json(directory / "model_config.json")
    return GPTNeoXConfig.from_dict(data)


def load_model_at(run: str | os.PathLike, step: int | None = None,
                  device: str | torch.device = "cpu") -> GPTNeoXForCausalLM:
    """The model of ``run`` after ``step`` updates (default: the last checkpoint), in eval mode.

    Attention implementation is ``sdpa``; call ``model.set_attn_implementation("eager")``
    when attention probabilities are needed.
    """
    steps = list_checkpoints(run)
    if not steps:
        raise ArtifactError(f"{run}: no complete checkpoints; train first (mda-augment train)")
    step = steps[-1] if step is None else step
    if step not in steps:
        raise ArtifactError(f"{run}: no checkpoint at step {step}; available: {steps[:6]}...{steps[-3:]}")
    directory = require_complete(checkpoint_dir(run, step), "checkpoint")
    model = from_config(model_config_at(directory))
    load_model(model, str(directory / WEIGHTS))
    return model.to(device).eval()


def load_training_state(directory: Path, model: GPTNeoXForCausalLM,
                        optimizer: torch.optim.Optimizer) -> dict:
    """Restore weights, optimizer and RNG from a checkpoint; returns its ``state.json``."""
    load_model(model, str(directory / WEIGHTS))
    device = next(model.parameters()).device
    optimizer.load_state_dict(torch.load(directory / OPTIMIZER, map_location=device, weights_only=False))
    set_rng_state(torch.load(directory / RNG, weights_only=False))
    return read_json(directory / STATE)
