"""Sandbox settings and the record every sandboxed run returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import Field

from ..config import StrictModel

Level = Literal["strict", "standard", "minimal"]
LEVELS: tuple[Level, ...] = ("strict", "standard", "minimal")
LEVEL_HELP = {
    "strict": "rlimits + unprivileged uid + no network (user/net namespace) + own PID namespace "
              "+ Landlock filesystem allowlist",
    "standard": "rlimits + unprivileged uid + no network (user/net namespace) + own PID namespace",
    "minimal": "rlimits + unprivileged uid only (generator code can reach the network and readable "
               "files; own PID namespace when the tool runs as root)",
}


class SandboxConfig(StrictModel):
    """How untrusted generator code is confined. Defaults suit one generator call of a few MB."""

    level: Level = Field("strict", description="isolation level; see LEVEL_HELP")
    timeout_s: float = Field(60.0, gt=0, description="wall-clock limit per call, start-up included")
    cpu_s: int = Field(60, ge=1, description="RLIMIT_CPU seconds (CPU time, all threads)")
    memory_mb: int = Field(1024, ge=64, description="RLIMIT_AS in MiB (virtual memory)")
    file_mb: int = Field(16, ge=1, description="RLIMIT_FSIZE: largest file the generator may write")
    nofile: int = Field(64, ge=16, description="RLIMIT_NOFILE: open descriptors")
    nproc: int = Field(32, ge=16, description="RLIMIT_NPROC: processes+threads (polars needs >8)")
    threads: int = Field(2, ge=1, description="POLARS_MAX_THREADS / OMP_NUM_THREADS in the child")
    max_doc_bytes: int = Field(1 << 20, ge=1, description="largest single document (UTF-8 bytes)")
    max_total_bytes: int = Field(256 << 20, ge=1, description="largest total output per call")
    allowed_packages: list[str] = Field(
        # polars 2.x imports typing_extensions without declaring it as a requirement
        default_factory=lambda: ["faker", "polars", "typing_extensions"],
        description="importable top-level packages besides the stdlib (with their declared "
        "dependencies); enforced by Landlock, i.e. at level 'strict' only",
    )
    extra_read_paths: list[str] = Field(
        default_factory=lambda: ["/usr/lib", "/lib", "/lib64", "/usr/share/zoneinfo"],
        description="system folders readable under Landlock (shared libraries, time zones)",
    )


@dataclass
class SandboxResult:
    """What one sandboxed call produced. ``ok`` is False whenever ``reason`` is not "ok".

    Reasons: ok, timeout, memory, output_cap, bad_utf8, wrong_type, wrong_count, forked,
    exception, bad_generator, killed, crashed, closed_output, protocol, setup.
    """

    ok: bool
    reason: str
    message: str = ""
    docs: list[str] = field(default_factory=list)
    n_requested: int = 0
    seed: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0
    max_rss_mb: float = 0.0
    exit_status: int | None = None
    stderr_tail: str = ""
    level: str = ""
    sandbox_uid: int | None = None

    def summary(self) -> dict:
        """The record without the documents (for stats files and logs)."""
        row = dict(self.__dict__)
        row.pop("docs")
        row["documents"] = len(self.docs)
        return row
