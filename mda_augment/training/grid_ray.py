"""The grid runner's Ray backend: every training run is one Ray task.

A task trains (or resumes) its run in the run directory given in its job, exactly as a local
worker does (same :func:`~.grid.train_one`, one thread, same data order), so results do not
depend on the backend. Fault tolerance comes from the run directory: Ray reruns a task whose
worker process or node died (``max_retries``), and the new attempt resumes from the run's last
checkpoint, so a killed worker loses at most the steps since then. Unexpected exceptions
(:class:`~.grid.RunFailed`, traceback in ``error.log``) are retried too (``retry_exceptions``);
the user's own one-line :class:`~mda_augment.errors.MdaError` (a bad config, a missing corpus) is
not retried and comes back as the same line.

Resources: each task asks for ``num_cpus`` (default 1) and ``num_gpus`` (default 1 for runs with
``device: cuda``, else 0; Ray hides the GPUs from a task that asked for none). On a local Ray,
whose resources are fixed, a run asking for more GPUs than exist is refused at once (Ray would
queue it forever). At most ``parallel`` tasks are in flight, as with the local runner. Without an address (``ray_address``
or ``$RAY_ADDRESS``) a local Ray with ``parallel x num_cpus`` CPUs is started and shut down at
the end; an already initialised Ray (``ray.init`` by the caller) is used as it is.

Filesystem: tasks read the packed corpus and write the run directories at the paths in the
jobs, so every node must see them at the same paths: one machine, or a filesystem shared by
the cluster (NFS, Lustre, a mounted bucket). The driver writes a token into each run's
``worker.json`` before submitting; a task that cannot read it fails at once (not retried)
with a one-line ArtifactError naming the node, instead of training into a directory the
driver never sees. So on a cluster **without** a shared filesystem the user sees that line for
the first run and nothing trains; the progress board, which reads ``progress.json`` on the
driver's machine, would have shown such runs as "waiting" throughout. On a shared filesystem
the board works as on one machine (a few seconds late where the filesystem caches attributes).
Every worker needs mda-augment importable (a local Ray passes the driver's ``sys.path`` on).
"""

from __future__ import annotations

import math
import os
import secrets
import socket
from collections.abc import Callable
from pathlib import Path

from ..artifacts import atomic_write_json, is_complete, read_json
from ..errors import ArtifactError, ConfigError, EnvironmentUnavailable, MdaError
from .grid import WORKER, RunFailed, train_one


def ray_task(cfg_dict: dict, token: str) -> tuple[str, str]:
    """One Ray task: check the run directory is the driver's, then train; (run dir, host)."""
    out = Path(cfg_dict["out"])
    try:
        seen = read_json(out / WORKER).get("token")
    except (OSError, ValueError):
        seen = None
    if seen != token:
        raise ArtifactError(
            f"run {out}: not visible from Ray node {socket.gethostname()} (the driver's "
            f"{WORKER} is missing there); the ray backend needs the run root and the corpus on a "
            f"filesystem every node shares, or use backend local")
    return train_one(cfg_dict, backend="ray", token=token), socket.gethostname()


def _absolute(job: dict) -> dict:
    """Paths made absolute on the driver (a worker's working directory is not the driver's)."""
    return {**job, "out": str(Path(job["out"]).absolute()), "corpus": str(Path(job["corpus"]).absolute())}


def connect(address: str | None, cpus: int):
    """Import Ray and join (or start) a session; returns (ray, whether we started it)."""
    try:
        import ray
    except ImportError:
        raise EnvironmentUnavailable("backend 'ray' needs the ray package: pip install "
                                     "'mda-augment[ray]'; or use backend local") from None
    if ray.is_initialized():
        return ray, False
    kwargs = {"address": address} if address else {"num_cpus": cpus, "include_dashboard": False}
    ray.init(log_to_driver=False, logging_level="ERROR", **kwargs)
    return ray, True


def _gpus(job: dict, num_gpus: float | None) -> float:
    return num_gpus if num_gpus is not None else float(job.get("device") == "cuda")


def _check_feasible(ray, jobs: list[dict], num_gpus: float | None) -> None:
    """On a local Ray (fixed resources) a task asking for more GPUs than exist would wait forever."""
    have = ray.cluster_resources().get("GPU", 0.0)
    for job in jobs:
        if _gpus(job, num_gpus) > have:
            raise ConfigError(f"run {job['out']}: asks Ray for {_gpus(job, num_gpus):g} GPU(s), this "
                              f"machine's Ray has {have:g}; set train.ray_num_gpus: 0 and options.device: "
                              f"auto, or join a GPU cluster with train.ray_address")


def _failure(ray, err: Exception, job: dict, max_retries: int) -> MdaError:
    """The one line a failed task comes back as."""
    cause = getattr(err, "cause", None)
    if isinstance(err, ray.exceptions.RayTaskError) and isinstance(cause, MdaError):
        return cause
    if isinstance(err, ray.exceptions.RayTaskError):
        return RunFailed(f"run {job['out']} failed on Ray ({type(cause).__name__}: {str(cause)[:200]})")
    return RunFailed(f"run {job['out']}: its Ray worker was lost {max_retries + 1} times "
                     f"({type(err).__name__}); rerun to resume it from its last checkpoint")


def run_on_ray(todo: list[dict], parallel: int, finished: Callable[[dict], None] = lambda job: None, *,
               address: str | None = None, num_cpus: float = 1.0,
               num_gpus: float | None = None, max_retries: int = 3) -> None:
    """Train ``todo`` as Ray tasks, ``parallel`` in flight; raise the first failure as one line.

    ``finished(job)`` is called on the driver as each run completes.
    """
    address = address or os.environ.get("RAY_ADDRESS")
    ray, started = connect(address, max(1, math.ceil(parallel * num_cpus)))
    try:
        if not address:
            _check_feasible(ray, todo, num_gpus)
        remote = ray.remote(ray_task)
        queue = [_absolute(j) for j in todo]
        pending: dict = {}
        try:
            while queue or pending:
                while queue and len(pending) < parallel:
                    job = queue.pop(0)
                    token = secrets.token_hex(8)
                    atomic_write_json(Path(job["out"]) / WORKER, {"token": token, "backend": "ray"})
                    ref = remote.options(num_cpus=num_cpus, num_gpus=_gpus(job, num_gpus), max_retries=max_retries,
                                         retry_exceptions=[RunFailed]).remote(job, token)
                    pending[ref] = job
                done, _ = ray.wait(list(pending), num_returns=1)
                job = pending.pop(done[0])
                try:
                    _, host = ray.get(done[0])
                except ray.exceptions.RayError as err:
                    raise _failure(ray, err, job, max_retries) from None
                if not is_complete(job["out"]):
                    raise ArtifactError(f"run {job['out']} finished on Ray node {host} but is not "
                                        f"complete here; use a filesystem every node shares")
                finished(job)
        except BaseException:
            for ref in pending:
                ray.cancel(ref, force=True)
            raise
    finally:
        if started:
            ray.shutdown()
