"""``minipile``: the embedded default corpus, built from real Debian packages.

Packages are fetched with ``apt-get download`` (never installed) into a reusable cache and read
straight out of their ``.deb`` archives (:mod:`debian`). Every file is decoded (non-UTF-8 and
binary files are skipped and counted with their reason), labelled by :mod:`kinds`, and cut into
chunks at line boundaries. Sampling is deterministic under a size knob: each kind gets a byte
budget (``target_mb`` x its weight), split fairly among the packages that supply it
(water-filling), and within a package the chunks with the smallest seeded hash are kept, i.e. a
uniform sample that does not depend on file order. Exact duplicates are dropped by content id.

Same packages + same config = same corpus. ``lock`` pins the packages (version and sha256 per
package, :mod:`lock`; ``write_lock`` writes one from the archive's current lists), and
``config.json`` records under ``fingerprint`` every ``.deb`` read (package, version, sha256),
the lock's sha256 and the store's ``content_sha256``.
"""

from __future__ import annotations

import hashlib
import heapq
import os
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from tqdm import tqdm

from ..artifacts import building
from ..config import StrictModel
from ..errors import ConfigError
from . import apt
from .debian import Member, deb_info, iter_package_files, package_name
from .decoding import decode
from .fingerprint import file_sha256
from .kinds import KINDS, classify
from .lock import fetch, fetch_locked, read_lock, resolve_lock_path, save_lock, verify
from .schema import Document
from .store import StoreWriter

SMALL_PACKAGES = [
    "fortunes", "jargon-text", "dict-gcide",  # prose, dictionary (bible-kjv-text is binary)
    "python3.11-doc", "postgresql-doc-15", "sqlite3-doc", "debian-reference-en",
    "developers-reference",  # html and technical prose
    "golang-1.19-src", "libpython3.11-stdlib", "perl-modules-5.36", "linux-libc-dev",
    "libc6-dev", "vim-runtime", "openjdk-17-source",  # code
    "texlive-latex-extra", "texlive-science-doc",  # LaTeX macros and documents
    "docbook-xsl", "shared-mime-info", "docbook-xml",  # XML
    "glibc-doc",  # changelogs
    "fail2ban",  # logs
    "ca-certificates", "libpython3.11-testsuite",  # base64 (PEM, MIME mails)
]
FULL_EXTRA = ["linux-source-6.1", "texlive-latex-extra-doc", "texlive-publishers-doc", "openjdk-17-doc"]
PROFILES = {"small": SMALL_PACKAGES, "full": SMALL_PACKAGES + FULL_EXTRA}
DEFAULT_WEIGHTS = {
    "prose": 0.10, "dictionary": 0.04, "technical_prose": 0.14, "html": 0.12, "xml": 0.08,
    "latex": 0.10, "latex_macros": 0.06, "code": 0.24, "changelog": 0.04, "log": 0.04, "base64": 0.04,
}
_LICENSE_RE = re.compile(r"^License:\s*(\S.*)$", re.MULTILINE)




def default_cache_dir() -> Path:
    return Path(os.environ.get("MDA_CACHE", Path.home() / ".cache" / "mda-augment")) / "debs"


class MinipileConfig(StrictModel):
    """What goes into the minipile and how big it is."""

    profile: Literal["small", "full"] = Field("small", description="package set: small (~230 MB download) or full (~1.4 GB)")
    target_mb: float = Field(30.0, gt=0, description="approximate size of the sampled corpus")
    seed: int = Field(0, description="sampling seed")
    max_chunk_chars: int = Field(8000, ge=256, description="long files are cut into chunks of at most this")
    min_chunk_chars: int = Field(200, ge=1, description="chunks shorter than this are dropped")
    max_bad_byte_fraction: float = Field(1e-4, ge=0, le=0.01, description="invalid UTF-8 bytes tolerated per file (replaced, recorded in meta)")
    packages: list[str] | None = Field(None, description="override the profile's package list")
    local_debs: list[Path] = Field(default_factory=list, description="extra .deb files to read (no download)")
    cache_dir: Path | None = Field(None, description="where .deb files are cached (default ~/.cache/mda-augment/debs)")
    lock_policy: Literal["strict", "prefer"] = Field(
        "strict", description="when the archive no longer serves a pinned version: strict refuses; prefer uses "
        "today's version of that package, warns, and records the deviation in config.json")
    lock: Path | None = Field(None, description="lock file pinning each package's version and sha256 "
                              "(e.g. recipes/minipile-small.lock.json; relative paths also resolve "
                              "against the repository); null: the newest cached or served version")
    weights: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_WEIGHTS), description="byte share per kind")

    @field_validator("weights")
    @classmethod
    def _kinds(cls, v: dict[str, float]) -> dict[str, float]:
        bad = sorted(set(v) - set(KINDS))
        if bad:
            raise ValueError(f"unknown kinds {bad}; known: {list(KINDS)}")
        if any(w < 0 for w in v.values()) or sum(v.values()) <= 0:
            raise ValueError("weights must be >= 0 and not all zero")
        return v


