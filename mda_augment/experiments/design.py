"""Power, built in: a pilot that says how many seeds a stated effect needs, and a sequential mode.

``run_pilot`` trains the first ``power.seeds`` seeds of every arm, estimates the SD of the
paired difference on the primary endpoint per comparison, and prints the seeds a two-sided
paired t-test needs (statsmodels ``TTestPower``) for the stated effect (``power.effect``,
relative to the baseline mean or absolute) and for the effect the pilot itself observed.
Pilot seeds are ordinary seeds: a later study in the same directory reuses their runs.

``run_sequential`` adds seeds look by look (``first``, ``first + step``, ... ``max_seeds``),
testing each look at the alpha it newly spends (Lan-DeMets O'Brien-Fleming or Pocock
spending, Bonferroni over the deciding comparisons; see :mod:`.stats`), and stops at the
first look where every deciding comparison's CI excludes zero. Every look is appended to
``looks.jsonl`` with its seeds, alpha and decision; a rerun replays the recorded looks instead
of looking again.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import polars as pl

from ..artifacts import atomic_write_json, atomic_write_text
from ..errors import ConfigError
from .config import LOOKS, PILOT, PILOT_MD, PRIMARY, ExperimentConfig
from .runner import train_variants, write_summary
from .stats import look_alphas, look_decision, seeds_needed
from .tables import collect, comparisons, markdown


def _train(cfg: ExperimentConfig, base: str | os.PathLike, root: Path, seeds: list[int],
           options: dict | None = None) -> None:
    train_variants(cfg, base, root, None, seeds, options)


def paired_diffs(results: pl.DataFrame, variant: str, reference: str, scale: str,
                 measure: str = PRIMARY) -> dict[int, float]:
    """seed -> variant minus reference on ``measure``, over seeds present in both."""
    at = results.filter(pl.col("scale") == scale)
    v = dict(zip(*at.filter(pl.col("variant") == variant).select("seed", measure), strict=True))
    r = dict(zip(*at.filter(pl.col("variant") == reference).select("seed", measure), strict=True))
    return {int(s): float(v[s] - r[s]) for s in sorted(v.keys() & r.keys())}


def power_table(cfg: ExperimentConfig, results: pl.DataFrame) -> pl.DataFrame:
    """Per comparison: SD of the paired difference and the seeds needed for the stated/observed effect."""
    rows = []
    pw = cfg.power
    for scale in cfg.scales:
        base = results.filter((pl.col("scale") == scale) & (pl.col("variant") == "baseline"))[PRIMARY]
        base_mean = float(base.mean()) if len(base) else math.nan
        effect = pw.effect * base_mean if pw.effect_scale == "relative" else pw.effect
        for variant, reference in comparisons(cfg):
            d = np.array(list(paired_diffs(results, variant, reference, scale).values()))
            if len(d) < 2:
                continue
            sd = float(d.std(ddof=1))
            rows.append({"scale": scale, "comparison": f"{variant} vs {reference}", "n": len(d),
                         "mean_diff": float(d.mean()), "sd_diff": sd, "stated_effect": effect,
                         "seeds_for_stated": seeds_needed(sd, effect, cfg.stats.alpha, pw.power),
                         "seeds_for_observed": seeds_needed(sd, float(d.mean()), cfg.stats.alpha, pw.power)})
    return pl.DataFrame(rows)


def run_pilot(cfg: ExperimentConfig, base: str | os.PathLike, root: str | os.PathLike,
              options: dict | None = None) -> pl.DataFrame:
    """Train the pilot seeds, then write and return the power table (``pilot.json``, ``pilot.md``)."""
    root = Path(root)
    seeds = cfg.seeds[: cfg.power.seeds]
    if len(seeds) < cfg.power.seeds:
        raise ConfigError(f"experiment.seeds lists {len(cfg.seeds)} seeds; the pilot needs power.seeds = "
                          f"{cfg.power.seeds}")
    _train(cfg, base, root, seeds, options)
    write_summary(cfg, root, seeds)
    table = power_table(cfg, collect(cfg, root, seeds))
    effect = (f"{cfg.power.effect:.0%} of the baseline mean" if cfg.power.effect_scale == "relative"
              else f"{cfg.power.effect:g}")
    head = (f"Pilot on seeds {seeds}: SD of the paired difference in the primary endpoint ({PRIMARY}) and the "
            f"seeds a two-sided paired t-test needs at alpha {cfg.stats.alpha} and power {cfg.power.power} for the "
            f"stated effect ({effect}) and for the effect observed here.\n\n")
    atomic_write_text(root / PILOT_MD, head + markdown(table))
    atomic_write_json(root / PILOT, {"seeds": seeds, "rows": table.to_dicts()})
    return table


def look_schedule(cfg: ExperimentConfig) -> list[int]:
    sq = cfg.sequential
    ns = list(range(sq.first, sq.max_seeds + 1, sq.step))
    return ns if ns[-1] == sq.max_seeds else [*ns, sq.max_seeds]


def _recorded_looks(root: Path) -> list[dict]:
    path = root / LOOKS
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []


def run_sequential(cfg: ExperimentConfig, base: str | os.PathLike, root: str | os.PathLike,
                   options: dict | None = None) -> pl.DataFrame:
    """Add seeds until every deciding comparison's CI excludes zero or ``max_seeds``; record every look."""
    root = Path(root)
    sq = cfg.sequential
    if len(cfg.seeds) < sq.max_seeds:
        raise ConfigError(f"experiment.seeds lists {len(cfg.seeds)} seeds; sequential.max_seeds is {sq.max_seeds}")
    deciding = sq.comparisons or [v for v in cfg.variants if v != "baseline"]
    ns = look_schedule(cfg)
    alphas = look_alphas(ns, sq.max_seeds, cfg.stats.alpha, sq.spending)
    looks = _recorded_looks(root)
    for k, (n, alpha_k) in enumerate(zip(ns, alphas, strict=True)):
        if k < len(looks):
            if looks[k]["stop"]:
                break
            continue
        seeds = cfg.seeds[:n]
        _train(cfg, base, root, seeds, options)
        results = collect(cfg, root, seeds)
        diffs = {v: np.array(list(paired_diffs(results, v, "baseline", cfg.scales[0]).values())) for v in deciding}
        decision = look_decision(diffs, alpha_k)
        look = {"look": k + 1, "seeds": seeds, "alpha_spent": alpha_k,
                "stop": all(r["excludes_zero"] for r in decision.values()), "comparisons": decision}
        looks.append(look)
        with open(root / LOOKS, "a", encoding="utf-8") as f:
            f.write(json.dumps(look) + "\n")
        if look["stop"]:
            break
    return write_summary(cfg, root, looks[-1]["seeds"] if looks else cfg.seeds[: sq.first])
