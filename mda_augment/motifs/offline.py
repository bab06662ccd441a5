"""Offline extractor: generators for a cluster without an LLM, mined first, fixed families as fallback.

**Mined** (:func:`render_mined`): skeletons learned from the cluster's own members
(:mod:`.mine`), embedded as data in ``prompts/templates/mined_v1.py.j2``. Variants add
repetition in steps (:data:`MINED_VARIANTS`) until the validator's model-token targets hold.
The same file with ``REPEAT = False`` is the matched no-repeat control.

**Fallback** (:func:`render_generator`, named ``..._fallback_v1``): the fixed template families
below, kept for clusters whose members yield no usable skeleton. Templates live in ``prompts/templates/<family>_v1.py.j2`` and render to a complete generator
file. The family is chosen by the cluster's dominant detector (the one firing on most
members, ties broken by over-representation against the background); parameters come from
the cluster's statistics:

- id style: UUIDs when ``uuid_v1`` is dominant, hex when ``hex_v1`` is, word-like otherwise;
- reuse probability of a recent id: grows with the cluster's induction-predictable share
  (``0.3 + share``, capped at 0.9) -- the repetition an induction head learns from;
- pool of recent ids (recurrence distance): smaller pools repeat sooner;
- lines per document: enough to fill the cluster's windows twice, from window length over
  mean line length; line width (base64) from the mean line length; XML nesting depth from the
  tag density; a `` | `` separator for log lines when ``table_v1`` is dominant.

The rendered code is treated like any other candidate: it runs only in the sandbox and must
pass :func:`~.validate.validate`. Variants with more and less reuse are tried when the first
fit fails.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import polars as pl

from ..artifacts import CONFIG_NAME, read_json
from ..clustering.config import SAMPLES
from ..structure.detectors import REGISTRY
from ..structure.model_tokens import per_window_share
from .mine import Member, MineConfig, mine
from .prompts import render, sha

STRUCTURE_FAMILY = {"markup": "xml", "latex": "latex", "log": "log", "uuid": "log", "hex": "log",
                    "table": "log", "base64": "base64", "json": "json", "code": "code", "prose": "prose"}
FAMILY_KIND = {"xml": "xml", "latex": "latex", "log": "log", "base64": "base64", "json": "json",
               "code": "code", "prose": "prose"}
EXTRA_IMPORTS = {"log": ["from datetime import datetime, timedelta"], "base64": ["import base64"],
                 "json": ["import json"]}
# structures that describe content inside a family rather than choose it
_MODIFIERS = {"uuid", "hex", "table"}


def _clamp(x: float, lo: float, hi: float) -> float:
    return max(lo, min(hi, x))


def choose_family(cluster: dict) -> str:
    """Template family for ``cluster`` from its strongest container structure."""
    fired = cluster["profile"]["detectors"]
    over = cluster.get("over_representation", {})
    ranked = sorted(fired, key=lambda n: (fired[n] >= 0.5, REGISTRY[n].structure not in _MODIFIERS,
                                          over.get(n, 1.0), fired[n]), reverse=True)
    top = ranked[0] if ranked and fired[ranked[0]] > 0 else "prose_v1"
    return STRUCTURE_FAMILY[REGISTRY[top].structure]


def fit_params(cluster: dict, family: str, reuse_shift: float = 0.0) -> dict:
    """Template parameters from the cluster's statistics (see the module docstring)."""
    fired = cluster["profile"]["detectors"]
    stats = cluster["profile"]["stats"]
    id_style = "uuid" if fired.get("uuid_v1", 0) >= 0.3 else "hex" if fired.get("hex_v1", 0) >= 0.3 else "word"
    if family == "prose":  # hex/uuid ids inside sentences stop them reading as prose
        id_style = "word"
    line_mean = max(stats.get("line_mean", 60.0), 10.0)
    lines = int(_clamp(2 * stats.get("chars", 1000) / line_mean, 6, 80))
    reuse = round(_clamp(0.3 + stats.get("induction_share", 0.2) + reuse_shift, 0.1, 0.9), 2)
    return {
        "id_style": id_style, "reuse": reuse, "pool": int(_clamp(round(3 + 6 * (1 - reuse)), 2, 8)),
        "lines_min": max(3, lines // 2), "lines_max": lines,
        "line_len": int(_clamp(round(line_mean / 4) * 4, 40, 76)),
        "depth": int(_clamp(2 + round(stats.get("tag_density", 0.0) * 20), 2, 4)),
        "sep": " | " if fired.get("table_v1", 0) >= 0.5 else " ",
    }


def render_generator(cluster: dict, family: str, params: dict, name: str, clusters_dir: str,
                     validation: dict | None = None) -> str:
    """Generator source for ``family`` with ``params`` (header included)."""
    template = f"templates/{family}_v1.py"
    ctx = {"p": params, "family": family, "name": name, "kind": FAMILY_KIND[family],
           "cluster_id": cluster["id"], "cluster_label": cluster["label"], "clusters_dir": clusters_dir,
           "params_text": ", ".join(f"{k}={v!r}" for k, v in sorted(params.items())),
           "title": f"Offline-extracted {family} generator for cluster {cluster['id']} ({cluster['label']}).",
           "extra_imports": EXTRA_IMPORTS.get(family, []), "validation": validation,
           "template_sha": ""}
    ctx["template_sha"] = sha(render(template, **{**ctx, "validation": None}))
    return render(template, **ctx)


def variants(cluster: dict) -> list[tuple[str, dict]]:
    """Candidate (family, params) pairs, best guess first."""
    family = choose_family(cluster)
    return [(family, fit_params(cluster, family, shift)) for shift in (0.0, 0.25, -0.2)]


# the members' own repetition first, then more in steps (see .mine): ECHO first (whole recent
# lines repeated COPIES times keep each line's kind, so detectors still agree), then MERGE
# (values paired in nearby slots), FOCUS last (it shifts the mix toward the more repetitive
# forms); POOL_P: share of single-use letter values drawn from the cluster's words
MINED_VARIANTS = [
    {"focus": 0, "merge": 0.0, "echo": 0.0, "copies": 1, "pool_p": 0.9},
    {"focus": 0, "merge": 0.0, "echo": 0.3, "copies": 1, "pool_p": 0.9},
    {"focus": 0, "merge": 0.0, "echo": 0.5, "copies": 2, "pool_p": 0.9},
    {"focus": 0, "merge": 0.0, "echo": 0.8, "copies": 2, "pool_p": 0.9},
    {"focus": 0, "merge": 0.5, "echo": 0.8, "copies": 2, "pool_p": 0.9},
    {"focus": 1, "merge": 1.0, "echo": 0.8, "copies": 2, "pool_p": 0.9},
    {"focus": 2, "merge": 1.0, "echo": 0.9, "copies": 3, "pool_p": 0.9},
]


def cluster_kind(cluster: dict) -> str:
    """The document kind most members come from (a mined generator writes that kind)."""
    kinds = cluster.get("kinds") or {}
    return max(kinds, key=kinds.get) if kinds else FAMILY_KIND[choose_family(cluster)]


def with_lead_in(packed, seq: int) -> str:
    """The member window with the part of its document that precedes it in the previous
    window: repeats reach back across the window edge, and a mined block longer than one
    window loses fewer of them where generated documents are cut into windows."""
    tok = packed.tokenizer()
    ids = np.asarray(packed.tokens[seq]).tolist()
    if seq > 0:
        prev = np.asarray(packed.tokens[seq - 1]).tolist()
        if packed.eos_id in prev:
            prev = prev[len(prev) - prev[::-1].index(packed.eos_id):]  # only the member's document
        if ids and ids[0] != packed.eos_id:
            ids = prev + ids
    return tok.decode(ids)


def load_members(clusters_dir: str | os.PathLike, cluster_id: int,
                 lead_in: bool = True) -> tuple[list[Member], float, float]:
    """The cluster's members (highest score first, each with its lead-in, see
    :func:`with_lead_in`), the median token length of their source documents and the
    members' characters per model token."""
    from ..corpus.packed import PackedCorpus

    directory = Path(clusters_dir)
    rows = (pl.read_parquet(directory / SAMPLES, columns=["seq", "score", "cluster", "text", "doc_ids"])
            .filter(pl.col("cluster") == cluster_id).sort("score", descending=True))
    packed = PackedCorpus(read_json(directory / CONFIG_NAME)["packed"])
    shares = per_window_share(np.asarray(packed.tokens[rows["seq"].to_numpy()], dtype=np.int64)) if len(rows) else []
    members = [Member(with_lead_in(packed, r["seq"]) if lead_in else r["text"], r["score"], list(r["doc_ids"] or []),
                      float(share)) for r, share in zip(rows.iter_rows(named=True), shares, strict=True)]
    chars_per_token = sum(len(t) for t in rows["text"]) / max(len(rows) * packed.seq_len, 1)
    docs = {d for m in members for d in m.doc_ids}
    lengths = (packed.index.filter(pl.col("doc_id").is_in(list(docs)))
               .group_by("doc_id").agg((pl.col("doc_end") - pl.col("doc_start")).sum().alias("n")))
    return members, float(lengths["n"].median()) if len(lengths) else float(packed.seq_len), chars_per_token


def mine_cluster(cluster: dict, clusters_dir: str | os.PathLike, seq_len: int,
                 cfg: MineConfig | None = None) -> dict:
    """Mined skeleton data for ``cluster`` (see :func:`.mine.mine`)."""
    members, doc_tokens, chars_per_token = load_members(clusters_dir, cluster["id"])
    return mine(members, seq_len, chars_per_token, doc_tokens, cfg)


def json_chunks(data, width: int = 96) -> list[str]:
    """The data as ASCII JSON, cut into Python string literals for implicit concatenation
    (``ensure_ascii`` keeps astral characters as escape pairs that json.loads re-joins)."""
    text = json.dumps(data, ensure_ascii=True, separators=(",", ":"), sort_keys=True)
    return [repr(text[i:i + width]) for i in range(0, len(text), width)]


def render_mined(cluster: dict, data: dict, params: dict, name: str, clusters_dir: str, *,
                 repeat: bool = True, validation: dict | None = None) -> str:
    """Mined generator source (``repeat=False``: its matched no-repeat control)."""
    body = {k: v for k, v in data.items() if k != "summary"}
    summary = ", ".join(f"{k} {v}" for k, v in data["summary"].items())
    role = "mined generator" if repeat else "matched no-repeat control (REPEAT = False) of the mined generator"
    ctx = {"p": params, "name": name, "kind": cluster_kind(cluster), "repeat": repeat,
           "cluster_id": cluster["id"], "cluster_label": cluster["label"], "clusters_dir": clusters_dir,
           "title": f"Offline-{role} for cluster {cluster['id']} ({cluster['label']}).",
           "summary_text": summary + "; params " + ", ".join(f"{k}={v}" for k, v in sorted(params.items())),
           "data_chunks": json_chunks(body), "validation": validation, "template_sha": ""}
    ctx["template_sha"] = sha(render("templates/mined_v1.py", **{**ctx, "validation": None, "data_chunks": []}))
    return render("templates/mined_v1.py", **ctx)
