"""Held-out loss of an experiment's runs, split into where induction can and cannot help.

Whole-text held-out loss at the end of training mixes two things: what a mixture costs the
model on natural text, and what the induction head it makes form gives back (a run whose head
formed has ~0.15 nats lower loss). This re-evaluates each run's checkpoints on the same held-out
sequences and reports, paired with the baseline by seed:

    whole      loss on every held-out token (what the experiment table reports)
    novel      loss only where the current token has not occurred earlier in the context
               (probe ``heldout_loss_novel``): induction cannot help there
    early      whole loss at ``--early-step``, before any head formed in any run

Usage:
    python benchmarks/bench_heldout_split.py runs/nano-experiment/experiment \
        --packed runs/nano-experiment/packed --early-step 6000
"""

from __future__ import annotations

import argparse
from pathlib import Path

import polars as pl
import torch

from mda_augment.artifacts import is_complete
from mda_augment.corpus.packed import PackedCorpus
from mda_augment.experiments.stats import paired
from mda_augment.training.config import UnitsConfig
from mda_augment.training.rundir import list_checkpoints, load_model_at
from mda_augment.units.evaluate import UnitEvaluator


def measure(exp: Path, evaluator: UnitEvaluator, early_step: int) -> pl.DataFrame:
    rows = []
    for run in sorted(exp.glob("runs/*/*/seed*")):
        if not is_complete(run):
            continue
        variant, scale, seed = run.parent.parent.name, run.parent.name, int(run.name[4:])
        last = list_checkpoints(run)[-1]
        final = {r["metric"]: r["value"] for r in evaluator.evaluate(load_model_at(run, last), last)}
        early = {r["metric"]: r["value"] for r in evaluator.evaluate(load_model_at(run, early_step), early_step)}
        rows.append({"variant": variant, "scale": scale, "seed": seed, "whole": final["heldout_loss"],
                     "novel": final["heldout_loss_novel"], "early": early["heldout_loss"]})
    return pl.DataFrame(rows)


def table(results: pl.DataFrame) -> str:
    lines = ["| scale | variant | n | whole: change [95% CI] | novel tokens: change [95% CI] | early: change [95% CI] |",
             "|---|---|---|---|---|---|"]
    for (scale, variant), g in results.group_by(["scale", "variant"], maintain_order=True):
        base = results.filter((pl.col("scale") == scale) & (pl.col("variant") == "baseline"))
        cells = []
        for m in ("whole", "novel", "early"):
            p = paired(dict(zip(g["seed"], g[m], strict=True)), dict(zip(base["seed"], base[m], strict=True)))
            if variant == "baseline":
                cells.append(f"{g[m].mean():.3f} nats")
            else:
                cells.append(f"{p.rel_change_pct:+.2f}% [{p.rel_ci_low:+.2f}, {p.rel_ci_high:+.2f}] p={p.p_value:.2g}")
        lines.append(f"| {scale} | {variant} | {len(g)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("experiment", type=Path)
    ap.add_argument("--packed", type=Path, required=True, help="the base packed corpus (its held-out split)")
    ap.add_argument("--early-step", type=int, default=6000)
    args = ap.parse_args()
    torch.set_num_threads(1)
    evaluator = UnitEvaluator(PackedCorpus(args.packed),
                              UnitsConfig(probes=["heldout_loss", "heldout_loss_novel"], n_natural=128))
    results = measure(args.experiment, evaluator, args.early_step).sort(["scale", "variant", "seed"])
    order = {"baseline": 0}
    results = results.with_columns(pl.col("variant").replace_strict(order, default=1).alias("_o")).sort(
        ["scale", "_o", "variant", "seed"]).drop("_o")
    print(results)
    print(table(results))


if __name__ == "__main__":
    main()
