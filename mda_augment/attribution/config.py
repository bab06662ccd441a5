"""The attribution recipe: one typed config, resolved and saved next to the scores."""

from __future__ import annotations

from pydantic import Field, field_validator

from ..config import StrictModel

MODES: tuple[str, ...] = ("qk", "qkvo", "layer")  # tracked subspace per head (see heads.py)

# The attribution artifact's files (written by report.py and pipeline.py, read by everyone).
SCORES = "scores.parquet"  # one row per scored sequence: pos, step, seq, score, rank, documents
DOCUMENTS = "documents.parquet"  # scores split over documents by token share
EXTREMES = "extremes.json"  # top-k and bottom-k sequences with decoded snippets
EXTREMES_MD = "extremes.md"
LORENZ = "lorenz.json"  # concentration of influence mass (top-k shares, curves)
LORENZ_PNG = "lorenz.png"
TIMINGS = "timings.json"  # seconds per stage, peak memory, tracked modules


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
    damping: float | None = Field(None, gt=0, description="None: 0.1 x mean eigenvalue (kronfluence)")
    top_k: int = Field(20, ge=1, description="sequences listed at each end of the ranking")
    threads: int | None = Field(None, ge=1, description="torch CPU threads")
    progress: bool = False

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
