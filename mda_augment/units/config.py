"""Which unit metrics a training run tracks, and on how much probe data (light: pydantic only)."""

from __future__ import annotations

from pydantic import Field

from ..config import StrictModel


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