def chunk_text(text: str, max_chars: int) -> list[str]:
    """Cut ``text`` at line boundaries into pieces of at most ``max_chars`` characters."""
    if len(text) <= max_chars:
        return [text]
    chunks, current, size = [], [], 0
    for line in text.splitlines(keepends=True):
        while len(line) > max_chars:  # one huge line: hard split
            if current:
                chunks.append("".join(current))
                current, size = [], 0
            chunks.append(line[:max_chars])
            line = line[max_chars:]
        if size + len(line) > max_chars and current:
            chunks.append("".join(current))
            current, size = [], 0
        current.append(line)
        size += len(line)
    if current:
        chunks.append("".join(current))
    return chunks


def _rank(seed: int, doc_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(f"{seed}:{doc_id}".encode(), digest_size=8).digest(), "big")


class _Reservoir:
    """Keeps the lowest-ranked chunks up to a byte budget (a deterministic uniform sample)."""

    def __init__(self, budget: int):
        self.budget = budget
        self.heap: list[tuple[int, int, Document]] = []  # (-rank, size, doc): max-heap on rank
        self.size = 0
        self.available = 0  # bytes offered, kept or not

    def offer(self, rank: int, doc: Document) -> None:
        n = len(doc.text.encode("utf-8"))
        self.available += n
        heapq.heappush(self.heap, (-rank, n, doc))
        self.size += n
        while self.size > self.budget and len(self.heap) > 1:
            _, m, _ = heapq.heappop(self.heap)
            self.size -= m

    def take(self, budget: int) -> list[Document]:
        """Lowest-ranked documents whose total size fits ``budget`` (at least one)."""
        out, used = [], 0
        for neg, n, doc in sorted(self.heap, key=lambda t: -t[0]):
            if used + n > budget and out:
                break
            out.append(doc)
            used += n
            del neg
        return out


def water_fill(available: dict[str, int], budget: int) -> dict[str, int]:
    """Split ``budget`` fairly: each source gets min(what it has, an equal share of the rest)."""
    alloc, remaining = {}, budget
    items = sorted(available.items(), key=lambda kv: kv[1])
    for i, (key, avail) in enumerate(items):
        share = remaining // (len(items) - i)
        alloc[key] = min(avail, share)
        remaining -= alloc[key]
    return alloc


def license_of(member: Member) -> str | None:
    """First ``License:`` field of a DEP-5 copyright file, if machine-readable."""
    text, _ = decode(member.data)
    m = _LICENSE_RE.search(text or "")
    return m.group(1).strip() if m else None


def _read_package(deb: Path, cfg: MinipileConfig, budgets: dict[str, int], seen: set[str],
                  reservoirs: dict[tuple[str, str], _Reservoir], skipped: Counter) -> str:
    """Offer every chunk of one package to the (kind, package) reservoirs; return its license."""
    pkg = package_name(deb)
    license_ = f"see /usr/share/doc/{pkg}/copyright"
    members: Counter = Counter()
    for member in iter_package_files(deb, skipped=members):
        if member.path.endswith(f"usr/share/doc/{pkg}/copyright"):
            license_ = license_of(member) or license_
            continue
        text, reason = decode(member.data, cfg.max_bad_byte_fraction)
        if text is None:
            skipped[f"{pkg}: {reason}"] += 1
            continue
        kind, meta = classify(member.path, text, pkg)
        if kind not in budgets:
            skipped[f"{pkg}: kind {kind} not sampled"] += 1
            continue
        for i, piece in enumerate(chunk_text(text, cfg.max_chunk_chars)):
            if len(piece.strip()) < cfg.min_chunk_chars:
                skipped[f"{pkg}: chunk under {cfg.min_chunk_chars} chars"] += 1
                continue
            extra = {"repair": reason} if reason else {}
            doc = Document(text=piece, source=pkg, path=f"{member.path}#{i}", kind=kind,
                           meta={**meta, **extra, "deb": deb.name, "chunk": i})
            if doc.id in seen:
                skipped[f"{pkg}: exact duplicate"] += 1
                continue
            seen.add(doc.id)
            key = (kind, pkg)
            if key not in reservoirs:
                reservoirs[key] = _Reservoir(budgets[kind])
            reservoirs[key].offer(_rank(cfg.seed, doc.id), doc)
    for reason, count in members.items():
        skipped[f"{pkg}: {reason}"] += count
    return license_


def package_list(cfg: MinipileConfig) -> list[str]:
    return cfg.packages if cfg.packages is not None else PROFILES[cfg.profile]


def lock_file(cfg: MinipileConfig) -> Path | None:
    """The configured lock file, resolved (see :func:`lock.resolve_lock_path`)."""
    if cfg.lock is None:
        return None
    from ..paths import data_dir

    path = resolve_lock_path(cfg.lock, data_dir("recipes").parent)  # the checkout, or the installed data
    if not path.is_file():
        raise ConfigError(f"minipile.lock: {cfg.lock} not found; write one with write_lock "
                          "(CLI: mda-augment corpus lock) or set lock: null")
    return path


