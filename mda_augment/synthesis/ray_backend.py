"""Optional Ray backend: shards computed on a Ray cluster, saved by the driver.

Each Ray task is :func:`~mda_augment.synthesis.synthesize.compute_shard`, which writes
nothing and returns the documents, so workers need no shared filesystem; the driver saves
shards and assembles the store exactly as with the local backend. Every worker machine needs
mda-augment installed (and runs the same sandbox, so its kernel must offer the level asked).
Ray stays out of the default install: ``pip install 'mda-augment[ray]'``. ``RAY_ADDRESS``
selects a running cluster; without it a local Ray instance is started.
"""

from __future__ import annotations

import os

from ..errors import EnvironmentUnavailable


def ray_runner(workers: int):
    """A runner (list of tasks -> list of records) that executes shards as Ray tasks."""
    try:
        import ray
    except ImportError:
        raise EnvironmentUnavailable(
            "backend 'ray' needs the ray package: pip install 'mda-augment[ray]'; "
            "or use --backend local"
        ) from None
    from .shard import compute_shard, save_shard

    if not ray.is_initialized():
        address = os.environ.get("RAY_ADDRESS")
        kwargs = {} if address else {"num_cpus": workers, "include_dashboard": False}
        ray.init(address=address, log_to_driver=False, **kwargs)
    remote = ray.remote(num_cpus=1)(compute_shard)

    def run(tasks):
        refs = [remote.remote(*task[:5]) for task in tasks]
        return [save_shard(task[5], *ray.get(ref)) for task, ref in zip(tasks, refs, strict=True)]

    return run
