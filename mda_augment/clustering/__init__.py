"""Clustering: group high-influence training samples by structure and report what is over-represented.

``load_scored_samples`` joins an attribution scores table with the packed corpus;
``build_clusters`` featurizes (detectors, statistics, character n-grams), clusters with
k-means++ and writes the clusters artifact that motif extraction consumes.
"""

from .config import ClusterConfig

# The clustering code (numpy, polars, detectors) loads on first use, so importing the light
# ``clustering.config`` / ``clustering.stage`` (recipe validation) does not pay for it (PEP 562).
_LAZY = {"build_clusters": ".cluster", "load_clusters": ".cluster", "load_scored_samples": ".samples"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["ClusterConfig", "build_clusters", "load_clusters", "load_scored_samples"]
