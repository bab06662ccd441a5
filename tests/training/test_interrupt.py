"""Ctrl-C during a training grid: the driver stops its workers at once, prints one line, exits 130."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import write_pipeline_texts

RECIPE = """
name: g
out_dir: {root}/runs
corpus: {{source: folder, path: {root}/texts}}
pack: {{tokenizer: bpe-300, seq_len: 32, heldout_fraction: 0.1, bpe_training_mb: 1}}
train:
  scales: [tiny]
  seeds: [0, 1]
  steps: 1000000
  jobs: 2
  options: {{eval_every: 100000, units: {{probes: [prefix_matching], n_random: 2, n_natural: 2}}}}
"""


def _default_sigint() -> None:
    """A CI runner may start the tests in the background, where SIGINT is inherited as ignored
    (and Python then installs no KeyboardInterrupt handler): give the child a terminal's default."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _start_grid(tmp_path: Path) -> tuple[subprocess.Popen, list[int]]:
    """Start `run` on a 2-run grid in its own session; return it once both runs train, with the
    workers' pids (from their worker.json)."""
    write_pipeline_texts(tmp_path / "texts", n=30)
    recipe = tmp_path / "g.yaml"
    recipe.write_text(RECIPE.format(root=tmp_path))
    proc = subprocess.Popen([sys.executable, "-m", "mda_augment", "run", str(recipe)], cwd=Path(__file__).parents[2],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=_default_sigint)
    runs = [tmp_path / "runs" / "g" / "train" / "tiny" / f"seed{k}" for k in (0, 1)]
    deadline = time.monotonic() + 240
    try:
        while not all((r / "progress.json").is_file() for r in runs):  # both runs are training
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[1][-2000:]
            time.sleep(0.5)
        return proc, [json.loads((r / "worker.json").read_text())["pid"] for r in runs]
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        raise


def test_sigint_stops_the_runs_in_flight_and_exits_130_without_a_traceback(tmp_path: Path):
    proc, workers = _start_grid(tmp_path)
    try:
        proc.send_signal(signal.SIGINT)  # the driver only, as `kill -INT` would
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err and "interrupted" in err.lower()
    time.sleep(1)
    assert not any(_alive(pid) for pid in workers), "a training worker outlived the driver"


def test_sigkill_of_the_driver_takes_its_training_workers_with_it(tmp_path: Path):
    """kill -9 of the driver must not leave orphaned workers training (they die with it); the
    rerun then resumes the runs from their checkpoints (tests/training/test_resume.py)."""
    proc, workers = _start_grid(tmp_path)
    try:
        proc.kill()
        proc.wait(timeout=30)
        stop = time.monotonic() + 30
        while any(_alive(pid) and not _zombie(pid) for pid in workers) and time.monotonic() < stop:
            time.sleep(0.5)
        assert not any(_alive(pid) and not _zombie(pid) for pid in workers), "orphaned training workers"
    finally:
        for pid in workers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except OSError:
        return False
