"""Parent-side plan of the isolation the child applies to itself.

Why a unique uid per call: started as root, the tool must drop privileges anyway (root is
exempt from RLIMIT_NPROC, so a fork bomb would not be stopped). Giving every call its own uid
makes RLIMIT_NPROC count that call alone (parallel workers and their polars threads do not
share one budget), keeps calls from signalling or reading each other, and lets the tool find
and kill every process a call left behind, even ones that escaped its session, by uid.

Why the mount trick: the interpreter often lives where an unprivileged uid cannot go (here
``/root/.pyenv`` under a ``0700`` ``/root``). The child hides each such ancestor behind an empty
tmpfs in its private mount namespace and binds back only the interpreter's folders.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.metadata as md
import itertools
import os
import re
import shutil
import signal
import stat
import sys
import sysconfig
import tempfile
import threading
import time
from pathlib import Path

from .config import SandboxConfig

UID_BASE = 2_000_000_000  # far above any real account; no passwd entry needed for setuid
# uid = UID_BASE + tool pid * UID_SLOTS + slot: unique per live tool process for any pid up to
# Linux's PID_MAX_LIMIT (2**22), and still below the largest uid (2**32 - 2)
UID_SLOTS = 512
PID_LIMIT = 1 << 22
WORKDIR_PREFIX = "mda-sandbox-"
_WORKDIR_RE = re.compile(rf"^{WORKDIR_PREFIX}(\d+)-(\d+)-")
_uid_counter = itertools.count()
_uid_lock = threading.Lock()


def running_as_root() -> bool:
    return os.geteuid() == 0


def allocate_uid() -> int:
    """A uid no other live call of this machine's tools is using: the tool's pid picks a
    block of :data:`UID_SLOTS` uids, a counter a slot (concurrent calls of one process)."""
    with _uid_lock:
        slot = next(_uid_counter) % UID_SLOTS
    return UID_BASE + (os.getpid() % PID_LIMIT) * UID_SLOTS + slot


def owner_pid(uid: int) -> int | None:
    """The tool process a sandbox uid was allocated for (None for other uids)."""
    if UID_BASE <= uid < UID_BASE + PID_LIMIT * UID_SLOTS:
        return (uid - UID_BASE) // UID_SLOTS
    return None


def start_time(pid: int) -> int | None:
    """When ``pid`` started (clock ticks since boot), to tell a live owner from a reused pid."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[19])  # field 22 of stat(5); fields[0] is field 3
    except (OSError, IndexError, ValueError):
        return None


def workdir_prefix() -> str:
    """``mda-sandbox-<pid>-<start time>-``: the owner of a work directory, in its name."""
    return f"{WORKDIR_PREFIX}{os.getpid()}-{start_time(os.getpid()) or 0}-"


def kill_uid(uid: int) -> None:
    """SIGKILL every process of ``uid``, sweeping until none is left (a fork bomb may still
    be forking between two sweeps)."""
    for _ in range(100):
        pids = pids_of_uid(uid)
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.005)


def clear_stale_workdirs(tmp: str | None = None) -> list[str]:
    """Remove sandbox work directories whose owning tool process is gone; returns them.

    A tool killed with ``kill -9`` leaves its directory behind; its sandboxed processes die
    with it (death signal, PID namespace), but any straggler of the directory's uid is killed
    here first, unless that uid's block belongs to a live process again (a reused pid).
    """
    root = Path(tmp or tempfile.gettempdir())
    removed = []
    for path in root.glob(f"{WORKDIR_PREFIX}*"):
        match = _WORKDIR_RE.match(path.name)
        if not match:
            continue  # not ours to judge (an older naming scheme, another tool)
        pid, started = int(match[1]), int(match[2])
        if start_time(pid) == started:
            continue  # the owner is alive
        with contextlib.suppress(OSError):
            uid = path.stat().st_uid
            owner = owner_pid(uid)
            if running_as_root() and owner is not None and start_time(owner) is None:
                kill_uid(uid)
        shutil.rmtree(path, ignore_errors=True)
        removed.append(str(path))
    return removed


