"""Score attribution partitions as Ray tasks (``attribution.options.backend: ray``).

The driver fits the EK-FAC factors once (they live under the work directory). Each partition
is then one task that rebuilds the same prepared model from the checkpoint's weights, points a
kronfluence ``Analyzer`` at the same output directory (kronfluence loads the factors by name
instead of fitting them again) and scores only its rows; the driver saves each part as it
arrives, so the artifact is assembled exactly as with the serial loop and a rerun after a crash
scores only the missing parts. Tasks read and write the work directory, so every node must
share it (one machine, or a shared filesystem), as for the training grid's Ray backend.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import numpy as np
import polars as pl
import torch

from .config import AttributionConfig


def score_task(model: torch.nn.Module, cfg_dict: dict, part: pl.DataFrame, rows: np.ndarray,
               probes: np.ndarray, half: int, work: str, name: str) -> pl.DataFrame:
    """One partition: (pos, step, seq, score), with factors read from ``work`` (never refitted)."""
    import logging

    from kronfluence.analyzer import Analyzer

    from .pipeline import prepare, score_rows

    torch.set_num_threads(1)
    cfg = AttributionConfig.model_validate(cfg_dict)
    model, task = prepare(model, cfg, torch.from_numpy(probes[: cfg.query_batch]), half)
    logging.getLogger("kronfluence").setLevel(logging.WARNING)
    analyzer = Analyzer("mda", model, task, cpu=True, disable_tqdm=True, output_dir=str(Path(work) / "kronfluence"))
    return score_rows(analyzer, cfg, part, rows, probes, name)


def score_parts_ray(original: torch.nn.Module, cfg: AttributionConfig, order, parts: list[pl.DataFrame],
                    todo: list[int], probes: np.ndarray, half: int, work: Path, save) -> None:
    """Score the partitions ``todo`` as Ray tasks; ``save(i, frame)`` stores each as it arrives."""
    from ..training.grid_ray import connect

    ray, started = connect(cfg.ray_address or os.environ.get("RAY_ADDRESS"), max(1, cfg.ray_workers))
    try:
        remote = ray.remote(num_cpus=1, max_retries=2)(score_task)
        model_ref = ray.put(copy.deepcopy(original))
        refs = {remote.remote(model_ref, cfg.model_dump(mode="json"), parts[i],
                              order.tokens(parts[i]["seq"].to_numpy()), probes, half, str(work),
                              f"part{i:05d}"): i for i in todo}
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            save(refs[done[0]], ray.get(done[0]))
    finally:
        if started:
            ray.shutdown()
