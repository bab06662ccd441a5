"""Cheaper forms of two pieces of the GPT-NeoX step for the stacked forward.

At the nano scale the elementwise work around the matmuls costs about as much as the matmuls:
HF's rotary embedding slices every head into 4-number pieces (on CPU, loops over 4 elements
at a time), and log-softmax plus NLL write and zero-fill full logit-sized tensors several
times. Both replacements compute the same formulas as ``transformers``' GPT-NeoX and
``torch.nn.functional.cross_entropy``; only the order of a few float operations differs.
"""

from __future__ import annotations

import torch


def pair_permutation(heads: int, head_size: int, rotary_dims: int) -> torch.Tensor:
    """Row order for the fused ``query_key_value`` weight that makes rotary pairs adjacent.

    GPT-NeoX rotates dimension ``i`` of a head together with ``i + rotary_dims / 2``. Ordering
    each q and k head as ``[0, h, 1, h + 1, ..., h - 1, 2h - 1, rest]`` (``h = rotary_dims / 2``)
    puts every pair side by side, so the rotation becomes one complex multiplication over the
    whole head instead of slices of 4 numbers. Attention scores are sums over a head's
    dimensions, so permuting q and k the same way changes nothing but summation order;
    v keeps its order (the output projection reads it).

    Returns:
        (3 * heads * head_size,) row indices into the HF weight.
    """
    half = rotary_dims // 2
    within = torch.arange(head_size)
    within[: 2 * half] = torch.stack([torch.arange(half), torch.arange(half, 2 * half)], dim=1).flatten()
    v_part = torch.arange(head_size)
    per_head = [torch.cat([within, head_size + within, 2 * head_size + v_part]) + h * 3 * head_size
                for h in range(heads)]
    return torch.cat(per_head)


def rotary_phase(cos: torch.Tensor, sin: torch.Tensor, head_size: int) -> torch.Tensor:
    """(seq, head_size / 2) complex factors: HF's ``cos + i sin`` per pair, 1 past the rotary dims."""
    half = cos.shape[-1] // 2
    phase = torch.ones(cos.shape[0], head_size // 2, dtype=torch.complex64, device=cos.device)
    phase[:, :half] = torch.complex(cos[:, :half].float(), sin[:, :half].float())
    return phase


def rotate_pairs(x: torch.Tensor, phase: torch.Tensor) -> torch.Tensor:
    """Rotary on x (batch, seq, heads, head_size) laid out by :func:`pair_permutation`.

    ``(a + ib)(cos + i sin) = (a cos - b sin) + i(b cos + a sin)``: HF's
    ``x * cos + rotate_half(x) * sin`` on each pair.
    """
    pairs = torch.view_as_complex(x.unflatten(-1, (-1, 2)))  # (batch, seq, heads, head_size/2)
    return torch.view_as_real(pairs * phase[:, None]).flatten(-2)


class CrossEntropy(torch.autograd.Function):
    """Per-row ``logsumexp(logits) - logits[target]`` with a one-pass softmax backward.

    Input logits (rows, vocab) and target (rows,); returns (rows,) losses, like
    ``F.cross_entropy(..., reduction="none")``. The forward keeps ``exp(logits - max)`` so the
    backward is one multiply and a scatter, instead of log-softmax, a zero-filled NLL
    gradient and the log-softmax backward.
    """

    @staticmethod
    def forward(ctx, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        top = logits.amax(dim=-1, keepdim=True)  # (rows, 1)
        e = (logits - top).exp_()  # (rows, vocab)
        total = e.sum(dim=-1, keepdim=True)  # (rows, 1)
        picked = logits.gather(-1, target[:, None])  # (rows, 1)
        ctx.save_for_backward(e, total, target)
        return (total.log() + top - picked).squeeze(-1)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        e, total, target = ctx.saved_tensors
        g = grad[:, None]  # (rows, 1)
        out = e * (g / total)  # softmax * grad
        out.scatter_add_(-1, target[:, None], -g)
        return out, None
