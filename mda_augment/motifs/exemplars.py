"""Exemplars for the writer prompt: members that represent a cluster, shown whole.

The top-scored members alone are a poor picture of a cluster: they are often near-copies of
each other, and the cluster's other shapes (the XML windows inside a mostly-log cluster) never
reach the model. So the members are split into sub-groups with the same features and k-means
that clustering used, and the prompt shows the highest-scoring member plus the medoid of each
sub-group (the member nearest its centre), largest sub-group first, each labelled with its
score rank and the share of the cluster it stands for.

An exemplar is the training window exactly as the model saw it (decoded from the packed
corpus), not cut mid-token: a window may start or end inside a document, and the end-of-text
token between two documents is shown as a marker line. A total character budget bounds the
prompt; only an exemplar that alone exceeds it is cut, visibly.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import polars as pl

from ..clustering.config import SAMPLES
from ..clustering.features import FEATURES, feature_matrix, profiles
from ..clustering.kmeans import kmeans
from ..corpus.tokenizers import EOS

BOUNDARY = "[document boundary]"


def window_text(text: str) -> str:
    """A training window with each end-of-text token shown as a marker line."""
    parts = [p.strip("\n") for p in text.split(EOS)]
    return f"\n{BOUNDARY}\n".join(parts).strip("\n")


def cluster_members(clusters_dir: str | os.PathLike | None, cluster_id: int) -> pl.DataFrame | None:
    """Members of one cluster from ``samples.parquet`` (None when the artifact has none)."""
    if clusters_dir is None or not (Path(clusters_dir) / SAMPLES).is_file():
        return None
    members = pl.read_parquet(Path(clusters_dir) / SAMPLES).filter(pl.col("cluster") == cluster_id)
    return members if len(members) else None


def _medoids(members: pl.DataFrame, k: int, seed: int) -> list[tuple[int, int]]:
    """``(row, group size)`` of the medoid of each of ``k`` sub-groups, largest first."""
    texts = members["text"].to_list()
    prof = members if all(f in members.columns for f in FEATURES) else profiles(texts)
    x = feature_matrix(prof, texts, ngram_dim=256, ngram_weight=0.5)  # (n, features)
    labels, centers = kmeans(x, k, seed)
    out = []
    for g in range(len(centers)):
        rows = np.flatnonzero(labels == g)
        if len(rows):
            d = ((x[rows] - centers[g]) ** 2).sum(1)
            out.append((int(rows[d.argmin()]), len(rows)))
    return out


def representatives(members: pl.DataFrame, k: int, seed: int = 0) -> list[dict]:
    """Up to ``k`` members covering the cluster: the top-scored one, then sub-group medoids."""
    ranked = members.sort("score", descending=True)
    n = len(ranked)
    picks = [(0, None)]
    if n > 1 and k > 1:
        picks += [(row, size) for row, size in _medoids(ranked, min(k - 1, n), seed) if row != 0]
    taken = {row for row, _ in picks}
    # a medoid that is the top-scored member itself leaves a place: the next best-scored fills it
    picks += [(row, 0) for row in range(n) if row not in taken][: max(0, min(k, n) - len(picks))]
    rows = ranked.to_dicts()
    out = []
    for row, size in picks[:k]:
        r = rows[row]
        why = ("the highest influence score" if size is None else f"rank {row + 1} by influence score" if size == 0
               else f"stands for {size / n:.0%} of the cluster")
        out.append({"seq": r["seq"], "score": r["score"], "rank": row + 1, "of": n, "why": why,
                    "kinds": r.get("kinds") or [], "text": window_text(r["text"])})
    return out


def from_cluster(cluster: dict) -> list[dict]:
    """Fallback without ``samples.parquet``: the exemplars stored in the cluster (top-scored)."""
    n = cluster.get("size", len(cluster.get("exemplars", [])))
    return [{"seq": e.get("seq"), "score": e.get("score"), "rank": i + 1, "of": n, "why": "top-scored",
             "kinds": e.get("kinds") or [], "text": window_text(e["text"])}
            for i, e in enumerate(cluster.get("exemplars", []))]


def within_budget(exemplars: list[dict], budget_chars: int) -> list[dict]:
    """Exemplars, in order, while their texts fit in ``budget_chars``; the first one is always
    shown, cut at a line end with a note when it alone is over the budget."""
    out, used = [], 0
    for ex in exemplars:
        if used + len(ex["text"]) <= budget_chars:
            out.append(ex)
            used += len(ex["text"])
        elif not out:
            cut = ex["text"][:budget_chars].rpartition("\n")[0] or ex["text"][:budget_chars]
            out.append({**ex, "text": f"{cut}\n[... {len(ex['text']) - len(cut)} more characters of this window ...]"})
            break
    return out
