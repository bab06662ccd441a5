"""What the ``cluster`` stage is configured with and the file names it writes (a light module).

Kept apart from :mod:`.cluster` (numpy, polars, the detectors) so a recipe validates, and later
stages (motif extraction reads the samples, exemplars and background) name the files, without
importing the clustering code. The layout is described in :mod:`.cluster`.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from ..config import StrictModel

CLUSTERS = "clusters.json"  # one entry per cluster: label, size, mass share, profile, exemplars
BACKGROUND = "background.json"  # the same profile for a random sample of training sequences
SUMMARY = "summary.json"  # selection size and mass, over-representation, model_tokens
SAMPLES = "samples.parquet"  # the selected samples: seq, score, cluster, text, doc_ids, kinds, profile
MASS_PNG = "influence_mass.png"
CLUSTERS_MD = "clusters.md"


class ClusterConfig(StrictModel):
    """Which samples to cluster and how. Set one of ``top_k``, ``top_fraction``, ``min_score``."""

    top_k: int | None = Field(None, ge=2, description="cluster the k highest-scoring sequences")
    top_fraction: float | None = Field(None, gt=0, le=1, description="or this share of the scored ones")
    min_score: float | None = Field(None, description="or every sequence scoring at least this")
    k: int | None = Field(None, ge=1, description="number of clusters; None picks by silhouette")
    k_max: int = Field(8, ge=2, description="largest k tried when k is None")
    seed: int = 0
    context: int = Field(256, ge=2, description="window (word tokens) for the induction share")
    ngram_dim: int = Field(256, ge=0, description="hashed character 3-gram features (0: none)")
    ngram_weight: float = Field(0.5, ge=0, description="weight of the n-gram block vs the profile")
    background: int = Field(500, ge=10, description="random training sequences profiled as baseline")
    exemplars: int = Field(5, ge=1, description="highest-scoring members kept per cluster")
    exemplar_chars: int = Field(1500, ge=100, description="characters kept per exemplar")

    @model_validator(mode="after")
    def _one_selection(self) -> ClusterConfig:
        chosen = [v is not None for v in (self.top_k, self.top_fraction, self.min_score)]
        if sum(chosen) > 1:
            raise ValueError("set at most one of top_k, top_fraction, min_score")
        if not any(chosen):
            self.top_fraction = 0.1  # the paper's top 10%
        return self
