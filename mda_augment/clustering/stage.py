"""The ``cluster`` stage: group the high-influence sequences by structure, with their mass."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ..stage import Section, Stage
from .config import ClusterConfig


class ClusterStage(Stage):
    """Profile the top-scored sequences (detectors, statistics), cluster them, weigh each cluster."""

    name = "cluster"
    Config = ClusterConfig
    needs = ("attribute", "pack")
    summary = "clusters.json (label, size, influence-mass share, profile, exemplars), samples.parquet"

    def build(self, inputs: Mapping[str, Path], out: Path, cfg: ClusterConfig, *, overwrite: bool = False) -> Path:
        from ..attribution.stage import AttributeStage
        from .cluster import build_clusters

        scores = AttributeStage().reference(inputs["attribute"])
        return build_clusters(scores, inputs["pack"], out, cfg, overwrite=overwrite)

    def report_section(self, out: Path) -> Section | None:
        import polars as pl

        from ..report.html import esc, images, table
        from .cluster import load_clusters

        clusters, base, summary = load_clusters(out)
        rows = pl.DataFrame([{
            "cluster": c["id"], "label": c["label"], "size": c["size"],
            "influence mass share": c["influence_mass_share"], "mean score": c["mean_score"],
            "kinds": ", ".join(f"{k} {v:.0%}" for k, v in sorted(c["kinds"].items(), key=lambda kv: -kv[1])[:3]),
            "induction share": c["profile"]["stats"].get("induction_share"),
        } for c in clusters])
        note = (f"<p>{summary['selected']} of {summary['scored']} scored sequences selected, holding "
                f"{summary['selected_mass_share']:.1%} of the positive influence mass; background induction "
                f"share {esc(round(base['stats'].get('induction_share', float('nan')), 3))}.</p>")
        return Section("Clusters of high-influence samples", note + table(rows) + images(sorted(out.glob("*.png"))))
