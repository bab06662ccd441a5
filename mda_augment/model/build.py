"""Build Pythia-shaped GPT-NeoX models from a preset, or load real Pythia checkpoints.

Models are ``transformers.GPTNeoXForCausalLM`` so that later stages (kronfluence, hooks, the
``query_key_value`` per-head layout) see exactly the Pythia module tree. Two facts of
transformers 5 matter here: ``rotary_pct`` is ``rope_parameters["partial_rotary_factor"]`` and
the unembedding is ``lm_head``.

Attention-only layers (``d_mlp == 0``) keep the GPT-NeoX module tree but replace each layer's
MLP by :class:`NoMLP`, which adds nothing to the residual stream; the flag travels in the HF
config as ``mda_attention_only`` so a saved config rebuilds the same model.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import GPTNeoXConfig, GPTNeoXForCausalLM

from ..errors import EnvironmentUnavailable
from .presets import ModelPreset, padded_vocab

ATTN_ONLY_KEY = "mda_attention_only"


class NoMLP(nn.Module):
    """Stands in for a layer's MLP in attention-only models: contributes exactly zero."""

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        # A 0-dim zero broadcasts in ``mlp_output + attn_output + hidden_states``.
        return hidden_states.new_zeros(())


def hf_config(preset: ModelPreset, vocab_size: int, seq_len: int) -> GPTNeoXConfig:
    """The GPT-NeoX config for ``preset`` with the tokenizer's vocabulary padded."""
    attn_only = preset.d_mlp == 0
    cfg = GPTNeoXConfig(
        vocab_size=padded_vocab(vocab_size, preset.vocab_multiple),
        hidden_size=preset.d_model,
        num_hidden_layers=preset.n_layers,
        num_attention_heads=preset.n_heads,
        intermediate_size=preset.d_mlp if not attn_only else preset.d_model,
        max_position_embeddings=seq_len,
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0,
                         "partial_rotary_factor": preset.rotary_pct},
        use_parallel_residual=preset.parallel_residual,
        tie_word_embeddings=preset.tie_embeddings,
        hidden_dropout=0.0,
        attention_dropout=0.0,
        bos_token_id=0,
        eos_token_id=0,
        use_cache=False,
    )
    setattr(cfg, ATTN_ONLY_KEY, attn_only)
    return cfg


def strip_mlps(model: GPTNeoXForCausalLM) -> None:
    """Make every layer attention-only (the MLP and its layer norm are removed)."""
    for layer in model.gpt_neox.layers:
        layer.mlp = NoMLP()
        layer.post_attention_layernorm = nn.Identity()


def from_config(cfg: GPTNeoXConfig, seed: int | None = None) -> GPTNeoXForCausalLM:
    """Instantiate a randomly initialised model (seeded) from a GPT-NeoX config."""
    if seed is not None:
        torch.manual_seed(seed)
    model = GPTNeoXForCausalLM(cfg)
    if getattr(cfg, ATTN_ONLY_KEY, False):
        strip_mlps(model)
    model.set_attn_implementation("sdpa")
    return model


def build_model(preset: ModelPreset, vocab_size: int, seq_len: int, seed: int = 0) -> GPTNeoXForCausalLM:
    """A fresh model for ``preset`` and a tokenizer of ``vocab_size`` tokens."""
    return from_config(hf_config(preset, vocab_size, seq_len), seed=seed)


def load_pythia(name: str, revision: str | None = None) -> GPTNeoXForCausalLM:
    """Load ``EleutherAI/<name>`` (e.g. ``pythia-14m``) at ``revision`` (e.g. ``step1000``).

    Pythia's intermediate checkpoints are git branches of the hub repository (``step0`` ...
    ``step143000``), so ``revision`` picks the training step. Loading goes through transformers'
    own resolution: the hub when reachable, else the local cache (``$HF_HOME/hub``, where a
    ``refs/<revision>`` file names the snapshot), which is all ``HF_HUB_OFFLINE=1`` allows. A
    revision that is neither reachable nor cached raises a one-line
    :class:`EnvironmentUnavailable` instead of a stack of HTTP errors.
    """
    repo = name if "/" in name else f"EleutherAI/{name}"
    try:
        model = GPTNeoXForCausalLM.from_pretrained(repo, revision=revision)
    except OSError as err:
        first = str(err).splitlines()[0][:120] if str(err) else type(err).__name__
        raise EnvironmentUnavailable(
            f"model '{repo}'@{revision or 'main'}: cannot load from the Hugging Face hub "
            f"(offline or not found: {first}); download it where the hub is reachable "
            f"(it is then cached under $HF_HOME/hub) or train a preset locally instead"
        ) from None
    return model


def count_parameters(model: nn.Module, non_embedding: bool = False) -> int:
    """Parameter count (shared tensors once); optionally without embedding and unembedding."""
    seen: dict[int, int] = {}
    for name, p in model.named_parameters():
        if non_embedding and ("embed_in" in name or "lm_head" in name):
            continue
        seen[id(p)] = p.numel()
    return sum(seen.values())
