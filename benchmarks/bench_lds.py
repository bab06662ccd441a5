"""Linear datamodeling score (LDS) of attribution methods on nano, side by side.

    nice -n 10 python benchmarks/bench_lds.py --attribution /work/data/quickstart/attribution \\
        --steps 1000 --m 40 --jobs 2 --out runs/bench_lds

Window: the ``--steps`` steps before the attributed checkpoint ``S`` of ``--attribution`` (same
run, head, probe and probe sequences), i.e. steps ``[S - steps, S)``. When the run has no
checkpoint at ``S - steps``, one is made by replaying the run's own data from its previous
checkpoint (``lds.shadow_run``; the all-window continuation below checks it). ``--m`` subsets keep a
seeded half of its sequences in place; the other slots take fillers (the sequences consumed at
the same offsets of steps ``[S, S + steps)``), so every continuation consumes the same number of
sequences. Each continuation resumes the run's checkpoint ``S - steps`` and trains to ``S`` with
the run's own step; the probe (the attribution's ``copy_target`` sum on its probe sequences) and
the target head's prefix matching are measured at the end. One extra continuation keeps every
window sequence and must land on the run's own checkpoint ``S`` (faithfulness check).

Methods (window and filler sequences scored in one pass; prediction of a subset = sum of the
scores of what it consumed):

    ekfac_qk_end      EK-FAC, head qk block, checkpoint S      (the default; primary)
    ekfac_qkvo_end    EK-FAC, head qk + v + o blocks, checkpoint S
    ekfac_layer_end   EK-FAC, the whole attention layer, checkpoint S
    graddot_qk_end    gradient dot product (identity preconditioner), head qk block, S
    graddot_layer_end gradient dot product, whole layer, S
    ekfac_qk_nearest  EK-FAC qk, each sequence at the nearest of checkpoints S - steps, S
    ekfac_qk_tracin   EK-FAC qk, lr-weighted sum over those checkpoints (TracIn-CP)
    ekfac_qk_start    EK-FAC qk, every sequence at checkpoint S - steps (read from the tracin run)
    random            Gaussian scores (200 draws: the LDS null distribution)

Pre-registered primary endpoint: the LDS of ``ekfac_qk_end`` (Spearman of predicted and
measured probe over subsets, 95% bootstrap CI over subsets), and its paired difference to
``graddot_qk_end``. Every other difference to ``ekfac_qk_end`` is secondary, Holm-corrected.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing as mp
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np
import polars as pl
from tqdm import tqdm

from mda_augment.artifacts import atomic_write_json
from mda_augment.attribution import lds
from mda_augment.attribution.config import AttributionConfig
from mda_augment.attribution.window import probe_tokens
from mda_augment.corpus.packed import PackedCorpus
from mda_augment.training import rundir

METHODS = {  # name -> AttributionConfig overrides
    "ekfac_qk_end": {"mode": "qk"},
    "ekfac_qkvo_end": {"mode": "qkvo"},
    "ekfac_layer_end": {"mode": "layer"},
    "graddot_qk_end": {"mode": "qk", "strategy": "identity"},
    "graddot_layer_end": {"mode": "layer", "strategy": "identity"},
    "ekfac_qk_nearest": {"mode": "qk", "checkpoint_mode": "nearest", "max_checkpoints": 2},
    "ekfac_qk_tracin": {"mode": "qk", "checkpoint_mode": "tracin", "max_checkpoints": 2},
}
PRIMARY, COMPARATOR = "ekfac_qk_end", "graddot_qk_end"
RANDOM_DRAWS = 200


def score_method(args: tuple[dict, lds.Design, AttributionConfig, str]) -> str:
    """One attribution over the window and its fillers (runs in a worker process)."""
    import torch

    from mda_augment.attribution.pipeline import attribute
    from mda_augment.attribution.runs import run_lr

    record, design, cfg, out = args
    torch.set_num_threads(1)
    run = record["run"]
    order = lds.SlotOrder(record["corpus"], design)
    loaders = {s: (lambda s=s: rundir.load_model_at(run, s)) for s in rundir.list_checkpoints(run)}
    run_record = json.loads((Path(run) / "config.json").read_text())
    attribute(rundir.load_model_at(run, cfg.step), order, cfg, out, checkpoints=loaders, lr=run_lr(run_record))
    return out


def continuation(job: lds.Continuation) -> dict:
    t0 = time.process_time()
    return {**lds.continue_run(job), "cpu_s": time.process_time() - t0}


def run_jobs(continuations: dict[int, lds.Continuation], scorings: dict[str, tuple], jobs: int,
             cache: Path) -> dict:
    """Run what is not cached yet, ``jobs`` processes, one thread each; continuation results by
    subset (-1: the all-window one), saved to ``cache`` as they come so a rerun resumes."""
    done = {int(k): v for k, v in json.loads(cache.read_text()).items()} if cache.is_file() else {}
    with ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn")) as pool:
        futures = {pool.submit(score_method, a): ("score", name) for name, a in scorings.items()}
        futures |= {pool.submit(continuation, job): ("cont", j) for j, job in continuations.items() if j not in done}
        for fut in tqdm(as_completed(futures), total=len(futures), desc="LDS jobs"):
            kind, key = futures[fut]
            if kind == "cont":
                done[key] = fut.result()
                atomic_write_json(cache, {str(k): v for k, v in done.items()})
            else:
                fut.result()
    return done


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--attribution", default="/work/data/quickstart/attribution")
    ap.add_argument("--steps", type=int, default=1000, help="window length in steps (a checkpoint must sit at S - steps)")
    ap.add_argument("--m", type=int, default=40, help="number of subsets")
    ap.add_argument("--keep", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--methods", nargs="+", default=list(METHODS))
    ap.add_argument("--out", default="runs/bench_lds")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    record = json.loads((Path(args.attribution) / "config.json").read_text())
    base = AttributionConfig(**record["attribution"])
    S, start = base.step, base.step - args.steps
    if start not in rundir.list_checkpoints(record["run"]):  # replay the run to a checkpoint at start
        record = {**record, "run": str(lds.shadow_run(record["run"], out / "run", start))}
    corpus = PackedCorpus(record["corpus"])
    design = lds.make_design(corpus, start, args.steps, record["global_batch"], args.m, keep_fraction=args.keep, seed=args.seed)
    full = dataclasses.replace(design, keep=np.ones((1, design.keep.shape[1]), dtype=bool))
    half = min(base.probe_half, (corpus.seq_len - 1) // 2)
    probes = probe_tokens(lds.SlotOrder(corpus, design), base.n_probe, half, base.seed)

    def job(d: lds.Design, j: int, name: str) -> lds.Continuation:
        c = lds.subset_corpus(corpus.dir, out / "corpora" / name, d, j)
        return lds.Continuation(record["run"], str(c), str(out / "cont" / name), start, args.steps,
                                tuple(base.heads), base.probe, probes, half)

    conts = {j: job(design, j, f"s{j:03d}") for j in range(args.m)} | {-1: job(full, 0, "full")}
    scorings = {}
    for name in args.methods:
        cfg = base.model_copy(update={"start_step": start, "end_step": S, "sample": None, "threads": 1,
                                      "progress": False, "checkpoint_mode": "end", "strategy": "ekfac",
                                      **METHODS[name]})
        dest = out / "scores" / name
        if not (dest / "_COMPLETE.json").is_file():
            scorings[name] = (record, design, AttributionConfig.model_validate(cfg.model_dump()), str(dest))
    t0 = time.time()
    done = run_jobs(conts, scorings, args.jobs, out / "continuations.json")
    wall = time.time() - t0
    report(args, record, design, done, out, conts[-1], wall)


def checkpoint_probe(job: lds.Continuation, step: int) -> float:
    """The probe of the run's own checkpoint ``step`` (what the all-window continuation must hit)."""
    import torch

    from mda_augment.attribution.heads import parse_heads
    from mda_augment.attribution.probes import get_attribution_probe
    from mda_augment.attribution.task import attention_impl

    model = rundir.load_model_at(job.run, step)
    probe = get_attribution_probe(job.probe)
    with torch.no_grad(), attention_impl(model, "eager" if probe.needs_attention else None):
        return float(probe.fn(model, torch.from_numpy(job.probes), parse_heads(list(job.heads)), job.half).double().sum())


