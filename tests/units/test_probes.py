"""Probes on a real (tiny) model, the direct-path OV computation, and the heads report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch

from mda_augment.corpus.packed import PackedCorpus
from mda_augment.errors import ConfigError
from mda_augment.model.build import build_model
from mda_augment.model.presets import get_preset
from mda_augment.training.config import UnitsConfig
from mda_augment.units import scores
from mda_augment.units.evaluate import UnitEvaluator
from mda_augment.units.probes import SourceOutputs, get_probes, head_logits, ov_logits
from mda_augment.units.report import emergence_step, heads_report, mean_area


def test_ov_logits_sum_over_heads_equals_layer0_output_on_one_token() -> None:
    """On a 1-token input, layer 0 attends only to itself: its output is the sum of the heads'
    OV paths plus the dense bias, so the per-head logits must add up to it."""
    torch.manual_seed(0)
    model = build_model(get_preset("tiny"), 300, 32).eval()
    layer = model.gpt_neox.layers[0]
    tokens = torch.tensor([7, 42, 199])
    per_head = ov_logits(model, 0, tokens, 300)  # (heads, 3, 300)
    for i, t in enumerate(tokens.tolist()):
        x = model.gpt_neox.embed_in.weight[t].view(1, 1, -1)
        pos = model.gpt_neox.rotary_emb(x, torch.zeros(1, 1, dtype=torch.long))
        out, _ = layer.attention(layer.input_layernorm(x), attention_mask=None, position_embeddings=pos)
        o = out[0, 0] - layer.attention.dense.bias
        o = (o - o.mean()) * model.gpt_neox.final_layer_norm.weight
        expected = o @ model.lm_head.weight[:300].T
        assert torch.allclose(per_head[:, i].sum(0), expected, atol=1e-4)


def test_residual_copying_at_layer0_is_the_direct_path_on_the_first_copy() -> None:
    """Layer 0's residual input is the embedding, so the residual-path probe must reduce to
    the direct path there: checks which hidden state feeds which layer."""
    torch.manual_seed(0)
    model = build_model(get_preset("tiny"), 300, 32).eval()
    half = 6
    r = torch.randint(1, 300, (2, half))
    tokens = torch.cat([torch.zeros(2, 1, dtype=torch.long), r, r], dim=1)  # [eos] + R + R
    with torch.no_grad():
        out = model(tokens, output_hidden_states=True)
    resid = list(out.hidden_states[:-1])
    assert torch.allclose(head_logits(model, 0, resid[0][0], 300), ov_logits(model, 0, tokens[0], 300), atol=1e-5)
    rows = get_probes(["copying_resid"])[0].fn(
        model, SourceOutputs(tokens=tokens, attentions=[], losses=None, half=half, residuals=resid), {"vocab_size": 300})
    expected = torch.stack([scores.copying_top_k(ov_logits(model, 0, t[1 : 1 + half], 300), t[1 : 1 + half])
                            for t in tokens]).mean(0)
    layer0 = [v for layer, _, v in rows if layer == 0]
    assert len(rows) == model.config.num_hidden_layers * model.config.num_attention_heads
    assert np.allclose(layer0, expected.numpy())


def test_evaluator_rows_cover_every_head_and_are_in_range(packed_corpus: Path) -> None:
    corpus = PackedCorpus(packed_corpus)
    evaluator = UnitEvaluator(corpus, UnitsConfig(n_random=6, n_natural=10), batch_size=4)
    model = build_model(get_preset("tiny"), corpus.vocab_size, corpus.seq_len)
    rows = pl.DataFrame(evaluator.evaluate(model, step=7))
    assert set(rows["step"]) == {7}
    heads = rows.filter(pl.col("layer") >= 0)
    assert heads.group_by("metric").len().sort("metric")["len"].to_list() == [4] * 5
    assert heads["value"].min() >= 0 and heads["value"].max() <= 1
    loss = rows.filter(pl.col("metric") == "heldout_loss")["value"][0]
    assert abs(loss - np.log(corpus.vocab_size)) < 1.0  # untrained: near uniform
    assert model.config._attn_implementation == "sdpa"  # restored after eager evaluation


def test_unknown_probe_is_config_error() -> None:
    with pytest.raises(ConfigError, match=r"^units.probes: unknown probe 'induction_v9'; known: prefix_matching, "):
        get_probes(["prefix_matching", "induction_v9"])


def test_a_probe_name_registered_twice_raises() -> None:
    from mda_augment.units.probes import PROBES, register_probe

    before = PROBES["prefix_matching"]
    with pytest.raises(ValueError, match="'prefix_matching' registered twice"):
        register_probe("prefix_matching", "repeated_random")(lambda model, out, info: [])
    assert PROBES["prefix_matching"] is before and PROBES.get("prefix_matching").source == "repeated_random"


def test_emergence_requires_staying_above() -> None:
    steps = np.array([0, 10, 20, 30, 40])
    assert emergence_step(steps, np.array([0.0, 0.5, 0.1, 0.4, 0.6]), 0.3) == 30  # spike ignored
    assert emergence_step(steps, np.array([0.0, 0.5, 0.6, 0.7, 0.2]), 0.3) is None
    assert emergence_step(steps, np.full(5, 0.9), 0.3) == 0
    assert mean_area(np.array([0, 10]), np.array([0.0, 1.0])) == pytest.approx(0.5)


def test_heads_report_on_a_units_table(tmp_path: Path) -> None:
    rows = []
    for step in range(0, 100, 10):
        for head in range(2):
            value = 0.8 if (head == 1 and step >= 60) else 0.02
            rows.append({"step": step, "layer": 1, "head": head, "metric": "prefix_matching", "value": value})
        rows.append({"step": step, "layer": -1, "head": -1, "metric": "icl", "value": -step / 200})
    pl.DataFrame(rows).write_parquet(tmp_path / "units.parquet")
    report = heads_report(tmp_path, threshold=0.3)
    best = report.table.filter(pl.col("head") == 1).row(0, named=True)
    assert best["emergence_step"] == 60 and best["threshold"] == 0.3
    assert "L1H1=0.800" in report.text and "icl: first 0.000 -> last -0.450" in report.text
    assert all(p.is_file() and p.stat().st_size > 1000 for p in report.plots)


def test_prefix_matching_sq_gives_the_probe_standard_error_of_the_per_sequence_scores(packed_corpus: Path) -> None:
    """Batches of 3 over 7 probe sequences: the batch-weighted mean square must equal the mean
    square of the per-sequence scores computed in one pass, so SE = sqrt((sq - m^2) / (n - 1))."""
    corpus = PackedCorpus(packed_corpus)
    cfg = UnitsConfig(probes=["prefix_matching", "prefix_matching_sq"], n_random=7)
    evaluator = UnitEvaluator(corpus, cfg, batch_size=3)
    torch.manual_seed(1)
    model = build_model(get_preset("tiny"), corpus.vocab_size, corpus.seq_len).eval()
    rows = pl.DataFrame(evaluator.evaluate(model, step=0)).filter((pl.col("layer") == 1) & (pl.col("head") == 0))
    mean, sq = (rows.filter(pl.col("metric") == m)["value"][0] for m in ("prefix_matching", "prefix_matching_sq"))
    model.set_attn_implementation("eager")
    with torch.no_grad():
        attn = model(torch.from_numpy(evaluator.inputs["repeated_random"]), output_attentions=True).attentions[1]
    per_seq = scores.prefix_matching_per_sequence(attn.float(), evaluator.half)[:, 0].numpy()  # (7,)
    assert mean == pytest.approx(per_seq.mean(), rel=1e-5)
    assert sq == pytest.approx((per_seq**2).mean(), rel=1e-5)
    # the same SE (up to float32 cancellation in sq - m^2 on an untrained model's near-equal scores)
    assert np.sqrt((sq - mean**2) / 6) == pytest.approx(per_seq.std(ddof=1) / np.sqrt(7), rel=0.02)
