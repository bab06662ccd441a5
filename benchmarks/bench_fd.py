"""Finite-difference check of an attribution on nano: does one step on a sequence move the probe
as its score says?

    nice -n 10 python benchmarks/bench_fd.py --attribution /work/data/quickstart/attribution \\
        --k 40 --out runs/bench_fd

Rebuilds the attribution named by ``--attribution/config.json`` (same run, checkpoint, head,
probe, window sample and seed; EK-FAC refitted), takes the ``k`` top-, bottom- and random-scored
sequences and, for each, one step from the checkpoint (in fp64) of three kinds:

* ``precond``: ``H^-1 grad L(z)`` in the head's tracked block (the step the score predicts);
* ``plain``:   ``grad L(z)`` in the same block (plain SGD; predicted by the gradient dot product);
* ``layer``:   ``grad L(z)`` on all of the layer's attention (query_key_value and dense).

First at steps of ``--relative`` of the block's weight norm (median over sequences; a tiny one
checks the first-order relation, a larger one where it stops holding), then plain and layer
steps at an SGD lr (``--lr`` on the mean token loss, as the trainer uses). The probe change per unit lr is compared with the score: sign agreement, Spearman, the
fitted slope (1 when ``delta = lr x score`` holds) per group. Baseline in the same run: the same
comparison with the scores shuffled. Also prints the Spearman of the refitted scores with the
stored ones.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import polars as pl
import torch

from mda_augment.attribution import fd
from mda_augment.attribution.config import AttributionConfig
from mda_augment.attribution.window import PackedOrder
from mda_augment.training import rundir

RELATIONS = [  # (step kind, score column, what it tests, slope meaningful: delta/lr = score exactly)
    ("precond", "score", "EK-FAC score vs preconditioned step", True),
    ("plain", "graddot", "gradient dot product vs plain step", True),
    ("plain", "score", "EK-FAC score vs plain SGD step in the head block", False),
    ("layer", "score", "EK-FAC score (head block) vs plain step on the whole layer", False),
    ("layer", "graddot_layer", "layer gradient dot product vs plain step on the whole layer", True),
]


def table(frame: pl.DataFrame, lrs: dict[str, float], label: str, relations=RELATIONS) -> list[str]:
    lines = []
    for kind, score, what, exact in relations:
        if f"delta_{kind}" not in frame.columns:
            continue
        for r in fd.summary_rows(frame, score, f"delta_{kind}"):
            slope = f"{r['slope']:.3g}" if exact else "-"
            lines.append(f"| {label} | {what} | {lrs[kind]:.3g} | {r['group']} | {r['n']} | {r['sign_agreement']:.3f} | "
                         f"{r['spearman']:.3f} | {slope} | {r['mean_delta']:.4g} | {r['share_up']:.3f} |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--attribution", default="/work/data/quickstart/attribution")
    ap.add_argument("--k", type=int, default=40, help="sequences per group (top, bottom, random)")
    ap.add_argument("--relative", type=float, nargs="+", default=[1e-4, 1e-2],
                    help="step sizes as a share of the block's weight norm (first is the reference)")
    ap.add_argument("--lr", type=float, default=1e-3, help="realistic SGD lr on the mean token loss")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default="runs/bench_fd")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    record = json.loads((Path(args.attribution) / "config.json").read_text())
    cfg = AttributionConfig(**{**record["attribution"], "threads": args.threads, "progress": False})
    order = PackedOrder(record["corpus"], record["global_batch"])
    t0 = time.time()
    setup = fd.prepare_check(rundir.load_model_at(record["run"], cfg.step), order, cfg, Path(args.out) / "work", k=args.k)
    t_prep = time.time() - t0
    sized = {rel: {kind: setup.lr_for(kind, rel) for kind in setup.steps} for rel in args.relative}
    measured = {rel: fd.measure(setup, lrs) for rel, lrs in sized.items()}
    tiny, first = sized[args.relative[0]], measured[args.relative[0]]
    real = {kind: args.lr / (order.seq_len - 1) for kind in ("plain", "layer")}  # summed loss -> mean-loss lr
    sgd = fd.measure(setup, real)
    stored = pl.read_parquet(Path(args.attribution) / "scores.parquet").select("seq", pl.col("score").alias("stored"))
    both = first.join(stored, on="seq", how="inner")
    rng = np.random.default_rng(0)
    shuffled = first.with_columns(pl.Series("score", rng.permutation(first["score"].to_numpy())))
    Path(args.out).mkdir(parents=True, exist_ok=True)
    first.write_parquet(Path(args.out) / "first_order.parquet")
    sgd.write_parquet(Path(args.out) / "sgd.parquet")

    print(f"attribution {args.attribution}: run {record['run']}, head {','.join(cfg.heads)}, mode {cfg.mode}, "
          f"probe {cfg.probe}, checkpoint {cfg.step}, window [{cfg.start_step}, {cfg.end_step}) sample {cfg.sample}")
    print(f"k = {args.k} per group; scoring + directions {t_prep:.0f} s; tracked {setup.task.tracked}")
    rho = np.corrcoef(both["score"].rank(), both["stored"].rank())[0, 1] if both.height > 2 else float("nan")
    print(f"refitted vs stored scores (n = {both.height}): Spearman {rho:.4f}; "
          f"own EK-FAC vs kronfluence: max rel diff {float((first['score_ekfac'] / first['score'] - 1).abs().max()):.2e}")
    print("\n| steps | relation | lr (summed loss) | group | n | sign agreement | Spearman | slope | mean delta/lr | share up |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for rel in args.relative:
        print("\n".join(table(measured[rel], sized[rel], f"step {rel:g} of weights")))
    print("\n".join(table(sgd, real, f"SGD lr {args.lr:g} (mean loss)", RELATIONS[1:])))
    print("\n".join(table(shuffled, tiny, "baseline: shuffled scores", RELATIONS[:1])))
    bottom = sgd.filter(pl.col("group") == "bottom")
    print(f"\nbottom {args.k} by score: mean score {bottom['score'].mean():.4g}; SGD step on the head block raises the "
          f"probe in {(bottom['delta_plain'] > 0).mean():.0%}, on the whole layer in {(bottom['delta_layer'] > 0).mean():.0%} "
          f"(mean layer delta/lr {bottom['delta_layer'].mean():.4g})")


if __name__ == "__main__":
    main()
