"""Read files straight out of Debian ``.deb`` archives, without installing anything.

A ``.deb`` is an ``ar`` archive holding ``debian-binary``, ``control.tar.*`` and
``data.tar.{xz,gz,zst}``. We parse the ``ar`` container ourselves (it is a 60-byte header per
member) and stream ``data.tar`` with :mod:`tarfile`. Gzip/dictzip members (``*.gz``, ``*.dz``)
are decompressed; nested source archives (the kernel's ``*.tar.xz``, the JDK's ``src.zip``)
are opened and their members yielded as if they were files of the package.
"""

from __future__ import annotations

import gzip
import io
import lzma
import os
import re
import tarfile
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError, EnvironmentUnavailable
from .fingerprint import file_sha256

AR_MAGIC = b"!<arch>\n"
MAX_MEMBER_BYTES = 64 * 1024 * 1024  # a single text file larger than this is skipped
NESTED_SUFFIXES = (".tar.xz", ".tar.gz", ".tgz", ".tar.bz2")
_FIELD_RE = re.compile(r"^([A-Za-z][A-Za-z0-9-]*):[ \t]*(.*?)\s*$", re.MULTILINE)
# what a damaged archive raises from tarfile/zipfile/lzma/gzip/bz2 (bz2 raises OSError)
_ARCHIVE_ERRORS = (tarfile.TarError, zipfile.BadZipFile, lzma.LZMAError, zlib.error, EOFError,
                   OSError, ValueError)


@dataclass
class Member:
    """One regular file of a package: its path inside the package and its raw bytes."""

    path: str
    data: bytes


def _ar_headers(f, path: str | os.PathLike) -> Iterator[tuple[str, int]]:
    """Yield ``(name, size)`` per ``ar`` member, leaving ``f`` at the member's data.

    The next header is found by seeking, so a caller may read a member, or not: the control
    member of a 80 MB package is reached without reading its data member.
    """
    damaged = f"{path}: damaged Debian package (%s); delete it so it is downloaded again"
    if f.read(8) != AR_MAGIC:
        raise DataError(f"{path}: not a Debian package (no ar magic); pass a .deb file")
    while True:
        header = f.read(60)
        if not header:
            return
        if len(header) < 60 or header[58:60] != b"`\n":
            raise DataError(damaged % "bad ar header")
        try:
            size = int(header[48:58].decode("ascii").strip())
        except (UnicodeDecodeError, ValueError):
            raise DataError(damaged % "bad ar member size") from None
        start = f.tell()
        yield header[:16].decode("ascii", "replace").strip().rstrip("/"), size
        f.seek(start + size + size % 2)  # members are 2-byte aligned


def ar_members(path: str | os.PathLike, names: tuple[str, ...] = ()) -> Iterator[tuple[str, bytes]]:
    """Yield ``(name, bytes)`` for each member of an ``ar`` archive (only those whose name
    starts with one of ``names``, when given)."""
    with open(path, "rb") as f:
        for name, size in _ar_headers(f, path):
            if names and not name.startswith(names):
                continue
            data = f.read(size)
            if len(data) < size:
                raise DataError(f"{path}: truncated Debian package; delete it so it is downloaded again")
            yield name, data


def _open_tar(deb: str | os.PathLike, name: str, data: bytes) -> tarfile.TarFile:
    """A ``tar`` member (``data.tar.*``/``control.tar.*``), any compression Debian uses."""
    if name.endswith(".zst"):
        try:
            import zstandard
        except ImportError:
            raise EnvironmentUnavailable(f"{deb}: {name} needs `pip install zstandard`") from None
        data = zstandard.ZstdDecompressor().decompressobj().decompress(data)
        return tarfile.open(fileobj=io.BytesIO(data), mode="r:")
    return tarfile.open(fileobj=io.BytesIO(data), mode="r:*")


def _data_tar(deb: str | os.PathLike) -> tarfile.TarFile:
    for name, data in ar_members(deb, ("data.tar",)):
        return _open_tar(deb, name, data)
    raise DataError(f"{deb}: no data.tar member; the .deb is damaged, delete it to re-download")


@dataclass(frozen=True)
class DebInfo:
    """What identifies a package file: its control fields and the file's sha256."""

    package: str
    version: str
    architecture: str
    sha256: str
    file: str

    def pin(self) -> dict:
        return {"version": self.version, "architecture": self.architecture, "sha256": self.sha256,
                "file": self.file}


