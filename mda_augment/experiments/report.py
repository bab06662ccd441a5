"""The experiment's part of the HTML report: headline, compact table, every measure, plots."""

from __future__ import annotations

import html
from pathlib import Path

import polars as pl

from ..artifacts import read_json
from ..report.html import fmt, images, signed_pct, table
from ..stage import Section
from .config import SETTINGS, SUMMARY
from .runner import compact_table


def _signed(row: dict, higher_is_better: bool = True) -> str:
    return signed_pct(row.get("rel_change_pct"), row.get("diff_ci_low"), row.get("diff_ci_high"), higher_is_better)


def headline(summary: pl.DataFrame, fixed_step: int | None) -> str:
    """One sentence per non-baseline variant: score change, emergence shift, held-out loss cost."""
    if summary.is_empty() or "diff_mean" not in summary.columns:
        return "no comparison with a baseline yet"
    lines = []
    others = summary.filter(pl.col("variant") != "baseline")
    for (scale, variant), g in others.group_by(["scale", "variant"], maintain_order=True):
        row = {r["measure"]: r for r in g.iter_rows(named=True)}
        s, e, h = row.get("score_at_fixed_step"), row.get("emergence_step"), row.get("heldout_loss")
        parts = [f"<b>{html.escape(variant)}</b> at <b>{html.escape(scale)}</b>:"]
        if s:
            parts.append(f"target-unit score at step {fixed_step} {_signed(s)}% vs baseline "
                         f"(difference {fmt(s['diff_mean'], 3)}, 95% CI [{fmt(s['diff_ci_low'], 3)}, "
                         f"{fmt(s['diff_ci_high'], 3)}], p={fmt(s['p_value'], 2)}, n={s['n']});")
        if e:
            capped = row.get("emergence_or_budget")
            also = f" ({fmt(capped['diff_mean'])} counting unformed runs at the step budget)" if capped else ""
            parts.append(f"emergence step {fmt(e['mean'])} (formed {e.get('formed', '?')}), "
                         f"shift {fmt(e['diff_mean'])} steps{also};")
        if h:
            parts.append(f"held-out loss {_signed(h, higher_is_better=False)}% (CI of difference "
                         f"[{fmt(h['diff_ci_low'], 3)}, {fmt(h['diff_ci_high'], 3)}]).")
        lines.append(" ".join(parts))
    return "<br>".join(lines)


def experiment_section(out: Path) -> Section | None:
    if not (out / SUMMARY).is_file():
        return None
    summary = pl.read_parquet(out / SUMMARY)
    cfg = read_json(out / SETTINGS) if (out / SETTINGS).is_file() else {}
    fixed = cfg.get("fixed_step") or (cfg.get("steps", 0) // 2 or None)
    compact = table(compact_table(summary, fixed)) if fixed else ""
    every = table(summary, ["scale", "variant", "measure", "n", "mean", "ci_low", "ci_high", "formed", "diff_mean",
                            "diff_ci_low", "diff_ci_high", "p_value", "rel_change_pct"])
    body = (compact + images(sorted(out.glob("curves-*.png")) + sorted(out.glob("sweep-*.png")))
            + "<h3>Every measure (mean and 95% CI over seeds; paired difference with the baseline)</h3>" + every)
    return Section("Experiment (paired with the baseline, 95% CI)", body, headline=headline(summary, fixed))
