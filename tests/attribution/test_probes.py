"""Attribution probes move the right way on models with and without the mechanism."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mda_augment.attribution.heads import HeadRef
from mda_augment.attribution.probes import get_attribution_probe
from mda_augment.units.scores import prefix_matching

from .helpers import HALF, repeated_batch, train_induction_model


def _value(name: str, model, heads: list[HeadRef], seed: int = 7) -> float:
    tokens = repeated_batch(np.random.default_rng(seed), 16)
    model.set_attn_implementation("eager")
    with torch.no_grad():
        return float(get_attribution_probe(name).fn(model, tokens, heads, HALF).mean())


def test_prev_token_rises_when_layer0_learns_previous_token_heads() -> None:
    """On fixed-period [R R] data layer 0 learns to attend to t-1 within ~300 steps."""
    init, trained, _ = train_induction_model(steps=300, lr=3e-3, fixed_period=True)
    heads = [HeadRef(0, h) for h in range(4)]
    before, after = _value("prev_token", init, heads), _value("prev_token", trained, heads)
    assert after > before + 2.0, (before, after)  # summed over 11 queries x 4 heads


def test_prefix_match_is_the_unit_metric_summed() -> None:
    init, _, _ = train_induction_model(steps=0)
    tokens = repeated_batch(np.random.default_rng(3), 8)
    init.set_attn_implementation("eager")
    with torch.no_grad():
        attn = init(tokens, output_attentions=True).attentions[1]
        value = get_attribution_probe("prefix_match").fn(init, tokens, [HeadRef(1, 2)], HALF)
    assert torch.allclose(value.mean(), prefix_matching(attn, HALF)[2] * HALF, rtol=1e-4)


@pytest.mark.slow
def test_copy_target_rises_when_the_model_learns_to_copy() -> None:
    """~1300 steps on shifted repeats: the second copy becomes predictable (loss ~4.1 -> ~3.2)."""
    init, trained, _ = train_induction_model(steps=1300)
    heads = [HeadRef(1, 0)]
    assert _value("copy_target", trained, heads) > _value("copy_target", init, heads) + 10.0


def test_unknown_probe_is_one_line_config_error_listing_the_known() -> None:
    from mda_augment.errors import ConfigError

    with pytest.raises(ConfigError, match=r"^probe: unknown attribution probe 'copy_targt'; known: copy_target, ") as e:
        get_attribution_probe("copy_targt")
    assert "\n" not in str(e.value)


def test_a_probe_name_registered_twice_raises() -> None:
    from mda_augment.attribution.probes import ATTRIBUTION_PROBES, register_attribution_probe

    before = ATTRIBUTION_PROBES["copy_target"]
    with pytest.raises(ValueError, match="'copy_target' registered twice"):
        register_attribution_probe("copy_target")(lambda model, tokens, heads, half: tokens.sum(-1))
    assert ATTRIBUTION_PROBES["copy_target"] is before  # the first registration is kept