def control_fields(deb: str | os.PathLike) -> dict[str, str]:
    """``Package``, ``Version``, ``Architecture`` ... from the package's ``control`` file."""
    try:
        for name, data in ar_members(deb, ("control.tar",)):
            with _open_tar(deb, name, data) as tf:
                for info in tf:
                    if info.isfile() and info.name.removeprefix("./") == "control":
                        text = tf.extractfile(info).read().decode("utf-8", "replace")
                        return dict(_FIELD_RE.findall(text))
    except _ARCHIVE_ERRORS as err:
        raise DataError(f"{deb}: damaged control archive ({err}); delete it to re-download") from None
    raise DataError(f"{deb}: no control file; the .deb is damaged, delete it to re-download")


def deb_info(deb: str | os.PathLike) -> DebInfo:
    """Package name, version, architecture and sha256 of a ``.deb`` file."""
    fields = control_fields(deb)
    if "Package" not in fields or "Version" not in fields:
        raise DataError(f"{deb}: control file lacks Package/Version; the .deb is damaged")
    return DebInfo(fields["Package"], fields["Version"], fields.get("Architecture", "all"),
                   file_sha256(deb), Path(deb).name)


def _decompress(path: str, data: bytes) -> tuple[str, bytes]:
    """Strip one compression layer (.gz/.dz/.xz) from a member, keeping the inner name."""
    try:
        if path.endswith((".gz", ".dz")) and not path.endswith(NESTED_SUFFIXES):
            return path[:-3], gzip.decompress(data)
        if path.endswith(".xz") and not path.endswith(NESTED_SUFFIXES):
            return path[:-3], lzma.decompress(data)
    except (OSError, lzma.LZMAError, EOFError, zlib.error):
        return path, data
    return path, data


def _nested(path: str, data: bytes, skipped: Counter) -> Iterator[Member]:
    """Members of an archive inside the package (kernel source tarball, JDK src.zip); a
    damaged nested archive is skipped and counted, the members read before it are kept."""
    try:
        if path.endswith(".zip"):
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                for info in zf.infolist():
                    if info.is_dir():
                        continue
                    if info.file_size > MAX_MEMBER_BYTES:
                        skipped[f"member over {MAX_MEMBER_BYTES >> 20} MiB"] += 1
                        continue
                    yield Member(f"{path}!/{info.filename}", zf.read(info))
            return
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tf:
            for info in tf:
                if not info.isfile():
                    continue
                if info.size > MAX_MEMBER_BYTES:
                    skipped[f"member over {MAX_MEMBER_BYTES >> 20} MiB"] += 1
                    continue
                fobj = tf.extractfile(info)
                if fobj is not None:
                    yield Member(f"{path}!/{info.name}", fobj.read())
    except _ARCHIVE_ERRORS:
        skipped["damaged nested archive"] += 1


def iter_package_files(deb: str | os.PathLike, nested: bool = True,
                       skipped: Counter | None = None) -> Iterator[Member]:
    """Every regular file in a package's data archive, decompressed, nested archives opened.

    Members over :data:`MAX_MEMBER_BYTES` and damaged nested archives are counted in
    ``skipped``; a damaged package raises one :class:`DataError` naming the file.
    """
    skipped = Counter() if skipped is None else skipped
    try:
        with _data_tar(deb) as tf:
            for info in tf:
                if not info.isfile():
                    continue
                fobj = tf.extractfile(info)
                if fobj is None:
                    continue
                name = info.name.removeprefix("./")
                if nested and name.endswith((*NESTED_SUFFIXES, "src.zip")):
                    yield from _nested(name, fobj.read(), skipped)
                    continue
                if info.size > MAX_MEMBER_BYTES:
                    skipped[f"member over {MAX_MEMBER_BYTES >> 20} MiB"] += 1
                    continue
                path, data = _decompress(name, fobj.read())
                yield Member(path, data)
    except _ARCHIVE_ERRORS as err:
        raise DataError(f"{deb}: damaged data archive ({type(err).__name__}: {err}); "
                        "delete the file so it is downloaded again") from None


def package_name(deb: str | os.PathLike) -> str:
    """Package name from a ``NAME_VERSION_ARCH.deb`` file name."""
    return Path(deb).name.split("_", 1)[0]
