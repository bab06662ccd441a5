"""The one document schema every reader, builder and generator writes.

``{id, text, source, path, kind, license, meta}``, all strings; ``meta`` is a JSON object
serialized as a string so that Parquet, polars and ``datasets`` agree on one flat schema.
``id`` is a content hash of ``text``: the same text always gets the same id, which makes
exact de-duplication a set operation and keeps ids stable across rebuilds.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from functools import cache
from typing import Any

FIELDS = ("id", "text", "source", "path", "kind", "license", "meta")


@cache
def arrow_schema():
    """The Arrow schema of :data:`FIELDS` (all strings); pyarrow is imported on first use, so
    recipe validation (``run --check``), which imports the corpus configs, does not pay for it."""
    import pyarrow as pa

    return pa.schema([(name, pa.string()) for name in FIELDS])


def __getattr__(name: str):  # ``ARROW_SCHEMA`` stays importable, built lazily (PEP 562)
    if name == "ARROW_SCHEMA":
        return arrow_schema()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def doc_id(text: str) -> str:
    """Stable 16-hex-digit content id of a document's text."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).hexdigest()


@dataclass
class Document:
    """One document. ``source`` names where it came from (a Debian package, a file tree, a
    dataset, a generator); ``path`` locates it inside that source (``file#chunk``)."""

    text: str
    source: str
    path: str
    kind: str = "unknown"
    license: str = "unknown"
    meta: dict[str, Any] = field(default_factory=dict)
    id: str = ""

    def __post_init__(self) -> None:
        if not self.id:
            self.id = doc_id(self.text)

    def to_row(self) -> dict[str, str]:
        row = asdict(self)
        row["meta"] = json.dumps(self.meta, sort_keys=True)
        return row

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Document:
        meta = row.get("meta") or "{}"
        return cls(
            text=row["text"],
            source=row.get("source") or "",
            path=row.get("path") or "",
            kind=row.get("kind") or "unknown",
            license=row.get("license") or "unknown",
            meta=json.loads(meta) if isinstance(meta, str) else dict(meta),
            id=row.get("id") or "",
        )
