"""Extraction end to end on a real clusters artifact: offline, consent, and LLM failures
(from the loopback server) that must be recorded and fall back to the offline extractor, and
servers with the quirks of real ones (rejected parameters, replies cut at the budget) that must
end with an accepted LLM generator."""

from __future__ import annotations

import json

import pytest

from mda_augment.clustering import load_clusters
from mda_augment.errors import GeneratorError
from mda_augment.motifs import ExtractConfig, extract
from mda_augment.motifs.context import cluster_kind
from mda_augment.motifs.outcome import outcome_lines
from mda_augment.sandbox import run_code
from mda_augment.synthesis.registry import load_spec

from .loopback import Loopback


def attempts(out):
    return [json.loads(line) for line in (out / "attempts.jsonl").read_text().splitlines()]


def llm(url, **kw):
    return {"base_url": url, "model": "m", "retries": 1, "backoff_s": 0.01, "timeout_s": 0.5, **kw}


def test_offline_writes_validated_registry_generators(clusters_dir, tmp_path):
    out = extract(clusters_dir, tmp_path / "ex", ExtractConfig(max_clusters=1, install_dir=str(tmp_path / "inst")))
    summary = json.loads((out / "summary.json").read_text())
    row = summary["clusters"][0]
    assert row["source"] == "offline" and row["generator"]
    spec = load_spec(out / "generators" / f"{row['generator']}.py")
    assert spec.name == row["generator"] and "Validation" in spec.code
    # the saved file (with its header) runs in the sandbox and is deterministic
    a, b = (run_code(spec.code, 5, 3) for _ in range(2))
    assert a.ok and a.docs == b.docs
    assert (tmp_path / "inst" / f"{row['generator']}.py").is_file()
    assert all(r["source"] == "offline" for r in attempts(out))
    assert all({"name", "value", "target", "ok"} <= set(c) for r in attempts(out) for c in r["checks"])
    # coverage: the tried cluster is covered, the other one skipped with its reason
    cov = summary["coverage"]
    assert sum(e["mass_share"] for e in cov["clusters"]) == pytest.approx(1.0, abs=1e-3)
    assert cov["covered_mass_share"] == cov["clusters"][0]["mass_share"] > 0.5
    assert [e["status"] for e in cov["clusters"]] == ["covered", "skipped"]
    assert "max_clusters" in cov["clusters"][1]["reason"]
    # controls live apart from the accepted generators and are measured
    assert {p.name for p in (out / "controls").glob("*.py")} >= {"repeat_spans_v1.py", "repeat_spans_norepeat_v1.py"}
    assert not list((out / "generators").glob("*norepeat*")) and not list((out / "generators").glob("repeat_*"))
    pos = summary["controls"]["repeat_spans_v1"]
    assert pos["model"]["induction_share"] > 2 * summary["controls"]["repeat_spans_norepeat_v1"]["model"]["induction_share"]
    assert pos["retokenization"]["retokenized_share"] == pytest.approx(pos["retokenization"]["intended_share"], abs=0.1)
    if row["method"] == "mined":
        assert row["control"]["generator"].endswith("_mined_norepeat_v1")
        assert (out / "controls" / f"{row['control']['generator']}.py").is_file()


def test_llm_code_needs_consent(clusters_dir, tmp_path):
    with pytest.raises(GeneratorError, match="allow_code_execution"):
        extract(clusters_dir, tmp_path / "ex", ExtractConfig(llm=llm("http://127.0.0.1:9/v1")))


@pytest.mark.parametrize("mode,reason", [("e500", "llm_error"), ("e400", "llm_error"), ("garbage", "llm_error"),
                                         ("nochoices", "llm_error"), ("sleep", "llm_error"),
                                         ("nocode", "no_code")])
def test_llm_failures_are_recorded_and_fall_back(clusters_dir, tmp_path, mode, reason):
    with Loopback() as srv:
        cfg = ExtractConfig(llm=llm(srv.url(mode)), rounds=2, max_clusters=1, allow_code_execution=True)
        out = extract(clusters_dir, tmp_path / "ex", cfg)
    rows = attempts(out)
    llm_rows = [r for r in rows if r["source"] == "llm"]
    assert llm_rows and all(r["reason"] == reason for r in llm_rows)
    # an endpoint that errs is not asked for repairs; a reply without code is
    assert len(llm_rows) == (2 if reason == "no_code" else 1)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["clusters"][0]["source"] == "offline"
    assert "fell back to offline" in outcome_lines(out)[0]
    if mode == "e400":  # a client error is not retried, and the line says so
        assert llm_rows[0]["tries"] == 1 and llm_rows[0]["fatal"]
        assert "not retried" in outcome_lines(out)[0]


