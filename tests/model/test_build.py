"""Presets build the right shapes; attention-only is honest (hub loading: test_hub_cache.py)."""

from __future__ import annotations

import pytest
import torch

from mda_augment.errors import ConfigError
from mda_augment.model.build import NoMLP, build_model, count_parameters
from mda_augment.model.presets import get_preset, padded_vocab


def test_pythia_14m_matches_published_parameter_count() -> None:
    model = build_model(get_preset("pythia-14m"), vocab_size=50277, seq_len=2048)
    assert model.config.vocab_size == 50304
    assert count_parameters(model) == 14_067_712  # EleutherAI/pythia-14m
    assert model.config.rope_parameters["partial_rotary_factor"] == 0.25
    assert model.config.use_parallel_residual
    assert model.lm_head.weight.data_ptr() != model.gpt_neox.embed_in.weight.data_ptr()


def test_padded_vocab() -> None:
    assert padded_vocab(50277, 64) == 50304
    assert padded_vocab(512, 64) == 512
    assert padded_vocab(300, 64) == 320


def test_unknown_preset_is_one_line_error() -> None:
    with pytest.raises(ConfigError, match="unknown model preset .*; known: pythia-14m"):
        get_preset("pythia-1b")


def test_nano_is_attention_only_and_tied() -> None:
    model = build_model(get_preset("nano"), vocab_size=512, seq_len=128)
    assert all(isinstance(layer.mlp, NoMLP) for layer in model.gpt_neox.layers)
    assert not any("mlp" in name for name, _ in model.named_parameters())
    assert model.lm_head.weight is model.gpt_neox.embed_in.weight
    # the residual stream after a layer is exactly input + attention output
    layer = model.gpt_neox.layers[0]
    x = torch.randn(1, 5, 128)
    pos = model.gpt_neox.rotary_emb(x, torch.arange(5)[None])
    mask = torch.full((5, 5), float("-inf")).triu(1)[None, None]
    attn, _ = layer.attention(layer.input_layernorm(x), attention_mask=mask, position_embeddings=pos)
    assert torch.allclose(layer(x, attention_mask=mask, position_embeddings=pos), x + attn, atol=1e-6)


def test_eager_and_sdpa_agree_and_eager_returns_probabilities() -> None:
    model = build_model(get_preset("tiny"), vocab_size=300, seq_len=32).eval()
    ids = torch.randint(0, 300, (2, 16))
    sdpa = model(ids).logits
    model.set_attn_implementation("eager")
    out = model(ids, output_attentions=True)
    assert torch.allclose(sdpa, out.logits, atol=1e-4)
    assert out.attentions[0].shape == (2, 2, 16, 16)
    assert torch.allclose(out.attentions[0].sum(-1), torch.ones(2, 2, 16), atol=1e-5)


def test_same_seed_same_weights() -> None:
    a = build_model(get_preset("tiny"), 300, 32, seed=5)
    b = build_model(get_preset("tiny"), 300, 32, seed=5)
    c = build_model(get_preset("tiny"), 300, 32, seed=6)
    assert torch.equal(a.gpt_neox.embed_in.weight, b.gpt_neox.embed_in.weight)
    assert not torch.equal(a.gpt_neox.embed_in.weight, c.gpt_neox.embed_in.weight)
