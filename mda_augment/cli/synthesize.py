"""``synthesize`` (documents from generators in sandboxes), ``generators``, ``sandbox-probe``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ..sandbox import SandboxConfig, probe
from ..synthesis import SynthesisConfig, available, synthesize
from ._app import app, user_errors


@app.command("synthesize")
@user_errors
def synthesize_cmd(
    generator: Annotated[list[str], typer.Option("--generator", "-g", help="registry name (xml_nested_v1) or .py path; repeatable")],
    out: Annotated[Path, typer.Option("--out", "-o", help="document store directory to write")],
    n: Annotated[int | None, typer.Option(help="documents per generator")] = None,
    max_mb: Annotated[float | None, typer.Option(help="MB per generator instead of --n")] = None,
    seed: Annotated[int, typer.Option(help="base seed (shard seeds derive from it)")] = 0,
    workers: Annotated[int, typer.Option(help="concurrent sandboxed calls")] = 2,
    shard_docs: Annotated[int, typer.Option(help="documents per sandboxed call")] = 200,
    backend: Annotated[str, typer.Option(help="'local' or 'ray'")] = "local",
    sandbox_level: Annotated[str, typer.Option(help="strict | standard | minimal")] = "strict",
    timeout_s: Annotated[float, typer.Option(help="wall-clock limit per sandboxed call")] = 120.0,
    allow_code_execution: Annotated[bool, typer.Option("--allow-code-execution", help="run generators from outside generators/")] = False,
    no_near_dedup: Annotated[bool, typer.Option("--no-near-dedup", help="keep near-duplicates")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="rebuild even if complete")] = False,
) -> None:
    """Run generators in sandboxes into a de-duplicated Parquet document store."""
    from ..config import validate

    sandbox = validate(SandboxConfig, {"level": sandbox_level, "timeout_s": timeout_s,
                                       "cpu_s": max(1, int(timeout_s))}, "--sandbox-level/--timeout-s")
    cfg = validate(SynthesisConfig, {
        "generators": generator, "n": n, "max_mb": max_mb, "seed": seed, "workers": workers,
        "shard_docs": shard_docs, "backend": backend, "allow_code_execution": allow_code_execution,
        "near_dedup": not no_near_dedup, "sandbox": sandbox}, "synthesize options")
    stats = synthesize(out, cfg, overwrite=overwrite)
    for name, row in stats.items():
        if not name.startswith("_"):
            determinism = {True: "deterministic", False: "NOT deterministic", None: "determinism unchecked"}
            typer.echo(f"{name}: {row['documents']} documents, {row['mb']} MB, "
                       f"{row['exact_duplicates']} exact + {row['near_duplicates']} near duplicates, "
                       f"{row['shards_failed']} failed shards, {determinism[row.get('deterministic')]}"
                       + (f"; refused: {row['refused']}" if row.get("refused") else ""))
    typer.echo(f"store: {out}")


@app.command("generators")
@user_errors
def generators_cmd() -> None:
    """List the registered generators in generators/ (name, kind, what they imitate)."""
    for name, spec in available().items():
        typer.echo(f"{name:<22} {spec.kind:<10} {spec.description}")


@app.command("sandbox-probe")
@user_errors
def sandbox_probe_cmd() -> None:
    """Show which sandbox isolation levels work on this machine (by applying each)."""
    typer.echo(json.dumps(probe(), indent=2))
