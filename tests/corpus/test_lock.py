"""Stale apt lists, lock files and fingerprints, with a stand-in apt-get and real .debs."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mda_augment.artifacts import is_complete, read_json
from mda_augment.corpus import apt
from mda_augment.corpus.fingerprint import file_sha256
from mda_augment.corpus.minipile import MinipileConfig, build_minipile, write_lock
from mda_augment.corpus.store import content_sha256
from mda_augment.errors import ConfigError, DataError, EnvironmentUnavailable

from .fake_apt import FakeApt
from .test_minipile import build_deb

PKG = "mda-test-pkg"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fake_apt(tmp_path, monkeypatch):
    fake = FakeApt(tmp_path)
    monkeypatch.setenv("PATH", fake.path_env())
    return fake


@pytest.fixture
def published(tmp_path, fake_apt):
    """Version 1.0 of the test package, served by the stand-in archive."""
    deb = build_deb(tmp_path / "v1", PKG, "1.0", extra="first release\n" * 20)
    fake_apt.publish(deb)
    return deb


def _cfg(tmp_path, cache: str, **kw) -> MinipileConfig:
    return MinipileConfig(packages=[PKG], cache_dir=tmp_path / cache, min_chunk_chars=50,
                          max_chunk_chars=4000, **kw)


def test_stale_lists_are_updated_then_the_download_is_retried(tmp_path, fake_apt, published):
    if not apt.is_root():
        pytest.skip("the retry runs apt-get update, which needs root")
    out = build_minipile(tmp_path / "mp", _cfg(tmp_path, "cache"))
    assert read_json(out / "composition.json")["documents"] > 0
    assert fake_apt.calls() == [f"download {PKG}", "update", f"download {PKG}"]


def test_without_root_the_error_says_to_run_sudo_apt_get_update(tmp_path, fake_apt, published, monkeypatch):
    monkeypatch.setattr(apt, "is_root", lambda: False)  # the tests run as root; the stand-in is real
    with pytest.raises(EnvironmentUnavailable) as err:
        build_minipile(tmp_path / "mp", _cfg(tmp_path, "cache"))
    message = str(err.value)
    assert "sudo apt-get update" in message and "Can't find a source" in message and "\n" not in message
    assert "update" not in fake_apt.calls()  # no update attempted without root


def test_write_lock_pins_version_and_sha256_without_downloading(tmp_path, fake_apt, published):
    lock = write_lock(_cfg(tmp_path, "cache"), tmp_path / "mp.lock.json")
    pins = read_json(lock)["packages"]
    assert pins == {PKG: {"version": "1.0", "architecture": "all", "sha256": file_sha256(published),
                          "file": published.name, "size": published.stat().st_size}}
    assert not (tmp_path / "cache").exists() or not list((tmp_path / "cache").iterdir())


def test_two_builds_from_one_lock_are_identical_and_ignore_newer_versions(tmp_path, fake_apt, published):
    lock = write_lock(_cfg(tmp_path, "cache-a"), tmp_path / "mp.lock.json")
    fake_apt.publish(build_deb(tmp_path / "v2", PKG, "2.0", extra="second release\n" * 20))
    a = build_minipile(tmp_path / "a", _cfg(tmp_path, "cache-a", lock=lock))
    b = build_minipile(tmp_path / "b", _cfg(tmp_path, "cache-b", lock=lock))
    fa, fb = (read_json(d / "config.json")["fingerprint"] for d in (a, b))
    assert fa["content_sha256"] == fb["content_sha256"] == content_sha256(a) == content_sha256(b)
    assert fa["debs"] == fb["debs"] == [{"package": PKG, "version": "1.0", "architecture": "all",
                                         "sha256": file_sha256(published), "file": published.name}]
    assert fa["lock"]["sha256"] == file_sha256(lock)
    assert f"download {PKG}=1.0" in fake_apt.calls()
    # without the lock the archive's newer version is read: the hash can tell them apart
    unlocked = build_minipile(tmp_path / "u", _cfg(tmp_path, "cache-u"))
    assert read_json(unlocked / "config.json")["fingerprint"]["debs"][0]["version"] == "2.0"
    assert read_json(unlocked / "composition.json")["content_sha256"] != fa["content_sha256"]


def test_a_cached_deb_with_another_sha256_is_refused(tmp_path, fake_apt, published):
    lock = write_lock(_cfg(tmp_path, "cache"), tmp_path / "mp.lock.json")
    cache = tmp_path / "cache"
    cache.mkdir(exist_ok=True)
    rebuilt = build_deb(tmp_path / "rebuilt", PKG, "1.0", extra="same version, other bytes\n" * 20)
    (cache / published.name).write_bytes(rebuilt.read_bytes())
    with pytest.raises(DataError) as err:
        build_minipile(tmp_path / "mp", _cfg(tmp_path, "cache", lock=lock))
    message = str(err.value)
    assert "sha256" in message and PKG in message and "1.0" in message and "\n" not in message
    assert not (tmp_path / "mp").exists()


def test_a_pinned_version_the_archive_no_longer_serves_is_one_line(tmp_path, fake_apt, published):
    lock = write_lock(_cfg(tmp_path, "cache"), tmp_path / "mp.lock.json")
    fake_apt.withdraw(published)
    fake_apt.publish(build_deb(tmp_path / "v2", PKG, "2.0"))
    with pytest.raises(EnvironmentUnavailable) as err:
        build_minipile(tmp_path / "mp", _cfg(tmp_path, "fresh-cache", lock=lock))
    message = str(err.value)
    assert "\n" not in message and f"{PKG} 1.0" in message and str(lock) in message
    assert ("no longer serves" if apt.is_root() else "sudo apt-get update") in message
    assert "corpus lock" in message  # how to refresh it


def test_prefer_policy_builds_with_todays_version_and_records_the_deviation(tmp_path, fake_apt, published):
    lock = write_lock(_cfg(tmp_path, "cache"), tmp_path / "mp.lock.json")
    fake_apt.withdraw(published)
    fake_apt.publish(build_deb(tmp_path / "v2", PKG, "2.0", extra="second release\n" * 20))
    out = build_minipile(tmp_path / "mp", _cfg(tmp_path, "fresh-cache", lock=lock, lock_policy="prefer"))
    fingerprint = read_json(out / "config.json")["fingerprint"]
    assert fingerprint["lock"]["deviations"] == [{"package": PKG, "pinned": "1.0", "used": "2.0"}]
    assert [d["version"] for d in fingerprint["debs"]] == ["2.0"]


def test_a_lock_without_a_pin_for_a_package_names_it(tmp_path, fake_apt, published):
    lock = tmp_path / "empty.lock.json"
    lock.write_text(json.dumps({"format": 1, "packages": {}}))
    with pytest.raises(ConfigError, match=f"no pin for {PKG}"):
        build_minipile(tmp_path / "mp", _cfg(tmp_path, "cache", lock=lock))
    lock.write_text("{not json")
    with pytest.raises(ConfigError, match="unreadable lock file"):
        build_minipile(tmp_path / "mp", _cfg(tmp_path, "cache", lock=lock))
    with pytest.raises(ConfigError, match="not found"):
        build_minipile(tmp_path / "mp", _cfg(tmp_path, "cache", lock=tmp_path / "nope.json"))


def test_the_shipped_small_lock_pins_the_whole_small_profile():
    from mda_augment.corpus.lock import read_lock
    from mda_augment.corpus.minipile import SMALL_PACKAGES, lock_file

    path = lock_file(MinipileConfig(lock=Path("recipes/minipile-small.lock.json")))
    assert path.resolve() == ROOT / "recipes" / "minipile-small.lock.json"
    assert set(read_lock(path)) == set(SMALL_PACKAGES)


def test_kill9_mid_build_then_rerun_gives_the_same_corpus(tmp_path, fake_apt, published):
    """A locked minipile build SIGKILLed at a random point, rerun: the same content hash."""
    lock = write_lock(_cfg(tmp_path, "cache"), tmp_path / "mp.lock.json")
    reference = build_minipile(tmp_path / "ref", _cfg(tmp_path, "cache", lock=lock))
    cfg = _cfg(tmp_path, "cache", lock=lock).model_dump_json()
    script = ("import sys; from mda_augment.corpus.minipile import MinipileConfig, build_minipile; "
              "build_minipile(sys.argv[1], MinipileConfig.model_validate_json(sys.argv[2]))")
    out = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", script, str(out), cfg], env=env)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".killed.tmp-*")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(random.Random().uniform(0.0, 0.3))  # somewhere inside the ~0.5 s build
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    build_minipile(out, _cfg(tmp_path, "cache", lock=lock))
    assert is_complete(out) and not list(tmp_path.glob(".killed.tmp-*"))
    assert content_sha256(out) == content_sha256(reference)
    assert read_json(out / "config.json")["fingerprint"] == read_json(reference / "config.json")["fingerprint"]
