"""Model-token statistics of clusters and background, and the reference extraction reads.

Cluster members and background samples are rows of the packed corpus, so their statistics
are computed on the exact token ids the model trained on (no re-tokenization). The clusters
artifact records the tokenizer and ``seq_len`` (``summary.json`` ``model_tokens``), so that
extraction can measure generated text the same way without any new recipe input.

For artifacts written before these statistics existed, :func:`model_reference` recomputes
them from ``samples.parquet`` and the packed corpus named in ``config.json``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import polars as pl

from ..artifacts import CONFIG_NAME, read_json
from ..corpus.packed import PackedCorpus
from ..structure.model_tokens import (
    ModelView,
    ngram_novelty,
    per_window_share,
    ratio_ci,
    window_stats,
)
from .config import BACKGROUND, CLUSTERS, SAMPLES, SUMMARY


def background_seqs(packed: PackedCorpus, n: int, seed: int) -> list[int]:
    """The seeded random training sequences profiled as the background."""
    rng = np.random.default_rng(seed + 1)
    return sorted(rng.choice(packed.n_sequences, size=min(n, packed.n_sequences), replace=False).tolist())


def seq_model_stats(packed: PackedCorpus, seqs: list[int], seed: int = 0) -> dict:
    """:func:`window_stats` of packed rows ``seqs``, with a 95% CI of the induction share and
    the token n-gram novelty across the rows."""
    windows = np.asarray(packed.tokens[np.asarray(sorted(seqs), dtype=np.int64)], dtype=np.int64)
    stats = window_stats(windows, seed)
    lo, hi = ratio_ci(per_window_share(windows))
    stats["induction_share_ci"] = [lo, hi]
    stats["ngram_novelty"] = ngram_novelty([row.tolist() for row in windows[:400]])
    return stats


def model_reference(clusters_dir: str | os.PathLike) -> tuple[ModelView, dict, dict[int, dict]]:
    """``(view, background model stats, {cluster id: model stats})`` of a clusters artifact.

    Read from the artifact when it has them; recomputed from ``samples.parquet`` and the
    recorded packed corpus otherwise (artifacts from before model-token statistics).
    """
    directory = Path(clusters_dir)
    summary = read_json(directory / SUMMARY)
    clusters = read_json(directory / CLUSTERS)
    background = read_json(directory / BACKGROUND)
    if "model_tokens" in summary and "model" in background and all("model" in c for c in clusters):
        return (ModelView.from_record(summary["model_tokens"]), background["model"],
                {c["id"]: c["model"] for c in clusters})
    config = read_json(directory / CONFIG_NAME)
    packed = PackedCorpus(config["packed"])
    cfg = config["cluster"]
    samples = pl.read_parquet(directory / SAMPLES, columns=["seq", "cluster"])
    per_cluster = {int(c): seq_model_stats(packed, samples.filter(pl.col("cluster") == c)["seq"].to_list(), cfg["seed"])
                   for c in samples["cluster"].unique().to_list()}
    bg = seq_model_stats(packed, background_seqs(packed, cfg["background"], cfg["seed"]), cfg["seed"])
    return ModelView.from_packed(config["packed"]), bg, per_cluster