def resolve_debs(cfg: MinipileConfig) -> tuple[list[Path], list[dict]]:
    """The ``.deb`` files to read and the lock deviations: the package list (pinned by the lock,
    if any), fetched into the cache as needed, then ``local_debs`` (verified against the lock
    when it pins them)."""
    packages = package_list(cfg)
    cache = Path(cfg.cache_dir or default_cache_dir())
    lock = lock_file(cfg)
    if lock is None:
        debs = list(fetch(packages, cache).values()) if packages else []
        return debs + [Path(p) for p in cfg.local_debs], []
    pins = read_lock(lock)
    fetched, deviations = fetch_locked(packages, pins, cache, lock, cfg.lock_policy) if packages else ({}, [])
    if deviations:
        from ..console import say

        moved = ", ".join(f"{d['package']} {d['pinned']} -> {d['used']}" for d in deviations)
        say(f"[yellow]minipile: the archive no longer serves {len(deviations)} pinned version(s) of {lock} "
            f"({moved}); using today's, recorded in config.json (lock_policy: strict refuses instead)[/yellow]")
    debs = list(fetched.values())
    for local in map(Path, cfg.local_debs):
        name = package_name(local)
        if name in pins:
            verify(local, name, pins[name], lock)
        debs.append(local)
    return debs, deviations


def write_lock(cfg: MinipileConfig, path: str | os.PathLike, *, update: bool | None = None) -> Path:
    """Pin the versions the archive serves now for ``cfg``'s package list into a lock file.

    Reads the package lists only (``apt-get download --print-uris``: file, size and the sha256
    from the signed index); nothing is downloaded. ``update`` (default: when root) runs
    ``apt-get update`` first, so the lock pins what the archive serves today, not what stale
    lists remember.
    """
    if update if update is not None else apt.is_root():
        apt.update_lists()
    packages = package_list(cfg)
    served = apt.archive_files(packages)
    absent = [p for p in packages if p not in served]
    if absent:
        raise ConfigError(f"minipile: the archive lists no {', '.join(absent)}; fix the package list")
    pins = {p: {"version": f.version, "architecture": f.architecture, "sha256": f.sha256,
                "file": f.file, "size": f.size} for p, f in served.items()}
    note = (f"minipile {'packages' if cfg.packages is not None else 'profile ' + cfg.profile}; "
            "refresh with minipile.write_lock (CLI: mda-augment corpus lock)")
    return save_lock(Path(path), pins, note)


def deb_fingerprints(debs: list[Path]) -> list[dict]:
    """Package, version, architecture, file name and sha256 of every ``.deb`` read."""
    return [{"package": i.package, **i.pin()} for i in map(deb_info, debs)]


def build_minipile(out: str | os.PathLike, cfg: MinipileConfig, *, overwrite: bool = False) -> Path:
    """Build the minipile document store in ``out`` (skipped when already complete)."""
    out = Path(out)
    # building() writes the config when the build succeeds, so the fingerprint filled in
    # below (the exact inputs and the content hash of the result) lands in config.json.
    record = {**cfg.model_dump(mode="json"), "fingerprint": {}}
    with building(out, config=record, overwrite=overwrite) as tmp:
        if tmp is None:
            return out
        debs, deviations = resolve_debs(cfg)
        record["fingerprint"]["debs"] = deb_fingerprints(debs)
        lock = lock_file(cfg)
        record["fingerprint"]["lock"] = {"path": str(lock), "sha256": file_sha256(lock),
                                         "deviations": deviations} if lock else None
        total = sum(cfg.weights.values())
        budgets = {k: int(cfg.target_mb * 1024 * 1024 * w / total) for k, w in cfg.weights.items() if w > 0}
        reservoirs: dict[tuple[str, str], _Reservoir] = {}
        skipped: Counter = Counter()
        seen: set[str] = set()
        licenses = {}
        for deb in tqdm(debs, desc="minipile: read packages", unit="pkg"):
            licenses[package_name(deb)] = _read_package(deb, cfg, budgets, seen, reservoirs, skipped)
        writer = StoreWriter(tmp)
        by_kind: dict[str, dict[str, int]] = defaultdict(dict)
        for (kind, pkg), res in reservoirs.items():
            by_kind[kind][pkg] = min(res.available, budgets[kind])
        for kind in sorted(by_kind):
            for pkg, alloc in sorted(water_fill(by_kind[kind], budgets[kind]).items()):
                for doc in reservoirs[(kind, pkg)].take(alloc):
                    doc.license = licenses[pkg]
                    writer.add(doc)
        comp = writer.close(skipped={"total": sum(skipped.values()), "reasons": dict(sorted(skipped.items()))})
        record["fingerprint"]["content_sha256"] = comp["content_sha256"]
    return out
