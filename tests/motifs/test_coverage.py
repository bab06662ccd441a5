"""Coverage of the selected influence mass: per-cluster status, the store's record, the refusal."""

from __future__ import annotations

import json

import pytest

from mda_augment.errors import ConfigError
from mda_augment.motifs.coverage import (
    coverage_block,
    coverage_lines,
    coverage_of_store,
    require_coverage,
    write_store_coverage,
)

CLUSTERS = [{"id": 0, "label": "tables", "influence_mass": 6.0}, {"id": 1, "label": "xml", "influence_mass": 3.0},
            {"id": 2, "label": "prose", "influence_mass": 0.6}, {"id": 3, "label": "tiny", "influence_mass": 0.4}]
ROWS = [{"cluster": 0, "generator": "motif_c0_mined_v1", "source": "offline", "method": "mined"},
        {"cluster": 1, "generator": None, "source": None, "reason": "model_induction_share is 0.30, needs >= 0.42"},
        {"cluster": 2, "generator": "motif_c2_fallback_v1", "source": "offline", "method": "fallback"}]


def test_block_gives_shares_status_and_reasons():
    cov = coverage_block(CLUSTERS, ROWS, {3: "2 members < min_size 5"}, major_share=0.05)
    assert cov["covered_mass_share"] == pytest.approx(0.66)
    by = {e["cluster"]: e for e in cov["clusters"]}
    assert by[0]["source"] == "mined" and by[2]["source"] == "fallback"
    assert by[1]["status"] == "no_generator" and "0.30" in by[1]["reason"] and by[1]["major"]
    assert by[3]["status"] == "skipped" and "min_size" in by[3]["reason"] and not by[3]["major"]
    assert cov["uncovered_major"] == [1]
    lines = coverage_lines({"coverage": cov})
    assert "[major]" in lines[1] and lines[-1].endswith("66.0% of the selected influence mass")


def test_store_coverage_counts_only_generators_with_documents(tmp_path):
    motifs, store = tmp_path / "motifs", tmp_path / "store"
    motifs.mkdir()
    store.mkdir()
    cov = coverage_block(CLUSTERS, ROWS, {}, 0.05)
    (motifs / "summary.json").write_text(json.dumps({"coverage": cov}))
    (store / "stats.json").write_text(json.dumps({"motif_c0_mined_v1": {"documents": 400},
                                                  "motif_c2_fallback_v1": {"documents": 0}, "_total": {}}))
    assert coverage_of_store(store) is None  # nothing recorded yet: not a store of mined generators
    write_store_coverage(motifs, store)
    assert coverage_of_store(store) == pytest.approx(0.6)
    with pytest.raises(ConfigError, match="cover 60% .* below min_coverage 90%"):
        require_coverage(store, 0.9)
    assert require_coverage(store, 0.9, allow_low=True) == pytest.approx(0.6)
    assert require_coverage(store, 0.5) == pytest.approx(0.6)
