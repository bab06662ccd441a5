"""Run a pre-registered experiment in rounds of seeds, writing the summary after each round.

    nice -n 10 python benchmarks/run_study.py benchmarks/nano_study.yaml \\
        --base /work/data/quickstart/packed --out /work/data/study/exp --rounds 0,1,2 3 4

Each round trains every arm of its seeds (completed runs are skipped, so a rerun resumes) and
then rewrites ``summary.md`` over the seeds whose every arm is complete. Stopping between rounds
(by the clock, as the pre-registration states) therefore always leaves a balanced analysis.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from mda_augment.config import load_yaml
from mda_augment.experiments.config import ExperimentConfig
from mda_augment.experiments.runner import complete_seeds, train_variants, write_summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config", type=Path)
    ap.add_argument("--base", type=Path, required=True, help="packed corpus")
    ap.add_argument("--out", type=Path, required=True, help="experiment directory")
    ap.add_argument("--rounds", nargs="+", required=True, help="comma-separated seeds per round")
    args = ap.parse_args()
    cfg = load_yaml(args.config, ExperimentConfig)
    for spec in args.rounds:
        seeds = [int(s) for s in spec.split(",")]
        t0 = time.time()
        train_variants(cfg, args.base, args.out, None, seeds)
        done = complete_seeds(cfg, args.out)
        write_summary(cfg, args.out, done)
        print(f"round {seeds}: {time.time() - t0:.0f} s; summary over seeds {done}", flush=True)


if __name__ == "__main__":
    main()
