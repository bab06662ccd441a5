"""Run one generator call in a sandboxed child and turn whatever happens into a record.

The tool never imports or executes generator code itself. It starts a fresh interpreter on
``_child/runner.py``, hands it the code and the isolation plan on stdin, then reads frames
from the child's stdout against a wall-clock deadline and the output caps. Any violation ends
the call: the child's whole session is killed, then every process still owned by the call's
private uid (which catches processes that left the session), and a :class:`SandboxResult`
with the reason is returned. Nothing a generator does raises in the tool.

The tool being killed (``kill -9``, OOM killer) ends the call too: the child dies with its
parent and takes its PID namespace with it (see ``_child/runner.py``), and stops itself at
``timeout_s + WALL_GRACE_S`` should the tool stop reading. The work directory it leaves is
removed by the next call on the machine (:func:`isolation.clear_stale_workdirs`).
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import isolation
from ._child import frames
from .config import SandboxConfig, SandboxResult

RUNNER = Path(__file__).with_name("_child") / "runner.py"
STDERR_KEEP = 4096
CHANNEL_CLOSED = 4  # runner.py exits with this when its frame descriptor is unusable
WALL_GRACE_S = 2.0  # the child's own wall-clock alarm fires this long after the tool's deadline


class _Violation(Exception):
    """The child broke a rule; carries the result reason."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


class _FrameReader:
    """Incremental frame parser enforcing the caps before a payload is buffered."""

    def __init__(self, cfg: SandboxConfig, n: int):
        self.buf = bytearray()
        self.cfg = cfg
        self.n = n
        self.docs: list[str] = []
        self.total = 0
        self.final: dict | None = None  # the END / ERROR / PROBE message
        self.final_kind: bytes | None = None

    def feed(self, data: bytes) -> None:
        self.buf += data
        while self.final_kind is None and len(self.buf) >= frames.HEADER.size:
            kind, length = frames.HEADER.unpack_from(self.buf)
            self._check_header(kind, length)
            end = frames.HEADER.size + length
            if len(self.buf) < end:
                return
            payload = bytes(self.buf[frames.HEADER.size:end])
            del self.buf[:end]
            self._take(kind, payload)

    def _check_header(self, kind: bytes, length: int) -> None:
        if kind not in frames.KINDS:
            raise _Violation("protocol", f"unknown frame type {kind!r} on the output channel")
        if kind == frames.DOC and length > self.cfg.max_doc_bytes:
            raise _Violation("output_cap", f"document {len(self.docs)} has {length} bytes > "
                             f"max_doc_bytes={self.cfg.max_doc_bytes}")
        if kind != frames.DOC and length > 1 << 16:
            raise _Violation("protocol", f"control frame of {length} bytes")
        if kind == frames.DOC and self.total + length > self.cfg.max_total_bytes:
            raise _Violation("output_cap", f"output exceeds max_total_bytes={self.cfg.max_total_bytes}")

    def _take(self, kind: bytes, payload: bytes) -> None:
        if kind != frames.DOC:
            try:
                self.final = json.loads(payload.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                raise _Violation("protocol", "malformed control frame") from None
            self.final_kind = kind
            return
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError as err:
            raise _Violation("bad_utf8", f"document {len(self.docs)} is not valid UTF-8 ({err.reason} at byte {err.start})") from None
        if len(self.docs) >= self.n:
            raise _Violation("output_cap", f"more than the {self.n} documents requested")
        self.total += len(payload)
        self.docs.append(text)


def _spawn(job: dict, cfg: SandboxConfig, workdir: str, uid: int | None) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-s", "-P", str(RUNNER)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=workdir,
        env=isolation.child_env(cfg, workdir),
        start_new_session=True,  # own session and process group, killed whole
        close_fds=True,
    )
    with contextlib.suppress(BrokenPipeError):
        proc.stdin.write(json.dumps(job).encode("utf-8"))
    with contextlib.suppress(BrokenPipeError):
        proc.stdin.close()
    return proc


def _exited(proc: subprocess.Popen) -> bool:
    """True once the child has exited, without reaping it (``_reap`` wants its rusage;
    ``Popen.poll`` would reap it and make the later ``wait4`` fail)."""
    try:
        return os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def _wait_exit(proc: subprocess.Popen, until: float) -> None:
    while not _exited(proc) and time.monotonic() < until:
        time.sleep(0.01)


def _pump(proc: subprocess.Popen, reader: _FrameReader, deadline: float) -> bytes:
    """Read stdout frames and stderr until the final frame, EOF or the deadline."""
    err_tail = bytearray()
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ, "out")
    sel.register(proc.stderr, selectors.EVENT_READ, "err")
    open_streams = 2
    try:
        while open_streams and reader.final_kind is None:
            if _exited(proc):  # the runner is gone; a straggler may hold the pipe
                deadline = min(deadline, time.monotonic() + 0.5)
            left = deadline - time.monotonic()
            if left <= 0:
                raise _Violation("timeout", "wall-clock limit reached")
            for key, _ in sel.select(timeout=min(left, 0.5)):
                data = os.read(key.fileobj.fileno(), 1 << 20)
                if not data:
                    sel.unregister(key.fileobj)
                    open_streams -= 1
                elif key.data == "out":
                    reader.feed(data)
                else:
                    err_tail = (err_tail + data)[-STDERR_KEEP:]
    finally:
        sel.close()
    return bytes(err_tail)


