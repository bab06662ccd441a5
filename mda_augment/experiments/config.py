"""The ``experiment`` stage's recipe section (light: no torch/scipy at import).

The grid (scales, seeds, steps, training options) is the ``train`` stage's; the experiment adds
the arms (corpus variants) and how they are compared. The baseline arm is the train stage's
runs themselves, so it is trained once and every variant is paired with it seed by seed.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from ..config import StrictModel
from .mix import MixConfig

SUMMARY = "summary.parquet"  # per (scale, variant, measure): mean, CI, paired difference
SUMMARY_MD = "summary.md"  # the same, readable, headed by the compact one-row-per-variant table
SETTINGS = "experiment.json"  # the resolved runner config the summary was computed with


class ExperimentStageConfig(StrictModel):
    """Arms and comparison of the ``experiment`` stage."""

    variants: dict[str, MixConfig] = Field(default_factory=dict,
                                           description="name -> corpus variant (the baseline arm is implied)")
    metric: str = Field("prefix_matching", description="unit metric that defines the target unit")
    head: str | None = Field(None, pattern=r"^L\d+H\d+$", description="target head, e.g. L1H2; default: max over heads")
    threshold: float = Field(0.3, gt=0, le=1, description="emergence threshold on the target unit's score")
    fixed_step: int | None = Field(None, ge=0, description="step for the score comparison (default: steps // 2)")

    @field_validator("variants")
    @classmethod
    def _names(cls, v: dict[str, MixConfig]) -> dict[str, MixConfig]:
        for name, mix in v.items():
            if name == "baseline" and mix.variant != "baseline":
                raise ValueError("the variant named 'baseline' must be the unchanged corpus (variant: baseline)")
            if not name.replace("_", "").replace("-", "").isalnum():
                raise ValueError(f"variant name {name!r}: use letters, digits, '_' and '-' (it names a folder)")
        return v
