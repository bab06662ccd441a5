"""Run the in-place removal study: trunks, each seed's own attribution, then the removal arms.

    nice -n 10 python benchmarks/run_removal_study.py benchmarks/removal_study.yaml \\
        --base /work/data/quickstart/pack --out /work/data/removal

An arm that removes a seed's top-scored sequences can only be built once that seed's trunk is
trained and attributed, so the experiment engine's one-call runner (every arm's order is built
before anything trains) cannot schedule it. This driver keeps ``--slots`` child processes busy
with whichever task is ready, in priority order: trunks, then attributions, then the arms in the
order the config lists them (the pre-registered primary family first). Every task is resumable
(complete runs and attributions are skipped), so rerunning the command continues the study.
After each arm it rewrites the summary over the seeds whose every *listed* arm is complete;
``--stop-at YYYY-MM-DDTHH:MM`` (UTC) starts no new task after that time, as the
pre-registration states.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from mda_augment.artifacts import is_complete
from mda_augment.config import load_yaml
from mda_augment.experiments.config import ExperimentConfig
from mda_augment.experiments.runner import (
    build_contents,
    complete_seeds,
    run_dir,
    train_configs,
    write_summary,
)
from mda_augment.experiments.spawn import backend_job

ATTRIBUTION = {"probe": "copy_target", "mode": "qk", "factor_examples": 512, "train_batch": 16, "threads": 1}


def attribution_dir(out: Path, seed: int) -> Path:
    return out / "attribution" / f"seed{seed}"


def attribute_seed(cfg: ExperimentConfig, out: Path, seed: int) -> None:
    """Score every sequence of the window with the seed's trunk at the window's end, its top head."""
    from mda_augment.attribution.runs import attribute_run

    lo, hi = cfg.window_steps
    attribute_run(run_dir(out, "baseline", cfg.scales[0], seed), attribution_dir(out, seed), heads="top",
                  step=hi, end_step=hi, start_step=lo, **ATTRIBUTION)


def prepare(cfg: ExperimentConfig, base: Path, out: Path, variant: str, seed: int):
    """The arm's content and its order for the seed (idempotent); the design is registered here.

    The driver calls it before it starts the child, so two children never build one directory."""
    (spec,) = train_configs(cfg, out, build_contents(cfg, base, out, [variant]), [seed])
    return spec


def train_arm(cfg: ExperimentConfig, base: Path, out: Path, variant: str, seed: int) -> None:
    from mda_augment.training.grid import train_one

    train_one(backend_job(prepare(cfg, base, out, variant, seed)))


def tasks(cfg: ExperimentConfig) -> list[tuple[str, str, int]]:
    """(kind, variant, seed) in priority order."""
    arms = [v for v in cfg.variants if v != "baseline"]
    return ([("trunk", "baseline", s) for s in cfg.seeds] + [("attr", "", s) for s in cfg.seeds]
            + [("arm", v, s) for v in arms for s in cfg.seeds])


def done(cfg: ExperimentConfig, out: Path, task: tuple[str, str, int]) -> bool:
    kind, variant, seed = task
    if kind == "attr":
        return is_complete(attribution_dir(out, seed))
    return is_complete(run_dir(out, variant, cfg.scales[0], seed))


def ready(cfg: ExperimentConfig, out: Path, task: tuple[str, str, int]) -> bool:
    kind, _, seed = task
    if kind == "trunk":
        return True
    if kind == "attr":
        return done(cfg, out, ("trunk", "baseline", seed))
    # an arm's content is cut with seed 0's scores (mix.default_plan), its order with its own seed's
    return done(cfg, out, ("attr", "", seed)) and done(cfg, out, ("attr", "", cfg.seeds[0]))


def summarize(cfg: ExperimentConfig, out: Path, log) -> None:
    """The summary over the seeds whose every arm is complete; until two such seeds exist, one
    summary per dose family (``family_<tag>``) over the seeds that family has complete."""
    seeds = complete_seeds(cfg, out)
    if len(seeds) >= 2:
        write_summary(cfg, out, seeds)
        log(f"summary over seeds {seeds} (every arm)")
        return
    for tag in sorted({v.rsplit("_", 1)[-1] for v in cfg.variants if v != "baseline"}):
        names = ["baseline"] + [v for v in cfg.variants if v.endswith("_" + tag)]
        sub = cfg.model_copy(update={"variants": {n: cfg.variants[n] for n in names},
                                     "stats": cfg.stats.model_copy(update={"compare": [
                                         c for c in cfg.stats.compare if set(c) <= set(names)]})})
        seeds = complete_seeds(sub, out)
        if len(seeds) >= 2:
            fam = out / f"family_{tag}"
            fam.mkdir(exist_ok=True)
            for link in ("runs", "preregistration.json"):
                if not (fam / link).exists():
                    (fam / link).symlink_to(out / link)
            write_summary(sub, fam, seeds)
            log(f"summary of the {tag} family over seeds {seeds} in {fam}")


def facts(cfg: ExperimentConfig, out: Path) -> str:
    """Per arm and seed: slots removed, where the fill came from, and the model-token repeat share
    of what was removed against the whole window (what the model would have seen there)."""
    import numpy as np

    from mda_augment.artifacts import read_json
    from mda_augment.corpus.packed import PackedCorpus
    from mda_augment.experiments.mix import manifest
    from mda_augment.structure.stats import induction_predictable_share

    scale = cfg.scales[0]

    def share(corpus: PackedCorpus, seqs) -> float:
        rows = np.asarray(corpus.tokens[np.sort(np.asarray(seqs))])
        return float(np.mean([induction_predictable_share(r.tolist(), context=corpus.seq_len) for r in rows]))

    def corpus_of(variant: str, seed: int) -> Path | None:
        """The packed corpus the run trained on (as recorded by the run, so reused runs count)."""
        record = run_dir(out, variant, scale, seed) / "config.json"
        return Path(read_json(record)["corpus"]) if record.is_file() else None

    lines = ["| arm | seed | removed slots | of window | fill never consumed | same positions (window) | "
             "repeat share removed | repeat share window |", "|---|---|---|---|---|---|---|---|"]
    for v in [v for v in cfg.variants if v != "baseline"]:
        for seed in cfg.seeds:
            d, base = corpus_of(v, seed), corpus_of("baseline", seed)
            if d is None or base is None:
                continue
            m, corpus = manifest(d), PackedCorpus(d)
            lo, hi = (x * (m["budget"] // cfg.steps) for x in cfg.window_steps)  # steps -> positions
            window = np.load(base / "order.npy")[lo:hi]
            rng = np.random.default_rng(0)
            lines.append(f"| {v} | {seed} | {m['removed_slots']:,} | {m['removed_slots'] / (hi - lo):.3f} | "
                         f"{m['fill_never_consumed']:,} | {m['same_fraction_window']:.3f} | "
                         f"{share(corpus, m['removed_sequences'][:2000]):.3f} | "
                         f"{share(corpus, rng.choice(window, min(2000, len(window)), replace=False)):.3f} |")
    return "\n".join(lines)


def log_ratios(cfg: ExperimentConfig, out: Path) -> str:
    """Post hoc, not pre-registered: top vs random per dose as the paired t on log(AUC ratio)
    per seed, Holm over the doses (the relative effect; see removal_study.md)."""
    import numpy as np
    import polars as pl
    from scipy import stats
    from statsmodels.stats.multitest import multipletests

    from mda_augment.experiments.config import RESULTS

    results = pl.read_parquet(out / RESULTS)
    auc = {v: dict(zip(g["seed"].to_list(), g["auc"].to_list(), strict=True)) for (v,), g in results.group_by("variant")}
    doses = [v.removeprefix("remove_top_") for v in cfg.variants if v.startswith("remove_top_")]
    rows = []
    for dose in doses:
        top, rand = auc[f"remove_top_{dose}"], auc[f"remove_random_{dose}"]
        d = np.array([np.log(top[s] / rand[s]) for s in sorted(top)])
        lo, hi = stats.t.interval(0.95, len(d) - 1, loc=d.mean(), scale=stats.sem(d))
        rows.append((dose, d, lo, hi, stats.ttest_1samp(d, 0).pvalue))
    holm = multipletests([r[-1] for r in rows], method="holm")[1]
    pct = lambda x: 100 * (np.exp(x) - 1)  # noqa: E731 - log ratio -> percent change
    lines = ["| dose | top vs random [95% CI] | p | Holm | per seed | SD of log ratio |", "|---|---|---|---|---|---|"]
    for (dose, d, lo, hi, p), ph in zip(rows, holm, strict=True):
        lines.append(f"| {dose} | {pct(d.mean()):+.1f}% [{pct(lo):+.1f}, {pct(hi):+.1f}] | {p:.2g} | {ph:.2g} | "
                     + ", ".join(f"{pct(x):+.0f}%" for x in d) + f" | {d.std(ddof=1):.2f} |")
    return "\n".join(lines)


def child(args: argparse.Namespace) -> None:
    cfg = load_yaml(args.config, ExperimentConfig)
    kind, variant, seed = args.task.split(":")
    if kind == "attr":
        attribute_seed(cfg, args.out, int(seed))
    else:
        train_arm(cfg, args.base, args.out, variant, int(seed))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config", type=Path)
    ap.add_argument("--base", type=Path, required=True, help="packed corpus")
    ap.add_argument("--out", type=Path, required=True, help="experiment directory")
    ap.add_argument("--slots", type=int, default=2, help="child processes at once")
    ap.add_argument("--stop-at", default=None, help="UTC time (YYYY-MM-DDTHH:MM) after which no new task starts")
    ap.add_argument("--facts", action="store_true", help="print what each arm removed, then exit")
    ap.add_argument("--log-ratios", action="store_true", help="print the post-hoc log-AUC table, then exit")
    ap.add_argument("--task", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.task:
        return child(args)
    if args.facts:
        return print(facts(load_yaml(args.config, ExperimentConfig), args.out))
    if args.log_ratios:
        return print(log_ratios(load_yaml(args.config, ExperimentConfig), args.out))
    cfg = load_yaml(args.config, ExperimentConfig)
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()

    def log(msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S', time.gmtime())} +{(time.time() - t0) / 60:.1f} min] {msg}", flush=True)

    def past_stop() -> bool:
        if args.stop_at is None:
            return False
        return datetime.now(timezone.utc) >= datetime.fromisoformat(args.stop_at).replace(tzinfo=timezone.utc)

    running: dict[tuple[str, str, int], subprocess.Popen] = {}
    current = False  # the summary reflects every arm finished so far
    while True:
        for task, proc in list(running.items()):
            if proc.poll() is not None:
                del running[task]
                log(f"{':'.join(map(str, task))} exited {proc.returncode}")
                if proc.returncode != 0:
                    sys.exit(f"task {task} failed; see its output above; rerun to resume")
                if task[0] == "arm":
                    summarize(cfg, args.out, log)
                    current = True
        todo = [t for t in tasks(cfg) if t not in running and not done(cfg, args.out, t)]
        if not todo and not running:
            log("every task complete")
            if not current:  # a rerun of a finished study: nothing summarized in this process yet
                summarize(cfg, args.out, log)
            return
        if past_stop() and not running:
            log(f"stop time {args.stop_at} UTC passed; {len(todo)} tasks not started")
            return
        while len(running) < args.slots and not past_stop():
            nxt = next((t for t in todo if t not in running and ready(cfg, args.out, t)), None)
            if nxt is None:
                break
            if nxt[0] != "attr":
                prepare(cfg, args.base, args.out, nxt[1], nxt[2])
            cmd = [sys.executable, __file__, str(args.config), "--base", str(args.base), "--out", str(args.out),
                   "--task", ":".join(map(str, nxt))]
            running[nxt] = subprocess.Popen(cmd)
            current = False
            log(f"start {':'.join(map(str, nxt))}")
        time.sleep(10)


if __name__ == "__main__":
    main()
