"""Train many runs side by side: ``jobs`` at a time, as local processes or as Ray tasks.

Backends:

- ``local`` (default): one fresh single-thread process per run (spawned: no forked torch
  state). Two one-thread jobs on two cores each keep 90-100% of their solo speed (FACTS.md).
- ``ray``: one Ray task per run (see :mod:`.grid_ray`), on a local Ray by default or on any
  cluster (``ray_address``, else ``$RAY_ADDRESS``). A task whose worker dies is retried and
  resumes from the run's last checkpoint.

Either way a run trains or resumes in its own run directory, so rerunning after a crash only
finishes what is missing, and a run's results do not depend on the backend (same code, same
thread count, same data order). While they train, a :class:`~.progress.Board` shows every
run's step, loss, score and ETA by reading the runs' ``progress.json`` files.

A worker's failure comes back as the same one-line :class:`~mda_augment.errors.MdaError` the
CLI prints: configuration errors are re-validated into :class:`ConfigError` inside the worker,
and anything unexpected becomes :class:`RunFailed` naming the run and the log file that holds
its traceback (``error.log`` in the run directory).
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import socket
import time
import traceback
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Literal

from ..artifacts import atomic_write_json, atomic_write_text, is_complete, read_json
from ..config import validate
from ..errors import ConfigError, MdaError
from .progress import Board
from .throughput import THROUGHPUT, summary_line

ERROR_LOG = "error.log"
WORKER = "worker.json"  # which process and host trains the run (pid, host, backend, started)

Backend = Literal["local", "ray"]


class RunFailed(MdaError):
    """A training run died of something that is not a user error (its traceback is on disk)."""


def write_worker(out: Path, backend: str, **extra: object) -> None:
    """Record in the run directory which process trains it (to watch it, or to kill it).

    ``attempt`` counts the starts of one Ray submission (the driver's ``token``): 2 after Ray
    retried the run once. Local runs are always attempt 1.
    """
    path = Path(out) / WORKER
    try:
        prior = read_json(path)
    except (OSError, ValueError):
        prior = {}
    same = "token" in extra and prior.get("token") == extra["token"]
    atomic_write_json(path, {**extra, "pid": os.getpid(), "host": socket.gethostname(), "backend": backend,
                             "started": time.time(), "attempt": prior.get("attempt", 0) + 1 if same else 1})


def train_one(cfg_dict: dict, backend: str = "local", **worker: object) -> str:
    """Worker entry (a fresh process or a Ray task): train or resume one run.

    A job with ``branch = {"trunk": run_dir, "step": B}`` starts from the trunk's checkpoint B
    (waiting while the trunk trains; see :mod:`.branch`).

    Errors come back as MdaError: the user's own as they are, anything else as RunFailed.
    ``worker`` is recorded in the run's ``worker.json`` beside this process's pid and host.
    """
    from .branch import start_branch
    from .config import TrainConfig
    from .loop import train

    out = Path(cfg_dict["out"])
    try:
        cfg_dict = start_branch(cfg_dict)  # an experiment's arm: copy its trunk's checkpoint first
        cfg = validate(TrainConfig, cfg_dict, f"run {out}")
        write_worker(out, backend, **worker)
        return str(train(cfg))
    except MdaError:
        raise
    except Exception as err:  # noqa: BLE001 - becomes one line plus a traceback file
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / ERROR_LOG, traceback.format_exc())
        raise RunFailed(f"run {out} failed ({type(err).__name__}: {str(err)[:200]}); "
                        f"traceback in {out / ERROR_LOG}") from None


def run_label(out: Path, root: Path) -> str:
    try:
        return str(Path(out).relative_to(root))
    except ValueError:
        return str(out)


def train_runs(jobs: list[dict], parallel: int, title: str, root: Path | None = None, *,
               backend: Backend = "local", ray_address: str | None = None, num_cpus: float = 1.0,
               num_gpus: float | None = None, max_retries: int = 3) -> None:
    """Train every job (a TrainConfig dict) not yet complete, ``parallel`` at a time.

    Args:
        jobs: one TrainConfig dict per run (``out`` is its run directory).
        parallel: runs in flight at once (processes, or Ray tasks submitted at a time).
        title: the progress board's title.
        root: run labels on the board are relative to it.
        backend: ``local`` or ``ray``; the rest of the arguments are Ray's.
        ray_address: cluster to join (default ``$RAY_ADDRESS``; neither: a local Ray of
            ``parallel x num_cpus`` CPUs, shut down afterwards).
        num_cpus: CPUs Ray reserves per run.
        num_gpus: GPUs Ray reserves per run (default: 1 for runs with ``device: cuda``, else 0).
        max_retries: how often Ray reruns a run whose worker died or crashed.

    On the first failure the runs not yet started are cancelled and the error is raised (on
    Ray, runs in flight are stopped too; a rerun resumes them from their last checkpoint).
    """
    if backend not in ("local", "ray"):
        raise ConfigError(f"training backend {backend!r}: unknown; use local or ray")
    todo = [j for j in jobs if not is_complete(j["out"])]
    if not todo:
        return
    labels = {run_label(Path(j["out"]), root or Path(j["out"]).parent): Path(j["out"]) for j in jobs}
    with Board(labels, title) as board:
        def finished(job: dict) -> None:
            out = Path(job["out"])
            with contextlib.suppress(OSError, ValueError, KeyError):
                board.console.print(summary_line(f"{title} {run_label(out, root or out.parent)}",
                                                 read_json(out / THROUGHPUT)), highlight=False, soft_wrap=True)

        if backend == "ray":
            from .grid_ray import run_on_ray

            run_on_ray(todo, parallel, finished, address=ray_address, num_cpus=num_cpus,
                       num_gpus=num_gpus, max_retries=max_retries)
        else:
            _run_local(todo, parallel, finished)


def _run_local(todo: list[dict], parallel: int, finished: Callable[[dict], None]) -> None:
    ctx = mp.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(parallel, len(todo)), mp_context=ctx,
                             initializer=worker_init) as pool:
        futures = {pool.submit(train_one, j): j for j in todo}
        pending = set(futures)
        try:
            while pending:
                # A timed wait: an untimed one blocks the main thread where a signal delivered to
                # another thread (the board's, the pool's) never wakes it, so Ctrl-C would hang.
                done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                for fut in done:
                    fut.result()
                    finished(futures[fut])
        except BaseException as err:
            for f in futures:
                f.cancel()
            if not isinstance(err, Exception):  # Ctrl-C or exit: stop the runs in flight now
                stop_workers()
            raise


def worker_init() -> None:
    """Workers leave Ctrl-C to the driver, which stops them (no traceback from every worker),
    and die with it: a driver killed with SIGKILL would otherwise leave them training (on Linux,
    ``PR_SET_PDEATHSIG``; a rerun resumes from the last checkpoint either way)."""
    import ctypes
    import signal
    import sys

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)


def stop_workers(grace_s: float = 5.0) -> None:
    """Terminate this process's worker processes (leaving the pool would otherwise wait for every
    run in flight to finish). A stopped run resumes from its last checkpoint on the next call."""
    children = mp.active_children()
    for child in children:
        child.terminate()
    deadline = time.monotonic() + grace_s
    for child in children:
        child.join(max(0.0, deadline - time.monotonic()))
        if child.is_alive():
            child.kill()
