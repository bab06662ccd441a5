"""The training recipe: one typed, validated config (YAML or CLI options).

Unset optimisation fields (``lr``, ``global_batch``, ...) take the preset's values; the
resolved config (every field filled) is what a run directory records in ``config.json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from ..config import StrictModel
from ..model.presets import get_preset


class UnitsConfig(StrictModel):
    """Which unit metrics to track and on how much probe data."""

    probes: list[str] = Field(
        default_factory=lambda: ["prefix_matching", "previous_token", "induction_tl", "copying",
                                 "copying_resid", "copy_loss", "icl", "heldout_loss",
                                 "heldout_loss_novel"],
        description="registered probe names (see mda_augment.units.probes)")
    n_random: int = Field(32, ge=1, description="repeated-random-token sequences")
    n_natural: int = Field(128, ge=1, description="held-out natural sequences (ICL needs >= 128)")
    seed: int = Field(1234, description="seeds the random probe tokens (fixed over training)")


class TrainConfig(StrictModel):
    """Everything that defines one training run."""

    preset: str = Field(description="model scale: nano, tiny, pythia-14m ... pythia-160m")
    corpus: Path = Field(description="packed corpus directory (mda-augment pack)")
    out: Path = Field(description="run directory, e.g. runs/NAME")
    steps: int = Field(ge=1, description="optimizer steps")
    seed: int = Field(0, description="seeds model init (data order is the corpus's)")
    global_batch: int | None = Field(None, ge=1, description="sequences per step (all devices)")
    micro_batch: int | None = Field(None, ge=1, description="sequences per forward pass per device")
    lr: float | None = Field(None, gt=0)
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
    compile: bool = False
    threads: int | None = Field(None, ge=1, description="torch CPU threads (None: torch default)")
    flush_every_s: float = Field(15.0, gt=0, description="write logs at least this often")
    progress: bool = True

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
