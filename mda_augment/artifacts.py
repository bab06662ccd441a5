"""Named, resumable, atomically written artifacts.

Every stage writes one directory. It is built under a temporary sibling name and renamed into
place only when complete, with a ``_COMPLETE.json`` marker holding what the stage consumed and
its resolved config. A rerun that finds the marker skips the stage (unless ``overwrite``); a
crash leaves only a ``.tmp-*`` directory, which the next run deletes and never mistakes for a
finished artifact. This is datatrove's completion-marker pattern applied per stage.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import ArtifactError

MARKER = "_COMPLETE.json"
_UMASK = os.umask(0)
os.umask(_UMASK)
CONFIG_NAME = "config.json"


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; artifacts get the usual mode
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def is_complete(directory: str | os.PathLike) -> bool:
    """True when ``directory`` holds a finished artifact (its completion marker exists)."""
    return (Path(directory) / MARKER).is_file()


def require_complete(directory: str | os.PathLike, what: str) -> Path:
    """Return ``directory`` as a Path, or raise a one-line error saying how to build it."""
    directory = Path(directory)
    if not is_complete(directory):
        raise ArtifactError(
            f"{directory}: no complete {what} here (missing {MARKER}); build it first or check the path"
        )
    return directory


def completion_info(directory: str | os.PathLike) -> dict:
    return read_json(Path(directory) / MARKER)


@contextlib.contextmanager
def building(
    out: str | os.PathLike, *, config: Any = None, overwrite: bool = False
) -> Iterator[Path | None]:
    """Build an artifact directory atomically.

    Yields a temporary directory to write into, or ``None`` when ``out`` is already complete
    and ``overwrite`` is false (the caller then skips the work). On normal exit the temporary
    directory gets ``config.json`` and the completion marker and is renamed to ``out``; on an
    exception it is deleted and ``out`` is left as it was.

    Args:
        out: final artifact directory.
        config: resolved config (pydantic model or JSON-able dict) saved beside the outputs.
        overwrite: rebuild even when a complete artifact exists.
    """
    out = Path(out)
    for path in (out, *out.parents):
        if path.exists() and not path.is_dir():
            raise ArtifactError(f"{out}: {path} is an existing file, not a folder; choose another output path")
    if is_complete(out) and not overwrite:
        yield None
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    for stale in out.parent.glob(f".{out.name}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.tmp-"))
    try:
        yield tmp
        if config is not None:
            atomic_write_json(tmp / CONFIG_NAME, to_jsonable(config))
        atomic_write_json(tmp / MARKER, {"finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def to_jsonable(config: Any) -> Any:
    """Turn a pydantic model (or anything JSON-able) into plain JSON data."""
    dump = getattr(config, "model_dump", None)
    if dump is not None:
        return dump(mode="json")
    return json.loads(json.dumps(config, default=str))