def kill_all(proc: subprocess.Popen, uid: int | None) -> None:
    """SIGKILL the child's process group, then (with a private uid) every process of that uid."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    if uid is not None:
        isolation.kill_uid(uid)


def _drain(stream, timeout: float = 0.2) -> bytes:
    """What is left in a pipe of a killed child, without blocking on a stray holder."""
    sel = selectors.DefaultSelector()
    sel.register(stream, selectors.EVENT_READ)
    data = b""
    try:
        while len(data) < STDERR_KEEP * 4 and sel.select(timeout=timeout):
            chunk = os.read(stream.fileno(), 1 << 16)
            if not chunk:
                break
            data += chunk
    finally:
        sel.close()
    return data


def _reap(proc: subprocess.Popen) -> tuple[int, float, float]:
    """Wait for the child; returns (returncode, cpu seconds, max RSS MiB)."""
    with contextlib.suppress(OSError):
        proc.stdout.close()
        proc.stderr.close()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def _classify(reader: _FrameReader, returncode: int, cpu: float, cfg: SandboxConfig) -> tuple[str, str]:
    """Reason and message for a child that ended without breaking a tool-side rule."""
    if reader.final_kind == frames.ERROR:
        return str(reader.final.get("reason", "exception")), str(reader.final.get("message", ""))
    if reader.final_kind == frames.END:
        forks = reader.final.get("forks", 0)
        if forks:
            return "forked", (f"generate() forked {forks} time(s); a generator must run in one "
                              "process (what forked copies write would depend on scheduling)")
        if reader.final.get("count") != len(reader.docs):
            return "protocol", f"end frame counts {reader.final.get('count')!r} documents, {len(reader.docs)} arrived"
        if len(reader.docs) < reader.n:
            return "wrong_count", f"generate() produced {len(reader.docs)} of {reader.n} documents"
    if reader.final_kind in (frames.END, frames.PROBE):
        return "ok", ""
    if returncode == -signal.SIGXCPU or (returncode == -signal.SIGKILL and cpu >= cfg.cpu_s):
        return "timeout", f"CPU-time limit reached ({cpu:.1f}s >= cpu_s={cfg.cpu_s})"
    if returncode == -signal.SIGALRM:
        return "timeout", "wall-clock limit reached (the child's own alarm)"
    if returncode < 0:
        return "killed", f"child died from {signal.Signals(-returncode).name} before finishing"
    if returncode in (0, CHANNEL_CLOSED):
        return "closed_output", "child exited without a final frame (output channel closed?)"
    return "crashed", f"child exited with status {returncode} and no final frame"


def execute(job: dict, cfg: SandboxConfig, uid: int | None, workdir: str) -> SandboxResult:
    """Run one prepared job (see :func:`make_job`) and classify the outcome."""
    n = job.get("n", 0)
    reader = _FrameReader(cfg, n)
    start = time.monotonic()
    proc = _spawn(job, cfg, workdir, uid)
    reason, message, err_tail = None, "", b""
    try:
        err_tail = _pump(proc, reader, start + cfg.timeout_s)
        if reader.final_kind is None:  # output closed early: let the exit status tell why
            _wait_exit(proc, min(start + cfg.timeout_s, time.monotonic() + 0.5))
    except _Violation as v:
        reason, message = v.reason, str(v)
    finally:
        kill_all(proc, uid)
        err_tail = (err_tail + _drain(proc.stderr))[-STDERR_KEEP:]
        returncode, cpu, rss = _reap(proc)
    if reason is None:
        reason, message = _classify(reader, returncode, cpu, cfg)
    if reader.final_kind == frames.PROBE:
        message = json.dumps(reader.final)
    return SandboxResult(
        ok=reason == "ok", reason=reason, message=message,
        docs=reader.docs if reason == "ok" else [],
        n_requested=n, seed=job.get("seed", 0), wall_s=time.monotonic() - start, cpu_s=cpu,
        max_rss_mb=rss, exit_status=returncode,
        stderr_tail=err_tail.decode("utf-8", "replace"),
        sandbox_uid=uid, level=job.get("level", ""),
    )


def make_job(code: str, filename: str, seed: int, n: int, cfg: SandboxConfig, level: str,
             workdir: str, uid: int | None) -> dict:
    """The JSON job for the child: code, call arguments, limits and isolation plan."""
    iso: dict = {"uid": uid, "netns": level in ("strict", "standard"), "landlock": level == "strict"}
    if uid is not None:
        iso["reveal"] = isolation.reveal_map(isolation.interpreter_paths())
    if level == "strict":
        iso.update(isolation.landlock_paths(cfg, workdir))
    return {
        "code": code, "filename": filename, "seed": seed, "n": n, "level": level,
        "limits": isolation.rlimits(cfg, uid is not None), "isolation": iso,
        "parent_pid": os.getpid(), "wall_s": cfg.timeout_s + WALL_GRACE_S,
    }


@contextlib.contextmanager
def workspace():
    """A private temporary working directory, and the uid the call will run as.

    The directory's name records the tool process that owns it (pid and start time); work
    directories whose owner is gone (a tool killed with ``kill -9`` cannot clean up) are
    removed here, with any process still running as their uid.
    """
    isolation.clear_stale_workdirs()
    uid = isolation.allocate_uid() if isolation.running_as_root() else None
    workdir = tempfile.mkdtemp(prefix=isolation.workdir_prefix())
    try:
        if uid is not None:
            os.chown(workdir, uid, uid)
        os.chmod(workdir, 0o700)
        yield workdir, uid
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
