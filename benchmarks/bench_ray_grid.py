"""Training grid wall time: the local runner vs the Ray backend on this machine, same grid.

The same small grid (``--runs`` runs of ``--preset``, ``--steps`` steps, ``--jobs`` at a time,
default unit evaluation and checkpoints) is trained from scratch by
``train_runs(backend="local")`` (spawned processes) and by ``train_runs(backend="ray")`` on a
local Ray of ``--jobs`` CPUs, alternating the order over ``--rounds`` (A B B A ...) so that a
busy machine hurts both alike. The Ray figure includes starting and stopping Ray (printed
apart too); goal: Ray's wall time <= 1.1x the local runner's. Every run's metrics (timing
columns aside) and unit metrics must be identical between the backends.

    nice -n 10 python benchmarks/bench_ray_grid.py --corpus /work/data/quickstart/packed
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import polars as pl

from mda_augment.artifacts import read_json
from mda_augment.training.grid import train_runs
from mda_augment.training.loop import TIMING_COLUMNS
from mda_augment.training.throughput import THROUGHPUT


def jobs(corpus: str, root: Path, preset: str, runs: int, steps: int) -> list[dict]:
    return [{"preset": preset, "corpus": corpus, "out": str(root / f"seed{s}"), "steps": steps, "seed": s,
             "threads": 1, "progress": False} for s in range(runs)]


def local(grid: list[dict], parallel: int) -> dict:
    t0 = time.perf_counter()
    train_runs(grid, parallel, "local", backend="local")
    return {"wall": time.perf_counter() - t0, "ray_start": 0.0, "ray_stop": 0.0}


def on_ray(grid: list[dict], parallel: int) -> dict:
    import ray

    t0 = time.perf_counter()
    ray.init(num_cpus=parallel, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    t1 = time.perf_counter()
    train_runs(grid, parallel, "ray", backend="ray")
    t2 = time.perf_counter()
    ray.shutdown()
    t3 = time.perf_counter()
    return {"wall": t3 - t0, "ray_start": t1 - t0, "ray_stop": t3 - t2}


def tokens_per_s(grid: list[dict]) -> float:
    """Median over runs of each run's own tokens/s (its steps only, from throughput.json)."""
    return statistics.median(read_json(Path(j["out"]) / THROUGHPUT)["tokens_per_s"] for j in grid)


def identical(a: list[dict], b: list[dict]) -> bool:
    for ja, jb in zip(a, b, strict=True):
        ma, mb = (pl.read_parquet(Path(j["out"]) / "metrics.parquet").drop(list(TIMING_COLUMNS)).sort("step")
                  for j in (ja, jb))
        ua, ub = (pl.read_parquet(Path(j["out"]) / "units.parquet").sort("step", "metric", "layer", "head")
                  for j in (ja, jb))
        if not (ma.equals(mb) and ua.equals(ub)):
            return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="/work/data/quickstart/packed")
    parser.add_argument("--preset", default="nano")
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    print(f"grid: {args.runs} x {args.preset}, {args.steps} steps, {args.jobs} at a time, corpus {args.corpus}")
    rows, same = [], True
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            order = ("local", "ray") if r % 2 == 0 else ("ray", "local")
            grids = {name: jobs(args.corpus, Path(tmp) / f"r{r}-{name}", args.preset, args.runs, args.steps)
                     for name in order}
            times = {name: (local if name == "local" else on_ray)(grids[name], args.jobs) for name in order}
            same &= identical(grids["local"], grids["ray"])
            row = (times["local"]["wall"], times["ray"]["wall"], times["ray"]["ray_start"],
                   times["ray"]["ray_stop"], tokens_per_s(grids["local"]), tokens_per_s(grids["ray"]))
            rows.append(row)
            print(_line(f"round {r} ({order[0]} first)", *row), flush=True)
    print(_line("median", *(statistics.median(col) for col in zip(*rows, strict=True))))
    print(f"results identical (metrics without timing columns, units): {same}")


def _line(label: str, wall_local: float, wall_ray: float, start: float, stop: float, tok_local: float,
          tok_ray: float) -> str:
    return (f"{label:22s}| local {wall_local:6.1f} s | ray {wall_ray:6.1f} s (Ray start {start:4.1f} s, "
            f"stop {stop:4.1f} s) | ratio {wall_ray / wall_local:.2f}x | per-run tokens/s local "
            f"{tok_local:7,.0f}, ray {tok_ray:7,.0f}")


if __name__ == "__main__":
    main()
