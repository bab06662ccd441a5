"""Which checkpoint scores which window sequence (``AttributionConfig.checkpoint_mode``).

An influence score is a first-order statement about one model: ``grad f(theta)^T H^-1
grad L(z; theta)``. With the default ``end`` mode every window sequence is scored at the
checkpoint ``step``, so a sequence consumed at step 100 is judged by the model at step 15,000,
whose gradients it never met. The other modes follow the training trajectory instead:

* ``nearest``: a sequence consumed at step ``s`` is scored at the chosen checkpoint closest to
  ``s`` and its score is multiplied by ``lr(s) / peak lr``: the first-order effect of the one
  update that actually used it (TracIn's "ideal" form, evaluated at a checkpoint).
* ``tracin``: the TracIn-CP sum ``sum_c w_c score_c(z)`` over the chosen checkpoints, with
  ``w_c = lr(c) / peak lr x (share of the window's steps closest to c)``; every sequence is
  scored at every checkpoint (cost x the number of checkpoints).

The chosen checkpoints are at most ``max_checkpoints`` available ones in ``[start_step, step]``,
the nearest to the centres of equal slices of the window, so each represents about the same
number of steps.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl

from ..errors import ConfigError

LrFn = Callable[[int], float]  # a step's learning rate relative to the run's peak


def pick_checkpoints(available: list[int], start: int, end: int, limit: int, last: int) -> list[int]:
    """Up to ``limit`` checkpoints out of ``available`` spread over the window ``[start, end)``.

    Args:
        available: steps with a complete checkpoint.
        start, end: the window's steps.
        limit: most checkpoints to use.
        last: the attributed checkpoint; later ones are never used (the claim is about it).

    Returns:
        Sorted, distinct steps in ``[start, last]``.
    """
    inside = np.array(sorted(c for c in set(available) if start <= c <= last), dtype=np.int64)
    if len(inside) == 0:
        raise ConfigError(f"checkpoint_mode: no checkpoint in [{start}, {last}]; use checkpoint_mode "
                          "end or a window that contains checkpoints")
    centres = start + (np.arange(limit) + 0.5) * (end - start) / limit
    nearest = inside[np.abs(inside[None, :] - centres[:, None]).argmin(axis=1)]
    return sorted({int(c) for c in nearest})


def nearest_checkpoint(steps: np.ndarray, checkpoints: list[int]) -> np.ndarray:
    """(n,) the checkpoint closest to each consumption step (ties go to the earlier one)."""
    ckpt = np.asarray(checkpoints, dtype=np.int64)
    return ckpt[np.abs(np.asarray(steps)[:, None] - ckpt[None, :]).argmin(axis=1)]


def tracin_weights(checkpoints: list[int], start: int, end: int, lr: LrFn) -> dict[int, float]:
    """``w_c = lr(c) x`` (share of the window's steps whose nearest checkpoint is ``c``)."""
    owner = nearest_checkpoint(np.arange(start, end), checkpoints)
    return {c: lr(c) * float((owner == c).mean()) for c in checkpoints}


def assignments(window: pl.DataFrame, checkpoints: list[int], mode: str) -> pl.DataFrame:
    """(pos, step, seq, checkpoint) rows: which sequences each checkpoint must score.

    ``nearest`` gives one row per sequence, ``tracin`` one per sequence and checkpoint.
    """
    if mode == "nearest":
        return window.with_columns(pl.Series("checkpoint", nearest_checkpoint(window["step"].to_numpy(), checkpoints)))
    return pl.concat([window.with_columns(pl.lit(c, dtype=pl.Int64).alias("checkpoint")) for c in checkpoints])


def combine(per_checkpoint: pl.DataFrame, mode: str, weights: dict[int, float], lr: LrFn) -> pl.DataFrame:
    """One (pos, step, seq, score) row per sequence from (pos, step, seq, checkpoint, score) rows."""
    if mode == "nearest":
        scale = np.array([lr(int(s)) for s in per_checkpoint["step"].to_list()])
        return per_checkpoint.with_columns((pl.col("score") * pl.Series(scale)).alias("score")).select(
            "pos", "step", "seq", "score")
    w = pl.DataFrame({"checkpoint": list(weights), "w": list(weights.values())},
                     schema={"checkpoint": pl.Int64, "w": pl.Float64})
    return (per_checkpoint.join(w, on="checkpoint").group_by("pos", "step", "seq")
            .agg((pl.col("score") * pl.col("w")).sum().alias("score")).sort("pos"))
