"""The attribution recipe: one typed config, resolved and saved next to the scores.

Light on purpose (pydantic only): a core install validates recipes without torch, so the
names other modules check against (subspace modes, checkpoint modes) live here.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import Field, field_validator

from ..config import StrictModel

# Tracked subspace per target head (see heads.py): the head's W_QK; its W_QK, W_V and W_O;
# or the whole attention layer (a baseline).
MODES: tuple[str, ...] = ("qk", "qkvo", "layer")
# Which checkpoint(s) a window sequence is scored against (see checkpoints.py).
CheckpointMode = Literal["end", "nearest", "tracin"]
CHECKPOINT_MODES: tuple[str, ...] = get_args(CheckpointMode)

# The attribution artifact's files (written by report.py and pipeline.py, read by everyone).
SCORES = "scores.parquet"  # one row per scored sequence: pos, step, seq, score, rank, documents
DOCUMENTS = "documents.parquet"  # scores split over documents by token share
EXTREMES = "extremes.json"  # top-k and bottom-k sequences with decoded snippets
EXTREMES_MD = "extremes.md"
LORENZ = "lorenz.json"  # concentration of influence mass (top-k shares, curves)
LORENZ_PNG = "lorenz.png"
TIMINGS = "timings.json"  # seconds per stage, peak memory, tracked modules, checkpoints used
CONCENTRATION = "concentration.md"  # observed top-k shares beside their nulls
CHECKPOINT_SCORES = "checkpoint_scores.parquet"  # per-checkpoint scores (nearest / tracin)


class AttributionOptions(StrictModel):
    """How to attribute (probe, subspace, window sampling, batching): what a recipe may tune."""

    probe: str = Field("copy_target", description="registered attribution probe name")
    mode: str = Field("qk", description="tracked subspace per head: qk, qkvo or layer")
    start_step: int = Field(0, ge=0, description="first training step of the window")
    sample: int | None = Field(None, ge=1, description="score a seeded random sample of the window")
    seed: int = Field(0, description="seeds the window sample, factor subset and probe tokens")
    n_probe: int = Field(32, ge=1, description="probe sequences [eos]+R+R (paper: 32-200)")
    probe_half: int = Field(32, ge=2, description="len(R); capped to fit the context")
    train_batch: int = Field(8, ge=1, description="training sequences per kronfluence batch")
    query_batch: int = Field(16, ge=1, description="probe sequences per kronfluence batch")
    partitions: int = Field(1, ge=1, description="window chunks scored and resumed separately")
    factor_examples: int = Field(512, ge=1, description="window sequences used to fit EK-FAC factors")
    strategy: Literal["ekfac", "identity"] = Field(
        "ekfac", description="Hessian approximation: ekfac (the paper) or identity (plain gradient "
        "dot product, a TracIn-style baseline)")
    damping: float | None = Field(None, gt=0, description="None: 0.1 x mean eigenvalue (kronfluence)")
    checkpoint_mode: CheckpointMode = Field(
        "end", description="end: every sequence against the checkpoint at `step` (one EK-FAC fit); "
        "nearest: each sequence against the checkpoint closest to the step that consumed it, its "
        "score weighted by the learning rate at that step; tracin: learning-rate-weighted sum over "
        "the window's checkpoints (TracIn-CP). nearest/tracin fit EK-FAC once per checkpoint used")
    max_checkpoints: int = Field(4, ge=1, description="nearest/tracin: at most this many checkpoints "
                                 "in [start_step, step], spread evenly over the window (cost is linear in it)")
    top_k: int = Field(20, ge=1, description="sequences listed at each end of the ranking")
    threads: int | None = Field(None, ge=1, description="torch CPU threads")
    progress: bool = False
    backend: Literal["local", "ray"] = Field("local", description="score partitions in this process or as Ray tasks")
    ray_address: str | None = Field(None, description="Ray cluster to join (default $RAY_ADDRESS, else a local Ray)")
    ray_workers: int = Field(2, ge=1, description="CPUs of a local Ray started for the partitions")

    @field_validator("mode")
    @classmethod
    def _mode(cls, v: str) -> str:
        if v not in MODES:
            raise ValueError(f"use one of {', '.join(MODES)}")
        return v


class AttributionConfig(AttributionOptions):
    """What to attribute (heads, checkpoint, window end) and how: the resolved, saved config."""

    heads: list[str] = Field(description="target heads, e.g. ['L1H0']; resolved from 'top' by the run wrapper")
    step: int = Field(ge=0, description="checkpoint (optimizer updates) whose model is attributed")
    end_step: int = Field(ge=1, description="window is steps [start_step, end_step)")


class AttributeStageConfig(StrictModel):
    """The ``attribute`` stage: one baseline run's target head(s), at the checkpoint before emergence."""

    seed: int | None = Field(None, description="baseline seed to attribute; None: the first whose head emerged")
    heads: str = Field("top", pattern=r"^(top|L\d+H\d+(,\s*L\d+H\d+)*)$",
                       description="'top' (the run's top induction head) or names like L1H2,L0H3")
    step: int | None = Field(None, ge=0, description="checkpoint to attribute; None: the one before emergence")
    threshold: float = Field(0.3, gt=0, le=1, description="emergence threshold used when step is None")
    options: AttributionOptions = Field(default_factory=AttributionOptions, description="probe, mode, window, batching")
