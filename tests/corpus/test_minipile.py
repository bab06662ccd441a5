"""The minipile builder on a .deb built here with dpkg-deb, and on one real Debian package."""

from __future__ import annotations

import gzip
import shutil
import subprocess
from pathlib import Path

import pytest

from mda_augment.artifacts import read_json
from mda_augment.corpus.debian import iter_package_files
from mda_augment.corpus.minipile import MinipileConfig, build_minipile, chunk_text, water_fill
from mda_augment.corpus.store import iter_documents
from mda_augment.errors import EnvironmentUnavailable

PEM = "-----BEGIN CERTIFICATE-----\n" + "\n".join(["MIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBaMQswCQYDVQQGEwJJ"] * 8) + "\n-----END CERTIFICATE-----\n"
FILES = {
    "usr/share/mda/paper.tex": "\\documentclass{article}\n\\begin{document}\n" + "\\section{A}\\label{s:a} see \\ref{s:a}.\n" * 40 + "\\end{document}\n",
    "usr/share/mda/macros.sty": "\\NeedsTeXFormat{LaTeX2e}\n" + "\\newcommand{\\foo}[1]{\\textbf{#1}}\n" * 30,
    "usr/share/mda/page.html": "<!DOCTYPE html><html><body>" + "<p class='x'>para</p>\n" * 40 + "</body></html>\n",
    "usr/share/mda/data.xml": "<?xml version='1.0'?>\n<root>\n" + "  <entry id='a1'><v>1</v></entry>\n" * 40 + "</root>\n",
    "usr/share/mda/prog.c": "#include <stdio.h>\n" + "int f(int x) { return x * 2; }\n" * 40,
    "usr/share/mda/tool.py": "import os\n" + "def g(x):\n    return x + 1\n" * 40,
    "usr/share/mda/cert.pem": PEM * 3,
    "usr/share/mda/app.log": "".join(f"2024-01-0{i % 9 + 1} 12:00:0{i % 10} host sshd[42]: Accepted key for root\n" for i in range(40)),
    "usr/share/mda/notes.txt": "".join(f"Line {i} of a long technical note about packing.\n" for i in range(2000)),
}


def build_deb(tmp_path: Path, name: str = "mda-test-pkg", version: str = "1.0", extra: str = "") -> Path:
    """A real .deb built with dpkg-deb; ``extra`` adds a file that tells versions apart."""
    if shutil.which("dpkg-deb") is None:
        pytest.skip("dpkg-deb is not installed (Debian's dpkg package provides it)")
    root = tmp_path / f"pkgroot-{name}-{version}"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        f"Package: {name}\nVersion: {version}\nArchitecture: all\nMaintainer: t <t@example.org>\nDescription: test\n")
    for rel, text in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    if extra:
        (root / "usr/share/mda/extra.txt").write_text(extra)
    doc = root / f"usr/share/doc/{name}"
    doc.mkdir(parents=True)
    (doc / "copyright").write_text("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nLicense: MIT\n")
    (doc / "changelog.Debian.gz").write_bytes(gzip.compress(
        (f"{name} (1.0) unstable; urgency=medium\n\n  * Initial release with a longer line of text.\n\n"
         " -- t <t@example.org>  Mon, 01 Jan 2024 00:00:00 +0000\n" * 5).encode()))
    (root / "usr/share/mda/latin1.txt").write_bytes(("caf\xe9 " * 200).encode("latin-1"))
    (root / "usr/share/mda/blob.bin").write_bytes(b"\x00\x7f" * 500)
    (root / "usr/share/mda/empty.txt").write_bytes(b"")
    deb = tmp_path / f"{name}_{version.replace(':', '%3a')}_all.deb"
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(root), str(deb)], check=True, capture_output=True)
    return deb


def cfg(deb: Path, **kw) -> MinipileConfig:
    return MinipileConfig(packages=[], local_debs=[deb], min_chunk_chars=50, max_chunk_chars=4000, **kw)


