"""Synthesis: run generators in parallel sandboxes into a de-duplicated document store.

Work is split into shards: shard ``i`` of generator ``g`` is one sandboxed call
``generate(shard_seed(seed, g, i), shard_docs)``. Shards run concurrently (one sandboxed child
each; threads here only wait on them) or on a Ray cluster, and each finished shard is saved
atomically under ``.<out>.parts/<generator>-<sha>-s<seed>-d<shard_docs>/``, a key that
changes with the code, the seed and the shard size, so a rerun after a crash only runs the
missing shards and never mixes stale output. The final store is then assembled in shard
order (so the result does not depend on the number of workers), with exact and MinHash
near-duplicates removed, inside :func:`~mda_augment.artifacts.building`.

Determinism is checked per generator: once its shards are done, its first successful shard is
run again with the same seed and must give the same documents (``deterministic`` in
stats.json). A generator that fails the check (it reads the clock, ``os.urandom`` or the global
``random``) has all its shards refused, with a one-line reason, unless
``allow_nondeterministic`` is set: a synthetic store must be rebuildable from its config.

Output: ``shard-*.parquet`` documents (``source="generator:NAME"``, the generator's kind,
``meta`` with generator name, version, code sha256 and seed), ``stats.json`` per generator
(documents, MB, duplicates, failures with reasons, ``deterministic``, ``refused``),
``composition.json``, ``skipped.json``.
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from ..artifacts import atomic_write_json, building, read_json
from ..config import StrictModel
from ..corpus.schema import Document
from ..corpus.store import StoreWriter
from ..errors import ConfigError
from ..sandbox import SandboxConfig, require_level
from .registry import GeneratorSpec, require_consent, resolve
from .shard import (  # noqa: F401
    check_of,
    compute_shard,
    finished_shard,
    save_shard,
    shard_seed,
    shard_texts,
    stem,
)

MB = 1 << 20
STATS = "stats.json"  # per generator: documents, MB, duplicates, failures with reasons
MAX_BUDGET_SHARDS = 100_000


class SynthesisConfig(StrictModel):
    """What to synthesize. Set exactly one of ``n`` (documents per generator) or ``max_mb``
    (UTF-8 megabytes per generator, before de-duplication; ~4 bytes per BPE token)."""

    generators: list[str] = Field(..., min_length=1, description="registry names or .py paths")
    n: int | None = Field(None, ge=1, description="documents per generator")
    max_mb: float | None = Field(None, gt=0, description="MB per generator instead of n")
    seed: int = Field(0, description="base seed; shard seeds are derived from it")
    shard_docs: int = Field(200, ge=1, description="documents per sandboxed call")
    workers: int = Field(2, ge=1, description="concurrent sandboxed calls")
    backend: Literal["local", "ray"] = "local"
    allow_code_execution: bool = Field(False, description="run generators from outside generators/")
    near_dedup: bool = True
    near_threshold: float = Field(0.8, gt=0, le=1, description="MinHash Jaccard for a near-duplicate")
    allow_nondeterministic: bool = Field(False, description="keep the documents of a generator whose "
                                         "rerun with the same seed differs (recorded as deterministic: false)")
    sandbox: SandboxConfig = Field(default_factory=SandboxConfig)

    @model_validator(mode="after")
    def _one_budget(self) -> SynthesisConfig:
        if (self.n is None) == (self.max_mb is None):
            raise ValueError("set exactly one of n (documents) or max_mb (megabytes) per generator")
        return self


def parts_root(out: Path) -> Path:
    return out.parent / f".{out.name}.parts"


def _shard_dir(out: Path, spec: GeneratorSpec, cfg: SynthesisConfig) -> Path:
    return parts_root(out) / f"{spec.name}-{spec.sha256[:12]}-s{cfg.seed}-d{cfg.shard_docs}"


# A task: (spec, shard, seed, n, sandbox config, shard folder)
Task = tuple[GeneratorSpec, int, int, int, SandboxConfig, Path]
Runner = Callable[[list[Task]], list[dict]]


def _local_runner(workers: int) -> Runner:
    def one(task: Task) -> dict:
        record, docs = compute_shard(*task[:5])
        return save_shard(task[5], record, docs)

    def run(tasks: list[Task]) -> list[dict]:
        with ThreadPoolExecutor(max_workers=workers) as pool:  # threads wait on child processes
            return list(pool.map(one, tasks))
    return run


def _runner(cfg: SynthesisConfig) -> Runner:
    if cfg.backend == "ray":
        from .ray_backend import ray_runner

        return ray_runner(cfg.workers)
    return _local_runner(cfg.workers)


def _run_resumable(run: Runner, tasks: list[Task]) -> list[dict]:
    """Run the tasks whose shards are not finished yet; records come back in task order."""
    done = {i: finished_shard(t[5], t[1]) for i, t in enumerate(tasks)}
    todo = [t for i, t in enumerate(tasks) if done[i] is None]
    fresh = iter(run(todo)) if todo else iter(())
    return [done[i] if done[i] is not None else next(fresh) for i in range(len(tasks))]


def _tasks(spec: GeneratorSpec, cfg: SynthesisConfig, out: Path, shards: range) -> list[Task]:
    folder = _shard_dir(out, spec, cfg)
    folder.mkdir(parents=True, exist_ok=True)
    tasks = []
    for i in shards:
        n = cfg.shard_docs if cfg.n is None else min(cfg.shard_docs, cfg.n - i * cfg.shard_docs)
        tasks.append((spec, i, shard_seed(cfg.seed, spec.name, i), n, cfg.sandbox, folder))
    return tasks


def _generate_counts(specs: list[GeneratorSpec], cfg: SynthesisConfig, out: Path,
                     run: Runner) -> dict[str, list[dict]]:
    """Count mode: all shards of all generators in one pool, so generators run side by side."""
    per_spec = math.ceil(cfg.n / cfg.shard_docs)
    tasks = [t for spec in specs for t in _tasks(spec, cfg, out, range(per_spec))]
    records = _run_resumable(run, tasks)
    return {spec.name: records[k * per_spec:(k + 1) * per_spec] for k, spec in enumerate(specs)}


def _generate_budget(spec: GeneratorSpec, cfg: SynthesisConfig, out: Path, run: Runner) -> list[dict]:
    """Byte-budget mode: waves of ``workers`` shards until the budget is reached."""
    records: list[dict] = []
    budget, wave = cfg.max_mb * MB, max(cfg.workers, 1)
    while sum(r["bytes"] for r in records) < budget and len(records) < MAX_BUDGET_SHARDS:
        done = _run_resumable(run, _tasks(spec, cfg, out, range(len(records), len(records) + wave)))
        records += done
        if all(not r["ok"] for r in done):
            break  # every shard of a wave failed: more waves would fail too
    return _cut_at_budget(records, budget)


def _cut_at_budget(records: list[dict], budget: float) -> list[dict]:
    """Shards in order up to the first one that reaches the budget (worker-count independent)."""
    kept, total = [], 0
    for record in records:
        if total >= budget:
            break
        kept.append(record)
        total += record["bytes"]
    return kept


def _determinism_checks(specs: list[GeneratorSpec], records: dict[str, list[dict]], cfg: SynthesisConfig,
                        out: Path, run: Runner) -> dict[str, dict]:
    """Rerun each generator's first successful shard with its seed (one wave, in parallel);
    returns per generator ``{"deterministic": True/False/None, "reason": ...}``."""
    tasks, targets = [], {}
    for spec in specs:
        first = next((r for r in records[spec.name] if r["ok"]), None)
        if first is None:
            continue
        targets[spec.name] = first
        tasks.append((spec, check_of(first["shard"]), first["seed"], first["n_requested"], cfg.sandbox,
                      _shard_dir(out, spec, cfg)))
    reruns = dict(zip(targets, _run_resumable(run, tasks), strict=True)) if tasks else {}
    verdicts = {spec.name: {"deterministic": None, "reason": ""} for spec in specs}
    for spec in specs:
        if spec.name not in targets:
            continue
        first, rerun, folder = targets[spec.name], reruns[spec.name], _shard_dir(out, spec, cfg)
        where = f"shard {first['shard']} (seed {first['seed']})"
        if not rerun["ok"]:
            verdicts[spec.name]["reason"] = (f"{spec.name}: the determinism rerun of {where} failed "
                                             f"({rerun['reason']}); rerun synthesis to retry")
        elif shard_texts(folder, rerun["shard"]) == shard_texts(folder, first["shard"]):
            verdicts[spec.name]["deterministic"] = True
        else:
            verdicts[spec.name].update(deterministic=False, reason=(
                f"{spec.name}: {where} run twice gave different documents; derive all randomness "
                "from random.Random(seed) (no clock, os.urandom or global random)"))
    return verdicts


class _Assembler:
    """Writes shard documents in order, dropping exact and near duplicates, counting all."""

    def __init__(self, writer: StoreWriter, cfg: SynthesisConfig):
        self.writer = writer
        self.seen: set[str] = set()
        from .minhash import (
            NearDuplicateIndex,  # numpy: not at import (run --check reads this module)
        )

        self.near = NearDuplicateIndex(threshold=cfg.near_threshold) if cfg.near_dedup else None

    def add_generator(self, spec: GeneratorSpec, records: list[dict], folder: Path, verdict: dict,
                      allow_nondeterministic: bool) -> dict:
        refused = verdict["deterministic"] is not True and bool(verdict["reason"]) and not allow_nondeterministic
        stats = {"kind": spec.kind, "code_sha256": spec.sha256, "documents": 0, "mb": 0.0,
                 "exact_duplicates": 0, "near_duplicates": 0, "empty": 0,
                 "shards_ok": 0, "shards_failed": 0, "failures": [],
                 "deterministic": verdict["deterministic"],
                 "refused": verdict["reason"] if refused else None,
                 "sandbox_wall_s": 0.0, "sandbox_cpu_s": 0.0}
        for rec in records:
            stats["sandbox_wall_s"] += rec["wall_s"]
            stats["sandbox_cpu_s"] += rec["cpu_s"]
            if not rec["ok"]:
                stats["shards_failed"] += 1
                stats["failures"].append({k: rec[k] for k in ("shard", "seed", "reason", "message")})
                continue
            stats["shards_ok"] += 1
            if refused:
                continue
            for j, text in enumerate(shard_texts(folder, rec["shard"])):
                self._add(spec, rec, j, text, stats)
        stats["mb"] = round(stats["mb"] / MB, 3)
        return stats

    def _add(self, spec: GeneratorSpec, rec: dict, j: int, text: str, stats: dict) -> None:
        if not text.strip():
            stats["empty"] += 1
            return
        doc = Document(text=text, source=f"generator:{spec.name}", kind=spec.kind,
                       path=f"{spec.name}/shard-{rec['shard']:05d}#{j}", license="generated",
                       meta=spec.meta(rec["seed"]))
        if doc.id in self.seen:
            stats["exact_duplicates"] += 1
            return
        self.seen.add(doc.id)
        if self.near is not None and self.near.add_if_new(doc.id, text) is not None:
            stats["near_duplicates"] += 1
            return
        self.writer.add(doc)
        stats["documents"] += 1
        stats["mb"] += len(text.encode("utf-8"))


def synthesize(out: str | Path, config: SynthesisConfig | None = None, *, overwrite: bool = False,
               **fields) -> dict:
    """Build a document store at ``out`` from generators; returns the per-generator stats.

    Args:
        out: store directory to create (skipped if already complete, unless ``overwrite``).
        config: a :class:`SynthesisConfig`; or pass its fields as keyword arguments.
        overwrite: rebuild from scratch, discarding finished shards too.

    Raises:
        GeneratorError: unknown/malformed generator, or outside code without consent.
        EnvironmentUnavailable: the sandbox level cannot be applied on this machine.
    """
    out = Path(out)
    cfg = config or _config(fields)
    specs = [resolve(g) for g in cfg.generators]
    for spec in specs:
        require_consent(spec, cfg.allow_code_execution)
    require_level(cfg.sandbox.level)
    if overwrite:
        shutil.rmtree(parts_root(out), ignore_errors=True)
    started = time.monotonic()
    with building(out, config=cfg, overwrite=overwrite) as tmp:
        if tmp is None:
            return read_json(out / STATS)
        stats = _build(tmp, out, specs, cfg)
        stats["_total"] = {"wall_s": round(time.monotonic() - started, 3), "workers": cfg.workers,
                           "backend": cfg.backend}
        atomic_write_json(tmp / STATS, stats)
    shutil.rmtree(parts_root(out), ignore_errors=True)
    return stats


def _config(fields: dict) -> SynthesisConfig:
    from pydantic import ValidationError

    from ..config import format_validation_error

    try:
        return SynthesisConfig(**fields)
    except ValidationError as err:
        raise ConfigError(format_validation_error("synthesize()", err)) from None


def _build(tmp: Path, out: Path, specs: list[GeneratorSpec], cfg: SynthesisConfig) -> dict:
    run = _runner(cfg)
    if cfg.n is not None:
        records = _generate_counts(specs, cfg, out, run)
    else:
        records = {spec.name: _generate_budget(spec, cfg, out, run) for spec in specs}
    verdicts = _determinism_checks(specs, records, cfg, out, run)
    writer = StoreWriter(tmp)
    assembler = _Assembler(writer, cfg)
    stats = {spec.name: assembler.add_generator(spec, records[spec.name], _shard_dir(out, spec, cfg),
                                                verdicts[spec.name], cfg.allow_nondeterministic)
             for spec in specs}
    failures = {name: s["failures"] for name, s in stats.items() if s["failures"]}
    refused = {name: s["refused"] for name, s in stats.items() if s["refused"]}
    writer.close(skipped={"failed_shards": failures, "refused_generators": refused})
    return stats
