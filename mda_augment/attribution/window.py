"""Data orders and the attribution window: which sequences were trained on, and when.

A :class:`DataOrder` answers "which sequence ids did step ``s`` consume" and "what tokens and
documents does sequence ``i`` hold". Two layouts are supported:

* :class:`PackedOrder` -- a run of this project (``PackedCorpus`` + the run's global batch);
  sequences are joined back to their document slices (doc id, kind, source).
* :class:`PythiaOrder` -- EleutherAI's pre-shuffled, pre-tokenized Pile: one flat uint16 file
  of 2049-token rows (the ``.bin`` of the pre-shuffled Megatron dataset is such a file, as every
  "document" there is one 2049-token sample), step ``s`` consuming rows ``s*1024 .. s*1024+1023``.
  No document index exists, so scored sequences carry no document columns.

The window is every sequence consumed at steps ``[start_step, end_step)``, in training order,
optionally a seeded random sample of it, cut into contiguous partitions that are scored (and
resumed) separately.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

import numpy as np
import polars as pl

from ..artifacts import MARKER
from ..corpus.packed import PackedCorpus
from ..errors import ConfigError, DataError
from ..units.probes import probe_token_pool, repeated_random

POOL_SEQUENCES = 2000  # sequences used to rank token frequencies for probe tokens
WINDOW_SCHEMA = {"pos": pl.Int64, "step": pl.Int64, "seq": pl.Int64}


class DataOrder(Protocol):
    """What the attribution pipeline needs to know about a training data order."""

    seq_len: int  # tokens per stored sequence (inputs are seq_len - 1 tokens, labels shifted)
    batch: int  # sequences consumed per optimizer step
    eos_id: int
    vocab_size: int

    def step_ids(self, start_step: int, end_step: int) -> pl.DataFrame: ...
    def tokens(self, seq_ids: np.ndarray) -> np.ndarray: ...
    def documents(self, seq_ids: np.ndarray) -> pl.DataFrame | None: ...
    def decode(self, ids: np.ndarray) -> str: ...


class PackedOrder:
    """The data order of a run trained by this project."""

    def __init__(self, corpus: str | os.PathLike | PackedCorpus, global_batch: int):
        self.corpus = corpus if isinstance(corpus, PackedCorpus) else PackedCorpus(corpus)
        self.seq_len = self.corpus.seq_len
        self.batch = global_batch
        self.eos_id = self.corpus.eos_id
        self.vocab_size = self.corpus.vocab_size
        self._tok = None

    def step_ids(self, start_step: int, end_step: int) -> pl.DataFrame:
        """(pos, step, seq) of every sequence consumed at steps ``[start_step, end_step)``."""
        df = self.corpus.sequences_before_step(end_step, self.batch, start_step)
        return df.with_columns(pl.int_range(start_step * self.batch, end_step * self.batch,
                                            dtype=pl.Int64).alias("pos")).select(list(WINDOW_SCHEMA))

    def tokens(self, seq_ids: np.ndarray) -> np.ndarray:
        return np.asarray(self.corpus.tokens[np.asarray(seq_ids)], dtype=np.int64)

    def documents(self, seq_ids: np.ndarray) -> pl.DataFrame:
        """Document slices (seq, doc_id, kind, source, tokens) held by the sequences."""
        slices = self.corpus.slices(seq_ids).with_columns(
            (pl.col("doc_end") - pl.col("doc_start")).alias("tokens"), pl.col("kind").cast(pl.Utf8))
        return slices.join(self._sources(), on="doc_id", how="left").select(
            "seq", "offset", "doc_id", "kind", "source", "tokens")

    def _sources(self) -> pl.DataFrame:
        """doc_id -> source from the document store the corpus was packed from (if present)."""
        store = self.corpus.meta.get("documents")
        if store and (Path(store) / MARKER).is_file():
            from ..corpus.store import read_table

            table = pl.from_arrow(read_table(store, columns=["id", "source"]))
            return table.rename({"id": "doc_id"}).unique("doc_id")
        return pl.DataFrame(schema={"doc_id": pl.Utf8, "source": pl.Utf8})

    def decode(self, ids: np.ndarray) -> str:
        if self._tok is None:
            self._tok = self.corpus.tokenizer()
        return self._tok.decode(int(i) for i in ids)


class PythiaOrder:
    """EleutherAI's pre-shuffled Pile order: a flat uint16 file of ``seq_len``-token rows."""

    def __init__(self, token_file: str | os.PathLike, *, seq_len: int = 2049, batch: int = 1024,
                 eos_id: int = 0, vocab_size: int = 50304, tokenizer=None):
        path = Path(token_file)
        if not path.is_file():
            raise DataError(f"{path}: no such token file; pass Pythia's pre-shuffled .bin (uint16)")
        size = path.stat().st_size
        if size % (2 * seq_len):
            raise DataError(f"{path}: {size} bytes is not a whole number of {seq_len}-token uint16 "
                            "rows; check seq_len or the file")
        self.path = path
        self.rows = np.memmap(path, dtype=np.uint16, mode="r", shape=(size // (2 * seq_len), seq_len))
        self.seq_len, self.batch, self.eos_id, self.vocab_size = seq_len, batch, eos_id, vocab_size
        self.tokenizer = tokenizer

    def step_ids(self, start_step: int, end_step: int) -> pl.DataFrame:
        """Step ``s`` consumed rows ``s * batch .. s * batch + batch - 1`` (no shuffling here)."""
        pos = np.arange(start_step * self.batch, end_step * self.batch, dtype=np.int64)
        if len(pos) and pos[-1] >= len(self.rows):
            raise DataError(f"{self.path}: holds {len(self.rows)} sequences, the window needs "
                            f"{pos[-1] + 1}; lower end_step or use a larger file")
        return pl.DataFrame({"pos": pos, "step": pos // self.batch, "seq": pos}, schema=WINDOW_SCHEMA)

    def tokens(self, seq_ids: np.ndarray) -> np.ndarray:
        return np.asarray(self.rows[np.asarray(seq_ids)], dtype=np.int64)

    def documents(self, seq_ids: np.ndarray) -> None:
        return None

    def decode(self, ids: np.ndarray) -> str:
        if self.tokenizer is None:
            return " ".join(str(int(i)) for i in ids)
        return self.tokenizer.decode(int(i) for i in ids)


def select_window(order: DataOrder, start_step: int, end_step: int, sample: int | None,
                  seed: int) -> pl.DataFrame:
    """Sequences consumed at steps ``[start_step, end_step)`` (a seeded sample if asked).

    Returns:
        (pos, step, seq) rows in training order; ``pos`` is the consumption position.
    """
    if not 0 <= start_step < end_step:
        raise ConfigError(f"window: start_step {start_step} must be >= 0 and below end_step {end_step}")
    window = order.step_ids(start_step, end_step)
    if sample is not None and sample < window.height:
        keep = np.sort(np.random.default_rng(seed).choice(window.height, size=sample, replace=False))
        window = window[keep]
    return window


def partition(window: pl.DataFrame, n_parts: int) -> list[pl.DataFrame]:
    """Contiguous chunks of the window (in training order), scored and resumed one by one."""
    n_parts = max(1, min(n_parts, window.height))
    bounds = np.linspace(0, window.height, n_parts + 1).round().astype(int)
    return [window[int(a) : int(b)] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def probe_tokens(order: DataOrder, n: int, half: int, seed: int) -> np.ndarray:
    """(n, 1 + 2 * half) ``[eos] + R + R`` probe sequences over moderately frequent tokens."""
    head = order.tokens(np.arange(min(POOL_SEQUENCES, _n_rows(order))))
    pool = probe_token_pool(head, order.eos_id, order.vocab_size)
    return repeated_random(pool, n, half, order.eos_id, seed)


def _n_rows(order: DataOrder) -> int:
    if isinstance(order, PackedOrder):
        return order.corpus.n_sequences
    return len(order.rows)
