"""The clusters artifact on a real packed corpus with synthetic scores."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from mda_augment.artifacts import is_complete
from mda_augment.clustering import ClusterConfig, build_clusters, load_clusters, load_scored_samples
from mda_augment.errors import DataError


@pytest.fixture(scope="module")
def clusters_dir(scored, tmp_path_factory):
    packed, scores = scored
    out = tmp_path_factory.mktemp("cl") / "clusters"
    return build_clusters(scores, packed, out, ClusterConfig(top_fraction=0.3, k=2, background=200))


def test_scored_samples_carry_text_and_provenance(scored):
    packed, scores = scored
    df = load_scored_samples(scores, packed, seqs=[0, 1, 2])
    assert df.columns[:2] == ["seq", "score"] and {"text", "doc_ids", "kinds"} <= set(df.columns)
    assert all(len(t) > 20 for t in df["text"]) and all(len(k) >= 1 for k in df["kinds"])


def test_scores_must_match_the_corpus(scored, tmp_path):
    packed, _ = scored
    bad = tmp_path / "bad.parquet"
    pl.DataFrame({"seq": [10**7], "score": [1.0]}).write_parquet(bad)
    with pytest.raises(DataError, match="outside the packed corpus"):
        load_scored_samples(bad, packed)
    pl.DataFrame({"sequence": [1]}).write_parquet(bad)
    with pytest.raises(DataError, match="missing column"):
        load_scored_samples(bad, packed)


def test_clusters_show_mass_and_over_representation(clusters_dir):
    assert is_complete(clusters_dir)
    clusters, base, summary = load_clusters(clusters_dir)
    assert len(clusters) == 2
    assert sum(c["size"] for c in clusters) == summary["selected"]
    # top 30% by score hold far more than 30% of the positive mass
    assert summary["selected_mass_share"] > 0.5
    assert sum(c["influence_mass_share"] for c in clusters) == pytest.approx(summary["selected_mass_share"])
    # structured text is over-represented, prose under-represented among the top samples
    assert summary["over_representation"]["log_lines_v1"] > 1.5
    assert summary["over_representation"]["prose_v1"] < 0.5
    assert all(c["exemplars"] and c["label"] for c in clusters)
    assert (clusters_dir / "influence_mass.png").stat().st_size > 1000


def test_selection_rules_are_exclusive():
    with pytest.raises(ValueError):
        ClusterConfig(top_k=10, min_score=0.5)
    assert ClusterConfig().top_fraction == 0.1


def test_clusters_record_model_token_statistics(clusters_dir, scored):
    packed, _ = scored
    clusters, base, summary = load_clusters(clusters_dir)
    view = summary["model_tokens"]
    assert view["seq_len"] == 256 and view["tokenizer"] == "bpe-300"
    assert (Path(view["tokenizer_dir"]) / "tokenizer.json").is_file()
    for c in [*clusters, base]:
        m = c["model"]
        lo, hi = m["induction_share_ci"]
        assert lo <= m["induction_share"] <= hi and sum(m["lag_hist"].values()) == pytest.approx(1.0)
    # structured clusters repeat more, in the model's tokens, than random training windows
    assert max(c["model"]["induction_share"] for c in clusters) > base["model"]["induction_share"]
    assert "model-token share" in (clusters_dir / "clusters.md").read_text()


def test_model_reference_recomputes_for_older_artifacts(clusters_dir, tmp_path):
    import json
    import shutil

    from mda_augment.clustering.model_stats import model_reference

    view, background, per_cluster = model_reference(clusters_dir)
    old = tmp_path / "old"
    shutil.copytree(clusters_dir, old)
    for name in ("clusters.json", "background.json", "summary.json"):
        data = json.loads((old / name).read_text())
        for row in data if isinstance(data, list) else [data]:
            row.pop("model", None)
            row.pop("model_tokens", None)
        (old / name).write_text(json.dumps(data))
    view2, background2, per_cluster2 = model_reference(old)
    assert view2.seq_len == view.seq_len
    assert background2["induction_share"] == pytest.approx(background["induction_share"])
    assert {k: v["induction_share"] for k, v in per_cluster2.items()} == pytest.approx(
        {k: v["induction_share"] for k, v in per_cluster.items()})
