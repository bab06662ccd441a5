"""Rebuild clusters -> motifs -> synthetic store of a run with this checkout's library functions.

Usage:
    python benchmarks/rebuild_synthesis.py --scores RUN/attribution/scores.parquet \\
        --packed RUN/packed --out runs/NAME [--n 400] [--top-fraction 0.1]

Writes ``OUT/clusters``, ``OUT/motifs`` (offline extraction), ``OUT/synthetic`` (``n`` documents
per accepted generator, as the recipes' synthesize stage does) and the store's
``coverage.json``; then run ``bench_cluster_coverage.py`` on them. The run's own artifacts are
only read.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mda_augment.clustering import ClusterConfig, build_clusters  # noqa: E402
from mda_augment.motifs import ExtractConfig, extract  # noqa: E402
from mda_augment.motifs.coverage import write_store_coverage  # noqa: E402
from mda_augment.synthesis import SynthesisConfig, synthesize  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scores", required=True)
    ap.add_argument("--packed", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=int, default=400, help="documents per generator (the recipes use 400 at nano)")
    ap.add_argument("--top-fraction", type=float, default=0.1)
    ap.add_argument("--overwrite", action="store_true")
    args = ap.parse_args()
    out = Path(args.out)
    t = time.monotonic()
    clusters = build_clusters(args.scores, args.packed, out / "clusters", ClusterConfig(top_fraction=args.top_fraction),
                              overwrite=args.overwrite)
    print(f"clusters: {time.monotonic() - t:.0f} s")
    t = time.monotonic()
    motifs = extract(clusters, out / "motifs", ExtractConfig(), overwrite=args.overwrite)
    print(f"extract: {time.monotonic() - t:.0f} s")
    generators = sorted(str(p.resolve()) for p in (motifs / "generators").glob("*.py"))
    if not generators:
        print("no accepted generator: nothing to synthesize")
        return
    t = time.monotonic()
    synthesize(out / "synthetic", SynthesisConfig(generators=generators, n=args.n, allow_code_execution=True),
               overwrite=args.overwrite)
    write_store_coverage(motifs, out / "synthetic")
    print(f"synthesize: {time.monotonic() - t:.0f} s; store {out / 'synthetic'}")


if __name__ == "__main__":
    main()
