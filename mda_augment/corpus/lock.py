"""The ``.deb`` cache and lock files that pin it: the minipile's inputs, made exact.

Without a lock, each package's newest cached ``.deb`` is used (or whatever ``apt-get download``
fetches today), so two machines, or one machine a month apart, may read different package
versions. A lock file maps each package to the exact version and sha256 of its ``.deb``::

    {"format": 1, "packages": {"fortunes": {"version": "1:1.99.1-7.3", "architecture": "all",
                                            "sha256": "41d0...", "file": "fortunes_1%3a1.99.1-7.3_all.deb"}}}

With a lock, a cached file of the pinned version is used only if its sha256 matches; a missing
one is fetched with ``apt-get download NAME=VERSION`` and checked the same way. Debian's
archive drops superseded versions (point releases, security updates), so a lock ages: the error
then names the package, the version and how to write a fresh lock.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from ..artifacts import atomic_write_json
from ..errors import ConfigError, DataError, EnvironmentUnavailable
from . import apt
from .debian import control_fields
from .fingerprint import file_sha256

LOCK_FORMAT = 1
# How a user refreshes a lock; the CLI verb wraps minipile.write_lock (see the report).
REFRESH_HINT = "write a fresh lock with `mda-augment corpus lock --out {lock}` (minipile.write_lock)"
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")


def read_lock(path: Path) -> dict[str, dict]:
    """The ``packages`` pins of a lock file, validated; one-line errors name the fault."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ConfigError(f"{path}: unreadable lock file ({type(err).__name__}); "
                          f"{REFRESH_HINT.format(lock=path)}") from None
    if not isinstance(data, dict) or data.get("format") != LOCK_FORMAT or not isinstance(data.get("packages"), dict):
        raise ConfigError(f"{path}: not a format-{LOCK_FORMAT} minipile lock; {REFRESH_HINT.format(lock=path)}")
    for name, pin in data["packages"].items():
        if not (isinstance(pin, dict) and isinstance(pin.get("version"), str)
                and _SHA_RE.match(str(pin.get("sha256", "")))):
            raise ConfigError(f"{path}: entry '{name}' needs a version and a 64-hex sha256; "
                              f"{REFRESH_HINT.format(lock=path)}")
    return data["packages"]


def save_lock(path: Path, pins: dict[str, dict], note: str) -> Path:
    """Write a lock file (sorted, so a refresh diffs cleanly)."""
    atomic_write_json(path, {"format": LOCK_FORMAT, "note": note,
                             "packages": {name: pins[name] for name in sorted(pins)}})
    return path


def cached(cache: Path, package: str) -> Path | None:
    """The newest-named cached ``.deb`` of ``package`` (unlocked builds)."""
    hits = sorted(cache.glob(f"{package}_*.deb"))
    return hits[-1] if hits else None


def fetch(packages: list[str], cache: Path) -> dict[str, Path]:
    """Unlocked: ``apt-get download`` the packages not yet cached; name -> ``.deb`` path."""
    cache.mkdir(parents=True, exist_ok=True)
    apt.download([p for p in packages if cached(cache, p) is None], cache)
    found = {p: cached(cache, p) for p in packages}
    absent = [p for p, path in found.items() if path is None]
    if absent:
        raise EnvironmentUnavailable(f"apt-get download did not produce {', '.join(absent)}; check the package names")
    return found  # type: ignore[return-value]


def _cached_version(cache: Path, package: str, pin: dict) -> Path | None:
    """The cached ``.deb`` of exactly the pinned version (by its control file), if any."""
    named = cache / str(pin.get("file", ""))
    if pin.get("file") and named.is_file():
        return named
    for path in sorted(cache.glob(f"{package}_*.deb")):
        try:
            if control_fields(path).get("Version") == pin["version"]:
                return path
        except DataError:
            continue  # a damaged stray file of another version: not ours to judge
    return None


