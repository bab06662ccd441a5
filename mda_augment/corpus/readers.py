"""Readers: bring any text source into a document store with the one schema.

Each reader yields :class:`Document` objects and counts what it skipped, with the reason, in a
``Counter`` it is given (datatrove's rule: dropped items are accounted for, never silently
lost). :func:`ingest` runs a reader into a store directory atomically.

Malformed input never raises a traceback: an unusable *part* (a file in a folder, a line of a
JSONL file, a record) is skipped and counted in ``skipped.json``; an unusable *whole* input (a
missing path, a file where a folder is expected, a corrupt single Parquet file) is one
:class:`DataError` line naming the path and the fix. Memory stays bounded: text files over
:data:`MAX_FILE_BYTES` and JSONL lines over :data:`MAX_LINE_BYTES` are skipped unread.
"""

from __future__ import annotations

import json
import os
import stat
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, Literal

import pyarrow as pa
import pyarrow.parquet as pq

from ..artifacts import building
from ..errors import DataError, EnvironmentUnavailable
from .decoding import decode
from .kinds import classify
from .schema import FIELDS, Document
from .store import StoreWriter

Format = Literal["folder", "jsonl", "parquet", "hf"]
MAX_FILE_BYTES = 64 << 20  # a text file larger than this is skipped (read whole into memory)
MAX_LINE_BYTES = 16 << 20  # a JSONL line larger than this is skipped (never held whole)


def _entries(root: Path, pattern: str, skipped: Counter) -> Iterator[tuple[Path, int]]:
    """``(path, size)`` of the regular files under ``root`` matching ``pattern``, sorted.

    Directory symlinks are not followed by ``**`` (pathlib), so a link to an ancestor cannot
    loop; a file symlink that loops or dangles, a FIFO or a device is counted, not read.
    """
    try:
        paths = sorted(root.glob(pattern))
    except (ValueError, NotImplementedError) as err:
        raise DataError(f"pattern {pattern!r}: {err}; use a relative glob such as '**/*.txt'") from None
    for path in paths:
        try:
            info = path.stat()
        except OSError as err:
            skipped["broken or looping symlink" if path.is_symlink() else f"unreadable ({err.strerror})"] += 1
            continue
        if stat.S_ISDIR(info.st_mode):
            continue
        if not stat.S_ISREG(info.st_mode):
            skipped["not a regular file (FIFO, socket or device)"] += 1
            continue
        yield path, info.st_size


def read_folder(root: str | os.PathLike, skipped: Counter, pattern: str = "**/*",
                license: str = "unknown", max_file_bytes: int = MAX_FILE_BYTES) -> Iterator[Document]:
    """Every file under ``root`` matching ``pattern``; kind from :func:`kinds.classify`.

    Empty, binary (NUL bytes), non-UTF-8, oversized and unreadable files are skipped and
    counted by reason; nothing in the folder aborts the read.
    """
    root = Path(root)
    if root.is_file():
        raise DataError(f"{root}: is a file, not a folder; read one file with the jsonl or parquet "
                        "reader, or pass the folder that holds the text files")
    if not root.is_dir():
        raise DataError(f"{root}: no such folder; pass the folder that holds the text files")
    for path, size in _entries(root, pattern, skipped):
        if size > max_file_bytes:
            skipped[f"file over {max_file_bytes >> 20} MiB"] += 1
            continue
        try:
            data = path.read_bytes()
        except OSError as err:
            skipped[f"unreadable ({err.strerror})"] += 1
            continue
        rel = path.relative_to(root).as_posix()
        text, reason = decode(data)
        if text is None:
            skipped[reason] += 1
            continue
        kind, meta = classify(rel, text)
        yield Document(text=text, source=f"folder:{root.name}", path=rel, kind=kind,
                       license=license, meta=meta)


def _jsonable(value: Any) -> Any:
    """A value as JSON data (Parquet timestamps, decimals, bytes become strings)."""
    return json.loads(json.dumps(value, default=str))


