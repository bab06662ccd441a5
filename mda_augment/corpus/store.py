"""Document stores: a directory of Parquet shards in the :mod:`schema` layout.

Layout of a store directory::

    shard-00000.parquet ...   documents, ARROW_SCHEMA
    composition.json          MB and documents per kind and per source, content_sha256
    skipped.json              what readers dropped, with reasons (may be empty)
    config.json, _COMPLETE.json

Both ``polars.scan_parquet(dir/"*.parquet")`` and
``datasets.load_dataset("parquet", data_files=str(dir/"*.parquet"))`` read it.

``content_sha256`` fingerprints what a store holds, not how it is encoded: sha256 over the
documents in store order, each as one line of the JSON array of its seven fields
(:func:`row_line`). It is the same for the same documents whatever the shard size, the Parquet
writer version or the compression, which hashing the shard bytes would not be.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from ..artifacts import atomic_write_json, require_complete
from .schema import FIELDS, Document, arrow_schema

if TYPE_CHECKING:
    import pyarrow as pa

# pyarrow is imported inside the functions that read or write shards: the corpus configs import
# this module (StoreWriter, COMPOSITION), and recipe validation must not load pyarrow.

COMPOSITION = "composition.json"  # MB and documents per kind and per source
SKIPPED = "skipped.json"  # what readers dropped, with reasons


def row_line(row: dict[str, str]) -> bytes:
    """One document's contribution to ``content_sha256`` (fields in :data:`FIELDS` order)."""
    return json.dumps([row[f] for f in FIELDS], ensure_ascii=False).encode("utf-8") + b"\n"


class StoreWriter:
    """Writes documents into Parquet shards, dropping exact duplicates (same id).

    Use inside :func:`mda_augment.artifacts.building` so the directory appears atomically.
    """

    def __init__(self, directory: str | os.PathLike, shard_docs: int = 20_000):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.shard_docs = shard_docs
        self._buffer: list[dict[str, str]] = []
        self._seen: set[str] = set()
        self._shard = 0
        self.duplicates = 0
        self.bytes_by_kind: Counter[str] = Counter()
        self.docs_by_kind: Counter[str] = Counter()
        self.bytes_by_source: Counter[str] = Counter()
        self.docs_by_source: Counter[str] = Counter()
        self.kinds_by_source: dict[str, Counter[str]] = defaultdict(Counter)
        self._content = hashlib.sha256()

    def add(self, doc: Document) -> bool:
        """Add one document; returns False (and counts it) when it is an exact duplicate."""
        if doc.id in self._seen:
            self.duplicates += 1
            return False
        self._seen.add(doc.id)
        size = len(doc.text.encode("utf-8"))
        self.bytes_by_kind[doc.kind] += size
        self.docs_by_kind[doc.kind] += 1
        self.bytes_by_source[doc.source] += size
        self.docs_by_source[doc.source] += 1
        self.kinds_by_source[doc.source][doc.kind] += 1
        row = doc.to_row()
        self._content.update(row_line(row))
        self._buffer.append(row)
        if len(self._buffer) >= self.shard_docs:
            self._flush()
        return True

    def add_all(self, docs: Iterable[Document]) -> None:
        for doc in docs:
            self.add(doc)

    def _flush(self) -> None:
        if not self._buffer:
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pylist(self._buffer, schema=arrow_schema())
        pq.write_table(table, self.dir / f"shard-{self._shard:05d}.parquet", compression="zstd")
        self._shard += 1
        self._buffer = []

    def composition(self) -> dict:
        mb = 1024 * 1024

        def table(b: Counter, d: Counter) -> dict:
            return {k: {"mb": round(b[k] / mb, 3), "documents": d[k]} for k in sorted(d)}

        return {
            "documents": sum(self.docs_by_kind.values()),
            "mb": round(sum(self.bytes_by_kind.values()) / mb, 3),
            "exact_duplicates_dropped": self.duplicates,
            "content_sha256": self._content.hexdigest(),
            "by_kind": table(self.bytes_by_kind, self.docs_by_kind),
            "by_source": {
                src: {**row, "kinds": dict(self.kinds_by_source[src])}
                for src, row in table(self.bytes_by_source, self.docs_by_source).items()
            },
        }

    def close(self, skipped: dict | None = None) -> dict:
        """Flush the last shard and write ``composition.json`` and ``skipped.json``."""
        self._flush()
        if self._shard == 0:  # an empty store still has a readable (empty) shard
            import pyarrow.parquet as pq

            pq.write_table(arrow_schema().empty_table(), self.dir / "shard-00000.parquet")
            self._shard = 1
        comp = self.composition()
        atomic_write_json(self.dir / COMPOSITION, comp)
        atomic_write_json(self.dir / SKIPPED, skipped or {})
        return comp


def shard_paths(directory: str | os.PathLike) -> list[Path]:
    return sorted(Path(directory).glob("shard-*.parquet"))


def iter_documents(
    directory: str | os.PathLike, columns: list[str] | None = None, batch_rows: int = 2048
) -> Iterator[Document]:
    """Stream documents from a complete store in shard order."""
    import pyarrow.parquet as pq

    directory = require_complete(directory, "document store")
    for path in shard_paths(directory):
        pf = pq.ParquetFile(path)
        for batch in pf.iter_batches(batch_size=batch_rows, columns=columns or list(FIELDS)):
            for row in batch.to_pylist():
                yield Document.from_row(row)


def content_sha256(directory: str | os.PathLike) -> str:
    """Recompute a store's ``content_sha256`` from its shards (see the module docstring)."""
    import pyarrow.parquet as pq

    h = hashlib.sha256()
    directory = require_complete(directory, "document store")
    for path in shard_paths(directory):
        for batch in pq.ParquetFile(path).iter_batches(batch_size=2048, columns=list(FIELDS)):
            for row in batch.to_pylist():
                h.update(row_line(row))
    return h.hexdigest()


def recorded_content_sha256(directory: str | os.PathLike) -> str:
    """The store's ``content_sha256`` from composition.json (recomputed for stores built
    before it was recorded)."""
    comp = Path(directory) / COMPOSITION
    if comp.is_file():
        recorded = json.loads(comp.read_text(encoding="utf-8")).get("content_sha256")
        if recorded:
            return recorded
    return content_sha256(directory)


def read_table(directory: str | os.PathLike, columns: list[str] | None = None) -> pa.Table:
    """The whole store as one Arrow table (use for stores that fit in memory)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    directory = require_complete(directory, "document store")
    tables = [pq.read_table(p, columns=columns) for p in shard_paths(directory)]
    return pa.concat_tables(tables) if tables else arrow_schema().empty_table()
