"""Attribution partitions scored as Ray tasks equal the serial scores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from mda_augment.attribution.runs import attribute_run

from .helpers import train_tiny

FAST = {"factor_examples": 32, "n_probe": 8, "probe_half": 8, "train_batch": 8, "query_batch": 8}


@pytest.fixture(scope="module")
def tiny_run(packed_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_tiny(packed_corpus, tmp_path_factory.mktemp("run") / "r", steps=6)


def test_ray_partitions_equal_the_serial_scores(tiny_run: Path, tmp_path: Path) -> None:
    """Resuming after a crash is the serial loop's (the same part files; test_pipeline tests it)."""
    pytest.importorskip("ray", reason="ray is in the dev extra; `make test` installs it")
    kw = {"heads": "L1H0", "step": 6, "partitions": 3, **FAST}
    serial = attribute_run(tiny_run, tmp_path / "serial", **kw)
    parallel = attribute_run(tiny_run, tmp_path / "ray", backend="ray", ray_workers=2, **kw)
    a, b = (pl.read_parquet(p / "scores.parquet").sort("pos") for p in (serial, parallel))
    assert a["seq"].to_list() == b["seq"].to_list() and a.height == 6 * 8  # every sequence of steps [0, 6)
    assert np.allclose(a["score"].to_numpy(), b["score"].to_numpy(), rtol=1e-6, atol=1e-9)
    assert not (tmp_path / ".ray.work").exists()  # removed once the artifact is complete