def interpreter_paths() -> list[str]:
    """Folders the child interpreter reads: stdlib, lib-dynload, the venv and its packages."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        paths.add(sysconfig.get_paths()[key])
    return sorted(p for p in paths if os.path.isdir(p))


def _others_can_enter(path: Path) -> bool:
    try:
        return bool(path.stat().st_mode & stat.S_IXOTH)
    except OSError:
        return False


def reveal_map(paths: list[str]) -> dict[str, list[str]]:
    """For each top-most ancestor others cannot enter, the needed paths beneath it.

    ``{"/root": ["/root/.pyenv/versions/3.11.7"]}`` means: hide /root, bind that folder back.
    """
    needed = {os.path.realpath(p) for p in paths} | {os.path.realpath(sys.executable)}
    reveal: dict[str, set[str]] = {}
    for path in sorted(needed):
        target = path if os.path.isdir(path) else os.path.dirname(path)
        for ancestor in reversed(Path(target).parents):
            if ancestor != Path("/") and not _others_can_enter(ancestor):
                reveal.setdefault(str(ancestor), set()).add(target)
                break
    return {hidden: _outermost(keep) for hidden, keep in reveal.items()}


def _outermost(paths: set[str]) -> list[str]:
    """Drop paths that lie inside another listed path (binding the outer one covers them)."""
    kept: list[str] = []
    for path in sorted(paths, key=len):
        if not any(path == k or path.startswith(k.rstrip("/") + "/") for k in kept):
            kept.append(path)
    return kept


def _requirement_names(dist: md.Distribution) -> list[str]:
    """Names of the non-extra, platform-applicable requirements of ``dist``."""
    from packaging.requirements import Requirement

    names = []
    for text in dist.requires or []:
        req = Requirement(text)
        if req.marker is None or req.marker.evaluate({"extra": ""}):
            names.append(req.name)
    return names


def _dist_entries(dist: md.Distribution) -> set[str]:
    """Top-level files and folders a distribution installed into site-packages."""
    entries = set()
    for file in dist.files or []:
        parts = file.parts
        if parts and parts[0] != "..":
            entries.add(str(Path(dist.locate_file(parts[0]))))
    return entries


@functools.lru_cache(maxsize=32)
def package_paths(packages: tuple[str, ...]) -> tuple[str, ...]:
    """Installed paths of ``packages`` (import names) and everything they require."""
    by_module = md.packages_distributions()
    todo = [d for name in packages for d in by_module.get(name, [name])]
    seen: set[str] = set()
    paths: set[str] = set()
    while todo:
        name = todo.pop()
        key = name.lower().replace("_", "-")
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue
        paths |= _dist_entries(dist)
        todo.extend(_requirement_names(dist))
    return tuple(sorted(paths))


def landlock_paths(cfg: SandboxConfig, workdir: str) -> dict[str, list[str]]:
    """Read, list-only and read-write path lists for the child's Landlock ruleset."""
    gp = sysconfig.get_paths()
    site = sorted({gp["purelib"], gp["platlib"]})
    # In a venv "platstdlib" is the venv's lib/pythonX.Y, which contains site-packages:
    # granting it would make every installed package readable, so ancestors of site are out.
    stdlib = sorted(p for p in {gp["stdlib"], gp["platstdlib"]}
                    if not any(s == p or s.startswith(p.rstrip("/") + "/") for s in site))
    read = stdlib + list(package_paths(tuple(cfg.allowed_packages))) + list(cfg.extra_read_paths)
    read += [os.path.realpath(sys.executable), "/dev/urandom"]
    return {"read": read, "list_only": site, "read_write": [workdir, "/dev/null"]}


def child_env(cfg: SandboxConfig, workdir: str) -> dict[str, str]:
    """The child's whole environment, built from scratch: no variable of the tool leaks in.

    PYTHONHASHSEED is fixed so that a generator iterating over a set of strings is still
    deterministic per seed (this is why the child runs ``-s -P`` rather than ``-I``, which
    would ignore it; nothing else of the environment is inherited, so the effect is the same).
    MALLOC_ARENA_MAX caps glibc's per-thread 64 MiB arena reservations: with polars' threads
    they pushed the address space past RLIMIT_AS=1 GiB at 80 MB resident, and thread
    creation failed ("mmap failed to allocate stack") in about 1 of 4 calls.
    """
    threads = str(cfg.threads)
    return {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "HOME": workdir,
        "TMPDIR": workdir,
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "POLARS_MAX_THREADS": threads,
        "OMP_NUM_THREADS": threads,
        "RAYON_NUM_THREADS": threads,
        "MALLOC_ARENA_MAX": "2",
    }


def rlimits(cfg: SandboxConfig, uid_dropped: bool) -> dict[str, int]:
    """Resource limits for the child. RLIMIT_NPROC counts per uid: without a private uid it
    would count every process of the tool's user, so it is then raised by that count."""
    mib = 1 << 20
    nproc = cfg.nproc
    if not uid_dropped:
        nproc += _processes_of(os.getuid())
    return {
        "cpu": cfg.cpu_s,
        "as": cfg.memory_mb * mib,
        "fsize": cfg.file_mb * mib,
        "nofile": cfg.nofile,
        "nproc": nproc,
        "core": 0,
    }


def _processes_of(uid: int) -> int:
    """Tasks (threads included, as RLIMIT_NPROC counts them) owned by ``uid``."""
    count = 0
    for pid in pids_of_uid(uid):
        try:
            count += len(os.listdir(f"/proc/{pid}/task"))
        except OSError:
            continue
    return count


def pids_of_uid(uid: int) -> list[int]:
    """Live processes whose real uid is ``uid`` (read from /proc). Zombies are left out:
    they hold no resources and vanish when their new parent reaps them."""
    pids = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and _status_uid(entry.name) == uid:
            pids.append(int(entry.name))
    return pids


def _status_uid(pid: str) -> int | None:
    """Real uid of a running process, or None for zombies and vanished processes."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("State:") and line.split()[1] in ("Z", "X"):
                    return None
                if line.startswith("Uid:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None