def verify(deb: Path, package: str, pin: dict, lock: Path) -> Path:
    """Refuse a ``.deb`` whose sha256 differs from its pin."""
    actual = file_sha256(deb)
    if actual != pin["sha256"]:
        raise DataError(f"{deb}: sha256 {actual[:16]}... differs from the pin of {package} "
                        f"{pin['version']} in {lock} ({pin['sha256'][:16]}...); delete the file to "
                        "download it again, or refresh the lock if the archive rebuilt it")
    return deb


def _unserved(package: str, pin: dict, lock: Path, detail: str) -> EnvironmentUnavailable:
    refresh = REFRESH_HINT.format(lock=lock)
    if apt.is_root():
        return EnvironmentUnavailable(f"minipile: the archive no longer serves {package} {pin['version']} "
                                      f"pinned in {lock} ({detail}); {refresh}")
    return EnvironmentUnavailable(f"minipile: apt cannot fetch {package} {pin['version']} pinned in "
                                  f"{lock} ({detail}); run `sudo apt-get update` and rerun; if it "
                                  f"still fails the archive no longer serves it: {refresh}")


def _check_architecture(missing: list[str], pins: dict[str, dict], lock: Path) -> None:
    here = apt.architecture()
    for name in missing:
        arch = pins[name].get("architecture", "all")
        if here and arch not in ("all", here):
            raise ConfigError(f"{lock}: {name} is pinned for {arch}, this machine is {here}; "
                              f"{REFRESH_HINT.format(lock=lock)}")


def fetch_locked(packages: list[str], pins: dict[str, dict], cache: Path, lock: Path,
                 policy: str = "strict") -> tuple[dict[str, Path], list[dict]]:
    """Locked: the pinned version of each package, from the cache or the archive, verified.

    ``policy`` says what happens when the archive no longer serves a pinned version (Debian
    drops superseded versions at point releases and security updates): ``strict`` refuses in
    one line; ``prefer`` takes the version the archive serves now for that package alone and
    returns it as a deviation, so the build goes on and says exactly what differs from the lock.

    Returns:
        (package -> .deb path, deviations ``[{package, pinned, used}]``).
    """
    unpinned = [p for p in packages if p not in pins]
    if unpinned:
        raise ConfigError(f"{lock}: no pin for {', '.join(unpinned)}; {REFRESH_HINT.format(lock=lock)}")
    cache.mkdir(parents=True, exist_ok=True)
    found = {p: _cached_version(cache, p, pins[p]) for p in packages}
    missing = [p for p, path in found.items() if path is None]
    _check_architecture(missing, pins, lock)
    deviations: list[dict] = []
    try:
        apt.download([f"{p}={pins[p]['version']}" for p in missing], cache)
    except apt.AptFailed as err:
        if err.package not in pins:
            raise
        if policy != "prefer":
            raise _unserved(err.package, pins[err.package], lock, err.apt_error) from None
        deviations = _fetch_preferring_pins(missing, pins, cache)
    moved = {d["package"] for d in deviations}
    for p in missing:
        found[p] = cached(cache, p) if p in moved else _cached_version(cache, p, pins[p])
        if found[p] is None:
            raise _unserved(p, pins[p], lock, "apt-get download produced no file of that version")
    debs = {p: path if p in moved else verify(path, p, pins[p], lock) for p, path in found.items()}
    return debs, deviations  # type: ignore[return-value]


def _fetch_preferring_pins(missing: list[str], pins: dict[str, dict], cache: Path) -> list[dict]:
    """One package at a time: the pinned version where served, else today's (a deviation)."""
    deviations = []
    for p in missing:
        try:
            apt.download([f"{p}={pins[p]['version']}"], cache)
        except apt.AptFailed:
            apt.download([p], cache)
            used = control_fields(cached(cache, p)).get("Version")
            deviations.append({"package": p, "pinned": pins[p]["version"], "used": used})
    return deviations


def resolve_lock_path(lock: str | os.PathLike, repo_root: Path) -> Path:
    """A lock path as given (relative to the working directory), else relative to the
    repository, so a recipe can name ``recipes/minipile-small.lock.json`` from anywhere."""
    path = Path(lock)
    if path.is_file() or path.is_absolute():
        return path
    shipped = repo_root / path
    return shipped if shipped.is_file() else path
