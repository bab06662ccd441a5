"""``extract``: a validated generator per cluster (LLM first if given, offline templates otherwise)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._app import app, user_errors


@app.command("extract")
@user_errors
def extract_cmd(
    clusters_dir: Annotated[Path, typer.Argument(help="clusters artifact from `mda-augment cluster`")],
    out: Annotated[Path, typer.Option("--out", "-o", help="extraction artifact directory to write")],
    llm_base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible endpoint; none: offline only")] = None,
    llm_model: Annotated[str | None, typer.Option(help="model name for the endpoint")] = None,
    llm_api_key_env: Annotated[str, typer.Option(help="environment variable with the API key")] = "OPENAI_API_KEY",
    llm_max_tokens: Annotated[int, typer.Option()] = 600,
    llm_timeout_s: Annotated[float, typer.Option()] = 120.0,
    rounds: Annotated[int, typer.Option(help="LLM rounds (ask + repairs) per cluster")] = 2,
    max_clusters: Annotated[int | None, typer.Option(help="only the clusters with most mass")] = None,
    install_dir: Annotated[Path | None, typer.Option(help="also copy accepted generators here")] = None,
    sandbox_level: Annotated[str, typer.Option(help="strict | standard | minimal")] = "strict",
    allow_code_execution: Annotated[bool, typer.Option("--allow-code-execution", help="consent to run LLM-written code in the sandbox")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite")] = False,
) -> None:
    """Write a validated generator per cluster: LLM first (if given), offline templates otherwise."""
    from ..artifacts import read_json
    from ..config import validate
    from ..errors import ConfigError
    from ..motifs import ExtractConfig, extract
    from ..motifs.extract import ATTEMPTS, SUMMARY

    if (llm_base_url is None) != (llm_model is None):
        raise ConfigError("--llm-base-url and --llm-model go together; give both or neither")
    llm = None if llm_base_url is None else {
        "base_url": llm_base_url, "model": llm_model, "api_key_env": llm_api_key_env,
        "max_tokens": llm_max_tokens, "timeout_s": llm_timeout_s}
    cfg = validate(ExtractConfig, {"llm": llm, "rounds": rounds, "max_clusters": max_clusters,
                                   "allow_code_execution": allow_code_execution,
                                   "install_dir": str(install_dir) if install_dir else None,
                                   "validation": {"sandbox": {"level": sandbox_level}}}, "extract options")
    extract(clusters_dir, out, cfg, overwrite=overwrite)
    summary = read_json(out / SUMMARY)
    for row in summary["clusters"]:
        typer.echo(f"  cluster {row['cluster']} ({row['label']}): {row['generator'] or 'no generator'}"
                   f"{' via ' + row['source'] if row['source'] else ''}")
    typer.echo(f"{summary['attempts']} attempts recorded in {out / ATTEMPTS}")
