"""One shard of synthesis: run a generator once in the sandbox, save and read its documents.

Pure functions of their arguments, shared by the local runner (:mod:`.synthesize`) and the Ray
backend (:mod:`.ray_backend`, which ships :func:`compute_shard` to workers); kept apart so that
neither backend imports the other. pyarrow is imported where it is used: the synthesis config is
read by ``run --check``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from ..artifacts import atomic_write_json, read_json
from ..sandbox import SandboxConfig, run_code
from .registry import GeneratorSpec


def shard_seed(seed: int, generator: str, shard: int) -> int:
    """Seed of one shard: stable, distinct per (seed, generator, shard), fits in 31 bits."""
    digest = hashlib.blake2b(f"{seed}:{generator}:{shard}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % (2**31 - 1)


def stem(shard: int) -> str:
    """File stem of a shard; ``check_of(i)`` (a negative id) is the rerun of shard ``i``."""
    return f"{shard:05d}" if shard >= 0 else f"check-{-shard - 1:05d}"


def check_of(shard: int) -> int:
    """Task id of the determinism rerun of ``shard``."""
    return -shard - 1


def compute_shard(spec: GeneratorSpec, shard: int, seed: int, n: int,
                  sandbox: SandboxConfig) -> tuple[dict, list[str]]:
    """Run one shard in the sandbox; returns (record, documents). Pure: writes nothing, so
    it can run on any machine (the Ray backend ships it to workers)."""
    result = run_code(spec.code, seed, n, sandbox, filename=str(spec.path))
    docs = result.docs
    record = {**result.summary(), "shard": shard, "bytes": sum(len(d.encode()) for d in docs)}
    if record["ok"] and len(docs) != n:  # the sandbox guarantees this; a shard must never be short
        record.update(ok=False, reason="wrong_count", message=f"{len(docs)} of {n} documents", bytes=0)
        docs = []
    return record, docs


def save_shard(folder: Path, record: dict, docs: list[str]) -> dict:
    """Save a shard atomically; the record (written last) marks it complete."""
    import pyarrow as pa  # here, not at import: SynthesisConfig is read by run --check
    import pyarrow.parquet as pq

    name = stem(record["shard"])
    if record["ok"]:
        tmp = folder / f".{name}.parquet.tmp"
        pq.write_table(pa.table({"text": pa.array(docs, pa.string())}), tmp, compression="zstd")
        tmp.replace(folder / f"{name}.parquet")
    atomic_write_json(folder / f"{name}.json", record)
    return record


def finished_shard(folder: Path, shard: int) -> dict | None:
    """The record of a shard that completed successfully in an earlier run, else None
    (failed shards are retried: failures such as timeouts under load can be transient)."""
    path = folder / f"{stem(shard)}.json"
    if path.is_file():
        record = read_json(path)
        if record["ok"] and (folder / f"{stem(shard)}.parquet").is_file():
            return record
    return None


def shard_texts(folder: Path, shard: int) -> list[str]:
    import pyarrow.parquet as pq

    return pq.read_table(folder / f"{stem(shard)}.parquet")["text"].to_pylist()
