"""Training backends: how a list of run configs becomes trained run directories.

A backend is a function ``backend(jobs: list[dict], parallel: int) -> None`` where each job
holds the fields of one :class:`mda_augment.training.config.TrainConfig` and, for a branched
arm, ``branch = {"trunk": run_dir, "step": B}``. It must leave each ``job["out"]`` a complete
run directory (``_COMPLETE.json``), resuming from whatever checkpoints the directory holds.
For a job with ``branch`` it first calls
:func:`mda_augment.experiments.spawn.seed_checkpoint` (copies the trunk's checkpoint B into
the new run, waiting while the trunk is still training), after which "resume from the newest
checkpoint" is all branching needs. Jobs come trunks first, then arms seed by seed; jobs in one
call may differ in corpus, seed and starting step, so a batched backend (k seeds as one
vmapped model) groups what it can (same preset, steps and start step) and trains the rest alone.

Registered: ``process`` (one fresh single-thread process per run, ``jobs`` at a time: two
one-thread jobs on two cores each keep 90-100% of their solo speed, FACTS.md). A batched
trainer registers itself with ``BACKENDS.add_lazy("batched", "mda_augment.training.batched:FN")``.
This module stays light (no torch at import): configs validate the backend name against it.
"""

from __future__ import annotations

from collections.abc import Callable

from ..registry import Registry

Backend = Callable[[list[dict], int], None]  # (jobs, parallel)
BACKENDS: Registry[Backend] = Registry("training backend")


TRUNK_WAIT_S = 24 * 3600.0  # an arm waits at most this long for its trunk's branch checkpoint


def _train_one(job: dict) -> str:
    """Worker entry (a fresh process): seed an arm from its trunk if needed, then train or resume."""
    from ..training.config import TrainConfig
    from ..training.loop import train
    from .spawn import seed_checkpoint

    job = dict(job)
    branch = job.pop("branch", None)
    if branch is not None:
        seed_checkpoint(branch["trunk"], branch["step"], job["out"], wait_s=TRUNK_WAIT_S)
    return str(train(TrainConfig(**job)))


@BACKENDS.register("process")
def process_pool(configs: list[dict], jobs: int) -> None:
    """Train each config in its own spawned process, ``jobs`` at a time, with a progress bar."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from tqdm import tqdm

    if not configs:
        return
    ctx = mp.get_context("spawn")  # no forked torch state
    with ProcessPoolExecutor(max_workers=min(jobs, len(configs)), mp_context=ctx) as pool:
        futures = {pool.submit(_train_one, c): c["out"] for c in configs}
        for fut in tqdm(as_completed(futures), total=len(futures), desc="experiment runs", unit="run"):
            fut.result()


@BACKENDS.register("inline")
def inline(configs: list[dict], jobs: int) -> None:
    """Train in this process, one after another (debugging; tests that must not spawn)."""
    for job in configs:
        _train_one(job)
