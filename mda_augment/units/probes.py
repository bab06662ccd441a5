"""Named probes: the unit metrics tracked over training.

A probe reads one of three fixed sources and turns it into rows ``(layer, head, value)``
(``layer = head = -1`` for model-level values):

    repeated_random   ``[eos] + R + R``, R random tokens of moderate frequency (seeded, fixed)
    natural           held-out packed sequences (documents never trained on)
    weights           the parameters alone (direct-path OV circuit)

Register a new probe with ``@register_probe("name_v1", source)``; names are stable so runs
stay comparable, and a name registered twice raises (:class:`~mda_augment.registry.Registry`). The evaluator runs each source's forward passes once and hands the outputs
to every requested probe of that source.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from transformers import GPTNeoXForCausalLM

from ..errors import ConfigError
from ..registry import Registry
from . import scores
from .pool import probe_token_pool, repeated_random

__all__ = ["PROBES", "SOURCES", "Probe", "SourceOutputs", "get_probes", "head_logits", "ov_logits",
           "probe_token_pool", "register_probe", "repeated_random"]

Rows = list[tuple[int, int, float]]


@dataclass
class SourceOutputs:
    """What one source's forward passes produced (concatenated over batches)."""

    tokens: torch.Tensor  # (batch, seq)
    attentions: list[torch.Tensor]  # per layer (batch, heads, seq, seq); empty for "weights"
    losses: torch.Tensor | None  # (batch, seq - 1) token losses; None for "weights"
    half: int = 0  # length of R for repeated_random
    residuals: list[torch.Tensor] | None = None  # per layer (batch, seq, d): the stream entering it


@dataclass(frozen=True)
class Probe:
    name: str
    source: str
    fn: Callable[[GPTNeoXForCausalLM, SourceOutputs, dict], Rows]


PROBES: Registry[Probe] = Registry("probe")
SOURCES = ("repeated_random", "natural", "weights")


def register_probe(name: str, source: str) -> Callable:
    """Decorator adding a probe function ``fn(model, outputs, info) -> rows`` to the registry."""
    if source not in SOURCES:
        raise ValueError(f"probe source must be one of {SOURCES}")

    def wrap(fn: Callable) -> Callable:
        PROBES.add(name, Probe(name, source, fn))
        return fn

    return wrap


def get_probes(names: list[str]) -> list[Probe]:
    """The probes named in ``units.probes``; an unknown name is a one-line error naming the field."""
    try:
        return [PROBES[n] for n in names]
    except ConfigError as e:
        raise ConfigError(f"units.probes: {e}") from None


def per_head(values_by_layer: list[torch.Tensor]) -> Rows:
    return [(layer, head, float(v)) for layer, vals in enumerate(values_by_layer)
            for head, v in enumerate(vals.tolist())]


@register_probe("prefix_matching", "repeated_random")
def _prefix_matching(model, out: SourceOutputs, info: dict) -> Rows:
    return per_head([scores.prefix_matching(a, out.half) for a in out.attentions])


@register_probe("prefix_matching_sq", "repeated_random")
def _prefix_matching_sq(model, out: SourceOutputs, info: dict) -> Rows:
    """Mean over probe sequences of the squared per-sequence prefix-matching score.

    With ``prefix_matching`` (the mean m) and n sequences, the probe's standard error is
    ``sqrt((sq - m^2) / (n - 1))``: how far the score would move with another probe draw.
    Recorded as a mean so it combines over batches like every other probe.
    """
    return per_head([(scores.prefix_matching_per_sequence(a, out.half) ** 2).mean(dim=0) for a in out.attentions])


@register_probe("induction_tl", "repeated_random")
def _induction_tl(model, out: SourceOutputs, info: dict) -> Rows:
    return per_head([scores.induction_tl(a, out.tokens) for a in out.attentions])


@register_probe("copy_loss", "repeated_random")
def _copy_loss(model, out: SourceOutputs, info: dict) -> Rows:
    """Mean loss on the second copy of R (drops when induction works)."""
    return [(-1, -1, float(out.losses[:, out.half + 1 :].mean()))]


@register_probe("previous_token", "natural")
def _previous_token(model, out: SourceOutputs, info: dict) -> Rows:
    return per_head([scores.previous_token(a) for a in out.attentions])


