"""Append-as-you-go Parquet tables that a crash cannot corrupt.

Rows are buffered in memory and the whole table is rewritten atomically (temp file + rename)
on every flush, so a reader or a crash only ever sees a complete file holding every row up to
the last flush. Tables here are small (one row per step or per head per evaluation), so a full
rewrite costs milliseconds. On resume the run truncates rows from the checkpoint step on,
because those steps are about to be replayed. A file written before a column was added to the
schema (a run directory of an older version) gets that column as nulls, so old runs resume.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import polars as pl

from ..artifacts import atomic_write_bytes


class ParquetLog:
    """An atomically rewritten Parquet table with a fixed schema."""

    def __init__(self, path: str | os.PathLike, schema: dict[str, pl.DataType]):
        self.path = Path(path)
        self.schema = schema
        self._frames: list[pl.DataFrame] = []
        if self.path.is_file():
            old = pl.read_parquet(self.path)
            added = [pl.lit(None, dtype).alias(c) for c, dtype in schema.items() if c not in old.columns]
            self._frames.append(old.with_columns(added).select(list(schema)).cast(schema))  # type: ignore[arg-type]
        self._pending: list[dict] = []

    def append(self, rows: list[dict]) -> None:
        """Buffer rows (dicts keyed by the schema's columns) until the next flush."""
        self._pending.extend(rows)

    def frame(self) -> pl.DataFrame:
        """Every row, flushed or not."""
        frames = list(self._frames)
        if self._pending:
            frames.append(pl.DataFrame(self._pending, schema=self.schema, orient="row"))
        return pl.concat(frames) if frames else pl.DataFrame(schema=self.schema)

    def flush(self) -> None:
        """Write all rows atomically."""
        table = self.frame()
        self._frames, self._pending = [table], []
        buf = io.BytesIO()
        table.write_parquet(buf)
        atomic_write_bytes(self.path, buf.getvalue())

    def truncate_from(self, step: int) -> None:
        """Drop rows with ``step >= step`` (about to be recomputed after a resume) and flush."""
        self._frames = [self.frame().filter(pl.col("step") < step)]
        self._pending = []
        self.flush()
