"""Shared by the kill -9 tests: start a training command and SIGKILL it mid-run."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from mda_augment.training.rundir import list_checkpoints


def kill_after_checkpoint(command: list[str], run: Path, min_step: int, **popen: object) -> None:
    """Run ``command`` and SIGKILL it once ``run`` holds a checkpoint at or past ``min_step``."""
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **popen)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if any(s >= min_step for s in list_checkpoints(run)):
            time.sleep(0.05)  # let it get a few steps past the checkpoint
            break
        time.sleep(0.01)
    if proc.poll() is not None:
        pytest.fail("training finished before it could be killed; raise STEPS")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
