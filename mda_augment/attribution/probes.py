"""Attribution probes: the differentiable quantity ``f`` whose data influence MDA measures.

Each probe maps a batch of probe sequences ``[eos] + R + R`` (R random tokens of moderate
frequency, the same construction as the unit metrics in :mod:`mda_augment.units.probes`) to
one value per sequence, oriented so that **higher means more of the mechanism**. The
kronfluence measurement is minus their sum (see :mod:`task`), so a positive influence score
means "training on this sequence raises the probe".

Register a new probe with ``@register_attribution_probe("name_v1", needs_attention=...)`` (a
:class:`~mda_augment.registry.Registry`: a name registered twice raises).
Attention probes need eager attention (sdpa returns no probabilities) and reach only the
heads' Q and K (and earlier layers): the pipeline drops tracked modules they cannot reach.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from transformers import GPTNeoXForCausalLM

from ..errors import ConfigError
from ..registry import Registry
from .heads import HeadRef

ProbeFn = Callable[[GPTNeoXForCausalLM, torch.Tensor, list[HeadRef], int], torch.Tensor]


@dataclass(frozen=True)
class AttributionProbe:
    """A named probe: ``fn(model, tokens, heads, half) -> (batch,)`` values."""

    name: str
    needs_attention: bool
    fn: ProbeFn
    doc: str = ""


ATTRIBUTION_PROBES: Registry[AttributionProbe] = Registry("attribution probe")


def register_attribution_probe(name: str, needs_attention: bool = False) -> Callable[[ProbeFn], ProbeFn]:
    """Decorator: add ``fn`` to the registry under the stable name ``name``."""

    def wrap(fn: ProbeFn) -> ProbeFn:
        ATTRIBUTION_PROBES.add(name, AttributionProbe(name, needs_attention, fn, (fn.__doc__ or "").strip()))
        return fn

    return wrap


def get_attribution_probe(name: str) -> AttributionProbe:
    """The probe ``name`` (``attribute.options.probe``); unknown: one line naming the field."""
    try:
        return ATTRIBUTION_PROBES[name]
    except ConfigError as e:
        raise ConfigError(f"probe: {e}") from None


def at_least_fp32(x: torch.Tensor) -> torch.Tensor:
    """Upcast half precision to fp32 but keep fp64 (the finite-difference check runs in fp64)."""
    return x if x.dtype == torch.float64 else x.float()


def _head_attention(model: GPTNeoXForCausalLM, tokens: torch.Tensor, heads: list[HeadRef]) -> list[torch.Tensor]:
    """Attention probabilities of each target head: list of (batch, seq, seq)."""
    out = model(tokens, output_attentions=True)
    if out.attentions is None or out.attentions[0] is None:
        raise ConfigError("probe needs attention probabilities; the model must use eager attention")
    return [out.attentions[h.layer][:, h.head] for h in heads]


@register_attribution_probe("copy_target")
def copy_target(model: GPTNeoXForCausalLM, tokens: torch.Tensor, heads: list[HeadRef], half: int) -> torch.Tensor:
    """Sum over the second copy of log p(the token that followed the previous occurrence).

    On ``[eos] + R + R`` the query at position ``i`` of the second copy (``i >= 1 + half``)
    predicts ``tokens[i + 1]``, which followed the previous occurrence of ``tokens[i]``.
    Model-level (the heads do not enter the value; they only choose the tracked subspace).
    """
    del heads
    logits = model(tokens).logits  # (batch, seq, vocab)
    q = torch.arange(1 + half, 2 * half, device=tokens.device)  # queries with a next token
    logp = torch.log_softmax(at_least_fp32(logits[:, q]), dim=-1)  # (batch, half - 1, vocab)
    return logp.gather(-1, tokens[:, q + 1, None]).squeeze(-1).sum(dim=-1)


@register_attribution_probe("prefix_match", needs_attention=True)
def prefix_match(model: GPTNeoXForCausalLM, tokens: torch.Tensor, heads: list[HeadRef], half: int) -> torch.Tensor:
    """Summed attention of the heads on the induction target (Olsson's prefix matching).

    Query ``i`` of the second copy should attend to key ``i - half + 1``, the token right
    after the previous occurrence of ``tokens[i]``.
    """
    q = torch.arange(1 + half, 1 + 2 * half, device=tokens.device)
    total = 0.0
    for attn in _head_attention(model, tokens, heads):  # (batch, seq, seq)
        total = total + attn[:, q, q - half + 1].sum(dim=-1)
    return total


@register_attribution_probe("prev_token", needs_attention=True)
def prev_token(model: GPTNeoXForCausalLM, tokens: torch.Tensor, heads: list[HeadRef], half: int) -> torch.Tensor:
    """Summed attention of the heads on the previous token, over the first (unrepeated) copy.

    Only the first copy is used so that an induction head's attention (which in the second
    copy lands one position after the earlier occurrence) is not counted.
    """
    q = torch.arange(2, 1 + half, device=tokens.device)
    total = 0.0
    for attn in _head_attention(model, tokens, heads):
        total = total + attn[:, q, q - 1].sum(dim=-1)
    return total
