"""``report``: one self-contained HTML page for a run root, or several side by side."""

from __future__ import annotations

from pathlib import Path

import typer

from ._app import app, user_errors


@app.command("report")
@user_errors
def report_cmd(
    runs: list[Path] = typer.Argument(..., help="one run root, or several to put side by side"),
    out: Path = typer.Option(None, "--out", "-o", help="HTML file (default: RUN/report/report.html or report-compare.html)"),
) -> None:
    """Write a self-contained HTML report for one run, or several runs side by side."""
    from ..errors import ArtifactError
    from ..report.stage import write_report

    for root in runs:
        if not root.is_dir():
            raise ArtifactError(f"{root}: not a run root (no such folder); pass out_dir/name of a recipe run")
    typer.echo(f"report: {write_report(runs, out)}")
