"""Batched training (k runs as one stacked model) vs k separate single-thread Trainer processes.

For each k, the same k configs (nano, seeds 0..k-1, one packed corpus, N steps) are trained
twice in fresh processes: as k single ``loop.train`` processes run ``--jobs`` at a time (as
the experiment runner does), and by ``train_batched`` in ``--batched-procs`` processes (the k
members split between them). Every process runs one torch thread. Both sides do the same
bookkeeping (checkpoints on the calendar, logs), with unit evaluation every ``--eval-every``
steps or with no probes at all.

Reported per row: tokens per CPU-second of the training call (``time.process_time`` inside
each process, imports excluded), the same over whole processes (``RUSAGE_CHILDREN``,
imports included), wall time, and how far the batched members' losses and unit metrics are
from the separate runs with the same seed. On a shared machine wall time follows the other
jobs; CPU time much less, so the speed-up is read from CPU time.

    nice -n 10 python benchmarks/bench_batched.py --corpus /work/data/quickstart/packed
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]


def worker(mode: str, spec: Path) -> None:
    """In a fresh process: train the configs in ``spec``; print the CPU seconds it took."""
    from mda_augment.training.batched import train_batched
    from mda_augment.training.config import TrainConfig
    from mda_augment.training.loop import train

    cfgs = [TrainConfig(**c) for c in json.loads(spec.read_text())]
    start = time.process_time()
    if mode == "batched":
        train_batched(cfgs)
    else:
        (cfg,) = cfgs
        train(cfg)
    print(json.dumps({"cpu": time.process_time() - start}))


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_processes(mode: str, groups: list[list[dict]], parallel: int, tmp: Path) -> dict:
    """Run one worker per group, ``parallel`` at a time; CPU (inner and whole) and wall seconds."""
    cpu0, wall0, inner = _children_cpu(), time.perf_counter(), 0.0
    pending = list(enumerate(groups))
    running: list[subprocess.Popen] = []
    while pending or running:
        while pending and len(running) < parallel:
            i, group = pending.pop(0)
            spec = tmp / f"{mode}-{i}.json"
            spec.write_text(json.dumps(group))
            running.append(subprocess.Popen([sys.executable, __file__, "--worker", mode, str(spec)],
                                            cwd=ROOT, stdout=subprocess.PIPE, text=True,
                                            env={**os.environ, "PYTHONPATH": str(ROOT)}))
        proc = running.pop(0)
        out, _ = proc.communicate()
        if proc.returncode:
            raise SystemExit(f"{mode} worker failed (exit {proc.returncode})")
        inner += json.loads(out.strip().splitlines()[-1])["cpu"]
    return {"cpu": inner, "cpu_whole": _children_cpu() - cpu0, "wall": time.perf_counter() - wall0}


def agreement(single: list[Path], batched: list[Path]) -> tuple[float, float, str]:
    """Max relative loss gap over all steps; max absolute unit-metric gap and its metric."""
    loss_gap, unit_gap, where = 0.0, 0.0, "-"
    for a, b in zip(single, batched, strict=True):
        la, lb = (pl.read_parquet(r / "metrics.parquet").sort("step")["loss"] for r in (a, b))
        loss_gap = max(loss_gap, float(((la - lb).abs() / la).max()))
        ua, ub = (pl.read_parquet(r / "units.parquet").sort("step", "metric", "layer", "head") for r in (a, b))
        if len(ua):
            gaps = (ua["value"] - ub["value"]).abs()
            if float(gaps.max()) > unit_gap:
                unit_gap, where = float(gaps.max()), f"{ua['metric'][gaps.arg_max()]}@{ua['step'][gaps.arg_max()]}"
    return loss_gap, unit_gap, where


def kernel_floor(k: int = 8, reps: int = 30) -> dict:
    """CPU ms per member-step of the nano step's matmuls and attention kernels alone (k stacked).

    The GEMMs of one step (forward and backward of q/k/v, output projection and unembedding;
    512 tokens, d_model 128, vocab 512) and sdpa forward+backward on (4, 4 heads, 128, 32) per
    layer: a lower bound on any fp32 step built from torch's kernels, batched or not.
    """
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(1)
    n, d, v = 512, 128, 512
    shapes = 2 * [(n, d, 3 * d), (n, 3 * d, d), (3 * d, n, d), (n, d, d), (n, d, d), (d, n, d)] + \
        [(n - 4, d, v), (n - 4, v, d), (v, n - 4, d)]  # (rows, inner, cols) per GEMM
    mats = [(torch.randn(k, a, b), torch.randn(k, b, c)) for a, b, c in shapes]
    q, key, val = (torch.randn(4 * k, 4, 128, 32, requires_grad=True) for _ in range(3))
    grad = torch.randn(4 * k, 4, 128, 32)

    def gemms() -> None:
        for a, b in mats:
            torch.bmm(a, b)

    def attention() -> None:
        for _ in range(2):  # layers
            F.scaled_dot_product_attention(q, key, val, is_causal=True).backward(grad)

    out = {}
    for name, fn in (("matmuls", gemms), ("attention", attention)):
        fn()
        start = time.process_time()
        for _ in range(reps):
            fn()
        out[name] = (time.process_time() - start) / reps / k * 1e3
    return out


def configs(args: argparse.Namespace, root: Path, k: int, units: bool) -> list[dict]:
    return [{"preset": "nano", "corpus": str(args.corpus), "out": str(root / f"seed{s}"),
             "steps": args.steps, "seed": s, "threads": 1, "eval_every": args.eval_every,
             "checkpoint_log_until": 0, "progress": False,
             "units": {} if units else {"probes": []}} for s in range(k)]


def float_noise(args: argparse.Namespace, tmp: Path) -> tuple[float, float, str]:
    """The gaps between two single runs of seed 0 that differ only in float rounding (1 vs 2 threads).

    A yardstick for the batched gaps: any change of kernel or summation order moves a
    training curve this much, and the gap grows with steps as training amplifies it.
    """
    runs = []
    for threads in (1, 2):
        (cfg,) = configs(args, tmp / f"threads{threads}", 1, units=True)
        run_processes("single", [[{**cfg, "threads": threads}]], 1, tmp)
        runs.append(Path(cfg["out"]))
    return agreement(runs[:1], runs[1:])


def split(items: list, parts: int) -> list[list]:
    return [items[i::parts] for i in range(parts) if items[i::parts]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path)
    parser.add_argument("--ks", type=int, nargs="*", default=[2, 4, 8])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=2, help="separate Trainer processes at a time")
    parser.add_argument("--batched-procs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--float-noise", action="store_true", help="also measure the 1- vs 2-thread gap")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker[0], Path(args.worker[1]))
    if args.corpus is None:
        parser.error("--corpus is required")
    print(f"nano, corpus {args.corpus}, {args.steps} steps per run, 1 thread per process, "
          f"separate runs {args.jobs} at a time, eval every {args.eval_every} (probes: default set)")
    if args.float_noise:
        with tempfile.TemporaryDirectory() as tmp_dir:
            loss_gap, unit_gap, where = float_noise(args, Path(tmp_dir))
        print(f"float noise: single Trainer seed 0, 1 vs 2 threads: loss gap {loss_gap:.1e}, "
              f"unit gap {unit_gap:.1e} ({where})")
    floor = kernel_floor()
    print(f"kernel floor per member-step (k=8 stacked): matmuls {floor['matmuls']:.1f} ms + attention "
          f"{floor['attention']:.1f} ms = {sum(floor.values()):.1f} ms, i.e. at most "
          f"{512 / sum(floor.values()) * 1e3:,.0f} tokens per CPU-second at nano")
    print(f"{'units':6s} {'k':>2s} {'how':26s} {'tok/CPU-s':>10s} {'whole':>8s} {'wall s':>7s} "
          f"{'speed-up CPU':>12s} {'whole':>6s} {'wall':>5s} {'loss gap':>9s} {'unit gap':>9s} (where)")
    for units in (True, False):
        for k in args.ks:
            with tempfile.TemporaryDirectory() as tmp_dir:
                tmp = Path(tmp_dir)
                tokens = k * args.steps * 4 * 128  # nano: 4 x 128 per step
                single = configs(args, tmp / "single", k, units)
                base = run_processes("single", [[c] for c in single], args.jobs, tmp)
                _row(units, k, f"{k} Trainer procs, {args.jobs} at once", tokens, base, base, None)
                for procs in args.batched_procs:
                    if procs > k or (procs > 1 and k < 4):
                        continue
                    batched = configs(args, tmp / f"batched{procs}", k, units)
                    res = run_processes("batched", split(batched, procs), procs, tmp)
                    gaps = agreement([Path(c["out"]) for c in single], [Path(c["out"]) for c in batched])
                    _row(units, k, f"batched, {procs} proc(s)", tokens, res, base, gaps)


def _row(units: bool, k: int, how: str, tokens: int, res: dict, base: dict, gaps: tuple | None) -> None:
    gap = f"{gaps[0]:9.1e} {gaps[1]:9.1e} {gaps[2]}" if gaps else ""
    print(f"{'yes' if units else 'no':6s} {k:2d} {how:26s} {tokens / res['cpu']:10,.0f} "
          f"{tokens / res['cpu_whole']:8,.0f} {res['wall']:7.1f} {base['cpu'] / res['cpu']:11.2f}x "
          f"{base['cpu_whole'] / res['cpu_whole']:5.2f}x {base['wall'] / res['wall']:4.2f}x {gap}", flush=True)


if __name__ == "__main__":
    main()
