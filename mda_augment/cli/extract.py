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
    llm_max_tokens: Annotated[int | None, typer.Option(help="completion budget per request (default: 4096)")] = None,
    llm_temperature: Annotated[float | None, typer.Option(help="sampling temperature (default: the server's)")] = None,
    llm_token_param: Annotated[str | None, typer.Option(help="auto | max_tokens | max_completion_tokens (default: auto)")] = None,
    llm_timeout_s: Annotated[float | None, typer.Option(help="per-request timeout (default: 120)")] = None,
    rounds: Annotated[int | None, typer.Option(help="LLM rounds (ask + repairs) per cluster (default: 4)")] = None,
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
    from ..motifs.coverage import coverage_lines
    from ..motifs.extract import ATTEMPTS, SUMMARY
    from ..motifs.outcome import outcome_lines

    if (llm_base_url is None) != (llm_model is None):
        raise ConfigError("--llm-base-url and --llm-model go together; give both or neither")
    llm = None
    if llm_base_url is not None:  # unset options keep LLMConfig's defaults
        given = {"max_tokens": llm_max_tokens, "temperature": llm_temperature, "token_param": llm_token_param,
                 "timeout_s": llm_timeout_s}
        llm = {"base_url": llm_base_url, "model": llm_model, "api_key_env": llm_api_key_env,
               **{k: v for k, v in given.items() if v is not None}}
    options = {"llm": llm, "rounds": rounds, "max_clusters": max_clusters,
               "allow_code_execution": allow_code_execution,
               "install_dir": str(install_dir) if install_dir else None,
               "validation": {"sandbox": {"level": sandbox_level}}}
    cfg = validate(ExtractConfig, {k: v for k, v in options.items() if v is not None or k == "llm"},
                   "extract options")
    extract(clusters_dir, out, cfg, overwrite=overwrite)
    summary = read_json(out / SUMMARY)
    for line in outcome_lines(out) + coverage_lines(summary):
        typer.echo(f"  {line}")
    typer.echo(f"{summary['attempts']} attempts recorded in {out / ATTEMPTS}")
