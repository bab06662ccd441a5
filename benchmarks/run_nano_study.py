"""Run the pre-registered nano study end to end from its recipe and file the results.

    nice -n 10 python benchmarks/run_nano_study.py recipes/nano-experiment.yaml

1. ``mda-augment run RECIPE`` (every stage resumable: rerun the same command after a crash):
   corpus -> packed -> baseline trunks (all seeds) -> attribution of one baseline inside the
   branch window -> clusters -> motifs -> synthetic -> every other arm branched from its seed's
   trunk -> summary, plots, report.
2. Copies what the study reports into ``benchmarks/results/``: ``nano_study_summary.md`` (the
   compact table, per-seed values, every measure), the curve, Kaplan-Meier and per-seed effect
   plots, and the experiment's ``preregistration.json`` next to the pre-registration written
   before the runs (``nano_study_preregistration.md``), so a reader can check they agree.
The reading (``nano_study.md``) is written by a person from those files.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from mda_augment.config import load_yaml
from mda_augment.pipeline import run_recipe
from mda_augment.recipe import Recipe

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("recipe", type=Path)
    ap.add_argument("--results", type=Path, default=RESULTS)
    args = ap.parse_args()
    recipe = load_yaml(args.recipe, Recipe)
    t0 = time.time()
    out = run_recipe(recipe)
    exp = out["experiment"]
    args.results.mkdir(parents=True, exist_ok=True)
    text = (f"# nano study: generated summary\n\nCommand: `python benchmarks/run_nano_study.py {args.recipe}` "
            f"({time.time() - t0:.0f} s in this invocation; completed stages were skipped).\n\n"
            + (exp / "summary.md").read_text())
    (args.results / "nano_study_summary.md").write_text(text)
    for png in exp.glob("*.png"):
        shutil.copy2(png, args.results / f"nano_study_{png.name}")
    shutil.copy2(exp / "preregistration.json", args.results / "nano_study_preregistration.json")
    print(f"results: {args.results}/nano_study_summary.md; report: {out['report']}")


if __name__ == "__main__":
    main()
