"""Cluster the high-influence samples and compare each cluster with the whole corpus.

Artifact layout (a directory, built atomically; the names are constants in :mod:`.config`)::

    clusters.json        one entry per cluster: label, size, influence-mass share, mean score,
                         detector profile (share of members each detector fires on, mean
                         statistics), over-representation against the background, exemplars
    background.json      the same profile for a random sample of all training sequences
    summary.json         selection size and mass, per-detector over-representation overall,
                         ``model_tokens``: tokenizer directory and seq_len of the packed corpus
    samples.parquet      the selected samples: seq, score, cluster, text, doc_ids, kinds, profile
    influence_mass.png   influence mass by cluster
    clusters.md          the same, readable
    config.json, _COMPLETE.json

Influence *mass* is the sum of positive scores: attribution scores can be negative (samples
that slow the head down), and the paper's "top 10% carry ~50% of the mass" is about the mass
that helps. Shares are taken against the mass of *all* scored sequences, so a cluster's share
says how much of the whole effect it holds.

Statistics come twice: ``profile`` in word tokens on the decoded text (detectors, word-level
induction share: features for clustering and a secondary column), and ``model`` in the
model's own tokens and window (:mod:`.model_stats`): induction share with its CI, lag
distribution, entropy of the repeated content. Validation compares generators on the latter.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import polars as pl

from ..artifacts import atomic_write_json, building, read_json, require_complete
from ..corpus.packed import PackedCorpus
from ..errors import DataError
from ..structure.detectors import REGISTRY
from ..structure.model_tokens import ModelView
from .config import BACKGROUND, CLUSTERS, CLUSTERS_MD, MASS_PNG, SAMPLES, SUMMARY, ClusterConfig
from .features import FEATURES, feature_matrix, profiles
from .kmeans import choose_k, kmeans
from .model_stats import background_seqs, seq_model_stats
from .report import plot_mass, write_markdown
from .samples import decode_sequences, load_scored_samples, read_scores

STAT_KEYS = ["chars", "compression_ratio", "repeated_3gram_rate", "char_class_entropy", "induction_share",
             "line_mean", "line_p90", "line_cv", "blank_line_share", "tag_density", "latex_density"]
STRUCTURE_WORDS = {"markup": "xml/html-heavy", "latex": "latex", "uuid": "uuids", "base64": "base64",
                   "hex": "hex ids", "log": "log lines", "code": "code", "json": "json",
                   "table": "tables", "prose": "prose"}




def select(scores: pl.DataFrame, cfg: ClusterConfig) -> pl.DataFrame:
    """The high-influence rows of ``scores`` by the configured rule, highest first."""
    ranked = scores.sort("score", descending=True)
    if cfg.min_score is not None:
        return ranked.filter(pl.col("score") >= cfg.min_score)
    k = cfg.top_k if cfg.top_k is not None else max(2, round(cfg.top_fraction * len(ranked)))
    return ranked.head(k)


def positive_mass(scores: pl.Series) -> float:
    return float(scores.clip(lower_bound=0).sum())


def fire_shares(prof: pl.DataFrame) -> dict[str, float]:
    """Share of rows on which each detector fires."""
    return {n: float((prof[n] >= REGISTRY[n].threshold).mean()) for n in REGISTRY}


def profile_summary(prof: pl.DataFrame) -> dict:
    """Detector fire shares and mean statistics of a set of samples."""
    return {"detectors": fire_shares(prof),
            "stats": {k: float(prof[k].mean()) for k in STAT_KEYS},
            "n": len(prof)}


def background_profile(packed: PackedCorpus, cfg: ClusterConfig) -> dict:
    """Profile of a seeded random sample of all training sequences (the baseline)."""
    seqs = background_seqs(packed, cfg.background, cfg.seed)
    prof = profiles(decode_sequences(packed, seqs), cfg.context)
    summary = profile_summary(prof)
    summary["kinds"] = kind_shares(packed.slices(seqs)["kind"].to_list())
    summary["model"] = seq_model_stats(packed, seqs, cfg.seed)
    return summary


def kind_shares(kinds: list[str]) -> dict[str, float]:
    if not kinds:
        return {}
    values, counts = np.unique(np.array(kinds, dtype=object), return_counts=True)
    return {str(v): round(float(c) / len(kinds), 4) for v, c in zip(values, counts, strict=True)}


def over_representation(detectors: dict[str, float], base: dict[str, float]) -> dict[str, float]:
    """Fire share in the cluster over fire share in the background (+1 sample smoothing)."""
    nb = 1.0 / 100
    return {n: round((detectors[n] + nb) / (base[n] + nb), 3) for n in detectors}


def label(detectors: dict[str, float], stats: dict, base: dict, kinds: dict[str, float] | None = None,
          model: dict | None = None) -> str:
    """Readable label from the detectors firing on most members, most over-represented
    first, plus a note when in-window repetition is well above the background (in model
    tokens when ``model`` statistics are given, else in words). Without a dominant detector
    the majority document kind names the cluster (``mixed (code kind)``)."""
    over = over_representation(detectors, base["detectors"])
    strong = sorted((n for n, s in detectors.items() if s >= 0.5), key=lambda n: -over[n])
    words = [STRUCTURE_WORDS[REGISTRY[n].structure] for n in strong[:2]]
    if not words:
        top = max((kinds or {}).items(), key=lambda kv: kv[1], default=("", 0.0))
        words = [f"mixed ({top[0]} kind)" if top[1] >= 0.5 else "mixed"]
    if model is not None and "model" in base:
        repeated = model["induction_share"] >= 1.3 * base["model"]["induction_share"]
    else:
        repeated = stats["induction_share"] >= 1.3 * base["stats"]["induction_share"]
    if repeated:
        words.append("repeated spans")
    return ", ".join(words)


def _exemplars(members: pl.DataFrame, cfg: ClusterConfig) -> list[dict]:
    top = members.sort("score", descending=True).head(cfg.exemplars)
    return [{"seq": r["seq"], "score": r["score"], "kinds": r["kinds"], "doc_ids": r["doc_ids"],
             "text": r["text"][:cfg.exemplar_chars]} for r in top.iter_rows(named=True)]


def describe_cluster(cid: int, members: pl.DataFrame, total_mass: float, base: dict,
                     cfg: ClusterConfig, packed: PackedCorpus) -> dict:
    """Everything extraction and the report need about one cluster."""
    summary = profile_summary(members)
    mass = positive_mass(members["score"])
    kinds = kind_shares([k for ks in members["kinds"].to_list() for k in (ks or [])])
    model = seq_model_stats(packed, members["seq"].to_list(), cfg.seed)
    return {
        "id": cid,
        "label": label(summary["detectors"], summary["stats"], base, kinds, model),
        "size": len(members),
        "influence_mass": mass,
        "influence_mass_share": mass / total_mass if total_mass > 0 else 0.0,
        "mean_score": float(members["score"].mean()),
        "profile": summary,
        "over_representation": over_representation(summary["detectors"], base["detectors"]),
        "kinds": kinds,
        "model": model,
        "exemplars": _exemplars(members, cfg),
    }


def assign_clusters(prof: pl.DataFrame, texts: list[str], cfg: ClusterConfig) -> tuple[np.ndarray, dict]:
    """Cluster ids per sample, and the silhouette of each k tried (empty when k was given)."""
    x = feature_matrix(prof, texts, cfg.ngram_dim, cfg.ngram_weight)
    tried: dict[int, float] = {}
    k = cfg.k
    if k is None:
        k, tried = choose_k(x, 2, cfg.k_max, cfg.seed)
    labels, _ = kmeans(x, k, cfg.seed)
    return labels, tried


def build_clusters(scores_parquet: str | os.PathLike, packed_dir: str | os.PathLike,
                   out: str | os.PathLike, cfg: ClusterConfig, *, overwrite: bool = False) -> Path:
    """Select high-influence samples, cluster them, and write the clusters artifact."""
    out = Path(out)
    resolved = {"cluster": cfg.model_dump(), "scores": str(Path(scores_parquet).resolve()),
                "packed": str(Path(packed_dir).resolve())}
    with building(out, config=resolved, overwrite=overwrite) as tmp:
        if tmp is None:
            return out
        scores = read_scores(scores_parquet)
        chosen = select(scores, cfg)
        if len(chosen) < 2:
            raise DataError(f"{scores_parquet}: only {len(chosen)} sample(s) selected; lower min_score or raise top_k")
        samples = load_scored_samples(scores_parquet, packed_dir, chosen["seq"].to_list())
        samples = samples.sort("score", descending=True)
        prof = profiles(samples["text"].to_list(), cfg.context)
        labels, tried = assign_clusters(prof, samples["text"].to_list(), cfg)
        samples = pl.concat([samples.with_columns(pl.Series("cluster", labels)), prof], how="horizontal")
        packed = PackedCorpus(packed_dir)
        base = background_profile(packed, cfg)
        total = positive_mass(scores["score"])
        clusters = [describe_cluster(c, samples.filter(pl.col("cluster") == c), total, base, cfg, packed)
                    for c in range(int(labels.max()) + 1)]
        summary = _summary(scores, samples, clusters, base, total, tried)
        summary["model_tokens"] = ModelView.from_packed(packed_dir).record()
        summary["selected_model"] = seq_model_stats(packed, samples["seq"].to_list(), cfg.seed)
        _write(tmp, samples, clusters, base, summary)
    return out


def _summary(scores: pl.DataFrame, samples: pl.DataFrame, clusters: list[dict], base: dict,
             total: float, tried: dict) -> dict:
    selected = profile_summary(samples)
    return {
        "scored": len(scores),
        "selected": len(samples),
        "selected_share_of_scored": len(samples) / len(scores),
        "selected_mass_share": positive_mass(samples["score"]) / total if total > 0 else 0.0,
        "clusters": len(clusters),
        "silhouette_by_k": {str(k): round(v, 4) for k, v in tried.items()},
        "selected_profile": selected,
        "over_representation": over_representation(selected["detectors"], base["detectors"]),
    }


def _write(tmp: Path, samples: pl.DataFrame, clusters: list[dict], base: dict, summary: dict) -> None:
    samples.write_parquet(tmp / SAMPLES)
    atomic_write_json(tmp / CLUSTERS, clusters)
    atomic_write_json(tmp / BACKGROUND, base)
    atomic_write_json(tmp / SUMMARY, summary)
    plot_mass(clusters, tmp / MASS_PNG)
    write_markdown(clusters, base, summary, tmp / CLUSTERS_MD)


def load_clusters(directory: str | os.PathLike) -> tuple[list[dict], dict, dict]:
    """``(clusters, background, summary)`` of a complete clusters artifact."""
    directory = require_complete(directory, "clusters artifact (mda-augment cluster)")
    return (read_json(directory / CLUSTERS), read_json(directory / BACKGROUND),
            read_json(directory / SUMMARY))


__all__ = ["FEATURES", "ClusterConfig", "build_clusters", "load_clusters", "select"]
