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
one-thread jobs on two cores each keep 90-100% of their solo speed, FACTS.md), ``ray`` (one
Ray task per run; options are the train section's Ray settings) and ``inline``. Both pools
are :func:`mda_augment.training.grid.train_runs`, so the experiment shows the same live board
as ``train`` and a worker's failure is the same one-line error. A batched
trainer registers itself with ``BACKENDS.add_lazy("batched", "mda_augment.training.batched:FN")``.
This module stays light (no torch at import): configs validate the backend name against it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..registry import Registry

Backend = Callable[..., None]  # (jobs, parallel, **options of training.grid.train_runs)
BACKENDS: Registry[Backend] = Registry("training backend")


def _common_root(configs: list[dict]) -> Path:
    """The experiment directory the runs live under (labels on the progress board)."""
    return Path(os.path.commonpath([c["out"] for c in configs])) if configs else Path(".")


@BACKENDS.register("process")
def process_pool(configs: list[dict], jobs: int, **options: Any) -> None:
    """One fresh single-thread process per run, ``jobs`` at a time, with the live progress board
    (step, loss, target score and ETA per run: :func:`mda_augment.training.grid.train_runs`)."""
    from ..training.grid import train_runs

    train_runs(configs, jobs, "experiment", root=_common_root(configs), backend="local")


@BACKENDS.register("ray")
def ray_tasks(configs: list[dict], jobs: int, **options: Any) -> None:
    """One Ray task per run (local Ray, or the cluster the train section names); an arm's task
    waits in its worker for its trunk's checkpoint, so trunks are submitted first."""
    from ..training.grid import train_runs

    train_runs(configs, jobs, "experiment", root=_common_root(configs), backend="ray", **options)


@BACKENDS.register("inline")
def inline(configs: list[dict], jobs: int, **options: Any) -> None:
    """Train in this process, one after another (debugging; tests that must not spawn)."""
    from ..training.branch import start_branch
    from ..training.config import TrainConfig
    from ..training.loop import train

    for job in configs:
        train(TrainConfig(**start_branch(job)))