def _from_record(rec: dict, where: str, source: str, text_field: str, skipped: Counter) -> Document | None:
    text = rec.get(text_field)
    if not isinstance(text, str) or not text.strip():
        skipped[f"no '{text_field}' text"] += 1
        return None
    known = {k: rec[k] for k in FIELDS if k in rec and k not in ("text", "id", "meta") and isinstance(rec[k], str)}
    extra = {k: v for k, v in rec.items() if k not in FIELDS and k != text_field}
    meta = rec.get("meta") if isinstance(rec.get("meta"), dict) else {}
    try:
        kind = known.pop("kind", None) or classify(known.get("path", ""), text)[0]
        doc = Document(text=text, source=known.pop("source", source), path=known.pop("path", where),
                       kind=kind, license=known.pop("license", "unknown"),
                       meta=_jsonable({**meta, **extra}))
        for value in doc.to_row().values():
            value.encode("utf-8")  # a lone surrogate ("\\ud800" in JSON) cannot be stored
    except (UnicodeEncodeError, ValueError, TypeError, RecursionError):
        skipped["record with text that is not valid Unicode"] += 1
        return None
    return doc


def _bounded_lines(f: BinaryIO, limit: int) -> Iterator[tuple[int, bytes | None]]:
    """``(line number, bytes)`` per line; a line over ``limit`` bytes comes back as None
    and is read past in 1 MiB pieces, so memory stays bounded by ``limit``."""
    lineno = 0
    while True:
        line = f.readline(limit + 1)
        if not line:
            return
        lineno += 1
        if len(line) > limit:
            while not line.endswith(b"\n"):
                line = f.readline(1 << 20)
                if not line:
                    break
            yield lineno, None
            continue
        yield lineno, line


def _open_file(path: Path, what: str) -> BinaryIO:
    if path.is_dir():
        raise DataError(f"{path}: is a folder; pass one {what} file (the folder reader reads "
                        "folders of text files)")
    if not path.is_file():
        raise DataError(f"{path}: no such file; pass a {what} file")
    try:
        return open(path, "rb")
    except OSError as err:
        raise DataError(f"{path}: cannot open ({err.strerror}); check its permissions") from None


def read_jsonl(path: str | os.PathLike, skipped: Counter, text_field: str = "text",
               max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[Document]:
    """One JSON object per line; other keys go to ``meta``.

    Bad lines are skipped and counted, never fatal: invalid JSON, non-objects, lines over
    ``max_line_bytes`` (read past without holding them), and lines that are not UTF-8. A
    Latin-1 line is *skipped*, not decoded with replacement characters: guessing would put
    U+FFFD into training text silently, a skipped line is visible in ``skipped.json``. A file
    in which no line at all is valid (a binary file, a CSV) is a :class:`DataError`.
    """
    path = Path(path)
    bad = 0
    good = 0
    with _open_file(path, ".jsonl") as f:
        for lineno, raw in _bounded_lines(f, max_line_bytes):
            reason, doc = _jsonl_line(raw, f"{path.name}:{lineno}", f"jsonl:{path.name}", text_field,
                                      max_line_bytes, skipped)
            if reason:
                skipped[reason] += 1
                bad += 1
            elif doc is not None:
                good += 1
                yield doc
    if bad and not good:
        raise DataError(f"{path}: no line is a JSON object with '{text_field}' text ({bad} bad lines); "
                        "is this a JSONL file? (the folder reader reads plain text files)")


def _jsonl_line(raw: bytes | None, where: str, source: str, text_field: str, limit: int,
                skipped: Counter) -> tuple[str, Document | None]:
    """``(reason, None)`` for a bad line, ``("", document or None)`` otherwise."""
    if raw is None:
        return f"line over {limit >> 20} MiB", None
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "line not UTF-8", None
    if not line.strip():
        return "", None
    try:
        rec = json.loads(line)
    except (ValueError, RecursionError):  # JSONDecodeError, over-long ints, deep nesting
        return "invalid JSON line", None
    if not isinstance(rec, dict):
        return "JSON line is not an object", None
    return "", _from_record(rec, where, source, text_field, skipped)


def _parquet_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.glob("*.parquet") if p.is_file())
        if not files:
            raise DataError(f"{path}: no .parquet files in this folder; pass a .parquet file or a folder of them")
        return files
    if not path.is_file():
        raise DataError(f"{path}: no such file or folder; pass a .parquet file or a folder of them")
    return [path]


