"""The probe token pool and the repeated-random probe sequences (numpy only).

Kept apart from the probes themselves (which need torch) so that light callers, such as the
control stores of an experiment, draw from exactly the pool the prefix-matching probe uses.
"""

from __future__ import annotations

import numpy as np

POOL_SEQUENCES = 2000  # training sequences used to rank token frequencies


def probe_token_pool(train_tokens: np.ndarray, eos_id: int, vocab: int, skip_top: float = 0.02) -> np.ndarray:
    """Token ids for random probes: seen at least twice, not among the most common ``skip_top``.

    Olsson et al. exclude the most and least common tokens so that the probe tests copying of
    arbitrary content rather than frequent-token habits.
    """
    counts = np.bincount(train_tokens.reshape(-1).astype(np.int64), minlength=vocab)[:vocab]
    counts[eos_id] = 0
    order = np.argsort(-counts, kind="stable")
    seen = order[counts[order] >= 2]
    pool = seen[int(len(seen) * skip_top) :]
    return pool if len(pool) >= 16 else seen


def repeated_random(pool: np.ndarray, n: int, half: int, eos_id: int, seed: int) -> np.ndarray:
    """(n, 1 + 2*half) sequences ``[eos] + R + R`` with R drawn from ``pool`` without repeats."""
    rng = np.random.default_rng(seed)
    replace = len(pool) < half
    rows = [rng.choice(pool, size=half, replace=replace) for _ in range(n)]
    return np.stack([np.concatenate([[eos_id], r, r]) for r in rows]).astype(np.int64)
