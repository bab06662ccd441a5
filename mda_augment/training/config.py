"""The training recipe: typed, validated configs (YAML or CLI options).

:class:`TrainOptions` holds what a recipe may tune; :class:`TrainConfig` adds what one run is
(preset, corpus, out, steps, seed); :class:`TrainGridConfig` is the ``train`` stage's recipe
section, the baseline grid of scales x seeds that every later stage reads.

Unset optimisation fields (``lr``, ``global_batch``, ...) take the preset's values; the
resolved config (every field filled) is what a run directory records in ``config.json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from ..config import StrictModel
from ..model.presets import PRESETS, get_preset
from ..units.config import UnitsConfig


class TrainOptions(StrictModel):
    """Optimisation, checkpointing and evaluation settings a recipe may tune (``train.options``)."""

    global_batch: int | None = Field(None, ge=1, description="sequences per step (all devices)")
    micro_batch: int | None = Field(None, ge=1, description="sequences per forward pass per device")
    lr: float | None = Field(None, gt=0, description="peak learning rate (default: the preset's)")
    warmup_steps: int | None = Field(None, ge=0, description="default: preset warmup_frac x steps")
    schedule: Literal["cosine", "constant"] | None = None
    min_lr_ratio: float = Field(0.1, ge=0, le=1, description="cosine floor as a share of peak")
    weight_decay: float | None = Field(None, ge=0)
    betas: tuple[float, float] = (0.9, 0.95)
    eps: float = Field(1e-8, gt=0)
    grad_clip: float = Field(1.0, gt=0)
    checkpoint_log_until: int = Field(512, ge=0, description="log-spaced checkpoints up to here")
    checkpoint_every: int = Field(1000, ge=1, description="then one every this many steps")
    eval_every: int = Field(100, ge=1, description="unit metrics every this many steps")
    units: UnitsConfig = Field(default_factory=UnitsConfig)
    precision: Literal["auto", "fp32", "bf16"] = Field("auto", description="auto: bf16 on GPU")
    device: Literal["auto", "cpu", "cuda"] = Field(
        "auto", description="auto: CUDA when visible; cuda also makes a Ray grid ask for one GPU per run")
    compile: bool = False
    prefetch: int = Field(2, ge=0, le=16, description="batches built ahead in a background thread (0: inline)")
    peak_tflops: float | None = Field(
        None, gt=0, description="the device's peak TFLOP/s for MFU (default: known GPUs by name; CPU: none)")
    threads: int | None = Field(None, ge=1, description="torch CPU threads (None: torch default)")
    flush_every_s: float = Field(15.0, gt=0, description="write logs at least this often")
    progress: bool = True


class TrainConfig(TrainOptions):
    """Everything that defines one training run."""

    preset: str = Field(description="model scale: nano, tiny, pythia-14m ... pythia-160m")
    corpus: Path = Field(description="packed corpus directory (mda-augment pack)")
    out: Path = Field(description="run directory, e.g. runs/NAME")
    steps: int = Field(ge=1, description="optimizer steps")
    seed: int = Field(0, description="seeds model init (data order is the corpus's)")

    @model_validator(mode="after")
    def _fill_from_preset(self) -> TrainConfig:
        preset = get_preset(self.preset)  # raises ConfigError on an unknown name
        for field in ("global_batch", "micro_batch", "lr", "schedule", "weight_decay"):
            if getattr(self, field) is None:
                object.__setattr__(self, field, getattr(preset, field))
        if self.warmup_steps is None:
            object.__setattr__(self, "warmup_steps", max(1, round(preset.warmup_frac * self.steps)))
        if self.micro_batch > self.global_batch:
            object.__setattr__(self, "micro_batch", self.global_batch)
        if self.global_batch % self.micro_batch:
            raise ValueError(f"global_batch {self.global_batch} is not a multiple of "
                             f"micro_batch {self.micro_batch}")
        return self


class TrainGridConfig(StrictModel):
    """The ``train`` stage: baseline runs of every scale x seed on the packed corpus."""

    scales: list[str] = Field(default_factory=lambda: ["nano"], min_length=1,
                              description="model presets: " + ", ".join(PRESETS))
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2], min_length=1, description="model init seeds")
    steps: int = Field(2000, ge=1, le=10_000_000, description="optimizer steps per run (equal token budget)")
    jobs: int = Field(2, ge=1, description="runs trained at the same time (one thread each; on Ray: tasks in flight)")
    backend: Literal["local", "ray"] = Field(
        "local", description="local: spawned processes on this machine; ray: one Ray task per run")
    ray_address: str | None = Field(
        None, description="Ray cluster to join (default: $RAY_ADDRESS, else a local Ray)")
    ray_num_cpus: float = Field(1.0, gt=0, description="CPUs Ray reserves per run")
    ray_num_gpus: float | None = Field(
        None, ge=0, description="GPUs Ray reserves per run (default: 1 when options.device is cuda, else 0)")
    ray_max_retries: int = Field(3, ge=0, description="retries of a run whose worker died or crashed")
    options: TrainOptions = Field(default_factory=TrainOptions, description="optimisation and evaluation settings")

    def backend_options(self) -> dict:
        """Keyword arguments of :func:`~mda_augment.training.grid.train_runs` for this grid."""
        return {"backend": self.backend, "ray_address": self.ray_address, "num_cpus": self.ray_num_cpus,
                "num_gpus": self.ray_num_gpus, "max_retries": self.ray_max_retries}

    @field_validator("scales")
    @classmethod
    def _known_presets(cls, v: list[str]) -> list[str]:
        unknown = [s for s in v if s not in PRESETS]
        if unknown:
            raise ValueError(f"unknown model preset {unknown[0]!r}; use one of {', '.join(PRESETS)}")
        if len(set(v)) != len(v):
            raise ValueError("a scale is listed twice")
        return v

    @field_validator("seeds")
    @classmethod
    def _distinct(cls, v: list[int]) -> list[int]:
        if len(set(v)) != len(v):
            raise ValueError("a seed is listed twice")
        return v
