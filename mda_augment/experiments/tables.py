"""From run directories to the tables people read.

``results.parquet``: one row per run (variant, scale, seed, target head, every measure).
``summary.parquet``: one row per (scale, comparison, measure): the variant's mean and 95% CI
and, for a comparison, the paired difference with its CI, the paired-t p, the Holm-adjusted p,
the relative change with its Fieller CI (and a paired-bootstrap CI), the correlation of the
paired values and the SD of the paired differences. Two Holm families, fixed in advance: the
primary endpoint over every comparison of the table, and every secondary test together.
The compact table has one row per comparison, primary endpoint first.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ..artifacts import atomic_write_json, is_complete, read_json
from .config import PRIMARY, ExperimentConfig
from .measures import Head, head_name, measure_run, parse_head, read_units, top_head
from .mix import MANIFEST
from .spawn import order_dir, run_dir
from .stats import holm, logrank, paired, summarize

SECONDARY = ("restricted_time", "crossing_step", "score_at_fixed_step", "auc_max_heads", "heldout_loss",
             "heldout_loss_novel")
TARGET_HEADS = "target_heads.json"


def comparisons(cfg: ExperimentConfig, present: list[str] | None = None) -> list[tuple[str, str]]:
    """(variant, reference): every variant vs the baseline, then the declared direct comparisons.

    ``present`` adds variants found in results but no longer in the config (older results).
    """
    names = list(cfg.variants) + [v for v in present or [] if v not in cfg.variants]
    pairs = [(v, "baseline") for v in names if v != "baseline"]
    return pairs + [tuple(p) for p in cfg.stats.compare if tuple(p) not in pairs]  # type: ignore[misc]


def target_heads(cfg: ExperimentConfig, root: Path) -> dict[str, dict[int, Head]]:
    """scale -> seed -> target head, fixed once from each complete baseline run and then kept.

    Recorded in ``target_heads.json`` the first time a seed's baseline is complete, so adding
    arms or seeds later never re-chooses a head after the arms were seen.
    """
    path = Path(root) / TARGET_HEADS
    known = read_json(path) if path.is_file() else {}
    changed = False
    for scale in cfg.scales:
        for seed in cfg.seeds:
            run = run_dir(root, "baseline", scale, seed)
            if str(seed) in known.get(scale, {}) or not is_complete(run):
                continue
            head = parse_head(cfg.endpoint.head) if cfg.endpoint.head != "baseline" else \
                top_head(read_units(run), cfg.endpoint.metric)
            known.setdefault(scale, {})[str(seed)] = head_name(head)
            changed = True
    if changed:
        atomic_write_json(path, known)
    return {scale: {int(s): parse_head(h) for s, h in seeds.items()} for scale, seeds in known.items()}


def collect(cfg: ExperimentConfig, root: Path, seeds: list[int] | None = None) -> pl.DataFrame:
    """Measure every complete run whose seed has a target head."""
    heads = target_heads(cfg, root)
    rows = []
    for variant in cfg.variants:
        for scale in cfg.scales:
            for seed in seeds if seeds is not None else cfg.seeds:
                run = run_dir(root, variant, scale, seed)
                head = heads.get(scale, {}).get(seed)
                if head is None or not is_complete(run):
                    continue
                same = _same_fraction(root, variant, scale, seed)
                trunk = run_dir(root, "baseline", scale, seed)
                rows.append({"variant": variant, "scale": scale, "seed": seed,
                             **measure_run(run, head, cfg, trunk), "same_fraction": same})
    return pl.DataFrame(rows, infer_schema_length=None)


def _same_fraction(root: Path, variant: str, scale: str, seed: int) -> float:
    path = order_dir(Path(root) / "variants" / variant, scale, seed) / MANIFEST
    return float(read_json(path)["same_fraction"]) if path.is_file() else math.nan


def _by_seed(frame: pl.DataFrame, measure: str) -> dict[int, float]:
    return {int(s): float(v) for s, v in zip(frame["seed"], frame[measure], strict=True)}


def _measure_rows(g: pl.DataFrame, ref: pl.DataFrame, cfg: ExperimentConfig) -> list[dict]:
    rows = []
    for measure in (PRIMARY, *SECONDARY):
        if measure not in g.columns:
            continue
        own = summarize(g[measure].to_list())
        row: dict[str, Any] = {"measure": measure, "family": "primary" if measure == PRIMARY else "secondary",
                               **own.as_dict()}
        if ref.height:
            p = paired(_by_seed(g, measure), _by_seed(ref, measure), bootstrap=cfg.stats.bootstrap)
            row.update({"n": p.n, "ref_mean": summarize(ref[measure].to_list()).mean, "diff_mean": p.diff.mean,
                        "diff_ci_low": p.diff.ci_low, "diff_ci_high": p.diff.ci_high, "p_value": p.p_value,
                        "rel_change_pct": p.rel_change_pct, "rel_ci_low": p.rel_ci_low, "rel_ci_high": p.rel_ci_high,
                        "boot_rel_ci_low": p.boot_rel_ci_low, "boot_rel_ci_high": p.boot_rel_ci_high,
                        "corr": p.corr, "sd_diff": p.sd_diff, "per_seed": json.dumps(p.per_seed)})
        rows.append(row)
    if "event" not in g.columns:  # results written before censored times were measured
        return rows
    if ref.height:  # the censored-time comparison: unpaired log-rank beside the paired restricted mean
        rows.append({"measure": "logrank", "family": "secondary", "n": g.height,
                     "p_value": logrank(g["time"].to_numpy(), g["event"].to_numpy(), ref["time"].to_numpy(),
                                        ref["event"].to_numpy())})
    for row in rows:
        row["formed"] = f"{int(g['event'].sum())}/{g.height}"
    return rows


def summarize_results(results: pl.DataFrame, cfg: ExperimentConfig) -> pl.DataFrame:
    """Per (scale, comparison, measure): means, paired differences, Holm-adjusted p-values."""
    rows = []
    if results.is_empty():
        return pl.DataFrame()
    for scale in results["scale"].unique(maintain_order=True):
        at = results.filter(pl.col("scale") == scale)
        base = at.filter(pl.col("variant") == "baseline")
        for row in _measure_rows(base, base.clear(), cfg):
            rows.append({"scale": scale, "variant": "baseline", "reference": None, **row})
        for variant, reference in comparisons(cfg, at["variant"].unique(maintain_order=True).to_list()):
            g, ref = at.filter(pl.col("variant") == variant), at.filter(pl.col("variant") == reference)
            if g.height and ref.height:
                rows += [{"scale": scale, "variant": variant, "reference": reference, **r}
                         for r in _measure_rows(g, ref, cfg)]
    summary = pl.DataFrame(rows, infer_schema_length=None)
    return _with_holm(summary, cfg.stats.alpha) if cfg.stats.correction == "holm" else \
        summary.with_columns(pl.col("p_value").alias("p_holm"))


def _with_holm(summary: pl.DataFrame, alpha: float) -> pl.DataFrame:
    if "p_value" not in summary.columns:
        return summary.with_columns(pl.lit(None, dtype=pl.Float64).alias("p_holm"))
    adjusted = np.full(summary.height, math.nan)
    p = summary["p_value"].fill_null(math.nan).to_numpy()
    for family in ("primary", "secondary"):
        idx = np.nonzero((summary["family"] == family).to_numpy())[0]
        adjusted[idx] = holm(p[idx].tolist(), alpha)
    return summary.with_columns(pl.Series("p_holm", adjusted))


def _num(v: Any, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, float):
        return f"{v:.0f}" if abs(v) >= 1000 else f"{v:.{digits}g}"
    return str(v)


def _ci(row: dict, mid: str, lo: str, hi: str, pct: bool = False, digits: int = 3) -> str:
    vals = [row.get(k) for k in (mid, lo, hi)]
    if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in vals):
        return "-"
    if pct:
        if math.isinf(vals[1]) or math.isinf(vals[2]):
            return f"{vals[0]:+.1f}% [unbounded]"
        return "{:+.1f}% [{:+.1f}, {:+.1f}]".format(*vals)
    return " ".join([f"{vals[0]:+.{digits}g}", f"[{vals[1]:+.{digits}g}, {vals[2]:+.{digits}g}]"])


def _seeds_line(row: dict) -> str:
    per = json.loads(row.get("per_seed") or "{}")
    if not per:
        return "-"
    return f"{sum(v > 0 for v in per.values())}/{len(per)} up, SD {_num(row.get('sd_diff'), 2)}"


def compact_table(summary: pl.DataFrame, fixed_step: int | None = None) -> pl.DataFrame:
    """One row per comparison, as text: the primary endpoint first, then the secondary ones."""
    rows = []
    if summary.is_empty():
        return pl.DataFrame()
    for (scale, variant, reference), g in summary.filter(pl.col("reference").is_not_null()).group_by(
            ["scale", "variant", "reference"], maintain_order=True):
        r = {row["measure"]: row for row in g.iter_rows(named=True)}
        a, t, h = r.get(PRIMARY, {}), r.get("restricted_time", {}), r.get("heldout_loss_novel", {})
        rows.append({"scale": scale, "comparison": f"{variant} vs {reference}", "n": _num(a.get("n")),
                     "AUC ref -> arm": f"{_num(a.get('ref_mean'))} -> {_num(a.get('mean'))}",
                     "AUC diff [95% CI]": _ci(a, "diff_mean", "diff_ci_low", "diff_ci_high"),
                     "change [Fieller 95% CI]": _ci(a, "rel_change_pct", "rel_ci_low", "rel_ci_high", pct=True),
                     "p": _num(a.get("p_value"), 2), "p (Holm)": _num(a.get("p_holm"), 2),
                     "seeds": _seeds_line(a), "formed": _num(a.get("formed")),
                     "restricted time shift [95% CI]": _ci(t, "diff_mean", "diff_ci_low", "diff_ci_high", digits=4),
                     "log-rank p": _num(r.get("logrank", {}).get("p_value"), 2),
                     "held-out novel [95% CI]": _ci(h, "rel_change_pct", "rel_ci_low", "rel_ci_high", pct=True),
                     "r (paired)": _num(a.get("corr"), 2)})
    return pl.DataFrame(rows)


def compact_markdown(summary: pl.DataFrame, fixed_step: int | None = None) -> str:
    """:func:`compact_table` as Markdown (what the ``experiment`` verb prints)."""
    return markdown(compact_table(summary, fixed_step))


def per_seed_table(results: pl.DataFrame, measure: str = PRIMARY) -> pl.DataFrame:
    """seed x variant values of ``measure`` (one row per scale and seed)."""
    if results.is_empty():
        return pl.DataFrame()
    return (results.select("scale", "seed", "variant", measure)
            .pivot(on="variant", index=["scale", "seed"], values=measure).sort("scale", "seed"))


def markdown(frame: pl.DataFrame, digits: int = 4) -> str:
    """Any table as Markdown, numbers rounded."""
    if frame.is_empty():
        return "(no complete runs yet)\n"
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(_num(v, digits) for v in row) + " |" for row in frame.iter_rows()]
    return "\n".join(lines) + "\n"