def report(args, record: dict, design: lds.Design, done: dict, out: Path, full: lds.Continuation, wall: float) -> None:
    base = AttributionConfig(**record["attribution"])
    start, S = full.start, full.start + full.steps
    actual = np.array([done[j]["probe"] for j in range(args.m)])
    pm = np.array([done[j]["prefix_matching"] for j in range(args.m)])
    ref = checkpoint_probe(full, S)
    preds, window_only = {}, {}
    for name in args.methods:
        scores = pl.read_parquet(out / "scores" / name / "scores.parquet")
        score_of = dict(zip(scores["seq"].to_list(), scores["score"].to_list(), strict=True))
        preds[name], window_only[name] = design.predictions(score_of), design.window_only(score_of)
    tracin = out / "scores" / "ekfac_qk_tracin" / "checkpoint_scores.parquet"
    if tracin.is_file():  # free: the tracin run scored everything at the window's first checkpoint too
        first = pl.read_parquet(tracin).filter(pl.col("checkpoint") == start)
        score_of = dict(zip(first["seq"].to_list(), first["score"].to_list(), strict=True))
        preds["ekfac_qk_start"], window_only["ekfac_qk_start"] = design.predictions(score_of), design.window_only(score_of)
    rng = np.random.default_rng([args.seed, 3])
    n = len(design.window)
    null = []
    for _ in range(RANDOM_DRAWS):
        fake = dict(zip(np.concatenate([design.window, design.filler]).tolist(), rng.normal(size=2 * n).tolist(), strict=True))
        null.append(lds.spearman(design.predictions(fake), actual))
    preds["random"] = design.predictions(fake)
    cpu = [done[j]["cpu_s"] for j in range(args.m)]
    print(f"attribution {args.attribution}: run {record['run']}, head {','.join(base.heads)}, probe {base.probe}; "
          f"window steps [{start}, {S}) = {n} sequences, m = {args.m} subsets keeping {args.keep:.0%} in place, "
          f"fillers from steps [{S}, {S + args.steps})")
    print(f"continuation faithfulness: all-window continuation probe {done[-1]['probe']:.6g} vs checkpoint {S} "
          f"{ref:.6g} (rel diff {abs(done[-1]['probe'] / ref - 1):.1e})")
    print(f"measured probe over subsets: mean {actual.mean():.5g}, SD {actual.std(ddof=1):.4g} (checkpoint {S}: {ref:.5g}); "
          f"prefix matching mean {pm.mean():.4f}, SD {pm.std(ddof=1):.4f}")
    print(f"wall {wall:.0f} s with {args.jobs} processes; continuation CPU {np.mean(cpu):.0f} s each "
          f"({np.sum(cpu) / 60:.1f} CPU-min in all)")
    for target, values in (("probe (copy_target, primary)", actual), ("prefix matching of the target head", pm)):
        table = lds.lds_table(preds, values, PRIMARY)
        print(f"\nLDS against {target}; prediction = sum of scores of the consumed sequences (window kept + fillers)")
        print("| method | LDS | 95% CI | diff vs ekfac_qk_end | 95% CI | p (bootstrap) | p Holm | window-only LDS |")
        print("|---|---|---|---|---|---|---|---|")
        for r in table.iter_rows(named=True):
            w = lds.spearman(window_only[r["method"]], values) if r["method"] in window_only else float("nan")
            print(f"| {r['method']} | {r['lds']:.3f} | [{r['ci_low']:.3f}, {r['ci_high']:.3f}] | "
                  f"{r[f'diff_vs_{PRIMARY}']:+.3f} | [{r['diff_ci_low']:.3f}, {r['diff_ci_high']:.3f}] | "
                  f"{r['p_diff']:.3g} | {r['p_holm']:.3g} | {w:.3f} |")
        if target.startswith("probe"):
            q = np.quantile(null, [0.025, 0.975])
            print(f"random scores ({RANDOM_DRAWS} draws): LDS mean {np.mean(null):+.3f}, 95% of draws in [{q[0]:.3f}, {q[1]:.3f}]")
            pair = lds.lds_table({PRIMARY: preds[PRIMARY], COMPARATOR: preds[COMPARATOR]}, values, COMPARATOR)
            r = pair.filter(pl.col("method") == PRIMARY).row(0, named=True)
            print(f"primary: LDS({PRIMARY}) = {r['lds']:.3f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}]; "
                  f"minus {COMPARATOR}: {r[f'diff_vs_{COMPARATOR}']:+.3f} [{r['diff_ci_low']:.3f}, {r['diff_ci_high']:.3f}], "
                  f"p = {r['p_diff']:.3g}")
    frame = pl.DataFrame({"subset": list(range(args.m)), "probe": actual, "prefix_matching": pm,
                          **{f"pred_{k}": v for k, v in preds.items()}})
    frame.write_parquet(out / "lds_subsets.parquet")


if __name__ == "__main__":
    main()
