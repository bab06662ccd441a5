"""A sandboxed call never outlives the tool: ``kill -9`` of the tool ends its generator (and
what the generator forked) at once, the child bounds its own wall time, and the next call
removes the work directory the killed tool left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from mda_augment.sandbox import SandboxConfig, require_level, run_code
from mda_augment.sandbox.host import execute, make_job, workspace
from mda_augment.sandbox.isolation import clear_stale_workdirs, pids_of_uid, running_as_root

ROOT = Path(__file__).resolve().parents[2]
TOOL = textwrap.dedent("""
    from mda_augment.sandbox import SandboxConfig, run_code
    code = '''
    import os
    def generate(seed, n):
        os.fork()            # a second process, which PDEATHSIG alone would not reach
        while True:
            pass
    '''
    run_code(code, 0, 1, SandboxConfig(timeout_s=120, cpu_s=120))
    """)


def _live_workdir(pid: int, deadline: float) -> Path:
    """The work directory of ``pid``'s generator call once its processes are running
    (the level probe's short-lived directory is skipped: its processes do not last)."""
    while time.monotonic() < deadline:
        for path in Path(tempfile.gettempdir()).glob(f"mda-sandbox-{pid}-*"):
            try:
                uid = path.stat().st_uid
            except FileNotFoundError:
                continue
            if len(pids_of_uid(uid)) >= 2:  # runner, pid 1 of its namespace, generator(s)
                time.sleep(0.3)
                if len(pids_of_uid(uid)) >= 2:
                    return path
        time.sleep(0.05)
    pytest.fail("the tool's sandboxed generator never started")


@pytest.mark.skipif(not running_as_root(), reason="only a root tool gives each call a uid to find its processes by")
def test_kill9_of_the_tool_kills_its_sandbox_and_the_next_call_clears_its_dir():
    tool = subprocess.Popen([sys.executable, "-c", TOOL], env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        workdir = _live_workdir(tool.pid, time.monotonic() + 60)
        uid = workdir.stat().st_uid
    finally:
        os.kill(tool.pid, signal.SIGKILL)
        tool.wait()
    deadline = time.monotonic() + 5
    while pids_of_uid(uid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pids_of_uid(uid) == [], "sandboxed processes outlived the killed tool"
    assert workdir.is_dir()  # left behind: kill -9 runs no cleanup
    result = run_code("def generate(seed, n):\n    return ['a'] * n\n", 0, 1, SandboxConfig(timeout_s=20))
    assert result.ok
    assert not workdir.exists()


def test_the_child_bounds_its_own_wall_time():
    """Even if the tool stopped watching, the child ends itself at ``wall_s``."""
    cfg = SandboxConfig(timeout_s=30, cpu_s=30)
    require_level(cfg.level)
    with workspace() as (workdir, uid):
        job = make_job("import time\ndef generate(seed, n):\n    time.sleep(600)\n", "<gen>", 0, 1,
                       cfg, cfg.level, workdir, uid)
        job["wall_s"] = 1.0  # the tool's own deadline stays at 30 s
        result = execute(job, cfg, uid, workdir)
    assert (result.ok, result.reason) == (False, "timeout")
    assert "alarm" in result.message and result.wall_s < 10


def test_only_work_directories_of_dead_tools_are_cleared(tmp_path):
    from mda_augment.sandbox.isolation import start_time, workdir_prefix

    live = tmp_path / f"{workdir_prefix()}live"  # this process: alive
    reused = tmp_path / f"mda-sandbox-{os.getpid()}-{start_time(os.getpid()) - 1}-old"  # pid reused
    dead = tmp_path / "mda-sandbox-4194303-1-dead"  # no such process
    foreign = tmp_path / "mda-sandbox-unrelated"  # not our naming: left alone
    for path in (live, reused, dead, foreign):
        path.mkdir()
    assert sorted(clear_stale_workdirs(str(tmp_path))) == sorted([str(reused), str(dead)])
    assert live.is_dir() and foreign.is_dir() and not reused.exists() and not dead.exists()
