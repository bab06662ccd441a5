"""The kronfluence ``Task`` for GPT-NeoX causal LMs restricted to a head subspace.

Training loss: summed next-token cross-entropy of a packed sequence (inputs ``t[:-1]``, labels
``t[1:]``, as the trainer does). With ``sample=True`` (factor fitting) the labels are drawn from
the model's own predictive distribution, which makes the covariance the true Fisher (FACTS:
EK-FAC with sampled labels).

Measurement: **minus** the probe summed over the probe batch. kronfluence scores are
``grad f^T H^-1 grad L(z)``; a gradient step on ``z`` changes ``f`` by about ``-lr`` times that,
so with ``f = -probe`` a positive score means "training on ``z`` raises the probe" (it helps the
head form). This matches the paper's ``-<grad L(z), H^-1 grad probe>``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from kronfluence.task import Task
from torch import nn

from .heads import HeadRef
from .probes import AttributionProbe, at_least_fp32


@contextlib.contextmanager
def attention_impl(model: nn.Module, impl: str | None) -> Iterator[None]:
    """Temporarily switch the attention implementation (``None`` = leave it)."""
    if impl is None:
        yield
        return
    previous = model.config._attn_implementation
    model.set_attn_implementation(impl)
    try:
        yield
    finally:
        model.set_attn_implementation(previous)


def sequence_loss(model: nn.Module, batch: torch.Tensor, sample: bool = False) -> torch.Tensor:
    """Summed next-token cross-entropy of ``batch`` (batch, seq_len) token ids.

    Args:
        model: a causal LM returning ``.logits``.
        batch: (batch, seq_len) int64; predicts ``batch[:, 1:]`` from ``batch[:, :-1]``.
        sample: draw labels from the model's distribution instead (true Fisher).
    """
    logits = at_least_fp32(model(batch[:, :-1]).logits)  # (batch, seq_len - 1, vocab)
    flat = logits.reshape(-1, logits.shape[-1])
    if sample:
        with torch.no_grad():
            labels = torch.multinomial(torch.softmax(flat.detach().float(), dim=-1), 1).squeeze(-1)
    else:
        labels = batch[:, 1:].reshape(-1)
    return F.cross_entropy(flat, labels, reduction="sum")


class HeadInfluenceTask(Task):
    """Influence of training sequences on a probe, through the tracked head modules only."""

    def __init__(self, probe: AttributionProbe, heads: list[HeadRef], half: int, tracked: list[str]):
        self.probe, self.heads, self.half, self.tracked = probe, heads, half, list(tracked)

    def compute_train_loss(self, batch: torch.Tensor, model: nn.Module, sample: bool = False) -> torch.Tensor:
        return sequence_loss(model, batch, sample)

    def probe_values(self, batch: torch.Tensor, model: nn.Module) -> torch.Tensor:
        """(batch,) probe values, with eager attention when the probe reads attention."""
        with attention_impl(model, "eager" if self.probe.needs_attention else None):
            return self.probe.fn(model, batch, self.heads, self.half)

    def compute_measurement(self, batch: torch.Tensor, model: nn.Module) -> torch.Tensor:
        return -self.probe_values(batch, model).sum()

    def get_influence_tracked_modules(self) -> list[str]:
        return self.tracked

    def get_attention_mask(self, batch: torch.Tensor) -> None:
        return None  # packed sequences: no padding


def reachable_modules(model: nn.Module, task: HeadInfluenceTask, probe_batch: torch.Tensor,
                      names: list[str]) -> list[str]:
    """The subset of ``names`` whose weights get a gradient from the measurement.

    kronfluence fails (``'NoneType' object has no attribute 'contiguous'``) on a tracked module
    the measurement does not reach, e.g. ``W_V``/``W_O`` under an attention-pattern probe.
    """
    modules = dict(model.named_modules())
    weights = [modules[n].weight for n in names]
    flags = [w.requires_grad for w in weights]
    for w in weights:
        w.requires_grad_(True)
    try:
        grads = torch.autograd.grad(task.compute_measurement(probe_batch, model), weights, allow_unused=True)
    finally:
        for w, f in zip(weights, flags, strict=True):
            w.requires_grad_(f)
    return [n for n, g in zip(names, grads, strict=True) if g is not None and bool(g.abs().sum() > 0)]
