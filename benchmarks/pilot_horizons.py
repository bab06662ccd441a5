"""Choose the study's horizon and dose from a pilot: the primary endpoint re-cut at shorter horizons.

    python benchmarks/pilot_horizons.py benchmarks/nano_pilot.yaml --out runs/nano-pilot \\
        --horizons 10000 12000 14000 16000 18000

The pilot's runs go to the longest horizon; the area under the target head's curve over
``[branch, h]`` for a shorter ``h`` is the endpoint a study with horizon ``h`` would measure on
the same runs (the curve up to ``h`` does not depend on what happens after it). For each
horizon and arm: how many runs formed the head by ``h`` (baseline / arm), the mean paired
difference, its SD, the relative change, the probe's own SE bound of the area, and the seeds a
paired t-test needs at the observed effect (and at +25% of the baseline mean). The cost of a
study scales with ``h - branch`` per arm, so the horizon that needs the fewest seeds x steps wins.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import polars as pl

from mda_augment.config import load_yaml
from mda_augment.experiments.config import ExperimentConfig
from mda_augment.experiments.stats import seeds_needed
from mda_augment.experiments.tables import collect, markdown


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config", type=Path)
    ap.add_argument("--out", type=Path, required=True, help="the pilot's experiment directory")
    ap.add_argument("--horizons", type=int, nargs="+", required=True)
    args = ap.parse_args()
    cfg = load_yaml(args.config, ExperimentConfig)
    rows = []
    for h in args.horizons:
        cut = cfg.model_copy(update={"steps": h, "endpoint": cfg.endpoint.model_copy(update={"fixed_step": min(
            cfg.at_step, h)})})
        res = collect(cut, args.out)
        base = res.filter(pl.col("variant") == "baseline").sort("seed")
        for variant in [v for v in cfg.variants if v != "baseline"]:
            arm = res.filter(pl.col("variant") == variant).sort("seed")
            seeds = sorted(set(arm["seed"]) & set(base["seed"]))
            if len(seeds) < 2:
                continue
            b = base.filter(pl.col("seed").is_in(seeds))
            a = arm.filter(pl.col("seed").is_in(seeds))
            d = a["auc"].to_numpy() - b["auc"].to_numpy()
            sd, mean_b = float(d.std(ddof=1)), float(b["auc"].mean())
            rows.append({"horizon": h, "arm": variant, "n": len(seeds),
                         "formed base/arm": f"{int(b['event'].sum())}/{int(a['event'].sum())}",
                         "auc base": mean_b, "mean diff": float(d.mean()), "sd diff": sd,
                         "rel change %": 100 * float(d.mean()) / mean_b,
                         "per seed": " ".join(f"{x:+.3f}" for x in d),
                         "probe SE (auc)": float(np.nanmax(a["auc_probe_se"].to_numpy())),
                         "seeds @observed": seeds_needed(sd, float(d.mean())),
                         "seeds @+25%": seeds_needed(sd, 0.25 * mean_b),
                         "steps per arm x seeds @observed": (h - cfg.branch.step) * seeds_needed(sd, float(d.mean()))})
    print(markdown(pl.DataFrame(rows)))


if __name__ == "__main__":
    main()
