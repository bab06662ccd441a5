"""``cluster``: group the top-scored training sequences by structure, with their influence mass."""

from __future__ import annotations

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
    from ..clustering.config import CLUSTERS_MD
    from ..config import validate

    cfg = validate(ClusterConfig, {"top_k": top_k, "top_fraction": top_fraction, "min_score": min_score,
                                   "k": k, "k_max": k_max, "seed": seed, "background": background}, "cluster options")
    build_clusters(scores, packed, out, cfg, overwrite=overwrite)
    clusters, _, summary = load_clusters(out)
    typer.echo(f"{summary['selected']} of {summary['scored']} sequences, "
               f"{summary['selected_mass_share']:.1%} of influence mass, {len(clusters)} clusters:")
    for c in clusters:
        typer.echo(f"  {c['id']}: {c['label']:<40} size {c['size']:>5}  mass {c['influence_mass_share']:.1%}")
    typer.echo(f"report: {out / CLUSTERS_MD}")
