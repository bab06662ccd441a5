"""Malformed corpus inputs: each one is skipped and counted, or one DataError line; never a
traceback, never unbounded memory, never a hang. One case per test, on real files."""

from __future__ import annotations

import json
import os
import signal
import tempfile
import tracemalloc
from collections import Counter
from pathlib import Path

import polars as pl
import pytest

from mda_augment.artifacts import read_json
from mda_augment.corpus.minipile import MinipileConfig, build_minipile
from mda_augment.corpus.readers import ingest, read_folder, read_jsonl, read_parquet
from mda_augment.corpus.store import read_table
from mda_augment.errors import DataError

from .test_minipile import build_deb


def _one_line(err: pytest.ExceptionInfo, *parts: str) -> None:
    message = str(err.value)
    assert "\n" not in message, message
    for part in parts:
        assert part in message, message


def _good_parquet(path: Path, texts=("good one", "good two")) -> Path:
    pl.DataFrame({"text": list(texts)}).write_parquet(path)
    return path


@pytest.fixture
def no_hang():
    """Fail (instead of hanging the suite) if a reader loops for more than 20 s."""
    def on_alarm(*_):
        raise TimeoutError("reader did not terminate")
    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def test_binary_file_given_as_jsonl_is_one_line(tmp_path):
    path = tmp_path / "model.jsonl"
    path.write_bytes(bytes(range(256)) * 400 + b"\n\x00\x01\n")
    with pytest.raises(DataError) as err:
        list(read_jsonl(path, Counter()))
    _one_line(err, str(path), "is this a JSONL file")


def test_broken_jsonl_lines_are_skipped_and_counted(tmp_path):
    path = tmp_path / "d.jsonl"
    lines = [json.dumps({"text": "kept first"}).encode(), b"{broken", b"[" * 100_000 + b"]" * 100_000,
             b'{"text": "big", "n": ' + b"9" * 5000 + b"}", b'{"text": "lone \\ud800 surrogate"}',
             b'"just a string"', json.dumps({"text": "kept last"}).encode(), b'{"text": "truncated']
    path.write_bytes(b"\n".join(lines))
    skipped = Counter()
    docs = [d.text for d in read_jsonl(path, skipped)]
    assert docs == ["kept first", "kept last"]
    assert skipped == Counter({"invalid JSON line": 4, "JSON line is not an object": 1,
                               "record with text that is not valid Unicode": 1})


def test_a_latin1_line_does_not_kill_a_jsonl_file(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_bytes(b'{"text": "before"}\n' + '{"text": "caf\xe9"}'.encode("latin-1") + b'\n{"text": "after"}\n')
    skipped = Counter()
    assert [d.text for d in read_jsonl(path, skipped)] == ["before", "after"]
    assert skipped == Counter({"line not UTF-8": 1})


def test_a_50mb_jsonl_line_is_skipped_in_bounded_memory(tmp_path):
    path = tmp_path / "huge.jsonl"
    with open(path, "wb") as f:
        f.write(b'{"text": "small before"}\n{"text": "')
        block = b"x" * (1 << 20)
        for _ in range(50):
            f.write(block)
        f.write(b'"}\n{"text": "small after"}\n')
    skipped = Counter()
    tracemalloc.start()
    docs = [d.text for d in read_jsonl(path, skipped, max_line_bytes=1 << 20)]
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert docs == ["small before", "small after"]
    assert skipped == Counter({"line over 1 MiB": 1})
    assert peak < 8 << 20, f"peak {peak / 2**20:.1f} MiB for a 50 MiB line"


def test_zero_byte_parquet_is_one_line(tmp_path):
    path = tmp_path / "empty.parquet"
    path.write_bytes(b"")
    with pytest.raises(DataError) as err:
        list(read_parquet(path, Counter()))
    _one_line(err, str(path), "empty file")


def test_corrupt_parquet_is_one_line(tmp_path):
    path = _good_parquet(tmp_path / "cut.parquet")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(DataError) as err:
        list(read_parquet(path, Counter()))
    _one_line(err, str(path), "not a readable Parquet file")


def test_fake_magic_parquet_is_one_line(tmp_path):
    path = tmp_path / "fake.parquet"
    path.write_bytes(b"PAR1" + os.urandom(4096) + b"\x10\x00\x00\x00PAR1")
    with pytest.raises(DataError) as err:
        list(read_parquet(path, Counter()))
    _one_line(err, str(path), "not a readable Parquet file")


def test_folder_with_one_good_and_one_corrupt_parquet_skips_the_bad_one(tmp_path):
    folder = tmp_path / "pq"
    folder.mkdir()
    _good_parquet(folder / "a.parquet")
    (folder / "b.parquet").write_bytes(b"PAR1 not really PAR1")
    out = ingest("parquet", folder, tmp_path / "store")
    assert sorted(read_table(out).column("text").to_pylist()) == ["good one", "good two"]
    reasons = read_json(out / "skipped.json")["reasons"]
    assert reasons == {"Parquet file: not a readable Parquet file (ArrowInvalid)": 1}


def test_parquet_without_the_text_column(tmp_path):
    single = tmp_path / "body.parquet"
    pl.DataFrame({"body": ["x"]}).write_parquet(single)
    with pytest.raises(DataError) as err:
        list(read_parquet(single, Counter()))
    _one_line(err, "no column 'text'", "--text-field")
    folder = tmp_path / "mixed"
    folder.mkdir()
    single.rename(folder / "body.parquet")
    _good_parquet(folder / "good.parquet")
    skipped = Counter()
    assert len(list(read_parquet(folder, skipped))) == 2
    assert list(skipped) == ["Parquet file: no column 'text' (columns: body)"]
    (folder / "good.parquet").unlink()
    with pytest.raises(DataError) as err:  # no file is usable: the user forgot --text-field
        list(read_parquet(folder, Counter()))
    _one_line(err, "none of its 1 Parquet files", "--text-field")


def test_non_utf8_text_file_in_a_folder_is_skipped(tmp_path):
    folder = tmp_path / "t"
    folder.mkdir()
    (folder / "ok.txt").write_text("fine text\n")
    (folder / "latin1.txt").write_bytes("na\xefve caf\xe9\n".encode("latin-1"))
    (folder / "utf16.txt").write_text("wide text\n", encoding="utf-16")
    skipped = Counter()
    assert [d.path for d in read_folder(folder, skipped)] == ["ok.txt"]
    assert skipped == Counter({"not utf-8": 1, "binary": 1})  # UTF-16 has NUL bytes


def test_symlink_loops_terminate_and_are_counted(tmp_path, no_hang):
    folder = tmp_path / "links"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "real.txt").write_text("real text\n")
    os.symlink("b", folder / "a")
    os.symlink("a", folder / "b")
    os.symlink("..", folder / "sub" / "up")  # a directory loop
    os.symlink(folder / "missing", folder / "dangling")
    os.mkfifo(folder / "pipe")  # would block a plain read forever
    skipped = Counter()
    assert [d.path for d in read_folder(folder, skipped)] == ["sub/real.txt"]
    assert skipped == Counter({"broken or looping symlink": 3, "not a regular file (FIFO, socket or device)": 1})