def test_llm_code_that_validates_is_accepted(clusters_dir, tmp_path):
    with Loopback() as srv:
        cfg = ExtractConfig(llm=llm(srv.url("ok")), max_clusters=1, allow_code_execution=True)
        out = extract(clusters_dir, tmp_path / "ex", cfg)
    row = json.loads((out / "summary.json").read_text())["clusters"][0]
    assert row["source"] == "llm", attempts(out)
    spec = load_spec(out / "generators" / f"{row['generator']}.py")
    assert "model: m" in spec.code and "prompt_sha" in spec.code


def accepted(out):
    row = json.loads((out / "summary.json").read_text())["clusters"][0]
    assert row["source"] == "llm", [(r["reason"], r["message"][:200]) for r in attempts(out)]
    return row, load_spec(out / "generators" / f"{row['generator']}.py")


@pytest.mark.parametrize("mode,options,adaptations", [
    ("no_max_tokens", {}, ["max_tokens rejected: sending max_completion_tokens"]),
    ("no_temperature", {"temperature": 0.7}, ["temperature rejected: using the server default"]),
    ("cap500", {}, []),
])
def test_strong_model_behind_a_real_servers_quirks_is_accepted(clusters_dir, tmp_path, mode, options, adaptations):
    """A server that rejects max_tokens, one that rejects temperature, one that cuts replies at
    500 tokens (finish_reason "length"): each ends with an accepted LLM generator at the first ask."""
    with Loopback() as srv:
        cfg = ExtractConfig(llm=llm(srv.url(mode), **options), max_clusters=1, allow_code_execution=True)
        out = extract(clusters_dir, tmp_path / "ex", cfg)
    row, spec = accepted(out)
    first = attempts(out)[0]
    assert first["round"] == 0 and first["reason"] == "ok" and first["adaptations"] == adaptations
    assert first["finish_reason"] == "stop" and first["continuations"] == (2 if mode == "cap500" else 0)
    cluster = next(c for c in load_clusters(clusters_dir)[0] if c["id"] == row["cluster"])
    assert spec.kind == cluster_kind(cluster) == "log"  # the cluster's document kind, not "motif"
    assert "accepted from LLM at the first ask" in outcome_lines(out)[0]


def test_reply_cut_even_after_continuing_asks_for_a_shorter_generator(clusters_dir, tmp_path):
    """The issue's case: a 600-token budget honoured by the server cuts a ~1,000-token generator.
    The cut code is never validated; the next round asks for a shorter one, which is accepted."""
    with Loopback() as srv:
        cfg = ExtractConfig(llm=llm(srv.url("strong"), max_tokens=600, continuations=0), max_clusters=1,
                            allow_code_execution=True)
        out = extract(clusters_dir, tmp_path / "ex", cfg)
        second = srv.requests[-1][1]["messages"]
    rows = attempts(out)
    assert [r["reason"] for r in rows if r["source"] == "llm"] == ["truncated", "ok"]
    assert "stats" not in rows[0] and rows[0]["finish_reason"] == "length"
    assert len(second) == 1 and "shorter generator" in second[0]["content"]
    accepted(out)
    assert "accepted from LLM after 1 repair" in outcome_lines(out)[0]


def test_repair_prompt_carries_the_validators_numbers(clusters_dir, tmp_path):
    with Loopback() as srv:
        cfg = ExtractConfig(llm=llm(srv.url("first_bad")), max_clusters=1, allow_code_execution=True)
        out = extract(clusters_dir, tmp_path / "ex", cfg)
        repair = srv.requests[-1][1]["messages"]
    failed = attempts(out)[0]
    assert failed["reason"] != "ok"
    assert [m["role"] for m in repair] == ["user", "assistant", "user"]
    prompt = repair[-1]["content"]
    if failed.get("checks"):  # the validator's own checks, each measured value shown
        numbers = [c["value"] for c in failed["checks"] if not c["ok"] and isinstance(c["value"], float)]
    else:  # the measured profile next to the cluster's
        numbers = list(failed["stats"]["generated"]["stats"].values())
    assert numbers and all(f"{x:.3g}" in prompt for x in numbers), prompt
    assert failed["message"][:80] in prompt
    accepted(out)
    assert "accepted from LLM after 1 repair" in outcome_lines(out)[0]
