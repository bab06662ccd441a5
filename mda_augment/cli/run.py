"""``run``: every stage of a recipe, resuming stage by stage; ``--check`` validates only."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._app import app, user_errors


@app.command("run")
@user_errors
def run_cmd(
    recipe: Annotated[Path, typer.Argument(help="recipe YAML (e.g. recipes/quickstart.yaml)")],
    check: Annotated[bool, typer.Option("--check", help="validate the recipe (every field, reference, path) and stop")] = False,
    stage: Annotated[list[str], typer.Option("--stage", "-s", help="run only this stage and what it needs; repeatable")] = [],  # noqa: B006
    overwrite: Annotated[bool, typer.Option(help="redo the stages that run even if complete")] = False,
    smoke: Annotated[bool, typer.Option("--smoke", help="every stage at CPU size into <out_dir>/<name>-smoke: tiny "
                                        "offline corpus, short sequences, tens of steps (mda_augment/smoke.py)")] = False,
    out_dir: Annotated[Path | None, typer.Option("--out-dir", help="parent directory of the run (default: the "
                                                 "recipe's out_dir)")] = None,
) -> None:
    """Run every stage of a recipe (or --stage ones), resuming; --check only validates it."""
    from ..errors import ConfigError
    from ..recipe import load_recipe
    from ..stages import STAGES

    parsed = load_recipe(recipe)
    if out_dir is not None:
        from ..smoke import with_data

        parsed = with_data(parsed, {"out_dir": str(out_dir)}, f"{recipe} --out-dir")
    if smoke:
        from ..smoke import smoke_recipe

        parsed = smoke_recipe(parsed, str(recipe))
    for name in stage:
        if name not in STAGES:
            raise ConfigError(f"--stage {name}: no such stage; use one of {', '.join(STAGES)}")
        if name not in parsed.present():
            raise ConfigError(f"--stage {name}: {recipe} has no '{name}' section")
    if check:
        typer.echo(f"{recipe}: valid; stages: {', '.join(parsed.present())}; outputs under {parsed.root}")
        return
    from ..pipeline import run_recipe

    outputs = run_recipe(parsed, overwrite=overwrite, only=stage or None)
    for name, path in outputs.items():
        typer.echo(f"{name}: {path}")
    from ..experiments.config import SUMMARY_MD

    exp = outputs.get("experiment")
    if exp is not None and (exp / SUMMARY_MD).is_file():
        typer.echo("\n" + (exp / SUMMARY_MD).read_text())
