"""``apt-get download`` into a cache, with the one fix a fresh machine needs.

A machine's package lists (``/var/lib/apt/lists``) can be older than the archive: apt then
asks for a file the mirror has already replaced and fails, with "Unable to locate package",
"Version '...' was not found" or "Can't find a source to download version '...'" (seen on a
fresh machine, FACTS.md). ``apt-get update`` fixes all three, so any failed download is retried
once after it when we are root; otherwise the error says to run ``sudo apt-get update``.
Nothing is ever installed: ``apt-get download`` only fetches ``.deb`` files into the cache.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from ..errors import EnvironmentUnavailable

NO_APT = ("apt-get is not available on this machine; build the minipile on Debian or Ubuntu, "
          "pass the .deb files as local_debs, or read your own corpus with `mda-augment corpus read`")
_PACKAGE_IN_ERROR = re.compile(r"(?:for|of) '([^':]+)(?::[^']*)?'|Unable to locate package (\S+)")
_URI_LINE = re.compile(r"^'(?P<uri>[^']+)' (?P<file>\S+) (?P<size>\d+) (?P<hash>\S+)$")


class AptFailed(EnvironmentUnavailable):
    """``apt-get`` failed; ``package`` is the package apt complained about, when it said."""

    def __init__(self, message: str, apt_error: str, package: str | None):
        super().__init__(message)
        self.apt_error = apt_error  # apt's own first error line
        self.package = package


@dataclass(frozen=True)
class ArchiveFile:
    """One ``.deb`` as the package lists describe it (``apt-get download --print-uris``)."""

    package: str
    version: str
    architecture: str
    file: str
    size: int
    sha256: str


def is_root() -> bool:
    return os.geteuid() == 0


def _run(args: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    except FileNotFoundError:
        raise EnvironmentUnavailable(f"minipile: {NO_APT}") from None


def _first_error(stderr: str) -> str:
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("E:")]
    return (errors or lines or ["unknown error"])[0]


def _with_update_retry(args: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run an apt-get command; on failure, as root, ``apt-get update`` and run it once more."""
    proc = _run(args, cwd)
    if proc.returncode != 0 and is_root():
        update_lists()
        proc = _run(args, cwd)
    if proc.returncode == 0:
        return proc
    last = _first_error(proc.stderr)
    match = _PACKAGE_IN_ERROR.search(last)
    package = (match.group(1) or match.group(2)) if match else None
    if is_root():
        message = (f"minipile: `{' '.join(args[:2])}` failed even after apt-get update ({last}); "
                   "check the package names and the apt sources")
    else:
        message = (f"minipile: `{' '.join(args[:2])}` failed ({last}); the package lists are "
                   "probably stale: run `sudo apt-get update`, then rerun")
    raise AptFailed(message, last, package)


def download(specs: list[str], cache: Path) -> None:
    """``apt-get download`` each ``NAME`` or ``NAME=VERSION`` into ``cache``."""
    if specs:
        _with_update_retry(["apt-get", "download", "-q", *specs], cwd=cache)


def archive_files(packages: list[str]) -> dict[str, ArchiveFile]:
    """What ``apt-get download`` would fetch for each package now, without downloading it:
    file name, size and the sha256 the signed package lists give for it."""
    proc = _with_update_retry(["apt-get", "download", "--print-uris", "-q", *packages])
    found = {}
    for line in proc.stdout.splitlines():
        match = _URI_LINE.match(line.strip())
        if not match or not match["hash"].lower().startswith("sha256:"):
            continue
        name, version, arch = match["file"].removesuffix(".deb").split("_")
        found[name] = ArchiveFile(name, unquote(version), arch, match["file"], int(match["size"]),
                                  match["hash"].split(":", 1)[1].lower())
    return found


def update_lists() -> None:
    """``apt-get update`` (root only); a refreshed lock must pin what the archive serves now."""
    if is_root():
        proc = _run(["apt-get", "update", "-qq"])
        if proc.returncode != 0:
            last = _first_error(proc.stderr)
            raise AptFailed(f"minipile: apt-get update failed ({last}); check the network and "
                            "/etc/apt/sources.list", last, None)


def architecture() -> str | None:
    """This machine's Debian architecture (``dpkg --print-architecture``), if dpkg exists."""
    try:
        proc = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True)
    except FileNotFoundError:
        return None
    return proc.stdout.strip() or None
