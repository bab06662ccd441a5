"""Extraction: for each cluster worth it, get a validated generator from the LLM or offline.

Per cluster, in order:

1. **LLM** (when configured): render ``prompts/<prompt>.j2`` with the cluster's numeric
   targets, representative exemplars and the contract; ask (the client adapts to rejected
   parameters and continues replies cut at the budget); extract the code; prepend a header
   (``NAME``, ``KIND`` = the cluster's document kind, model, prompt hash); validate in the
   sandbox. On failure, render ``<repair_prompt>.j2`` with the validator's measured numbers
   (or, after a reply still cut at the budget, a request for a shorter generator) and ask
   again, up to ``rounds`` rounds in all.
2. **Offline** (always without an LLM; with one, as the fallback when no LLM round
   validated): first generators *mined* from the cluster's own members (skeletons with fresh
   content repeated the way the members repeat it, :mod:`.mine`), in variants that add
   repetition step by step; then the fixed template families, named ``..._fallback_v1``.

Every candidate is validated in the model's tokens (:mod:`.validate`): tokenizer and window
come from the clusters artifact, so extraction needs no recipe input for them. Every attempt
becomes one JSON line in ``attempts.jsonl`` with its reason and each check's number.
Accepted generators are written to ``generators/`` inside the artifact (and copied to
``install_dir`` when set) with the validation summary in their header. LLM replies are
cached next to the artifact (``OUT.llm_cache.sqlite``) so that a rebuild reuses them.

Controls (:mod:`.controls`) go to ``controls/``, never ``generators/``: the positive control
``repeat_spans_v1`` (random probe-pool spans repeated; the known catalyst) with its null
``repeat_spans_norepeat_v1``, and for every accepted mined generator its matched no-repeat
control ``motif_cN_mined_norepeat_v1`` (same file, ``REPEAT = False``), each measured.

Artifact layout::

    attempts.jsonl     one record per attempt (cluster, round, source, reason, message, checks;
                       for LLM rounds also finish_reason, continuations, adaptations, tries)
    generators/*.py    accepted generators (registry contract: NAME, KIND, docstring)
    controls/*.py      control generators (same contract), measured in summary.json
    summary.json       per cluster: accepted generator, source, checks, control; ``coverage``
                       (share of the selected influence mass covered, per-cluster status and
                       reason); ``controls`` (positive control and its re-tokenization check)
    config.json, _COMPLETE.json
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field

from ..artifacts import CONFIG_NAME, atomic_write_json, atomic_write_text, building, read_json
from ..clustering import load_clusters
from ..clustering.model_stats import model_reference
from ..config import StrictModel
from ..errors import GeneratorError
from ..synthesis.registry import load_spec
from .code import extract_code
from .context import (
    artifact_meta,
    check_lines,
    cluster_kind,
    detector_targets,
    measured_lines,
    repeat_target,
)
from .controls import measure_control, positive_controls
from .coverage import coverage_block
from .exemplars import BOUNDARY, cluster_members, from_cluster, representatives, within_budget
from .llm import LLMClient, LLMConfig, Reply
from .offline import MINED_VARIANTS, mine_cluster, render_generator, render_mined, variants
from .prompts import render, sha
from .validate import Validation, ValidationConfig, reference_for, target_of, validate

GENERATORS = "generators"  # accepted generator files, one per covered cluster
SUMMARY = "summary.json"  # per cluster: accepted generator, source, attempts
ATTEMPTS = "attempts.jsonl"  # one record per attempt, appended as they happen
CONTROLS = "controls"  # control generators: positive (repeated spans) and matched no-repeat, measured


class ExtractConfig(StrictModel):
    """How to extract generators from a clusters artifact."""

    llm: LLMConfig | None = Field(None, description="None: offline extractor only")
    rounds: int = Field(4, ge=1, le=10, description="LLM rounds (first ask + repairs) per cluster")
    prompt: str = Field("motif_writer_v2", description="prompt template name in prompts/")
    repair_prompt: str = Field("motif_repair_v2", description="repair prompt template name")
    exemplars: int = Field(6, ge=1, le=20, description="cluster members shown in the prompt (top-scored + sub-group medoids)")
    exemplar_budget_chars: int = Field(12000, ge=500, description="characters of exemplars in the prompt, in all")
    min_size: int = Field(2, ge=1, description="skip clusters with fewer members")
    min_mass_share: float = Field(0.0, ge=0, le=1, description="skip clusters holding less influence mass")
    max_clusters: int | None = Field(None, ge=1, description="only the clusters with most mass")
    offline_fallback: bool = Field(True, description="use the offline extractor where the LLM fails")
    allow_code_execution: bool = Field(False, description="consent to run LLM-written code (in the sandbox)")
    install_dir: str | None = Field(None, description="also copy accepted generators here")
    mined: bool = Field(True, description="offline: try generators mined from the cluster's members first")
    fallback_families: bool = Field(True, description="offline: then the fixed template families")
    controls: bool = Field(True, description="write and measure the positive and matched no-repeat controls")
    major_share: float = Field(0.05, ge=0, le=1, description="clusters with this share of the selected mass "
                               "must be covered or the summary says why")
    validation: ValidationConfig = Field(default_factory=ValidationConfig)


class _Recorder:
    """Appends attempt records to attempts.jsonl as they happen (a crash keeps them)."""

    def __init__(self, path: Path):
        self.path = path
        self.rows: list[dict] = []

    def add(self, **row) -> dict:
        row["time"] = time.strftime("%Y-%m-%dT%H:%M:%S")
        self.rows.append(row)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(row, default=str) + "\n")
        return row


def worth_it(clusters: list[dict], cfg: ExtractConfig) -> list[dict]:
    """Clusters to extract, most influence mass first."""
    keep = [c for c in clusters if c["size"] >= cfg.min_size and c["influence_mass_share"] >= cfg.min_mass_share]
    keep.sort(key=lambda c: -c["influence_mass_share"])
    return keep[: cfg.max_clusters] if cfg.max_clusters else keep


def skipped_reasons(clusters: list[dict], cfg: ExtractConfig) -> dict[int, str]:
    """Why each cluster :func:`worth_it` leaves out was left out."""
    chosen = {c["id"] for c in worth_it(clusters, cfg)}
    out = {}
    for c in clusters:
        if c["id"] in chosen:
            continue
        if c["size"] < cfg.min_size:
            out[c["id"]] = f"{c['size']} members < min_size {cfg.min_size}"
        elif c["influence_mass_share"] < cfg.min_mass_share:
            out[c["id"]] = f"mass share {c['influence_mass_share']:.1%} < min_mass_share {cfg.min_mass_share:.1%}"
        else:
            out[c["id"]] = f"beyond max_clusters={cfg.max_clusters}"
    return out


def with_reference(clusters: list[dict], clusters_dir: str | os.PathLike) -> list[dict]:
    """The clusters with what validation needs to measure in model tokens: ``model`` (the
    members' model-token statistics) and ``model_ref`` (tokenizer, seq_len, background)."""
    view, background, per_cluster = model_reference(clusters_dir)
    ref = reference_for(view, background)
    return [{**c, "model": c.get("model") or per_cluster[c["id"]], "model_ref": ref} for c in clusters]


def prompt_context(cluster: dict, cfg: ExtractConfig, clusters_dir: str | os.PathLike | None = None) -> dict:
    """What the prompt templates see about a cluster: its numeric targets (repeat share and
    window, required detectors and their meaning, shape), representative exemplars shown whole
    within ``cfg.exemplar_budget_chars``, and the contract's numbers (see :mod:`.context`)."""
    target = target_of(cluster, cfg.validation.dominant_share)
    meta = artifact_meta(clusters_dir)
    members = cluster_members(clusters_dir, cluster["id"])
    chosen = representatives(members, cfg.exemplars) if members is not None else from_cluster(cluster)
    stats = cluster["profile"]["stats"]
    window_chars = int(stats.get("chars") or target.get("window_chars") or 0)
    kinds = sorted((cluster.get("kinds") or {}).items(), key=lambda kv: -kv[1])[:3]
    return {"cluster": cluster, "target": target, "stats": stats, "n": cfg.validation.n,
            "exemplars": within_budget(chosen[: cfg.exemplars], cfg.exemplar_budget_chars),
            "detectors_share": {n: cluster["profile"]["detectors"][n] for n in target["detectors"]},
            "detectors": detector_targets(target["detectors"], cluster, meta),
            "repeat": repeat_target(cluster, meta), "window_chars": window_chars, "boundary": BOUNDARY,
            "kind": cluster_kind(cluster), "kinds": ", ".join(f"{k} {v:.0%}" for k, v in kinds),
            "min_chars": cfg.validation.min_chars, "doc_chars": max(2 * window_chars, cfg.validation.min_chars),
            "max_tokens": cfg.llm.max_tokens if cfg.llm else None}


def _header(name: str, kind: str, cluster: dict, source: str, provenance: dict, validation: dict | None) -> str:
    lines = [f"{source} generator for cluster {cluster['id']} ({cluster['label']}).", ""]
    lines += [f"{k}: {v}" for k, v in provenance.items()]
    if validation:
        lines.append(f"validation: {json.dumps(validation, sort_keys=True)}")
    doc = "\n".join(lines).replace('"""', "'''").replace("\\", "\\\\")
    return f'"""{doc}\n"""\n\nNAME = {json.dumps(name)}\nKIND = {json.dumps(kind)}\n\n'


def _validation_summary(v: Validation, n: int) -> dict:
    gen = v.stats.get("generated", {})
    return {"n": n, "detectors_required": v.stats.get("target", {}).get("detectors", []),
            "fire_shares": {k: round(x, 2) for k, x in gen.get("detectors", {}).items() if x > 0},
            "stats": {k: round(x, 3) for k, x in gen.get("stats", {}).items()},
            "target_stats": {k: round(x, 3) for k, x in v.stats.get("target", {}).get("stats", {}).items()},
            "checks": {c["name"]: c["value"] for c in v.checks}}


def _llm_round(client: LLMClient, messages: list[dict], cluster: dict, rnd: int, cfg: ExtractConfig,
               rec: _Recorder, prompt_sha: str) -> tuple[Validation | None, str | None, Reply]:
    """One LLM round: ask, extract, validate. Returns (validation, code, reply);
    validation None when the endpoint gave no reply. A reply still cut at the budget is
    recorded as ``truncated`` and never validated (it is half a program, not a syntax error)."""
    reply = client.complete(messages, sample=rnd)
    base = {"cluster": cluster["id"], "round": rnd, "source": "llm", "model": cfg.llm.model,
            "prompt_sha": prompt_sha, "request_key": reply.key, "cached": reply.cached,
            "tries": reply.tries, "llm_errors": reply.errors, "llm_wall_s": round(reply.wall_s, 2),
            "finish_reason": reply.finish_reason, "continuations": reply.continuations,
            "adaptations": reply.adaptations, "max_tokens": cfg.llm.max_tokens}
    if not reply.ok:
        rec.add(**base, reason="llm_error", fatal=reply.fatal, message=reply.errors[-1] if reply.errors else "")
        return None, None, reply
    if reply.truncated:
        message = (f"the reply was cut at the {cfg.llm.max_tokens}-token limit after {reply.continuations} "
                   "continuation(s)" if reply.text.strip() else
                   f"the reply was empty at the {cfg.llm.max_tokens}-token limit (a reasoning model may have "
                   "spent the budget thinking; raise max_tokens)")
        rec.add(**base, reason="truncated", message=message, reply=reply.text[-2000:])
        return Validation(False, "truncated", message), None, reply
    code = extract_code(reply.text)
    if code is None:
        rec.add(**base, reason="no_code", message="the reply contains no Python code block", reply=reply.text[:2000])
        return Validation(False, "no_code", "your reply contained no ```python code block"), None, reply
    name = f"motif_c{cluster['id']}_llm_v1"
    full = _header(name, cluster_kind(cluster), cluster, "LLM-written",
                   {"model": cfg.llm.model, "prompt_sha": prompt_sha, "round": rnd}, None) + code
    v = validate(full, cluster, cfg.validation)
    checks = getattr(v, "checks", None)
    rec.add(**base, reason=v.reason, message=v.message, stats=v.stats, **({"checks": checks} if checks else {}),
            code_sha=sha(code), code=code[:4000])
    return v, code, reply


def repair_context(v: Validation, code: str | None, continuations: int = 0) -> dict:
    """What the repair prompt adds to the writer's context: the failure and the validator's
    measured numbers (its ``checks`` when it gives them, else the measured profile)."""
    return {"reason": v.reason, "error": v.message[:1500], "code": code or "",
            "checks": check_lines(getattr(v, "checks", None)), "measured": measured_lines(v.stats),
            "continuations": continuations}


def try_llm(client: LLMClient, cluster: dict, cfg: ExtractConfig, rec: _Recorder,
            clusters_dir: str | os.PathLike | None = None) -> tuple[str, dict] | None:
    """Up to ``rounds`` LLM rounds (first ask, then repairs); ``(code, provenance)`` of the
    first validated one. A repair shows the failed reply and the validator's numbers; after a
    truncated reply the model is asked, in the first turn, for a shorter generator."""
    ctx = prompt_context(cluster, cfg, clusters_dir)
    prompt = render(cfg.prompt, **ctx)
    psha = sha(prompt)
    ask = {"role": "user", "content": prompt}
    messages = [ask]
    for rnd in range(cfg.rounds):
        v, code, reply = _llm_round(client, messages, cluster, rnd, cfg, rec, psha)
        if v is not None and v.ok:
            return code, {"model": cfg.llm.model, "prompt": cfg.prompt, "prompt_sha": psha, "round": rnd,
                          "validation": _validation_summary(v, cfg.validation.n)}
        if v is None:  # no reply after retries, or a 4xx: more rounds would fail the same way
            return None
        repair = render(cfg.repair_prompt, **ctx, **repair_context(v, code, reply.continuations))
        if v.reason == "truncated":  # the cut reply is no use as context: ask afresh, for less
            messages = [{"role": "user", "content": f"{prompt}\n\n{repair}"}]
        else:
            messages = [ask, {"role": "assistant", "content": reply.text}, {"role": "user", "content": repair}]
    return None


@dataclass
class Accepted:
    """An offline generator that validated, and (mined only) its matched no-repeat control."""

    name: str
    code: str
    method: str  # "mined" or "fallback"
    provenance: dict
    checks: list[dict]
    control: str | None = None


def _record(rec: _Recorder, cluster: dict, rnd: int, method: str, v: Validation, code: str, **extra) -> None:
    rec.add(cluster=cluster["id"], round=rnd, source="offline", method=method, reason=v.reason, message=v.message,
            checks=v.checks, stats=v.stats, code_sha=sha(code), **extra)


def _try_mined(cluster: dict, cfg: ExtractConfig, rec: _Recorder, clusters_dir: str) -> Accepted | None:
    """Skeletons mined from the members, then variants that add repetition; first valid wins."""
    seq_len = cluster.get("model_ref", {}).get("seq_len") or 256
    data = mine_cluster(cluster, clusters_dir, seq_len)
    if not data["skeletons"]:
        rec.add(cluster=cluster["id"], round=0, source="offline", method="mined", reason="no_skeletons",
                message="no member gave a segment long enough to mine", mined=data["summary"])
        return None
    name = f"motif_c{cluster['id']}_mined_v1"
    for i, params in enumerate(MINED_VARIANTS):
        code = render_mined(cluster, data, params, name, clusters_dir)
        v = validate(code, cluster, cfg.validation)
        _record(rec, cluster, i, "mined", v, code, params=params, mined=data["summary"])
        if v.ok:
            summary = _validation_summary(v, cfg.validation.n)
            header = {"n": cfg.validation.n, "text": json.dumps(summary, sort_keys=True)}
            final = render_mined(cluster, data, params, name, clusters_dir, validation=header)
            control = render_mined(cluster, data, params, f"motif_c{cluster['id']}_mined_norepeat_v1",
                                   clusters_dir, repeat=False)
            return Accepted(name, final, "mined", {"params": params, "mined": data["summary"],
                                                   "validation": summary}, v.checks, control)
    return None


def _try_fallback(cluster: dict, cfg: ExtractConfig, rec: _Recorder, clusters_dir: str) -> Accepted | None:
    """The fixed template families fitted to the cluster's statistics (the old extractor)."""
    name = f"motif_c{cluster['id']}_fallback_v1"
    for i, (family, params) in enumerate(variants(cluster)):
        code = render_generator(cluster, family, params, name, clusters_dir)
        v = validate(code, cluster, cfg.validation)
        _record(rec, cluster, i, "fallback", v, code, family=family, params=params)
        if v.ok:
            summary = _validation_summary(v, cfg.validation.n)
            final = render_generator(cluster, family, params, name, clusters_dir,
                                     {"n": cfg.validation.n, "text": json.dumps(summary, sort_keys=True)})
            return Accepted(name, final, "fallback", {"family": family, "params": params, "validation": summary},
                            v.checks)
    return None


def try_offline(cluster: dict, cfg: ExtractConfig, rec: _Recorder, clusters_dir: str) -> Accepted | None:
    """Mined generators first, then the fixed families; the first that validates."""
    for enabled, attempt in ((cfg.mined, _try_mined), (cfg.fallback_families, _try_fallback)):
        got = attempt(cluster, cfg, rec, clusters_dir) if enabled else None
        if got is not None:
            return got
    return None


def why_not(rec: _Recorder, cluster_id: int) -> str:
    """One line saying why no attempt for the cluster validated: the closest attempt's failures."""
    tried = [r for r in rec.rows if r["cluster"] == cluster_id]
    if not tried:
        return "no attempt was made"
    best = min(tried, key=lambda r: sum(not c["ok"] for c in r.get("checks") or [{"ok": False}]))
    return (f"{len(tried)} attempts rejected; closest ({best.get('method', best['source'])} round {best['round']}): "
            f"{best['reason']}: {best['message'][:300]}")


def _save_llm(code: str, prov: dict, cluster: dict, gen_dir: Path) -> Path:
    name = f"motif_c{cluster['id']}_llm_v1"
    full = _header(name, cluster_kind(cluster), cluster, "LLM-written",
                   {k: v for k, v in prov.items() if k != "validation"}, prov["validation"]) + code
    return _write_generator(gen_dir / f"{name}.py", full)


def _write_generator(path: Path, code: str) -> Path:
    atomic_write_text(path, code if code.endswith("\n") else code + "\n")
    load_spec(path, path.parent)  # the registry must accept it: NAME, KIND, docstring, generate
    return path


def extract_cluster(cluster: dict, cfg: ExtractConfig, client: LLMClient | None, rec: _Recorder,
                    gen_dir: Path, clusters_dir: str, ctl_dir: Path | None = None) -> dict:
    """LLM first (if any), then offline; returns the cluster's summary row."""
    row = {"cluster": cluster["id"], "label": cluster["label"], "mass_share": cluster["influence_mass_share"],
           "generator": None, "source": None}
    if client is not None:
        got = try_llm(client, cluster, cfg, rec, clusters_dir)
        if got is not None:
            path = _save_llm(*got, cluster, gen_dir)
            return {**row, "generator": path.stem, "source": "llm", "method": "llm", "provenance": got[1]}
    if client is None or cfg.offline_fallback:
        got = try_offline(cluster, cfg, rec, clusters_dir)
        if got is not None:
            path = _write_generator(gen_dir / f"{got.name}.py", got.code)
            row.update(generator=path.stem, source="offline", method=got.method, provenance=got.provenance,
                       checks=got.checks)
            if got.control is not None and ctl_dir is not None:
                control = _write_generator(ctl_dir / f"{got.name.replace('_v1', '_norepeat_v1')}.py", got.control)
                row["control"] = {"generator": control.stem, **measure_control(control, cluster, cfg.validation)}
            return row
    return {**row, "reason": why_not(rec, cluster["id"])}


def extract(clusters_dir: str | os.PathLike, out: str | os.PathLike, cfg: ExtractConfig,
            *, overwrite: bool = False) -> Path:
    """Extract generators for the clusters in ``clusters_dir`` into the artifact ``out``.

    :func:`~.outcome.outcome_lines` and :func:`~.coverage.coverage_lines` say per cluster what
    happened (the CLI and the stage print them).
    """
    if cfg.llm is not None and not cfg.allow_code_execution:
        raise GeneratorError("LLM-written code runs (in the sandbox) only with allow_code_execution=True "
                             "(CLI: --allow-code-execution); or drop the LLM to use the offline extractor")
    clusters, _, _ = load_clusters(clusters_dir)
    out = Path(out)
    resolved = {"extract": cfg.model_dump(), "clusters": str(Path(clusters_dir).resolve())}
    with building(out, config=resolved, overwrite=overwrite) as tmp:
        if tmp is not None:
            _build(tmp, out, with_reference(clusters, clusters_dir), cfg, str(Path(clusters_dir).resolve()))
    _install(out, cfg)
    return out


def _build(tmp: Path, out: Path, clusters: list[dict], cfg: ExtractConfig, clusters_dir: str) -> None:
    rec, gen_dir, ctl_dir = _Recorder(tmp / ATTEMPTS), tmp / GENERATORS, tmp / CONTROLS
    gen_dir.mkdir()
    ctl_dir.mkdir()
    client = None
    if cfg.llm is not None:
        client = LLMClient(cfg.llm, cfg.llm.cache or out.parent / f"{out.name}.llm_cache.sqlite")
    try:
        rows = [extract_cluster(c, cfg, client, rec, gen_dir, clusters_dir, ctl_dir if cfg.controls else None)
                for c in worth_it(clusters, cfg)]
    finally:
        if client is not None:
            client.close()
    controls = positive_controls(read_json(Path(clusters_dir) / CONFIG_NAME)["packed"], ctl_dir,
                                 cfg.validation) if cfg.controls else {}
    coverage = coverage_block(clusters, rows, skipped_reasons(clusters, cfg), cfg.major_share)
    atomic_write_json(tmp / SUMMARY, {"clusters": rows, "attempts": len(rec.rows),
                                             "coverage": coverage, "controls": controls})


def _install(out: Path, cfg: ExtractConfig) -> None:
    if cfg.install_dir:
        dest = Path(cfg.install_dir)
        dest.mkdir(parents=True, exist_ok=True)
        for path in sorted((out / GENERATORS).glob("*.py")):
            shutil.copy2(path, dest / path.name)
