"""The stacked forward against HF GPT-NeoX, and per-member clipping against clip_grad_norm_."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from mda_augment.errors import ConfigError
from mda_augment.model.build import from_config, hf_config
from mda_augment.model.presets import PRESETS, ModelPreset
from mda_augment.training.config import TrainConfig
from mda_augment.training.stacked import StackedGPTNeoX
from mda_augment.training.stacked_optim import StackedAdamW, group_names

SHAPES = {
    "nano": PRESETS["nano"],  # attention-only, tied embeddings
    "tiny": PRESETS["tiny"],  # MLP, untied embeddings
    "sequential": PRESETS["tiny"].model_copy(update={"parallel_residual": False, "rotary_pct": 0.5}),
}


def _models(preset: ModelPreset, k: int, vocab: int = 96, seq: int = 24) -> list:
    cfg = hf_config(preset, vocab, seq)
    return [from_config(cfg, seed=s) for s in range(k)]


def _single_loss(model, tokens: torch.Tensor) -> torch.Tensor:
    """The single trainer's loss on one member's batch (batch, seq)."""
    logits = model(tokens[:, :-1]).logits
    return F.cross_entropy(logits.flatten(0, 1), tokens[:, 1:].flatten())


@pytest.mark.parametrize("shape", list(SHAPES))
def test_logits_losses_and_grads_match_hf(shape: str) -> None:
    models = _models(SHAPES[shape], k=3)
    stacked = StackedGPTNeoX(models)
    tokens = torch.randint(0, 96, (3, 4, 24))
    logits = stacked.logits(tokens)  # (k, batch, seq, vocab)
    losses = stacked.losses(tokens)
    losses.sum().backward()
    for m, model in enumerate(models):
        assert torch.allclose(logits[m], model(tokens[m]).logits, atol=1e-5, rtol=0)
        loss = _single_loss(model, tokens[m])
        loss.backward()
        assert abs(losses[m].item() - loss.item()) <= 1e-6 * loss.item()
        for name, p in model.named_parameters():
            err = (stacked.params[name].grad[m] - p.grad).abs().max() / p.grad.abs().max()
            assert err < 1e-5, f"{shape} {name}: relative gradient error {err:.2e}"


def test_members_do_not_interact() -> None:
    """Changing one member's weights or data leaves every other member's loss unchanged."""
    models = _models(SHAPES["tiny"], k=3)
    tokens = torch.randint(0, 96, (3, 4, 24))
    before = StackedGPTNeoX(models).losses(tokens).detach()
    with torch.no_grad():
        models[1].gpt_neox.embed_in.weight.mul_(3.0)
    tokens[1] = torch.randint(0, 96, (4, 24))
    after = StackedGPTNeoX(models).losses(tokens).detach()
    assert torch.equal(before[[0, 2]], after[[0, 2]])
    assert not torch.isclose(before[1], after[1])


def test_write_member_round_trips_into_a_real_model() -> None:
    models = _models(SHAPES["nano"], k=2)
    stacked = StackedGPTNeoX(models)
    with torch.no_grad():
        for p in stacked.params.values():
            p.add_(0.01)
    target = _models(SHAPES["nano"], k=1)[0]
    stacked.write_member(1, target)
    tokens = torch.randint(0, 96, (1, 2, 24))
    assert torch.allclose(target(tokens[0]).logits, stacked.logits(tokens.expand(2, -1, -1))[1], atol=1e-5)


def test_per_member_clipping_equals_clip_grad_norm() -> None:
    """Each member is clipped by its own global norm, as torch's clip_grad_norm_ does for one model."""
    models = _models(SHAPES["tiny"], k=2)
    stacked = StackedGPTNeoX(models)
    cfg = TrainConfig(preset="tiny", corpus="x", out="y", steps=10, grad_clip=0.05)
    opt = StackedAdamW(stacked, group_names(models[0], cfg), cfg)
    tokens = torch.randint(0, 96, (2, 4, 24))
    scale = torch.tensor([1.0, 50.0])  # member 1 gets much larger gradients
    (stacked.losses(tokens) * scale).sum().backward()
    norms = opt.clip_per_member()
    for m, model in enumerate(models):
        (_single_loss(model, tokens[m]) * scale[m]).backward()
        ref = torch.nn.utils.clip_grad_norm_(model.parameters(), 0.05)
        assert torch.isclose(norms[m], ref, rtol=1e-5)
        for name, p in model.named_parameters():
            assert torch.allclose(stacked.params[name].grad[m], p.grad, rtol=1e-4, atol=1e-9), name


def test_unsupported_architecture_is_a_config_error() -> None:
    cfg = hf_config(SHAPES["tiny"], 96, 24)
    cfg.hidden_act = "relu"
    with pytest.raises(ConfigError, match="hidden_act 'relu' is not supported"):
        StackedGPTNeoX([from_config(cfg, seed=0)])
    with pytest.raises(ConfigError, match="different model shapes"):
        StackedGPTNeoX(_models(SHAPES["tiny"], 1) + _models(SHAPES["nano"], 1))
