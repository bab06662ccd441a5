"""What the prompts tell the LLM: targets, representative exemplars, the validator's numbers."""

from __future__ import annotations

import polars as pl

from mda_augment.clustering import load_clusters
from mda_augment.corpus.tokenizers import EOS
from mda_augment.motifs import ExtractConfig
from mda_augment.motifs.context import check_lines, cluster_kind, repeat_target
from mda_augment.motifs.exemplars import BOUNDARY, cluster_members, window_text, within_budget
from mda_augment.motifs.extract import prompt_context, repair_context
from mda_augment.motifs.prompts import render
from mda_augment.motifs.validate import Validation

CFG = ExtractConfig(llm={"base_url": "http://127.0.0.1:9/v1", "model": "m"}, allow_code_execution=True)


def top_cluster(clusters_dir):
    return max(load_clusters(clusters_dir)[0], key=lambda c: c["influence_mass_share"])


def test_exemplars_cover_the_clusters_sub_structure(clusters_dir):
    """The top cluster is mostly log windows with some XML ones: the top-scored three are all
    logs, the chosen exemplars include an XML window, each shown whole with its boundaries."""
    cluster = top_cluster(clusters_dir)
    members = cluster_members(clusters_dir, cluster["id"]).sort("score", descending=True)
    assert not any("<item" in t for t in members["text"].head(3))
    ctx = prompt_context(cluster, CFG, clusters_dir)
    shown = ctx["exemplars"]
    assert len(shown) == CFG.exemplars and shown[0]["rank"] == 1
    assert any("<item" in ex["text"] for ex in shown)
    assert len({ex["rank"] for ex in shown}) == len(shown) and max(ex["rank"] for ex in shown) > 3
    whole = {window_text(t) for t in members["text"]}
    assert all(ex["text"] in whole for ex in shown)  # not cut: the window as the model saw it
    assert all(EOS not in ex["text"] for ex in shown)


def test_window_text_marks_document_boundaries_and_budget_cuts_visibly():
    assert window_text(f"end of one\n{EOS}start of next") == f"end of one\n{BOUNDARY}\nstart of next"
    exs = [{"text": "a\n" * 300}, {"text": "b" * 10}]
    cut = within_budget(exs, 100)
    assert len(cut) == 1 and "more characters of this window" in cut[0]["text"]
    assert within_budget(exs, 1000) == exs


def test_writer_prompt_states_the_numeric_targets(clusters_dir):
    cluster = top_cluster(clusters_dir)
    prompt = render(CFG.prompt, **prompt_context(cluster, CFG, clusters_dir))
    repeat = repeat_target(cluster, {"background": {}, "seq_len": None, "word_context": 256})
    assert f"{repeat['value']:.2f}" in prompt and "256 model tokens" in prompt  # the packed window
    for name in ("hex_v1", "log_lines_v1"):  # the cluster's detectors, with what they mean
        assert name in prompt
    assert "clock time or ISO timestamp" in prompt and "4096 tokens" in prompt


def test_model_token_statistics_are_preferred_when_the_profile_has_them(clusters_dir):
    cluster = top_cluster(clusters_dir)
    stats = {**cluster["profile"]["stats"], "model_induction_share": 0.613}
    with_model = {**cluster, "profile": {**cluster["profile"], "stats": stats, "seq_len": 128}}
    target = repeat_target(with_model, {"background": {"stats": {"model_induction_share": 0.281}},
                                        "seq_len": 256, "word_context": 256})
    assert (target["value"], target["background"], target["unit"], target["window"]) == (0.613, 0.281,
                                                                                         "model tokens", 128)


def test_repair_prompt_renders_the_validators_checks_or_its_measurements(clusters_dir):
    cluster = top_cluster(clusters_dir)
    ctx = prompt_context(cluster, CFG, clusters_dir)
    v = Validation(False, "structure_mismatch", "induction share too low")
    v.checks = [{"name": "model_induction_share", "value": 0.3141, "target": 0.47, "ok": False},
                {"name": "fires:hex_v1", "value": 0.875, "target": 0.5, "ok": True}]
    text = render(CFG.repair_prompt, **ctx, **repair_context(v, "def generate(seed, n): ..."))
    assert "model_induction_share: measured 0.314, target 0.47: FAILED" in text
    assert "fires:hex_v1: measured 0.875, target 0.5: ok" in text
    assert check_lines(v.checks)[0].startswith("model_induction_share")  # failed first
    plain = Validation(False, "structure_mismatch", "x", {"generated": {"detectors": {"hex_v1": 0.25},
                                                                       "stats": {"induction_share": 0.1234}},
                                                         "target": {"detectors": ["hex_v1"],
                                                                    "stats": {"induction_share": 0.47}}})
    text = render(CFG.repair_prompt, **ctx, **repair_context(plain, "code"))
    assert "induction_share: yours 0.123, cluster 0.47" in text and "fires on 25% of your documents" in text


def test_kind_is_the_clusters_majority_document_kind_else_its_family():
    base = {"profile": {"detectors": {"latex_v1": 0.9}, "stats": {}}, "over_representation": {}}
    assert cluster_kind({**base, "kinds": {"tex": 0.8, "prose": 0.2}}) == "tex"
    assert cluster_kind({**base, "kinds": {"tex": 0.4, "prose": 0.35, "code": 0.25}}) == "latex"
    assert cluster_kind({**base, "kinds": {}}) == "latex"


def test_members_are_read_from_the_artifact(clusters_dir):
    cluster = top_cluster(clusters_dir)
    members = cluster_members(clusters_dir, cluster["id"])
    assert isinstance(members, pl.DataFrame) and len(members) == cluster["size"]
    assert cluster_members(None, 0) is None
