"""The experiment's part of the HTML report: headline, compact table, per-seed values, plots."""

from __future__ import annotations

import html
from pathlib import Path

import polars as pl

from ..artifacts import read_json
from ..report.html import fmt, images, table
from ..stage import Section
from .config import PRIMARY, RESULTS, SETTINGS, SUMMARY
from .tables import compact_table, per_seed_table


def _ci(row: dict, mid: str = "diff_mean", lo: str = "diff_ci_low", hi: str = "diff_ci_high", digits: int = 3) -> str:
    return f"{fmt(row.get(mid), digits)} [{fmt(row.get(lo), digits)}, {fmt(row.get(hi), digits)}]"


def headline(summary: pl.DataFrame, horizon: tuple[int, int] | None) -> str:
    """One sentence per comparison: the primary endpoint's change with its CI and Holm p, the
    emergence-time shift and the held-out cost. Says plainly when a CI includes zero."""
    if summary.is_empty() or "reference" not in summary.columns:
        return "no comparison with a baseline yet"
    span = f" over steps {horizon[0]:,}-{horizon[1]:,}" if horizon else ""
    lines = []
    for (scale, variant, ref), g in summary.filter(pl.col("reference").is_not_null()).group_by(
            ["scale", "variant", "reference"], maintain_order=True):
        r = {row["measure"]: row for row in g.iter_rows(named=True)}
        a, t = r.get(PRIMARY), r.get("restricted_time")
        h = next((r[m] for m in ("heldout_loss_novel", "heldout_loss")
                  if r.get(m) and r[m].get("rel_change_pct") is not None
                  and r[m]["rel_change_pct"] == r[m]["rel_change_pct"]), None)  # the first measured one
        if a is None:
            continue
        lo, hi = a.get("diff_ci_low"), a.get("diff_ci_high")
        verdict = ("CI excludes zero" if lo is not None and hi is not None and (lo > 0 or hi < 0)
                   else "CI includes zero: no detected effect at this n")
        parts = [f"<b>{html.escape(variant)}</b> vs {html.escape(ref)} at <b>{html.escape(scale)}</b> "
                 f"(n={a.get('n')}): target-head AUC{span} {_ci(a)} ({fmt(a.get('rel_change_pct'), 3)}%, "
                 f"Fieller CI [{fmt(a.get('rel_ci_low'), 3)}, {fmt(a.get('rel_ci_high'), 3)}]%), "
                 f"Holm p={fmt(a.get('p_holm'), 2)}, {verdict};"]
        if t:
            parts.append(f"restricted mean emergence time shift {_ci(t, digits=4)} steps;")
        if h:
            parts.append(f"{html.escape(h['measure'])} {fmt(h.get('rel_change_pct'), 3)}% "
                         f"[{fmt(h.get('rel_ci_low'), 3)}, {fmt(h.get('rel_ci_high'), 3)}].")
        lines.append(" ".join(parts))
    return "<br>".join(lines) or "no comparison with a baseline yet"


def experiment_section(out: Path) -> Section | None:
    if not (out / SUMMARY).is_file():
        return None
    summary = pl.read_parquet(out / SUMMARY)
    cfg = read_json(out / SETTINGS) if (out / SETTINGS).is_file() else {}
    start = (cfg.get("endpoint") or {}).get("start_step") or (cfg.get("branch") or {}).get("step", 0)
    horizon = (int(start), int(cfg["steps"])) if "steps" in cfg else None
    body = table(compact_table(summary))
    if (out / RESULTS).is_file():
        body += "<h3>Primary endpoint per seed</h3>" + table(per_seed_table(pl.read_parquet(out / RESULTS)))
    plots = [p for pat in ("curves-*.png", "km-*.png", "effects-*.png") for p in sorted(out.glob(pat))]
    every = table(summary.drop("per_seed", strict=False))
    body += images(plots) + "<h3>Every measure (Holm within the primary and the secondary family)</h3>" + every
    return Section("Experiment (paired by seed, 95% CI)", body, headline=headline(summary, horizon))
