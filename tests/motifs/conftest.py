import pytest

from mda_augment.clustering import ClusterConfig, build_clusters
from tests import scored_corpus


@pytest.fixture(scope="session")
def scored(tmp_path_factory):
    """(packed_dir, scores_parquet) of a small mixed prose/xml/log corpus."""
    return scored_corpus.build(tmp_path_factory.mktemp("scored"))


@pytest.fixture(scope="session")
def clusters_dir(scored, tmp_path_factory):
    """A clusters artifact of ``scored``: a log/XML cluster with most of the mass, and a small one."""
    packed, scores = scored
    out = tmp_path_factory.mktemp("cl") / "clusters"
    return build_clusters(scores, packed, out, ClusterConfig(top_fraction=0.3, k=2, background=100))
