"""Branching a run from another's checkpoint: the arm of an experiment continues its trunk.

The new run directory gets a copy of the trunk's checkpoint at step B (weights, optimizer,
RNG); the trainer then resumes from it as if it had crashed there, so an arm with nothing
changed is the trunk itself, bit for bit (resuming is exact, tests/training).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from ..artifacts import MARKER, is_complete
from ..errors import ArtifactError
from . import rundir

TRUNK_WAIT_S = 24 * 3600.0  # an arm waits at most this long for its trunk's branch checkpoint


def seed_checkpoint(trunk: str | Path, step: int, out: str | Path, *, wait_s: float = 0.0, poll_s: float = 5.0) -> None:
    """Give the new run ``out`` a copy of ``trunk``'s checkpoint ``step`` to resume from (once).

    With ``wait_s > 0`` a trunk that is still training is waited for (up to ``wait_s`` seconds)
    until its checkpoint ``step`` is written, so an arm can be scheduled next to its trunk.
    """
    out = Path(out)
    if rundir.list_checkpoints(out):
        return
    src = rundir.checkpoint_dir(trunk, step)
    deadline = time.monotonic() + wait_s
    while not (src / MARKER).is_file():
        if is_complete(trunk) or time.monotonic() > deadline:
            raise ArtifactError(f"{trunk}: no complete checkpoint at step {step} to branch from; train the "
                                f"baseline (trunk) first, or pick one of {rundir.list_checkpoints(trunk)}")
        time.sleep(poll_s)
    dst = rundir.checkpoint_dir(out, step)
    tmp = dst.with_name(dst.name + ".copying")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(src, tmp)
    tmp.rename(dst)  # a crash mid-copy leaves only the .copying directory, never a partial checkpoint


def start_branch(job: dict) -> dict:
    """``job`` without its ``branch`` key, after seeding the run from the trunk it names."""
    job = dict(job)
    branch = job.pop("branch", None)
    if branch is not None:
        seed_checkpoint(branch["trunk"], branch["step"], job["out"], wait_s=TRUNK_WAIT_S)
    return job
