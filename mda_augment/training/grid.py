"""Train many runs side by side: one fresh single-thread process each, ``jobs`` at a time.

Two one-thread jobs on two cores each keep 90-100% of their solo speed (FACTS.md), so runs are
separate processes (spawned: no forked torch state), each resuming from its own checkpoints;
rerunning after a crash only finishes what is missing. While they train, a
:class:`~.progress.Board` shows every run's step, loss, score and ETA.

A worker's failure comes back as the same one-line :class:`~mda_augment.errors.MdaError` the
CLI prints: configuration errors are re-validated into :class:`ConfigError` inside the worker,
and anything unexpected becomes :class:`RunFailed` naming the run and the log file that holds
its traceback (``error.log`` in the run directory).
"""

from __future__ import annotations

import multiprocessing as mp
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from ..artifacts import atomic_write_text, is_complete
from ..config import validate
from ..errors import MdaError
from .progress import Board

ERROR_LOG = "error.log"


class RunFailed(MdaError):
    """A training run died of something that is not a user error (its traceback is on disk)."""


def train_one(cfg_dict: dict) -> str:
    """Worker entry (a fresh process): train or resume one run; errors come back as MdaError."""
    from .config import TrainConfig
    from .loop import train

    out = Path(cfg_dict["out"])
    try:
        return str(train(validate(TrainConfig, cfg_dict, f"run {out}")))
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


def train_runs(jobs: list[dict], parallel: int, title: str, root: Path | None = None) -> None:
    """Train every job (a TrainConfig dict) not yet complete, ``parallel`` at a time.

    On the first failure the runs not yet started are cancelled and the error is raised; runs
    already training finish their current step and stop with the pool.
    """
    todo = [j for j in jobs if not is_complete(j["out"])]
    if not todo:
        return
    labels = {run_label(Path(j["out"]), root or Path(j["out"]).parent): Path(j["out"]) for j in jobs}
    ctx = mp.get_context("spawn")
    with Board(labels, title), ProcessPoolExecutor(max_workers=min(parallel, len(todo)), mp_context=ctx) as pool:
        futures = [pool.submit(train_one, j) for j in todo]
        try:
            for fut in as_completed(futures):
                fut.result()
        except BaseException:
            for f in futures:
                f.cancel()
            raise
