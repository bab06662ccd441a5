"""What the writer and repair prompts state about a cluster: numeric targets and their meaning.

A capable model meets a target it is told. The writer prompt therefore states the numbers the
validator measures: the cluster's in-window repeat share (the share of positions whose token
pair already occurred earlier in the same training window: what an induction head can
predict) against ordinary training text, the window it is measured in, and each required
detector with what it means. The repair prompt states the validator's measurements of the
failed candidate: its ``checks`` (name, measured value, target, ok) where the validator gives
them, else the measured statistics next to the cluster's, plus the validator's message.

The clusters artifact is read defensively: model-token statistics (keys
:data:`MODEL_SHARE_KEYS`, window :data:`WINDOW_KEYS`) are used when the profile has them,
else the word-level ``induction_share`` and its word window, named as such in the prompt.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..artifacts import CONFIG_NAME, read_json
from ..clustering.config import BACKGROUND
from ..corpus.layout import META
from ..structure.detectors import REGISTRY
from .offline import FAMILY_KIND, choose_family

MODEL_SHARE_KEYS = ("model_induction_share", "model_token_induction_share", "induction_share_model")
WINDOW_KEYS = ("seq_len", "window_tokens", "model_window")


def _read(path: Path) -> dict:
    try:
        return read_json(path)
    except (OSError, ValueError):
        return {}


def artifact_meta(clusters_dir: str | os.PathLike | None) -> dict:
    """Background profile, training window (model tokens) and word window of a clusters artifact."""
    if clusters_dir is None:
        return {"background": {}, "seq_len": None, "word_context": 256}
    root = Path(clusters_dir)
    config = _read(root / CONFIG_NAME)
    packed = config.get("packed")
    seq_len = _read(Path(packed) / META).get("seq_len") if packed else None
    return {"background": _read(root / BACKGROUND), "seq_len": seq_len,
            "word_context": config.get("cluster", {}).get("context", 256)}


def _first(d: dict, keys: tuple[str, ...]):
    return next((d[k] for k in keys if d.get(k) is not None), None)


def repeat_target(cluster: dict, meta: dict) -> dict:
    """The cluster's in-window repeat share, the background's, and how both were measured."""
    prof, base = cluster["profile"], meta["background"].get("stats", {})
    stats = prof["stats"]
    seq_len = _first(prof, WINDOW_KEYS) or _first(stats, WINDOW_KEYS) or meta["seq_len"]
    key = next((k for k in MODEL_SHARE_KEYS if stats.get(k) is not None), None)
    if key is not None:
        return {"key": key, "value": stats[key], "background": base.get(key), "unit": "model tokens",
                "note": " (the training tokenizer's)", "window": seq_len, "seq_len": seq_len}
    return {"key": "induction_share", "value": stats.get("induction_share", 0.0),
            "background": base.get("induction_share"), "unit": "word tokens",
            "note": " (runs of letters or digits, and single punctuation marks)",
            "window": meta["word_context"], "seq_len": seq_len}


def detector_targets(names: list[str], cluster: dict, meta: dict) -> list[dict]:
    """Each required detector with its meaning and how often it fires in the cluster and background."""
    base = meta["background"].get("detectors", {})
    return [{"name": n, "doc": REGISTRY[n].doc.rstrip("."), "cluster": cluster["profile"]["detectors"].get(n, 0.0),
             "background": base.get(n)} for n in names if n in REGISTRY]


def cluster_kind(cluster: dict) -> str:
    """Document kind of a generator for ``cluster``: its majority document kind, else the
    kind of the template family its structure picks (never the meaningless "motif")."""
    kinds = cluster.get("kinds") or {}
    if kinds:
        kind, share = max(kinds.items(), key=lambda kv: (kv[1], kv[0]))
        if share >= 0.5:
            return kind
    return FAMILY_KIND[choose_family(cluster)]


def _num(x) -> str:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return str(x)
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:.0f}"


def check_lines(checks: list[dict] | None) -> list[str]:
    """The validator's checks as lines ("name: measured 0.31, target >= 0.47: FAILED"), failed first."""
    rows = sorted(checks or [], key=lambda c: bool(c.get("ok")))
    return [f"{c.get('name')}: measured {_num(c.get('value'))}, target {_num(c.get('target'))}: "
            f"{'ok' if c.get('ok') else 'FAILED'}" for c in rows]


def measured_lines(stats: dict) -> list[str]:
    """Without ``checks``: the candidate's measured profile next to the cluster's."""
    gen, target = stats.get("generated"), stats.get("target")
    if not gen or not target:
        return []
    lines = [f"detector {n}: fires on {gen['detectors'].get(n, 0.0):.0%} of your documents "
             f"({REGISTRY[n].doc})" for n in target.get("detectors", []) if n in REGISTRY]
    for key, got in gen.get("stats", {}).items():
        want = target.get("stats", {}).get(key)
        lines.append(f"{key}: yours {_num(got)}" + (f", cluster {_num(want)}" if want is not None else ""))
    return lines
