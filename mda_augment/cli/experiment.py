"""``mix`` (one training-corpus variant) and ``experiment`` (a recipe through its experiment stage)."""

from __future__ import annotations

from pathlib import Path

import typer

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
    from ..config import validate
    from ..experiments.config import MixConfig
    from ..experiments.mix import build_variant, manifest

    cfg = validate(MixConfig, {"variant": variant, "k_frac": k_frac, "ratio": ratio, "budget": budget,
                               "scores": scores, "synthetic": synthetic, "seed": seed}, "mix options")
    path = build_variant(base, out, cfg, overwrite=overwrite)
    changed = {k: len(v) if isinstance(v, list) else v for k, v in manifest(path).items()}
    typer.echo(f"variant {variant}: {path} {changed}")


@app.command("experiment")
@user_errors
def experiment_cmd(
    recipe: Path = typer.Argument(..., help="recipe YAML with train and experiment sections"),
    pilot: bool = typer.Option(False, "--pilot", help="train only the first power.seeds seeds and print "
                               "the seeds the stated effect needs (pilot.md)"),
) -> None:
    """Run a recipe through its experiment stage (resumable) and print the paired summary."""
    from ..experiments.config import PILOT_MD, SUMMARY_MD
    from ..pipeline import run_recipe
    from ..recipe import load_recipe

    parsed = load_recipe(recipe)
    if parsed.experiment is None:
        from ..errors import ConfigError

        raise ConfigError(f"{recipe}: no 'experiment' section; add one (see recipes/nano-experiment.yaml)")
    if pilot:
        parsed = parsed.model_copy(update={"experiment": parsed.experiment.model_copy(update={"pilot": True})})
    out = run_recipe(parsed, only=["experiment"])["experiment"]
    typer.echo((out / SUMMARY_MD).read_text())
    if pilot:
        typer.echo((out / PILOT_MD).read_text())