@register_probe("icl", "natural")
def _icl(model, out: SourceOutputs, info: dict) -> Rows:
    return [(-1, -1, scores.icl_score(out.losses))]


@register_probe("heldout_loss", "natural")
def _heldout_loss(model, out: SourceOutputs, info: dict) -> Rows:
    return [(-1, -1, float(out.losses.mean()))]


@register_probe("heldout_loss_novel", "natural")
def _heldout_loss_novel(model, out: SourceOutputs, info: dict) -> Rows:
    """Held-out loss only where the current token has not occurred before in the context.

    Induction cannot help there, so a mixture's cost to natural text shows without the
    benefit of the head it makes form (whole-text held-out loss mixes the two).
    """
    novel = ~scores.seen_before(out.tokens)
    return [(-1, -1, float(out.losses[novel].mean()))]


@register_probe("copying", "weights")
def _copying(model, out: SourceOutputs, info: dict) -> Rows:
    toks = out.tokens[0]
    return per_head([scores.copying(ov_logits(model, layer, toks, info["vocab_size"]), toks)
                     for layer in range(model.config.num_hidden_layers)])


@register_probe("copying_resid", "repeated_random")
def _copying_resid(model, out: SourceOutputs, info: dict) -> Rows:
    """Top-5 copying through each head's OV from the real residual at the first copy of R.

    The direct path (``copying``) feeds raw embeddings to every layer. In a model whose later
    layers read tokens as earlier layers rewrote them, that path misses copying that happens:
    on the nano model the induction head's direct-path score stayed at chance while this one rose
    from ~0.05 to 0.81 as the head formed. Sequence by sequence, so a 50k vocabulary fits.
    """
    src = slice(1, 1 + out.half)  # the first copy of R: what the induction head attends to
    values = []
    for layer, resid in enumerate(out.residuals or []):
        per_seq = [scores.copying_top_k(head_logits(model, layer, r[src], info["vocab_size"]), t[src])
                   for r, t in zip(resid, out.tokens, strict=True)]
        values.append(torch.stack(per_seq).mean(dim=0))
    return per_head(values)


@torch.no_grad()
def ov_logits(model: GPTNeoXForCausalLM, layer: int, tokens: torch.Tensor, vocab: int) -> torch.Tensor:
    """Direct-path logit effect of each head of ``layer`` attending to each of ``tokens``.

    embedding -> the layer's input layer norm -> the head's V -> its slice of ``attention.dense``
    -> final layer norm (centering and gain only; its scale does not change the copying share)
    -> ``lm_head``. Exact for layer 0; for later layers it is the usual path that skips the
    earlier layers, as in Olsson et al.

    Returns:
        (heads, n_tokens, vocab) logits restricted to the tokenizer's real vocabulary.
    """
    return head_logits(model, layer, model.gpt_neox.embed_in.weight[tokens], vocab)


@torch.no_grad()
def head_logits(model: GPTNeoXForCausalLM, layer: int, resid: torch.Tensor, vocab: int) -> torch.Tensor:
    """Logit effect of each head of ``layer`` attending to positions whose residual is ``resid`` (n, d).

    Returns:
        (heads, n, vocab) logits restricted to the tokenizer's real vocabulary.
    """
    cfg = model.config
    n_heads, hs = cfg.num_attention_heads, cfg.hidden_size // cfg.num_attention_heads
    block = model.gpt_neox.layers[layer]
    x = block.input_layernorm(resid)  # (n, d)
    qkv_w = block.attention.query_key_value.weight.view(n_heads, 3 * hs, cfg.hidden_size)
    qkv_b = block.attention.query_key_value.bias.view(n_heads, 3 * hs)
    w_v, b_v = qkv_w[:, 2 * hs :], qkv_b[:, 2 * hs :]  # (heads, hs, d), (heads, hs)
    v = torch.einsum("nd,hkd->hnk", x, w_v) + b_v[:, None]  # (heads, n, hs)
    w_o = block.attention.dense.weight.view(cfg.hidden_size, n_heads, hs)  # (d, heads, hs)
    o = torch.einsum("hnk,dhk->hnd", v, w_o)  # (heads, n, d)
    o = (o - o.mean(dim=-1, keepdim=True)) * model.gpt_neox.final_layer_norm.weight
    return o @ model.lm_head.weight[:vocab].T  # (heads, n, vocab)
