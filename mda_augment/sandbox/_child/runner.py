"""Entry point of the sandboxed child: isolate this process, then run one generator.

The parent starts ``python -s -P runner.py`` with an environment it built from scratch and
writes one JSON job to stdin. Everything here runs *before* the untrusted code is compiled:

1. (root only) a new PID namespace and a private mount namespace in which a tmpfs hides
   folders the unprivileged uid could not traverse, with the interpreter's folders bound back
   in; then drop to the job's unique uid, so RLIMIT_NPROC counts only this sandbox and the
   tool's files are off limits;
2. a new user + network namespace (no interface is up: every connection fails), and the PID
   namespace when not root;
3. resource limits; 4. Landlock; 5. stdout moved to a private descriptor for frames;
6. die with the tool: ``PR_SET_PDEATHSIG`` = SIGKILL, set last because any change of
   credentials (setuid, a new user namespace) clears it, then a check that the tool did not
   die before it was set.

Why a PID namespace: ``kill -9`` of the tool kills this runner through its death signal, but
not what the generator forked. So the runner forks a small supervisor, pid 1 of the new
namespace (it also dies with the runner), and the supervisor forks the generator. When pid 1
exits the kernel kills every process of its namespace, and no process inside can signal
pid 1 or leave the namespace. The supervisor also bounds wall time (``wall_s``) in case the
tool is alive but stuck. Without a PID namespace (level "minimal" as non-root) the generator
runs in the runner itself under an alarm.

A fork inside ``generate()`` makes the call fail deterministically (reason ``forked`` in the
tool): forked copies are muted (their frames are dropped, so they cannot race the original
process's documents onto the channel) and the original reports how often it forked.

A step the job asks for that fails aborts the run with an ``X`` frame (reason ``setup``):
the child never runs code under weaker isolation than requested. With ``"probe": true`` it
reports which steps worked instead of running code.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import math
import os
import resource
import select
import signal
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import frames  # noqa: E402
import landlock  # noqa: E402

sys.path.pop(0)

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET = 0x00020000, 0x10000000, 0x40000000
CLONE_NEWPID = 0x20000000
MS_BIND, MS_REC, MS_PRIVATE = 0x1000, 0x4000, 0x40000
PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)
CHANNEL_CLOSED = 4  # exit status: the frame channel could not be written
PARENT_GONE = 5  # exit status: the tool died before the death signal was armed
SIGNALLED = 128  # supervisor exit status 128 + N: the generator died from signal N
_chan = 1  # replaced by a private duplicate of stdout in _protect_channel
_muted = False  # True in processes forked by generator code: their frames are dropped
_forks = 0  # how often the generator's own process forked


def _ok(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _send(data: bytes) -> None:
    if _muted:
        return
    view = memoryview(data)
    while view:
        view = view[os.write(_chan, view):]


def _reveal_and_drop(uid: int, reveal: dict[str, list[str]]) -> None:
    """New PID namespace (for the next fork); hide each key folder behind a tmpfs and bind
    its listed subpaths back; then drop to uid."""
    _ok(_libc.unshare(CLONE_NEWPID), "unshare(pid)")
    if reveal:
        _ok(_libc.unshare(CLONE_NEWNS), "unshare(mount)")
        _ok(_libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "make mounts private")
        for hidden, keep in reveal.items():
            fds = [os.open(path, os.O_PATH | os.O_CLOEXEC) for path in keep]
            _ok(_libc.mount(b"tmpfs", hidden.encode(), b"tmpfs", 0, b"mode=0755,size=64k"),
                f"tmpfs on {hidden}")
            for path, fd in zip(keep, fds, strict=True):
                os.makedirs(path, exist_ok=True)
                src = f"/proc/self/fd/{fd}".encode()
                _ok(_libc.mount(src, path.encode(), None, MS_BIND | MS_REC, None), f"bind {path}")
                os.close(fd)
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)


def _set_limits(limits: dict[str, int]) -> None:
    for name, value in limits.items():
        which = getattr(resource, f"RLIMIT_{name.upper()}")
        hard = value + 1 if name == "cpu" else value  # SIGXCPU first, SIGKILL one second later
        resource.setrlimit(which, (value, hard))


def _protect_channel() -> None:
    """Keep frames on a private fd; the generator's prints go to stderr instead."""
    global _chan
    _chan = os.dup(1)
    os.dup2(2, 1)


def isolate(job: dict) -> dict:
    """Apply the isolation steps the job asks for, in order; returns what was applied."""
    done: dict[str, object] = {}
    iso = job["isolation"]
    if iso.get("uid") is not None:
        _reveal_and_drop(iso["uid"], iso.get("reveal", {}))
        done["uid"] = iso["uid"]
        done["pidns"] = True
    if iso.get("netns"):
        pid = 0 if done.get("pidns") else CLONE_NEWPID
        _ok(_libc.unshare(CLONE_NEWUSER | CLONE_NEWNET | pid), "unshare(user+net)")
        done["netns"] = True
        done["pidns"] = True
    if job.get("limits"):
        _set_limits(job["limits"])
        done["rlimits"] = True
    if iso.get("landlock"):
        done["landlock_abi"] = landlock.restrict(
            iso["read"], iso["list_only"], iso["read_write"]
        )
    return done


