"""Training backends: how a list of run configs becomes trained run directories.

A backend is a function ``backend(configs: list[dict], jobs: int) -> None`` where each config
holds the fields of one :class:`mda_augment.training.config.TrainConfig`. It must leave each
``config["out"]`` a complete run directory (``_COMPLETE.json``), resuming from whatever
checkpoints the directory already holds: branched arms arrive with a copy of their trunk's
checkpoint already in place (see :func:`mda_augment.experiments.spawn.seed_checkpoint`), so
"resume from the newest checkpoint" is all a backend needs to support branching. Configs in
one call may differ in corpus, seed and starting step; a batched backend (k seeds as one
vmapped model) groups what it can and trains the rest one by one.

Registered: ``process`` (one fresh single-thread process per run, ``jobs`` at a time: two
one-thread jobs on two cores each keep 90-100% of their solo speed, FACTS.md). A batched
trainer registers itself with ``BACKENDS.add_lazy("batched", "mda_augment.training.batched:FN")``.
This module stays light (no torch at import): configs validate the backend name against it.
"""

from __future__ import annotations

from collections.abc import Callable

from ..registry import Registry

Backend = Callable[[list[dict], int], None]
BACKENDS: Registry[Backend] = Registry("training backend")


def _train_one(cfg_dict: dict) -> str:
    """Worker entry (a fresh process): train or resume one run."""
    from ..training.config import TrainConfig
    from ..training.loop import train

    return str(train(TrainConfig(**cfg_dict)))


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
    for c in configs:
        _train_one(c)
