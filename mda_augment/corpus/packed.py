"""Read a packed corpus (see :mod:`packing` for the layout) and answer provenance questions.

The central question later stages ask: "which sequences, hence which documents, did the model
see before step N?" Training consumes ``order[step*B : (step+1)*B]`` at step ``step`` with global
batch ``B`` (micro-batches x accumulation). ``order.npy`` records the first positions (one epoch
for a plain packed corpus, a custom length for a mixture variant); after it, epoch ``e >= 1``
uses the seeded permutation ``sequence_order(n, seed, e)``.
"""

from __future__ import annotations

import os
from functools import cached_property

import numpy as np
import polars as pl

from ..artifacts import read_json, require_complete
from .layout import HELDOUT, HELDOUT_INDEX, INDEX, META, ORDER, TOKENIZER, TOKENS
from .packing import sequence_order
from .tokenizers import Tok


class PackedCorpus:
    """Memory-mapped view of a packed corpus directory."""

    def __init__(self, directory: str | os.PathLike):
        self.dir = require_complete(directory, "packed corpus")
        self.meta = read_json(self.dir / META)
        self.seq_len: int = self.meta["seq_len"]
        self.n_sequences: int = self.meta["train_sequences"]
        self.n_heldout: int = self.meta["heldout_sequences"]
        self.vocab_size: int = self.meta["vocab_size"]
        self.eos_id: int = self.meta["eos_id"]
        self.seed: int = self.meta["order_seed"]

    def _memmap(self, name: str, rows: int) -> np.ndarray:
        if rows == 0:
            return np.zeros((0, self.seq_len), dtype=self.meta["dtype"])
        return np.memmap(self.dir / name, dtype=self.meta["dtype"], mode="r", shape=(rows, self.seq_len))

    @cached_property
    def tokens(self) -> np.ndarray:
        """(n_sequences, seq_len) training tokens."""
        return self._memmap(TOKENS, self.n_sequences)

    @cached_property
    def heldout(self) -> np.ndarray:
        """(n_heldout, seq_len) tokens of documents never used for training."""
        return self._memmap(HELDOUT, self.n_heldout)

    @cached_property
    def index(self) -> pl.DataFrame:
        return pl.read_parquet(self.dir / INDEX)

    @cached_property
    def heldout_index(self) -> pl.DataFrame:
        return pl.read_parquet(self.dir / HELDOUT_INDEX)

    @cached_property
    def _epoch0(self) -> np.ndarray:
        return np.load(self.dir / ORDER)

    def tokenizer(self) -> Tok:
        return Tok.load(self.dir / TOKENIZER)

    def order(self, start: int, stop: int) -> np.ndarray:
        """Sequence ids at consumption positions ``[start, stop)``.

        Positions inside the recorded ``order.npy`` come from it (a mixture variant may record
        an order of any length, with repeats or omissions); past its end, epochs of seeded
        permutations of all sequences follow seamlessly.
        """
        recorded = len(self._epoch0)
        out = []
        pos = start
        while pos < stop:
            if pos < recorded:
                take = min(stop, recorded) - pos
                out.append(self._epoch0[pos : pos + take])
            else:
                epoch, within = divmod(pos - recorded, self.n_sequences)
                perm = sequence_order(self.n_sequences, self.seed, epoch + 1)
                take = min(stop - pos, self.n_sequences - within)
                out.append(perm[within : within + take])
            pos += take
        return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)

    def batch_ids(self, step: int, batch_size: int) -> np.ndarray:
        """Sequence ids of the global batch consumed at ``step``."""
        return self.order(step * batch_size, (step + 1) * batch_size)

    def sequences_before_step(self, step: int, batch_size: int, start_step: int = 0) -> pl.DataFrame:
        """Every sequence consumed at steps ``[start_step, step)``: columns ``step``, ``seq``."""
        ids = self.order(start_step * batch_size, step * batch_size)
        steps = np.repeat(np.arange(start_step, step, dtype=np.int64), batch_size)
        return pl.DataFrame({"step": steps, "seq": ids})

    def slices(self, seq_ids: np.ndarray | list[int]) -> pl.DataFrame:
        """Document slices held by the given sequences (see :mod:`packing` for the columns)."""
        return self.index.filter(pl.col("seq").is_in(list(map(int, seq_ids))))

    def documents_before_step(self, step: int, batch_size: int) -> pl.DataFrame:
        """Distinct documents (with token counts) the model saw before ``step``."""
        seen = self.sequences_before_step(step, batch_size)
        joined = seen.join(self.index, on="seq", how="inner")
        return (joined.with_columns((pl.col("doc_end") - pl.col("doc_start")).alias("tokens"))
                .group_by("doc_id").agg(pl.col("tokens").sum(), pl.col("step").min().alias("first_step"))
                .sort("first_step", "doc_id"))
