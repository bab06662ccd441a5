"""A stand-in ``apt-get`` executable, written onto PATH by the tests.

It behaves like apt on a fresh machine whose package lists are older than the archive: every
``download`` fails (with apt's real message "Can't find a source to download version ...")
until ``update`` has run; after that it serves the ``.deb`` files in its repository folder,
``NAME`` (newest) or ``NAME=VERSION``, and answers ``--print-uris`` with name, size and sha256.
A version the repository lacks fails like apt does ("Version '...' for '...' was not found").
Every call is appended to ``calls.log`` so tests can check what was asked.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

SCRIPT = r'''#!{python}
import hashlib, shutil, sys
from pathlib import Path
from urllib.parse import unquote

state = Path({state!r})
repo = state / "repo"
args = [a for a in sys.argv[1:] if a not in ("-q", "-qq")]
with open(state / "calls.log", "a") as log:
    log.write(" ".join(args) + "\n")
if args[:1] == ["update"]:
    (state / "updated").touch()
    sys.exit(0)
if args[:1] != ["download"]:
    sys.exit("E: the stand-in apt-get only knows update and download")
uris = "--print-uris" in args
specs = [a for a in args[1:] if a != "--print-uris"]

def versions(name):
    out = {{}}
    for deb in repo.glob(f"{{name}}_*.deb"):
        out[unquote(deb.name.split("_")[1])] = deb
    return out

chosen = []
for spec in specs:
    name, _, version = spec.partition("=")
    have = versions(name)
    if not have:
        sys.exit(f"E: Unable to locate package {{name}}")
    version = version or sorted(have)[-1]
    if not (state / "updated").exists():
        sys.exit(f"E: Can't find a source to download version '{{version}}' of '{{name}}:amd64'")
    if version not in have:
        sys.exit(f"E: Version '{{version}}' for '{{name}}' was not found")
    chosen.append(have[version])
for deb in chosen:
    if uris:
        sha = hashlib.sha256(deb.read_bytes()).hexdigest()
        print(f"'http://deb.example.org/pool/{{deb.name}}' {{deb.name}} {{deb.stat().st_size}} SHA256:{{sha}}")
    else:
        shutil.copy(deb, Path.cwd() / deb.name)
'''


class FakeApt:
    """The stand-in's state folder: its repository, whether ``update`` ran, its call log."""

    def __init__(self, root: Path):
        self.state = root / "apt-state"
        self.repo = self.state / "repo"
        self.repo.mkdir(parents=True)
        bin_dir = root / "apt-bin"
        bin_dir.mkdir()
        exe = bin_dir / "apt-get"
        exe.write_text(SCRIPT.format(python=sys.executable, state=str(self.state)))
        exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        self.bin_dir = bin_dir

    def publish(self, deb: Path) -> None:
        """Make ``deb`` downloadable (the archive now serves it)."""
        (self.repo / deb.name).write_bytes(deb.read_bytes())

    def withdraw(self, deb: Path) -> None:
        """The archive stops serving ``deb`` (superseded by a point release)."""
        (self.repo / deb.name).unlink()

    def calls(self) -> list[str]:
        log = self.state / "calls.log"
        return log.read_text().splitlines() if log.is_file() else []

    def path_env(self) -> str:
        return f"{self.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
