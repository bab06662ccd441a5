"""Extraction end to end on a real clusters artifact: offline, consent, and LLM failures
(from the loopback server) that must be recorded and fall back to the offline extractor."""

from __future__ import annotations

import json

import pytest

from mda_augment.clustering import ClusterConfig, build_clusters
from mda_augment.errors import GeneratorError
from mda_augment.motifs import ExtractConfig, extract
from mda_augment.sandbox import run_code
from mda_augment.synthesis.registry import load_spec

from .loopback import Loopback


@pytest.fixture(scope="module")
def clusters_dir(scored, tmp_path_factory):
    packed, scores = scored
    out = tmp_path_factory.mktemp("cl") / "clusters"
    return build_clusters(scores, packed, out, ClusterConfig(top_fraction=0.3, k=2, background=100))


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


@pytest.mark.parametrize("mode,reason", [("e500", "llm_error"), ("garbage", "llm_error"),
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


def test_llm_code_that_validates_is_accepted(clusters_dir, tmp_path):
    with Loopback() as srv:
        cfg = ExtractConfig(llm=llm(srv.url("ok")), max_clusters=1, allow_code_execution=True)
        out = extract(clusters_dir, tmp_path / "ex", cfg)
    row = json.loads((out / "summary.json").read_text())["clusters"][0]
    assert row["source"] == "llm", attempts(out)
    spec = load_spec(out / "generators" / f"{row['generator']}.py")
    assert "model: m" in spec.code and "prompt_sha" in spec.code