def test_directory_where_a_file_is_expected_and_vice_versa(tmp_path):
    with pytest.raises(DataError) as err:
        list(read_jsonl(tmp_path, Counter()))
    _one_line(err, str(tmp_path), "is a folder")
    afile = tmp_path / "x.txt"
    afile.write_text("text\n")
    with pytest.raises(DataError) as err:
        list(read_folder(afile, Counter()))
    _one_line(err, str(afile), "is a file, not a folder")
    with pytest.raises(DataError) as err:
        list(read_parquet(tmp_path, Counter()))
    _one_line(err, "no .parquet files")
    with pytest.raises(DataError) as err:
        list(read_jsonl(tmp_path / "missing.jsonl", Counter()))
    _one_line(err, "no such file")


def _as_nobody(fn):
    """Run ``fn`` in a forked child as uid/gid 65534 and return its JSON result."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.close(read_fd)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            os.write(write_fd, json.dumps(fn()).encode())
        finally:
            os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as f:
        data = f.read()
    os.waitpid(pid, 0)
    return json.loads(data)


def test_unreadable_files_are_skipped_or_one_line():
    """Run as an unprivileged uid: as root chmod 000 would not stop the reads."""
    root = Path(tempfile.mkdtemp(prefix="mda-unreadable-", dir="/tmp"))
    try:
        root.chmod(0o755)
        (root / "ok.txt").write_text("readable\n")
        (root / "secret.txt").write_text("unreadable\n")
        (root / "secret.txt").chmod(0o000)
        (root / "d.jsonl").write_text('{"text": "x"}\n')
        (root / "d.jsonl").chmod(0o000)
        os.chmod(root / "ok.txt", 0o644)

        def attempt():
            skipped = Counter()
            paths = [d.path for d in read_folder(root, skipped)]
            try:
                list(read_jsonl(root / "d.jsonl", Counter()))
                jsonl = "read"
            except DataError as err:
                jsonl = str(err)
            return {"paths": paths, "skipped": dict(skipped), "jsonl": jsonl}

        result = _as_nobody(attempt) if os.geteuid() == 0 else attempt()
        assert result["paths"] == ["ok.txt"]
        assert result["skipped"] == {"unreadable (Permission denied)": 2}  # secret.txt, d.jsonl
        assert "cannot open (Permission denied)" in result["jsonl"] and "\n" not in result["jsonl"]
    finally:
        for p in root.iterdir():
            p.unlink()
        root.rmdir()


def test_damaged_deb_is_one_line(tmp_path):
    good = build_deb(tmp_path)
    cut = tmp_path / "cut_1.0_all.deb"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size - 200])
    garbage = tmp_path / "garbage_1.0_all.deb"
    garbage.write_bytes(b"!<arch>\n" + os.urandom(500))
    for deb in (cut, garbage):
        with pytest.raises(DataError) as err:
            build_minipile(tmp_path / f"mp-{deb.stem}", MinipileConfig(packages=[], local_debs=[deb]))
        _one_line(err, str(deb), "delete")
