"""How much of the selected influence mass the accepted generators stand for.

A mixture built from the generators of some clusters teaches only what those clusters carry:
when the heaviest clusters have no accepted generator, the mixture goes ahead without them.
So extraction records, per cluster, whether it is covered and why not, and the share of the
selected mass covered (``summary.json`` ``coverage``); :func:`coverage_lines` prints it.

For mixing, the synthesize stage writes ``coverage.json`` into the synthetic store
(:func:`write_store_coverage`): the mass covered by generators that actually produced
documents in that store. :func:`coverage_of_store` reads it back, and :func:`require_coverage`
is the one-line refusal ``mix`` applies below a recipe threshold.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..artifacts import atomic_write_json, read_json
from ..errors import ConfigError

STORE_FILE = "coverage.json"


def coverage_block(clusters: list[dict], rows: list[dict], skipped: dict[int, str], major_share: float) -> dict:
    """The ``coverage`` block of the extraction summary.

    Args:
        clusters: every cluster of the clusters artifact.
        rows: the extraction rows of the clusters tried (``generator`` None when rejected).
        skipped: cluster id -> why it was not tried (size, mass or count limits).
        major_share: clusters holding at least this share of the selected mass must be
            covered or say why (flagged ``major``).
    """
    total = sum(c["influence_mass"] for c in clusters) or 1.0
    by_id = {r["cluster"]: r for r in rows}
    out, covered = [], 0.0
    for c in sorted(clusters, key=lambda c: -c["influence_mass"]):
        share = c["influence_mass"] / total
        row = by_id.get(c["id"])
        entry = {"cluster": c["id"], "label": c["label"], "mass_share": round(share, 4),
                 "major": share >= major_share, "generator": None, "source": None}
        if row is not None and row.get("generator"):
            covered += share
            entry.update(status="covered", generator=row["generator"], source=row.get("method", row["source"]),
                         reason="")
        elif row is not None:
            entry.update(status="no_generator", reason=row.get("reason") or "no attempt validated")
        else:
            entry.update(status="skipped", reason=skipped.get(c["id"], "not selected for extraction"))
        out.append(entry)
    return {"covered_mass_share": round(covered, 4), "major_share": major_share,
            "uncovered_major": [e["cluster"] for e in out if e["major"] and e["status"] != "covered"],
            "clusters": out}


def coverage_lines(summary: dict) -> list[str]:
    """Readable lines for a CLI: one per cluster, then the covered share."""
    cov = summary["coverage"]
    lines = []
    for e in cov["clusters"]:
        what = f"{e['generator']} ({e['source']})" if e["status"] == "covered" else f"{e['status']}: {e['reason']}"
        flag = " [major]" if e["major"] and e["status"] != "covered" else ""
        lines.append(f"  cluster {e['cluster']} ({e['label']}), {e['mass_share']:.1%} of selected mass: {what}{flag}")
    lines.append(f"coverage: accepted generators cover {cov['covered_mass_share']:.1%} of the selected influence mass")
    return lines


def write_store_coverage(motifs_dir: str | os.PathLike, store_dir: str | os.PathLike) -> Path:
    """Write ``coverage.json`` into a synthetic store built from ``motifs_dir``'s generators.

    Only generators with documents in the store count (its ``stats.json``), so a generator
    whose shards all failed does not count as coverage.
    """
    from ..synthesis.synthesize import STATS
    from .extract import SUMMARY  # here: extract imports this module

    summary = read_json(Path(motifs_dir) / SUMMARY)
    stats = read_json(Path(store_dir) / STATS)
    produced = {name for name, s in stats.items() if not name.startswith("_") and s.get("documents", 0) > 0}
    clusters = summary["coverage"]["clusters"]
    in_store = [e for e in clusters if e["status"] == "covered" and e["generator"] in produced]
    record = {"motifs": str(Path(motifs_dir).resolve()),
              "covered_mass_share": round(sum(e["mass_share"] for e in in_store), 4),
              "extract_covered_mass_share": summary["coverage"]["covered_mass_share"],
              "generators": {e["generator"]: e["mass_share"] for e in in_store},
              "uncovered": [{k: e[k] for k in ("cluster", "label", "mass_share", "status", "reason")}
                            for e in clusters if e not in in_store]}
    path = Path(store_dir) / STORE_FILE
    atomic_write_json(path, record)
    return path


def coverage_of_store(store_dir: str | os.PathLike) -> float | None:
    """Covered share of the selected mass recorded in a synthetic store; None when the store
    was not built from extracted generators (no ``coverage.json``)."""
    path = Path(store_dir) / STORE_FILE
    return float(read_json(path)["covered_mass_share"]) if path.is_file() else None


def require_coverage(store_dir: str | os.PathLike, min_coverage: float, allow_low: bool = False) -> float | None:
    """Refuse (one line) a store whose recorded coverage is below ``min_coverage``."""
    cov = coverage_of_store(store_dir)
    if cov is not None and cov < min_coverage and not allow_low:
        raise ConfigError(f"{Path(store_dir) / STORE_FILE}: the synthetic store's generators cover {cov:.0%} of "
                          f"the selected influence mass, below min_coverage {min_coverage:.0%}; see the motifs "
                          "summary for the uncovered clusters, or set allow_low_coverage: true")
    return cov