def read_parquet(path: str | os.PathLike, skipped: Counter, text_field: str = "text") -> Iterator[Document]:
    """A Parquet file or a folder of them, with at least a text column.

    In a folder, a file that is not readable Parquet (empty, truncated, a fake ``PAR1``
    header) or lacks the text column is skipped and counted, and a file damaged part-way is
    kept up to the damage; a single such file, or a folder where no file is usable, is a
    one-line :class:`DataError`.
    """
    path = Path(path)
    files = _parquet_files(path)
    single = not path.is_dir()
    usable = 0
    failures: Counter = Counter()
    for file in files:
        problem = yield from _parquet_documents(file, text_field, skipped)
        if problem is None:
            usable += 1
            continue
        if single:
            raise DataError(f"{file}: {problem}")
        failures[problem.split(";")[0]] += 1
        skipped[f"Parquet file: {problem.split(';')[0]}"] += 1
    if not usable:
        reason = failures.most_common(1)[0][0]
        raise DataError(f"{path}: none of its {len(files)} Parquet files is usable ({reason}); "
                        f"fix the files or pass --text-field with the text column")


def _parquet_documents(file: Path, text_field: str, skipped: Counter) -> Iterator[Document]:
    """Documents of one file; returns None when it was read whole, else what went wrong."""
    try:
        pf = pq.ParquetFile(file)
        names = pf.schema_arrow.names
    except (OSError, ValueError, pa.ArrowException) as err:
        return (f"not a readable Parquet file ({type(err).__name__}); re-export it or remove it"
                if file.stat().st_size else "empty file (0 bytes); remove it")
    if text_field not in names:
        return f"no column '{text_field}' (columns: {', '.join(names[:8])}); pass --text-field with the text column"
    row = 0
    try:
        for batch in pf.iter_batches(batch_size=1024):
            for rec in batch.to_pylist():
                doc = _from_record(rec, f"{file.name}:{row}", f"parquet:{file.name}", text_field, skipped)
                row += 1
                if doc:
                    yield doc
    except (OSError, ValueError, pa.ArrowException) as err:
        return f"damaged after row {row} ({type(err).__name__}); re-export it"
    return None


def read_hf(name: str, skipped: Counter, split: str = "train", text_field: str = "text",
            config: str | None = None) -> Iterator[Document]:
    """A Hugging Face dataset by hub name or local path (``datasets.load_dataset``)."""
    import datasets

    local = Path(name).exists()
    try:
        ds = datasets.load_from_disk(name) if local and (Path(name) / "dataset_info.json").exists() else \
            datasets.load_dataset(name, config, split=split)
    except (ConnectionError, OSError, ValueError) as err:
        if local:
            raise DataError(f"{name}: cannot load this local dataset ({str(err).splitlines()[0][:120]})") from None
        raise EnvironmentUnavailable(
            f"dataset '{name}': cannot reach the Hugging Face hub or the dataset does not exist "
            f"({type(err).__name__}); download it where the hub is reachable and pass its local path"
        ) from None
    if isinstance(ds, datasets.DatasetDict):
        if split not in ds:
            raise DataError(f"{name}: no split '{split}'; available: {list(ds)}")
        ds = ds[split]
    for i, rec in enumerate(ds):
        doc = _from_record(rec, f"{split}:{i}", f"hf:{name}", text_field, skipped)
        if doc:
            yield doc


def ingest(fmt: Format, source: str | os.PathLike, out: str | os.PathLike, *, overwrite: bool = False,
           text_field: str = "text", pattern: str = "**/*", split: str = "train") -> Path:
    """Read ``source`` with the reader for ``fmt`` into the document store ``out``."""
    cfg = {"format": fmt, "source": str(source), "text_field": text_field, "pattern": pattern, "split": split}
    with building(out, config=cfg, overwrite=overwrite) as tmp:
        if tmp is None:
            return Path(out)
        skipped: Counter = Counter()
        docs = {
            "folder": lambda: read_folder(source, skipped, pattern),
            "jsonl": lambda: read_jsonl(source, skipped, text_field),
            "parquet": lambda: read_parquet(source, skipped, text_field),
            "hf": lambda: read_hf(str(source), skipped, split, text_field),
        }[fmt]()
        writer = StoreWriter(tmp)
        writer.add_all(docs)
        writer.close(skipped={"total": sum(skipped.values()), "reasons": dict(skipped)})
    return Path(out)
