"""Mined generators and their matched no-repeat controls, run in the real sandbox and measured
in the model's tokens on a cluster of mapping tables (see ``table_corpus``)."""

from __future__ import annotations

import json

import pytest

from mda_augment.clustering import load_clusters
from mda_augment.motifs.extract import ExtractConfig, _Recorder, try_offline, with_reference
from mda_augment.motifs.offline import MINED_VARIANTS, mine_cluster, render_mined
from mda_augment.motifs.validate import ValidationConfig, validate
from mda_augment.sandbox import SandboxConfig, run_code
from mda_augment.structure.detectors import detector_scores, fired
from mda_augment.structure.model_tokens import ModelView, text_stats
from mda_augment.synthesis.registry import load_spec

from . import table_corpus

CFG = ExtractConfig(fallback_families=False,
                    validation=ValidationConfig(n=8, sandbox=SandboxConfig(timeout_s=30, cpu_s=30)))


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    """(clusters dir, the table cluster with its model reference, accepted generator)."""
    root = tmp_path_factory.mktemp("tables")
    clusters_dir = table_corpus.build(root)
    clusters, _, _ = load_clusters(clusters_dir)
    cluster = with_reference(clusters, clusters_dir)[0]
    rec = _Recorder(root / "attempts.jsonl")
    accepted = try_offline(cluster, CFG, rec, str(clusters_dir))
    return clusters_dir, cluster, accepted, rec


def _stats(code, view, seed=5, n=12):
    result = run_code(code, seed, n, CFG.validation.sandbox)
    assert result.ok, (result.reason, result.message)
    return result.docs, text_stats(result.docs, view)


def test_mined_generator_repeats_at_least_like_the_cluster(table, tmp_path):
    clusters_dir, cluster, accepted, rec = table
    assert accepted is not None, [r["message"] for r in rec.rows]
    assert accepted.method == "mined"
    checks = {c["name"]: c for c in accepted.checks}
    assert checks["model_induction_share"]["ok"] and checks["ngram_novelty"]["ok"]
    share = checks["model_induction_share"]["value"]
    assert share >= cluster["model"]["induction_share"] and share >= 1.5 * cluster["model_ref"]["background"]["induction_share"]
    # the file alone reproduces it: registry contract, kind of the members, fresh seed
    path = tmp_path / f"{accepted.name}.py"
    path.write_text(accepted.code)
    spec = load_spec(path, tmp_path)
    assert spec.kind == "table" and "REPEAT = True" in spec.code
    docs, stats = _stats(spec.code, ModelView.from_record(cluster["model_ref"]))
    assert stats["induction_share"] >= 0.95 * cluster["model"]["induction_share"]
    assert all("0x" in d and "\t# " in d for d in docs)


def test_matched_no_repeat_control_has_the_surface_but_not_the_repeats(table):
    _, cluster, accepted, _ = table
    assert "REPEAT = False" in accepted.control and "mined_norepeat_v1" in accepted.control
    view = ModelView.from_record(cluster["model_ref"])
    docs, mined = _stats(accepted.code, view)
    control_docs, control = _stats(accepted.control, view)
    background = cluster["model_ref"]["background"]["induction_share"]
    # same surface: tokens per character, line shape, detectors that fire
    assert control["chars_per_token"] == pytest.approx(mined["chars_per_token"], rel=0.1)
    lines = [len(ln) for d in docs for ln in d.splitlines()]
    control_lines = [len(ln) for d in control_docs for ln in d.splitlines()]
    assert sum(control_lines) / len(control_lines) == pytest.approx(sum(lines) / len(lines), rel=0.1)
    assert {n for d in docs for n in fired(detector_scores(d))} == {n for d in control_docs for n in fired(detector_scores(d))}
    # no repetition: about the background's share, far below the mined generator's
    assert abs(control["induction_share"] - background) < 0.35 * (mined["induction_share"] - background)


def test_a_generator_that_repeats_nothing_is_rejected(table):
    _, cluster, _, _ = table
    code = ("import random\n\ndef generate(seed, n):\n    r = random.Random(seed)\n"
            "    h = lambda: ''.join(r.choice('0123456789ABCDEF') for _ in range(4))\n"
            "    w = lambda: ''.join(r.choice('ABCDEFGHIKLMNOPRSTUWY') for _ in range(r.randint(3, 8)))\n"
            "    return ['\\n'.join(f'0x{h()}\\t0x{h()}\\t# {w()} {w()}' for _ in range(25)) for _ in range(n)]\n")
    v = validate(code, cluster, CFG.validation)
    assert not v.ok and v.reason == "too_little_repetition", v.message
    rep = {c["name"]: c for c in v.checks}["model_induction_share"]
    assert not rep["ok"] and rep["value"] < cluster["model"]["induction_share"]
    assert "model_induction_share is" in v.message and "1.5x background" in v.message
    # the surface was right: only the repetition check failed
    assert [c["name"] for c in v.failed] == ["model_induction_share"]
    json.dumps(v.checks)  # checks are plain data (attempts.jsonl, repair prompts)


def test_echoed_spans_are_resampled_in_the_control(table):
    """At the strongest rung (values merged, recent spans echoed twice) the control keeps the
    same surface but still repeats no more than the background."""
    clusters_dir, cluster, _, _ = table
    data = mine_cluster(cluster, clusters_dir, cluster["model_ref"]["seq_len"])
    params = MINED_VARIANTS[-1]
    assert params["echo"] > 0 and params["copies"] > 1
    view = ModelView.from_record(cluster["model_ref"])
    _, mined = _stats(render_mined(cluster, data, params, "m_v1", str(clusters_dir)), view)
    _, control = _stats(render_mined(cluster, data, params, "m_norepeat_v1", str(clusters_dir), repeat=False), view)
    background = cluster["model_ref"]["background"]["induction_share"]
    assert mined["induction_share"] > 0.6
    assert control["chars_per_token"] == pytest.approx(mined["chars_per_token"], rel=0.1)
    assert abs(control["induction_share"] - background) < 0.35 * (mined["induction_share"] - background)
