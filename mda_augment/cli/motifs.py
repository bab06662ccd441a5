"""Motif verbs: cluster high-influence samples, extract validated generators per cluster."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ._app import app, user_errors


@app.command("cluster")
@user_errors
def cluster_cmd(
    scores: Annotated[Path, typer.Argument(help="scores Parquet (columns seq, score) from attribution")],
    packed: Annotated[Path, typer.Option("--packed", help="packed corpus the seq ids refer to")],
    out: Annotated[Path, typer.Option("--out", "-o", help="clusters artifact directory to write")],
    top_k: Annotated[int | None, typer.Option(help="cluster the k highest-scoring sequences")] = None,
    top_fraction: Annotated[float | None, typer.Option(help="or this share of them (default 0.1)")] = None,
    min_score: Annotated[float | None, typer.Option(help="or every sequence scoring at least this")] = None,
    k: Annotated[int | None, typer.Option(help="number of clusters (default: by silhouette)")] = None,
    k_max: Annotated[int, typer.Option(help="largest k tried")] = 8,
    seed: Annotated[int, typer.Option()] = 0,
    background: Annotated[int, typer.Option(help="random sequences profiled as the baseline")] = 500,
    overwrite: Annotated[bool, typer.Option("--overwrite")] = False,
) -> None:
    """Cluster the top-scored training sequences by structure; report mass and over-representation."""
    from ..clustering import ClusterConfig, build_clusters, load_clusters
    from ..config import validate

    cfg = validate(ClusterConfig, {"top_k": top_k, "top_fraction": top_fraction, "min_score": min_score,
                                   "k": k, "k_max": k_max, "seed": seed, "background": background}, "cluster options")
    build_clusters(scores, packed, out, cfg, overwrite=overwrite)
    clusters, _, summary = load_clusters(out)
    typer.echo(f"{summary['selected']} of {summary['scored']} sequences, "
               f"{summary['selected_mass_share']:.1%} of influence mass, {len(clusters)} clusters:")
    for c in clusters:
        typer.echo(f"  {c['id']}: {c['label']:<40} size {c['size']:>5}  mass {c['influence_mass_share']:.1%}")
    typer.echo(f"report: {out / 'clusters.md'}")


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
    from ..config import validate
    from ..errors import ConfigError
    from ..motifs import ExtractConfig, extract
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
    for line in outcome_lines(out):
        typer.echo(f"  {line}")
    summary = json.loads((out / "summary.json").read_text())
    typer.echo(f"{summary['attempts']} attempts recorded in {out / 'attempts.jsonl'}")
