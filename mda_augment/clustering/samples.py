"""Adapter from attribution output to text: scored training sequences with their documents.

Contract with attribution: the scores table read by :func:`mda_augment.attribution.scores.read_scores`
(``seq``, ``score``; re-exported here for the clustering callers). Everything else (the text the model
saw, which documents and kinds it came from) is looked up in the packed corpus, so the
scores file stays small and attribution need not know about documents.
"""

from __future__ import annotations

import os

import polars as pl

from ..attribution.scores import read_scores
from ..corpus.packed import PackedCorpus
from ..errors import DataError

__all__ = ["decode_sequences", "load_scored_samples", "read_scores"]


def decode_sequences(packed: PackedCorpus, seqs: list[int]) -> list[str]:
    """The text of training sequences as the model saw it (document boundaries included)."""
    tok = packed.tokenizer()
    return [tok.decode(packed.tokens[s].tolist()) for s in seqs]


def load_scored_samples(scores_parquet: str | os.PathLike, packed_dir: str | os.PathLike,
                        seqs: list[int] | None = None) -> pl.DataFrame:
    """Scored sequences with ``text``, ``doc_ids`` and ``kinds`` (lists, in sequence order).

    Args:
        scores_parquet: attribution output (``seq``, ``score``).
        packed_dir: the packed corpus the sequence ids refer to.
        seqs: only these sequence ids (e.g. the top-k); all scored ones by default.
    """
    scores = read_scores(scores_parquet)
    if seqs is not None:
        scores = scores.filter(pl.col("seq").is_in(list(seqs)))
    packed = PackedCorpus(packed_dir)
    bad = scores.filter((pl.col("seq") < 0) | (pl.col("seq") >= packed.n_sequences))
    if len(bad):
        raise DataError(f"{scores_parquet}: seq {bad['seq'][0]} is outside the packed corpus "
                        f"{packed_dir} ({packed.n_sequences} sequences); scores and corpus do not match")
    slices = (packed.slices(scores["seq"].to_list()).sort("seq", "offset")
              .group_by("seq", maintain_order=True)
              .agg(pl.col("doc_id").alias("doc_ids"), pl.col("kind").alias("kinds")))
    out = scores.join(slices, on="seq", how="left")
    return out.with_columns(pl.Series("text", decode_sequences(packed, out["seq"].to_list())))