def _die_with_parent(parent_pid: int) -> None:
    """SIGKILL this process when the tool dies; exit now if it already has.

    Armed after every credential change (they clear it). The check after arming closes the
    window in which the tool died before the signal was set: we would have been reparented.
    """
    _ok(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(PDEATHSIG)")
    if os.getppid() != parent_pid:
        os._exit(PARENT_GONE)


def _on_fork_in_child() -> None:
    global _muted
    _muted = True


def _on_fork_in_parent() -> None:
    global _forks
    _forks += 1


def _error(reason: str, message: str) -> None:
    _send(frames.encode_json(frames.ERROR, {"reason": reason, "message": message[:2000]}))


def _describe(err: BaseException, filename: str) -> str:
    """``Type: message (line N)``, the line taken from the generator's own frames."""
    line = ""
    for frame in traceback.extract_tb(err.__traceback__):
        if frame.filename == filename:
            line = f" (line {frame.lineno})"
    return f"{type(err).__name__}: {err}{line}"


def _flush_std_streams() -> None:
    """Push the generator's buffered prints to stderr before the final frame ends the call."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()


def run_generator(job: dict) -> None:
    """Compile and call ``generate(seed, n)``; stream each document as a frame."""
    filename = job["filename"]
    namespace: dict = {"__name__": "generator", "__file__": filename}
    try:
        exec(compile(job["code"], filename, "exec"), namespace)  # noqa: S102 - the sandboxed payload
        generate = namespace.get("generate")
        if not callable(generate):
            _error("bad_generator", f"{filename} defines no callable generate(seed, n)")
            return
        result = generate(job["seed"], job["n"])
        if isinstance(result, (str, bytes)) or not hasattr(result, "__iter__"):
            _error("wrong_type", f"generate() returned {type(result).__name__}, not an iterable of str")
            return
        count = 0
        for doc in result:
            if not isinstance(doc, str):
                _error("wrong_type", f"document {count} is {type(doc).__name__}, not str")
                return
            _send(frames.encode(frames.DOC, doc.encode("utf-8", "surrogatepass")))
            count += 1
            if count > job["n"]:
                break  # the parent reports the extra document; do not run on forever
        _flush_std_streams()
        _send(frames.encode_json(frames.END, {"count": count, "forks": _forks}))
    except MemoryError:
        _error("memory", "MemoryError: the generator exceeded its memory limit")
    except BaseException as err:  # noqa: BLE001 - every failure of untrusted code is a result
        _error("exception", _describe(err, filename))


def _generator_process(job: dict, done: dict) -> None:
    """Run the probe or the generator in this process, then exit without cleanup."""
    os.register_at_fork(after_in_child=_on_fork_in_child, after_in_parent=_on_fork_in_parent)
    try:
        if job.get("probe"):
            _send(frames.encode_json(frames.PROBE, done))
        else:
            run_generator(job)
    except OSError:
        os._exit(CHANNEL_CLOSED)  # the generator closed or broke the frame descriptor
    os._exit(0)  # skip atexit hooks and non-daemon threads the generator may have left


def _whole_seconds(job: dict) -> int:
    return max(1, math.ceil(float(job.get("wall_s", 3600))))


def _status_code(status: int) -> int:
    """A wait status as one exit code: N, or SIGNALLED + signal number."""
    if os.WIFSIGNALED(status):
        return SIGNALLED + os.WTERMSIG(status)
    return os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1


def _supervise(job: dict, done: dict, runner_alive: int) -> None:
    """PID 1 of the sandbox's namespace: start the generator, reap, bound wall time.

    Its exit ends the namespace (the kernel kills every process left in it). It dies with
    the runner (death signal; the pipe check catches a runner that died before it was armed).
    """
    _ok(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(PDEATHSIG)")
    if select.select([runner_alive], [], [], 0)[0]:  # EOF: the runner is already gone
        os._exit(PARENT_GONE)
    # pid 1 ignores signals it has no handler for, the kernel's SIGALRM included
    signal.signal(signal.SIGALRM, lambda *_: os._exit(SIGNALLED + signal.SIGALRM))
    signal.alarm(_whole_seconds(job))
    generator = os.fork()
    if generator == 0:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        os.close(runner_alive)
        _generator_process(job, done)
    while True:  # orphans of the generator are reparented to us: reap them too
        pid, status = os.waitpid(-1, 0)
        if pid == generator:
            os._exit(_status_code(status))


def _exit_like(code: int) -> None:
    """End the runner the way the generator ended, so the tool classifies it the same."""
    if code > SIGNALLED:
        sig = code - SIGNALLED
        with contextlib.suppress(OSError, ValueError):
            signal.signal(sig, signal.SIG_DFL)
            os.kill(os.getpid(), sig)
    os._exit(code)


def _run_in_namespace(job: dict, done: dict) -> None:
    """Runner side of the PID namespace: fork its pid 1 and mirror how the generator ended."""
    alive_r, alive_w = os.pipe()  # the runner holds the write end until it dies
    supervisor = os.fork()
    if supervisor == 0:
        os.close(alive_w)
        try:
            _supervise(job, done, alive_r)
        except BaseException:  # noqa: BLE001 - never return into the runner's code
            os._exit(3)
    os.close(alive_r)
    _, status = os.waitpid(supervisor, 0)
    _exit_like(_status_code(status))


def main() -> None:
    job = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    os.close(0)
    try:
        done = isolate(job)
        _die_with_parent(job["parent_pid"])
        _protect_channel()
    except BaseException as err:  # noqa: BLE001
        _error("setup", f"{type(err).__name__}: {err}")
        os._exit(3)
    if done.get("pidns"):
        _run_in_namespace(job, done)
    signal.alarm(_whole_seconds(job))  # SIGALRM's default action ends us
    _generator_process(job, done)


if __name__ == "__main__":
    main()
