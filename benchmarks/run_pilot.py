"""Run an experiment pilot from its YAML: train the pilot seeds, print the power table.

    nice -n 10 python benchmarks/run_pilot.py benchmarks/nano_pilot.yaml \\
        --base /work/data/quickstart/packed --out runs/nano-pilot

What ``experiment --pilot`` does (:func:`mda_augment.experiments.design.run_pilot`): every arm on
the first ``power.seeds`` seeds (resumable), then ``summary.md`` and ``pilot.md`` in ``--out``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from mda_augment.config import load_yaml
from mda_augment.experiments.config import ExperimentConfig
from mda_augment.experiments.design import run_pilot
from mda_augment.experiments.tables import compact_markdown, markdown


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config", type=Path)
    ap.add_argument("--base", type=Path, required=True, help="packed corpus")
    ap.add_argument("--out", type=Path, required=True, help="experiment directory")
    args = ap.parse_args()
    cfg = load_yaml(args.config, ExperimentConfig)
    t0 = time.time()
    table = run_pilot(cfg, args.base, args.out)
    import polars as pl

    print(f"pilot finished in {time.time() - t0:.0f} s")
    print(compact_markdown(pl.read_parquet(args.out / "summary.parquet")))
    print(markdown(table))


if __name__ == "__main__":
    main()
