"""Does a candidate generator produce text like its cluster, repeating what it repeats? Sandbox only.

A candidate passes when, in this order:

1. it meets the contract (:func:`~.code.check_contract`);
2. ``generate(seed, n)`` runs in the sandbox and returns ``n`` strings (the sandbox checks
   type, count, size, time and memory);
3. the documents are not trivial: long enough, not all the same;
4. it is deterministic per seed and random across seeds (FACTS.md: small LLMs write code
   that is "not random");
5. every check on the output holds (:func:`measure`), each reported as
   ``{"name", "value", "target", "ok"}`` in :attr:`Validation.checks`:

   - **structure**: every detector firing on most cluster members fires on at least
     ``min_fire_share`` of the generated windows (or ``fire_ratio`` x the members' share
     when that is lower); character-class entropy within
     ``stat_tolerance`` of the cluster's; zlib compression ratio not above
     ``(1 + stat_tolerance)`` times the cluster's (more redundancy is never a reason to reject);
   - **repetition**, in the model's tokens and window: the induction share is at least
     ``cluster_factor`` x the cluster members' and at least ``background_factor`` x the
     natural background's, each plus ``share_margin`` (sampling noise of the estimate). Clusters without a recorded tokenizer (hand-made dicts) fall back
     to the word-level share, at least ``(1 - stat_tolerance)`` x the cluster's;
   - **diversity**: token n-gram novelty across documents at least ``min_novelty``, and at
     most ``max_near_duplicates`` of the documents MinHash near-duplicates of an earlier one.

Documents (``n`` from each of two seeds) are measured whole, packed as the model will see them: encoded with the packed
corpus's tokenizer, each followed by end-of-text, concatenated and cut into ``seq_len``
windows (:meth:`~mda_augment.structure.model_tokens.ModelView.windows`); detectors and surface
statistics read the decoded windows, as they read the cluster's members. Which tokenizer and
window: ``cluster["model_ref"]`` (:func:`reference_for`), which extraction attaches from the
clusters artifact.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl
from pydantic import Field

from ..config import StrictModel
from ..sandbox import SandboxConfig, run_code
from ..structure import stats as word_stats
from ..structure.detectors import REGISTRY, structure_profile
from ..structure.model_tokens import ModelView, near_duplicate_share, ngram_novelty, window_stats
from .code import check_contract

SURFACE = ("compression_ratio", "char_class_entropy", "induction_share", "line_mean")
CATEGORY = {"structure": "structure_mismatch", "repetition": "too_little_repetition", "diversity": "not_diverse"}


class ValidationConfig(StrictModel):
    """Targets a generator must meet to be accepted for a cluster."""

    n: int = Field(64, ge=2, description="documents generated per seed and check (measured whole, packed into windows)")
    seed: int = Field(1234, description="seed of the determinism check")
    min_chars: int = Field(100, ge=1, description="mean document length at least this")
    dominant_share: float = Field(0.5, gt=0, le=1, description="a detector is the cluster's when it fires on this share of members")
    min_fire_share: float = Field(0.5, gt=0, le=1, description="share of generated windows the cluster's detectors must fire on")
    fire_ratio: float = Field(0.8, gt=0, le=1, description="... or this x the members' share, if lower (a detector "
                              "firing on 52% of members need not fire on 50% of windows)")
    stat_tolerance: float = Field(0.5, gt=0, le=1, description="relative tolerance on surface statistics")
    cluster_factor: float = Field(1.0, ge=0, description="model-token induction share >= this x the cluster members'")
    background_factor: float = Field(1.5, ge=0, description="... and >= this x the natural background's")
    share_margin: float = Field(0.02, ge=0, description="added to both share targets: a generator that only "
                                "just passes on the validation sample falls below on other seeds")
    min_novelty: float = Field(0.3, ge=0, le=1, description="token 8-gram novelty across documents at least this")
    novelty_n: int = Field(8, ge=2, description="n of the n-grams novelty counts")
    max_near_duplicates: float = Field(0.0, ge=0, le=1, description="share of documents allowed to be near-duplicates")
    sandbox: SandboxConfig = Field(default_factory=lambda: SandboxConfig(timeout_s=30, cpu_s=30, memory_mb=1024))


@dataclass
class Validation:
    """Outcome of validating one candidate; ``reason`` is "ok" or says what failed first.

    ``checks`` lists every measured check as ``{"name", "value", "target", "ok"}``; ``message``
    lists the failed ones with their numbers (what a repair prompt should show).
    """

    ok: bool
    reason: str
    message: str = ""
    stats: dict = field(default_factory=dict)
    checks: list[dict] = field(default_factory=list)

    @property
    def failed(self) -> list[dict]:
        return [c for c in self.checks if not c["ok"]]


def check(name: str, value, target: str, ok: bool, group: str = "") -> dict:
    return {"name": name, "value": value, "target": target, "ok": bool(ok), "group": group}


def _fail(reason: str, message: str, stats: dict | None = None) -> Validation:
    return Validation(False, reason, message, stats or {}, [check(reason, message, "pass", False, "run")])


def reference_for(view: ModelView, background: dict) -> dict:
    """What :func:`validate` needs to measure in model tokens (JSON-able, kept in the cluster)."""
    return {**view.record(), "background": background}


def target_of(cluster: dict, dominant_share: float) -> dict:
    """What a generator for ``cluster`` must reproduce: its dominant detectors, its mean
    statistics and its mean window length in characters."""
    prof = cluster["profile"]
    dominant = sorted(n for n, s in prof["detectors"].items() if s >= dominant_share and n in REGISTRY)
    return {"detectors": dominant, "stats": prof["stats"],
            "window_chars": max(200, int(prof["stats"].get("chars", 0) or 0))}


def generated_profile(texts: list[str]) -> dict:
    """Detector fire shares and mean surface statistics of generated windows."""
    prof = pl.DataFrame([structure_profile(t) for t in texts])
    return {"detectors": {n: float((prof[n] >= REGISTRY[n].threshold).mean()) for n in REGISTRY},
            "stats": {k: float(prof[k].mean()) for k in SURFACE},
            "windows": len(texts)}


def _char_windows(docs: list[str], width: int) -> list[str]:
    stream = "\n".join(docs)
    return [stream[i:i + width] for i in range(0, max(len(stream) - width // 2, 1), width)]


def structure_checks(gen: dict, target: dict, cfg: ValidationConfig, cluster: dict) -> list[dict]:
    out = []
    fired = cluster["profile"]["detectors"]
    for name in target["detectors"]:
        need = min(cfg.min_fire_share, cfg.fire_ratio * fired[name])
        out.append(check(f"detector:{name}", round(gen["detectors"][name], 3),
                         f">= {need:.0%} of windows (fires on {fired[name]:.0%} of members; "
                         f"{REGISTRY[name].doc})", gen["detectors"][name] >= need, "structure"))
    tol = cfg.stat_tolerance
    want, got = target["stats"]["char_class_entropy"], gen["stats"]["char_class_entropy"]
    out.append(check("char_class_entropy", round(got, 3), f"within {tol:.0%} of the cluster's {want:.3f}",
                     want <= 0 or abs(got - want) <= tol * want, "structure"))
    want, got = target["stats"]["compression_ratio"], gen["stats"]["compression_ratio"]
    out.append(check("compression_ratio", round(got, 3), f"<= {(1 + tol) * want:.3f} ({1 + tol:.1f}x the cluster's {want:.3f})",
                     want <= 0 or got <= (1 + tol) * want, "structure"))
    return out


def repetition_check(cluster: dict, gen_model: dict | None, gen: dict, cfg: ValidationConfig) -> dict:
    """Model-token induction share against cluster and background (word level without a tokenizer)."""
    ref = cluster.get("model_ref")
    if gen_model is None or ref is None or "model" not in cluster:
        want = (1 - cfg.stat_tolerance) * cluster["profile"]["stats"]["induction_share"]
        got = gen["stats"]["induction_share"]
        return check("word_induction_share", round(got, 3), f">= {want:.3f} (no tokenizer recorded: word level)",
                     got >= want, "repetition")
    own = cfg.cluster_factor * cluster["model"]["induction_share"] + cfg.share_margin
    bg = cfg.background_factor * ref["background"]["induction_share"] + cfg.share_margin
    got = gen_model["induction_share"]
    margin = f" + {cfg.share_margin:g}" if cfg.share_margin else ""
    return check("model_induction_share", round(got, 3),
                 f">= {own:.3f} ({cfg.cluster_factor:g}x cluster {cluster['model']['induction_share']:.3f}{margin}) and "
                 f">= {bg:.3f} ({cfg.background_factor:g}x background {ref['background']['induction_share']:.3f}{margin})",
                 got >= own and got >= bg, "repetition")


def measure(docs: list[str], cluster: dict, cfg: ValidationConfig) -> tuple[list[dict], dict]:
    """Every output check on ``docs`` and the statistics behind them."""
    ref = cluster.get("model_ref")
    target = target_of(cluster, cfg.dominant_share)
    if ref is not None:
        view = ModelView.from_record(ref)
        windows = view.windows(docs)
        texts = view.decode_windows(windows)
        gen_model = window_stats(windows)
        novelty = ngram_novelty(view.encode_docs(docs), cfg.novelty_n)
    else:
        texts = _char_windows(docs, target["window_chars"])
        gen_model = None
        novelty = ngram_novelty([word_stats.tokenize(d) for d in docs], cfg.novelty_n)
    gen = generated_profile(texts)
    dups = near_duplicate_share(docs)
    checks = structure_checks(gen, target, cfg, cluster)
    checks.append(repetition_check(cluster, gen_model, gen, cfg))
    checks.append(check("ngram_novelty", round(novelty, 3), f">= {cfg.min_novelty:.2f} "
                        f"(share of a document's token {cfg.novelty_n}-grams found in no other)",
                        novelty >= cfg.min_novelty, "diversity"))
    checks.append(check("near_duplicates", round(dups, 3), f"<= {cfg.max_near_duplicates:.0%} of documents",
                        dups <= cfg.max_near_duplicates, "diversity"))
    stats = {"generated": gen, "model": gen_model, "novelty": novelty, "near_duplicates": dups,
             "mean_chars": sum(len(d) for d in docs) / len(docs),
             "target": {"detectors": target["detectors"], "window_chars": target["window_chars"],
                        "stats": {k: target["stats"][k] for k in SURFACE},
                        "model": (cluster.get("model") or {}).get("induction_share"),
                        "background_model": ((ref or {}).get("background") or {}).get("induction_share")}}
    return checks, stats


def describe_failures(checks: list[dict]) -> str:
    """The failed checks, one clause each, with their numbers."""
    return "; ".join(f"{c['name']} is {c['value']}, needs {c['target']}" for c in checks if not c["ok"])


def _run_checks(code: str, cfg: ValidationConfig) -> tuple[Validation | None, list[str]]:
    """Steps 2-4: run, non-trivial, deterministic, random across seeds."""
    first = run_code(code, cfg.seed, cfg.n, cfg.sandbox)
    if not first.ok:
        return _fail(f"sandbox_{first.reason}", (first.message or first.stderr_tail)[-800:]), []
    docs = first.docs
    if sum(len(d) for d in docs) / len(docs) < cfg.min_chars:
        return _fail("too_short", f"documents average {sum(len(d) for d in docs) / len(docs):.0f} "
                     f"characters; need at least {cfg.min_chars}"), docs
    if len(set(docs)) == 1:
        return _fail("constant", "all documents in one call are identical; use the seeded rng"), docs
    again = run_code(code, cfg.seed, cfg.n, cfg.sandbox)
    if not again.ok or again.docs != docs:
        return _fail("nondeterministic", "the same seed gave different documents; use "
                     "random.Random(seed) and faker's seed_instance(seed), no clock or global random"), docs
    other = run_code(code, cfg.seed + 1, cfg.n, cfg.sandbox)
    if other.ok and other.docs == docs:
        return _fail("ignores_seed", "another seed gave the same documents; derive all randomness from seed"), docs
    # measured on both seeds' documents: a larger sample, and one a lucky seed cannot carry alone
    return None, docs + (other.docs if other.ok else [])


def validate(code: str, cluster: dict, cfg: ValidationConfig) -> Validation:
    """Validate ``code`` as a generator for ``cluster`` (see the module docstring)."""
    ok, message = check_contract(code)
    if not ok:
        return _fail("contract", message)
    failed, docs = _run_checks(code, cfg)
    if failed is not None:
        return failed
    checks, stats = measure(docs, cluster, cfg)
    bad = [c for c in checks if not c["ok"]]
    if bad:
        first = min(bad, key=lambda c: list(CATEGORY).index(c["group"]))
        return Validation(False, CATEGORY[first["group"]], describe_failures(checks), stats, checks)
    return Validation(True, "ok", "", stats, checks)
