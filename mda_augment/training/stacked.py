"""k GPT-NeoX models as one: parameters stacked on a leading member axis, one batched forward.

Training the k members of a seed sweep (or the arms of one seed) as one model whose every
weight has shape ``(k, ...)`` runs each kernel once over k members instead of k times, while
each member sees only its own parameters and its own data: nothing mixes across the member
axis, so member ``m``'s loss and gradient are those of the single model up to float rounding.

At the nano scale the matmuls already run near this CPU's fp32 peak, so batching alone saves
only the per-kernel overhead; the rest of the gain comes from doing the elementwise work in
fewer, larger kernels (see :mod:`kernels`): HF's partial rotary alone cost about as much as
attention. The forward re-implements ``transformers``' GPT-NeoX (fused per-head
``query_key_value`` layout, partial rotary, parallel or sequential residual, exact-GELU MLP or
the attention-only layers of :mod:`mda_augment.model.build`, tied or untied embeddings) with
batched matmuls and the same sdpa attention kernel; tests/training/test_stacked.py checks it
against the HF model. Parameters keep the HF names, so a member is written back into a real
``GPTNeoXForCausalLM`` for checkpoints and unit evaluation.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from transformers import GPTNeoXForCausalLM

from ..errors import ConfigError
from .kernels import CrossEntropy, pair_permutation, rotary_phase, rotate_pairs

EMBED = "gpt_neox.embed_in.weight"
UNEMBED = "lm_head.weight"


def check_supported(model: GPTNeoXForCausalLM) -> None:
    """Raise a one-line ConfigError for GPT-NeoX features the batched forward does not cover."""
    cfg = model.config
    rope = (cfg.rope_parameters or {}).get("rope_type", "default")
    head_size = cfg.hidden_size // cfg.num_attention_heads
    rotary_dims = int(head_size * (cfg.rope_parameters or {}).get("partial_rotary_factor", 1.0))
    problems = {
        f"odd head size {head_size} or rotary dims {rotary_dims}": head_size % 2 or rotary_dims % 2,
        f"rope_type {rope!r}": rope != "default",
        f"hidden_act {cfg.hidden_act!r}": cfg.hidden_act != "gelu",
        "attention_bias false": not cfg.attention_bias,
        "dropout": cfg.hidden_dropout > 0 or cfg.attention_dropout > 0,
    }
    bad = [name for name, is_bad in problems.items() if is_bad]
    if bad:
        raise ConfigError(f"batched training: model with {bad[0]} is not supported; "
                          "train these runs one by one (mda_augment.training.loop.train)")


class StackedGPTNeoX:
    """The parameters of k same-shaped GPT-NeoX models, stacked, with a batched forward.

    ``params[name]`` is a leaf tensor of shape ``(k, *hf_shape)`` for every (deduplicated) HF
    parameter name, in the HF model's ``named_parameters`` order. Tied embeddings stay one
    tensor used twice, as in HF, so its gradient sums both uses.
    """

    def __init__(self, models: list[GPTNeoXForCausalLM]):
        if not models:
            raise ConfigError("batched training: no members given")
        first = models[0]
        for model in models:
            check_supported(model)
        self.k = len(models)
        cfg = first.config
        self.n_heads = cfg.num_attention_heads
        self.head_size = cfg.hidden_size // cfg.num_attention_heads
        self.eps = cfg.layer_norm_eps
        self.parallel = cfg.use_parallel_residual
        self.n_layers = cfg.num_hidden_layers
        self.rotary = first.gpt_neox.rotary_emb  # (inv_freq buffer; computes HF's cos/sin)
        rotary_dims = int(self.head_size * cfg.rope_parameters.get("partial_rotary_factor", 1.0))
        self.qkv_order = pair_permutation(self.n_heads, self.head_size, rotary_dims)
        named = [dict(m.named_parameters()) for m in models]
        shapes = {n: p.shape for n, p in named[0].items()}
        for other in named[1:]:
            if {n: p.shape for n, p in other.items()} != shapes:
                raise ConfigError("batched training: members have different model shapes; "
                                  "all members need the same preset and corpus vocabulary")
        self.params: dict[str, torch.Tensor] = {
            name: torch.stack([m[name].detach() for m in named]).clone().requires_grad_(True)
            for name in named[0]}
        self.has_mlp = "gpt_neox.layers.0.mlp.dense_h_to_4h.weight" in self.params
        self.tied = UNEMBED not in self.params

    # ----- moving weights between the stack and real HF models -----

    @torch.no_grad()
    def write_member(self, m: int, model: GPTNeoXForCausalLM) -> GPTNeoXForCausalLM:
        """Copy member ``m``'s current weights into ``model`` (same architecture)."""
        for name, p in model.named_parameters():
            p.copy_(self.params[name][m])
        return model

    @torch.no_grad()
    def read_member(self, m: int, model: GPTNeoXForCausalLM) -> None:
        """Overwrite member ``m``'s weights with ``model``'s (e.g. loaded from a checkpoint)."""
        for name, p in model.named_parameters():
            self.params[name][m].copy_(p)

    # ----- the batched forward -----

    def _p(self, name: str) -> torch.Tensor:
        return self.params[name]

    def _layer_norm(self, x: torch.Tensor, prefix: str) -> torch.Tensor:
        """Per-member layer norm of x (k, n, d)."""
        w, b = self._p(prefix + ".weight"), self._p(prefix + ".bias")  # (k, d)
        return torch.addcmul(b[:, None], F.layer_norm(x, x.shape[-1:], eps=self.eps), w[:, None])

    def _linear(self, x: torch.Tensor, prefix: str) -> torch.Tensor:
        """Per-member ``x @ W.T + b`` for x (k, n, d_in), W (k, d_out, d_in)."""
        w, b = self._p(prefix + ".weight"), self._p(prefix + ".bias")
        return torch.baddbmm(b[:, None], x, w.transpose(1, 2))  # (k, n, d_out)

    def _qkv(self, x: torch.Tensor, layer: str) -> torch.Tensor:
        """The fused q/k/v projection with rows in :func:`pair_permutation` order: (k, n, 3d)."""
        prefix = layer + ".attention.query_key_value"
        w = self._p(prefix + ".weight").index_select(1, self.qkv_order)  # (k, 3d, d)
        b = self._p(prefix + ".bias").index_select(1, self.qkv_order)  # (k, 3d)
        return torch.baddbmm(b[:, None], x, w.transpose(1, 2))

    def _attention(self, x: torch.Tensor, layer: str, batch: int, phase: torch.Tensor) -> torch.Tensor:
        """Causal self-attention of x (k, batch*seq, d); returns (k, batch*seq, d)."""
        k, n, d = x.shape
        seq, heads, hs = n // batch, self.n_heads, self.head_size
        # per head [q | k | v], each head_size wide (q, k in rotary-pair order)
        q, key, v = self._qkv(x, layer).view(k * batch, seq, heads, 3, hs).unbind(3)
        q, key = rotate_pairs(q, phase), rotate_pairs(key, phase)
        q, key, v = (t.transpose(1, 2) for t in (q, key, v))  # (kb, heads, seq, hs) each
        out = F.scaled_dot_product_attention(q, key, v, is_causal=True, scale=hs**-0.5)
        out = out.transpose(1, 2).reshape(k, n, d)  # (k, n, d), heads concatenated
        return self._linear(out, layer + ".attention.dense")

    def _mlp(self, x: torch.Tensor, layer: str) -> torch.Tensor:
        h = F.gelu(self._linear(x, layer + ".mlp.dense_h_to_4h"))
        return self._linear(h, layer + ".mlp.dense_4h_to_h")

    def hidden(self, tokens: torch.Tensor) -> torch.Tensor:
        """Final-layer-norm output for tokens (k, batch, seq): (k, batch*seq, d)."""
        k, batch, seq = tokens.shape
        emb = self._p(EMBED)  # (k, vocab, d)
        vocab = emb.shape[1]
        offsets = torch.arange(k, device=tokens.device)[:, None, None] * vocab
        x = F.embedding((tokens + offsets).view(k, -1), emb.view(k * vocab, -1))  # (k, n, d)
        positions = torch.arange(seq, device=tokens.device)[None]
        cos, sin = self.rotary(x, positions)  # (1, seq, rotary_dims), HF's exact values
        phase = rotary_phase(cos[0], sin[0], self.head_size)  # (seq, head_size/2) complex
        for i in range(self.n_layers):
            layer = f"gpt_neox.layers.{i}"
            attn = self._attention(self._layer_norm(x, layer + ".input_layernorm"), layer, batch, phase)
            if not self.has_mlp:
                x = attn + x
            elif self.parallel:
                x = self._mlp(self._layer_norm(x, layer + ".post_attention_layernorm"), layer) + attn + x
            else:
                x = attn + x
                x = self._mlp(self._layer_norm(x, layer + ".post_attention_layernorm"), layer) + x
        return self._layer_norm(x, "gpt_neox.final_layer_norm")

    def unembed(self, hidden: torch.Tensor) -> torch.Tensor:
        """Logits (k, n, vocab) of final hidden states (k, n, d)."""
        weight = self._p(EMBED if self.tied else UNEMBED)  # (k, vocab, d)
        return torch.bmm(hidden, weight.transpose(1, 2))

    def logits(self, tokens: torch.Tensor) -> torch.Tensor:
        """Next-token logits for tokens (k, batch, seq): (k, batch, seq, vocab)."""
        k, batch, seq = tokens.shape
        return self.unembed(self.hidden(tokens)).view(k, batch, seq, -1)

    def losses(self, tokens: torch.Tensor) -> torch.Tensor:
        """Per-member mean next-token cross-entropy on tokens (k, batch, seq): (k,).

        The single trainer feeds ``tokens[:, :-1]``; here the whole sequence goes through the
        layers (causal attention: the last position changes no earlier one, and 128 positions
        run the CPU attention kernel faster than 127) and only the unembedding drops it.
        """
        k, batch, seq = tokens.shape
        hidden = self.hidden(tokens).view(k, batch, seq, -1)[:, :, :-1]  # (k, batch, seq-1, d)
        logits = self.unembed(hidden.reshape(k, batch * (seq - 1), -1))  # (k, n, vocab)
        per_token = CrossEntropy.apply(logits.flatten(0, 1), tokens[:, :, 1:].flatten())
        return per_token.view(k, -1).mean(dim=1)

