"""Shared helpers for attribution tests: a model that has an induction head, cheaply."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from mda_augment.model.build import build_model
from mda_augment.model.presets import get_preset
from mda_augment.units.probes import repeated_random
from mda_augment.units.scores import prefix_matching

VOCAB = 64
HALF = 12


def repeated_batch(rng: np.random.Generator, n: int, half: int = HALF, vocab: int = VOCAB) -> torch.Tensor:
    """(n, 1 + 2 * half) ``[0] + R + R`` with R over tokens 1..vocab-1."""
    return torch.from_numpy(repeated_random(np.arange(1, vocab), n, half, 0, int(rng.integers(1 << 30))))


def shifted_repeats(rng: np.random.Generator, n: int, length: int = 40, vocab: int = VOCAB) -> torch.Tensor:
    """(n, length) random tokens holding ``R + R`` at a random offset with random ``len(R)``.

    A fixed period lets a model copy by *position* (attend ``half - 2`` back and read the
    previous-token slot) without any content matching; varying the period forces real
    induction.
    """
    rows = rng.integers(1, vocab, size=(n, length))
    for row in rows:
        half = int(rng.integers(5, length // 2 - 2))
        start = int(rng.integers(1, length - 2 * half + 1))
        r = rng.choice(np.arange(1, vocab), size=half, replace=False)
        row[start : start + half] = r
        row[start + half : start + 2 * half] = r
    rows[:, 0] = 0
    return torch.from_numpy(rows.astype(np.int64))


def induction_scores(model, half: int = HALF, seed: int = 99) -> torch.Tensor:
    """(layers, heads) prefix-matching scores on fresh repeated sequences."""
    tokens = repeated_batch(np.random.default_rng(seed), 16, half)
    with torch.no_grad():
        model.set_attn_implementation("eager")
        attn = model(tokens, output_attentions=True).attentions
        model.set_attn_implementation("sdpa")
    return torch.stack([prefix_matching(a, half) for a in attn])


def train_induction_model(steps: int = 400, seed: int = 0, lr: float = 1e-3, fixed_period: bool = False):
    """An attention-only 2-layer model trained on pure repeated random tokens.

    Returns the initial model, the trained one and its per-head scores. FACTS: an induction
    head forms within a few hundred steps on such data.
    """
    torch.manual_seed(seed)
    model = build_model(get_preset("nano"), VOCAB, 64, seed=seed)
    init = build_model(get_preset("nano"), VOCAB, 64, seed=seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        batch = repeated_batch(rng, 32) if fixed_period else shifted_repeats(rng, 32)
        logits = model(batch[:, :-1]).logits
        loss = F.cross_entropy(logits.flatten(0, 1), batch[:, 1:].flatten())
        opt.zero_grad()
        loss.backward()
        opt.step()
    return init.eval(), model.eval(), induction_scores(model)


def train_tiny(corpus, out, steps: int, *, log_until: int = 4, every: int = 6):
    """A ``tiny`` run on ``corpus`` with checkpoints at 0, 1, 2, 4 (up to ``log_until``) and every ``every`` steps."""
    from mda_augment.training.config import TrainConfig
    from mda_augment.training.loop import train

    return train(TrainConfig(preset="tiny", corpus=corpus, out=out, steps=steps, seed=0, threads=1,
                             checkpoint_log_until=log_until, checkpoint_every=every, eval_every=every,
                             progress=False, units={"probes": ["prefix_matching"], "n_random": 4}))