def test_deb_reader_sees_files_and_decompresses_gz(tmp_path):
    deb = build_deb(tmp_path)
    paths = {m.path: m.data for m in iter_package_files(deb)}
    assert "usr/share/mda/paper.tex" in paths
    assert paths["usr/share/doc/mda-test-pkg/changelog.Debian"].startswith(b"mda-test-pkg (1.0)")


def test_minipile_labels_kinds_records_license_and_skips(tmp_path):
    deb = build_deb(tmp_path)
    out = build_minipile(tmp_path / "mp", cfg(deb))
    docs = list(iter_documents(out))
    kinds = {d.path.split("#")[0].rsplit("/", 1)[-1]: d.kind for d in docs}
    assert kinds == {"paper.tex": "latex", "macros.sty": "latex_macros", "page.html": "html",
                     "data.xml": "xml", "prog.c": "code", "tool.py": "code", "cert.pem": "base64",
                     "app.log": "log", "notes.txt": "technical_prose", "changelog.Debian": "changelog"}
    assert {d.source for d in docs} == {"mda-test-pkg"} and {d.license for d in docs} == {"MIT"}
    reasons = read_json(out / "skipped.json")["reasons"]
    for reason in ("not utf-8", "binary", "empty"):
        assert reasons.get(f"mda-test-pkg: {reason}") == 1
    comp = read_json(out / "composition.json")
    assert comp["by_source"]["mda-test-pkg"]["documents"] == len(docs)
    assert set(comp["by_kind"]) == set(kinds.values())


def test_long_files_are_chunked_and_chunks_rebuild_the_file(tmp_path):
    deb = build_deb(tmp_path)
    docs = [d for d in iter_documents(build_minipile(tmp_path / "mp", cfg(deb))) if "notes.txt" in d.path]
    docs.sort(key=lambda d: d.meta["chunk"])
    assert len(docs) > 1 and all(len(d.text) <= 4000 for d in docs)
    assert "".join(d.text for d in docs) == FILES["usr/share/mda/notes.txt"]


def test_sampling_is_deterministic_and_the_size_knob_bounds_it(tmp_path):
    deb = build_deb(tmp_path)
    a = sorted(d.id for d in iter_documents(build_minipile(tmp_path / "a", cfg(deb))))
    b = sorted(d.id for d in iter_documents(build_minipile(tmp_path / "b", cfg(deb))))
    assert a == b
    weights = {"technical_prose": 1.0}
    small = build_minipile(tmp_path / "s", cfg(deb, target_mb=0.03, weights=weights))
    assert read_json(small / "composition.json")["mb"] <= 0.03 + 0.004  # one chunk of slack
    kinds = {d.kind for d in iter_documents(small)}
    assert kinds == {"technical_prose"}


def test_chunk_text_and_water_fill():
    assert chunk_text("a\n" * 10, 4) == ["a\na\n"] * 5
    assert chunk_text("x" * 10, 4) == ["xxxx", "xxxx", "xx"]
    assert water_fill({"big": 100, "small": 10, "mid": 40}, 90) == {"small": 10, "mid": 40, "big": 40}


def test_missing_apt_is_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no apt-get on PATH
    with pytest.raises(EnvironmentUnavailable, match="apt-get is not available.*local_debs.*corpus read"):
        build_minipile(tmp_path / "mp", MinipileConfig(packages=["fortunes-min"], cache_dir=tmp_path / "cache"))


@pytest.mark.network
def test_real_debian_package(tmp_path):
    """fortunes-min (56 KB) fetched with apt-get download and read as prose."""
    if shutil.which("apt-get") is None:
        pytest.skip("apt-get not available on this machine")
    probe = subprocess.run(["apt-cache", "show", "fortunes-min"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip("the Debian registry does not list fortunes-min here (apt lists missing or no network)")
    out = build_minipile(tmp_path / "mp", MinipileConfig(packages=["fortunes-min"], cache_dir=tmp_path / "cache"))
    docs = list(iter_documents(out))
    assert docs and {d.kind for d in docs} >= {"prose"}
    assert all(d.source == "fortunes-min" for d in docs)
