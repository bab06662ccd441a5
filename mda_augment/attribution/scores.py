"""The attribution scores table, read by every stage that consumes attribution.

Contract: a Parquet table with at least ``seq`` (int, training sequence id in the packed
corpus the attributed run trained on) and ``score`` (float influence on the target head).
One reader for every consumer (clustering, mixture variants, reports) so the checks and the
messages are written once. Light: polars only, no torch, so a core install can read scores.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl

from ..errors import DataError
from .config import SCORES

SCORES_FILE = SCORES  # the name this module has always exported


def read_scores(scores_parquet: str | os.PathLike) -> pl.DataFrame:
    """Read and check the scores table; returns columns ``seq`` (Int64) and ``score`` (Float64).

    Raises:
        DataError: the file is missing, lacks a column, or scores a sequence twice.
    """
    path = Path(scores_parquet)
    if path.is_dir():
        path = path / SCORES_FILE
    if not path.is_file():
        raise DataError(f"{path}: no such scores file; run `mda-augment attribute` first (it writes {SCORES_FILE})")
    df = pl.read_parquet(path)
    missing = {"seq", "score"} - set(df.columns)
    if missing:
        raise DataError(f"{path}: missing column(s) {sorted(missing)}; a scores table needs 'seq' and 'score'")
    df = df.select(pl.col("seq").cast(pl.Int64), pl.col("score").cast(pl.Float64))
    if df["seq"].is_duplicated().any():
        raise DataError(f"{path}: column 'seq' has duplicate ids; score each sequence once")
    return df


def ranked_scores(scores_parquet: str | os.PathLike) -> pl.DataFrame:
    """The scores table, highest score first (ties broken by sequence id, so it is stable)."""
    return read_scores(scores_parquet).sort(["score", "seq"], descending=[True, False])
