"""Give chosen attention heads their own ``nn.Linear`` modules so kronfluence can track them.

kronfluence fits EK-FAC factors per ``nn.Linear``. GPT-NeoX fuses the Q, K and V projections of
all heads into ``attention.query_key_value`` and mixes the heads again in ``attention.dense``,
so tracking that fused module would attribute to the whole layer, not to one head. This module
rewrites a layer into per-head pieces whose outputs are numerically the same as before.

Layout (transformers ``GPTNeoXAttention.forward``): the fused output of width ``3 * d_model`` is
viewed as ``(..., heads, 3 * head_size)`` and chunked into q, k, v, i.e. it is interleaved *per
head*: row ``h * 3 * hs + p * hs + i`` is part ``p`` (0 = q, 1 = k, 2 = v), dimension ``i`` of head
``h``. ``attention.dense`` reads the heads' outputs concatenated head-major, so head ``h`` owns
its input columns ``h * hs : (h + 1) * hs``.

Modes (what is tracked per target head):
    qk      one block ``W_QK`` (d_model -> 2 * hs): the paper's default subspace
    qkvo    three blocks ``W_QK``, ``W_V`` and ``W_O`` (the head's slice of ``dense``)
    layer   the layer's unsplit ``query_key_value`` and ``dense`` (baseline; no rewrite)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn
from transformers import GPTNeoXForCausalLM

from ..errors import ConfigError
from .config import MODES

Mode = Literal["qk", "qkvo", "layer"]
_HEAD_RE = re.compile(r"^L(\d+)H(\d+)$")


@dataclass(frozen=True, order=True)
class HeadRef:
    """One attention head, written ``L{layer}H{head}`` (0-based, like units.parquet)."""

    layer: int
    head: int

    def __str__(self) -> str:
        return f"L{self.layer}H{self.head}"


def parse_heads(spec: str | list[str]) -> list[HeadRef]:
    """``"L2H1,L1H0"`` (or a list of such names) -> sorted, de-duplicated head references."""
    parts = spec.split(",") if isinstance(spec, str) else list(spec)
    heads = set()
    for part in (p.strip() for p in parts):
        m = _HEAD_RE.match(part)
        if not m:
            raise ConfigError(f"heads: {part!r} is not a head name; write heads like L2H1,L1H0")
        heads.add(HeadRef(int(m.group(1)), int(m.group(2))))
    if not heads:
        raise ConfigError("heads: empty; name at least one head like L1H0")
    return sorted(heads)


def check_heads(model: GPTNeoXForCausalLM, heads: list[HeadRef]) -> None:
    """One-line error when a head does not exist in ``model``."""
    n_layers, n_heads = model.config.num_hidden_layers, model.config.num_attention_heads
    for h in heads:
        if not (0 <= h.layer < n_layers and 0 <= h.head < n_heads):
            raise ConfigError(f"heads: {h} does not exist (model has {n_layers} layers x {n_heads} heads)")


def _rows(head: int, parts: tuple[int, ...], hs: int) -> list[int]:
    """Fused ``query_key_value`` output rows of ``parts`` (0=q, 1=k, 2=v) of ``head``."""
    return [head * 3 * hs + p * hs + i for p in parts for i in range(hs)]


def _linear_from(weight: torch.Tensor, bias: torch.Tensor | None) -> nn.Linear:
    """An ``nn.Linear`` holding copies of ``weight`` (out, in) and ``bias`` (out,)."""
    lin = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None,
                    device=weight.device, dtype=weight.dtype)
    with torch.no_grad():
        lin.weight.copy_(weight)
        if bias is not None:
            lin.bias.copy_(bias)
    return lin


class SplitQKV(nn.Module):
    """Drop-in for ``attention.query_key_value`` with target heads' rows in their own Linears.

    Children are named ``h{head}_qk`` / ``h{head}_v`` (tracked) and ``rest`` (everything else);
    the forward concatenates their outputs and permutes them back into the fused order.
    """

    def __init__(self, fused: nn.Linear, heads: list[int], n_heads: int, split_v: bool):
        super().__init__()
        hs = fused.out_features // (3 * n_heads)
        blocks: list[tuple[str, list[int]]] = []
        for h in heads:
            blocks.append((f"h{h}_qk", _rows(h, (0, 1), hs)))
            if split_v:
                blocks.append((f"h{h}_v", _rows(h, (2,), hs)))
        taken = {r for _, rows in blocks for r in rows}
        rest = [r for r in range(fused.out_features) if r not in taken]
        if rest:
            blocks.append(("rest", rest))
        self.names = [name for name, _ in blocks]
        for name, rows in blocks:
            idx = torch.tensor(rows, device=fused.weight.device)
            bias = fused.bias[idx] if fused.bias is not None else None
            self.add_module(name, _linear_from(fused.weight[idx], bias))
        order = torch.tensor([r for _, rows in blocks for r in rows])
        self.register_buffer("inverse", torch.argsort(order).to(fused.weight.device), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (..., d_model) -> (..., 3 * d_model) in the fused per-head [q k v] order
        y = torch.cat([getattr(self, name)(x) for name in self.names], dim=-1)
        return y.index_select(-1, self.inverse)


class SplitDense(nn.Module):
    """Drop-in for ``attention.dense`` with each target head's input columns as ``h{head}_o``.

    ``dense(x) = sum_h W[:, cols_h] x[cols_h] + b``; the bias stays with ``rest`` so a head's
    block is exactly its contribution to the residual stream.
    """

    def __init__(self, dense: nn.Linear, heads: list[int], n_heads: int):
        super().__init__()
        hs = dense.in_features // n_heads
        self.heads = list(heads)
        for h in heads:
            self.add_module(f"h{h}_o", _linear_from(dense.weight[:, h * hs : (h + 1) * hs], None))
        self.hs = hs
        rest = [c for c in range(dense.in_features) if c // hs not in set(heads)]
        self.register_buffer("rest_cols", torch.tensor(rest, dtype=torch.long, device=dense.weight.device),
                             persistent=False)
        self.rest = _linear_from(dense.weight[:, rest], dense.bias) if rest else None
        self.bias = None if rest or dense.bias is None else nn.Parameter(dense.bias.detach().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (..., heads * hs) head-major -> (..., d_model)
        out = self.rest(x.index_select(-1, self.rest_cols)) if self.rest is not None else 0.0
        for h in self.heads:
            out = out + getattr(self, f"h{h}_o")(x[..., h * self.hs : (h + 1) * self.hs])
        return out if self.bias is None else out + self.bias


def attention_prefix(layer: int) -> str:
    return f"gpt_neox.layers.{layer}.attention"


def split_heads(model: GPTNeoXForCausalLM, heads: list[HeadRef], mode: Mode) -> list[str]:
    """Rewrite ``model`` in place for ``heads`` and return the module names to track.

    Args:
        model: a GPT-NeoX causal LM (weights are copied into the new modules).
        heads: target heads; several per layer and several layers are fine.
        mode: ``qk``, ``qkvo`` or ``layer`` (see the module docstring).

    Returns:
        Names (as in ``model.named_modules()``) of the ``nn.Linear`` modules spanning the
        heads' subspace; never the embedding or ``lm_head``.
    """
    if mode not in MODES:
        raise ConfigError(f"mode: {mode!r} unknown; use one of {', '.join(MODES)}")
    check_heads(model, heads)
    n_heads = model.config.num_attention_heads
    by_layer: dict[int, list[int]] = {}
    for h in heads:
        by_layer.setdefault(h.layer, []).append(h.head)
    tracked: list[str] = []
    for layer, hs in sorted(by_layer.items()):
        attn = model.gpt_neox.layers[layer].attention
        prefix = attention_prefix(layer)
        if mode == "layer":
            tracked += [f"{prefix}.query_key_value", f"{prefix}.dense"]
            continue
        attn.query_key_value = SplitQKV(attn.query_key_value, hs, n_heads, split_v=mode == "qkvo")
        tracked += [f"{prefix}.query_key_value.h{h}_qk" for h in hs]
        if mode == "qkvo":
            attn.dense = SplitDense(attn.dense, hs, n_heads)
            tracked += [f"{prefix}.query_key_value.h{h}_v" for h in hs]
            tracked += [f"{prefix}.dense.h{h}_o" for h in hs]
    return tracked
