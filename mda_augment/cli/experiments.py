"""Experiment verbs: build corpus variants, train variants x scales x seeds, write reports."""

from __future__ import annotations

from pathlib import Path

import typer

from ..config import load_yaml
from ..experiments.mix import MixConfig, build_variant, manifest
from ..experiments.runner import ExperimentConfig, compact_markdown, run_experiment
from ..report.html import write_report
from ._app import app, user_errors


@app.command("mix")
@user_errors
def mix_cmd(
    base: Path = typer.Argument(..., help="packed corpus to derive the variant from"),
    out: Path = typer.Option(..., "--out", "-o", help="variant directory to write"),
    variant: str = typer.Option("baseline", help="baseline | remove_top | remove_random | upweight_top | upweight_random | synthetic"),
    k_frac: float = typer.Option(0.1, help="share of scored sequences removed/upweighted"),
    ratio: float = typer.Option(0.05, help="share of consumed sequences that are synthetic"),
    budget: int = typer.Option(None, help="sequences consumed (default: one base epoch)"),
    scores: Path = typer.Option(None, help="attribution scores.parquet (for remove_/upweight_)"),
    synthetic: Path = typer.Option(None, help="synthetic document store (for synthetic)"),
    seed: int = typer.Option(0, help="seed of the variant's random choices"),
    overwrite: bool = typer.Option(False, help="rebuild even if complete"),
) -> None:
    """Build one training-corpus variant at an equal token budget; records a manifest."""
    cfg = MixConfig(variant=variant, k_frac=k_frac, ratio=ratio, budget=budget, scores=scores,
                    synthetic=synthetic, seed=seed)
    path = build_variant(base, out, cfg, overwrite=overwrite)
    m = manifest(path)
    changed = {k: len(v) if isinstance(v, list) else v for k, v in m.items()}
    typer.echo(f"variant {variant}: {path} {changed}")


@app.command("experiment")
@user_errors
def experiment_cmd(
    config: Path = typer.Argument(..., help="experiment YAML (variants, scales, seeds, steps, ...)"),
    base: Path = typer.Option(..., "--base", help="packed corpus the variants derive from"),
    out: Path = typer.Option(..., "--out", "-o", help="experiment directory"),
) -> None:
    """Train variants x scales x seeds (resumable) and print the paired summary with 95% CIs."""
    cfg = load_yaml(config, ExperimentConfig)
    summary = run_experiment(cfg, base, out)
    typer.echo(compact_markdown(summary, cfg.at_step) + f"\nevery measure: {out / 'summary.md'}")


@app.command("report")
@user_errors
def report_cmd(
    runs: list[Path] = typer.Argument(..., help="one run root, or several to put side by side"),
    out: Path = typer.Option(None, "--out", "-o", help="HTML file (default: RUN/report.html or report-compare.html)"),
) -> None:
    """Write a self-contained HTML report for one run, or several runs side by side."""
    typer.echo(f"report: {write_report(runs, out)}")
