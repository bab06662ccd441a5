"""Mixture variants with common random numbers: a variant differs from its seed's baseline
only in the slots it declares, inside the window, and by the declared dose."""

from __future__ import annotations

import os

import numpy as np
import polars as pl
import pytest

from mda_augment.corpus.packed import PackedCorpus
from mda_augment.corpus.packing import PackConfig, pack
from mda_augment.experiments.mix import (
    MixConfig,
    OrderPlan,
    build_seed_variant,
    build_variant,
    manifest,
)
from tests.conftest import make_store

BUDGET = 300
WINDOW = (100, 260)  # positions an intervention may change
PLAN = OrderPlan(seed=3, budget=BUDGET, window=WINDOW)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    root = tmp_path_factory.mktemp("mix")
    docs = make_store(root / "docs", n_docs=400)
    packed = PackedCorpus(pack(docs, root / "packed", PackConfig(tokenizer="bpe-300", seq_len=32, seed=1)))
    assert packed.n_sequences > BUDGET + 40  # some sequences are never consumed: removal fills from them
    window = packed.order(*WINDOW)  # pretend attribution scored the window's sequences
    scores = pl.DataFrame({"seq": window, "score": np.random.default_rng(0).normal(size=len(window))})
    scores.write_parquet(root / "scores.parquet")
    synth = make_store(root / "synth", n_docs=60, seed=9)
    return packed, root / "scores.parquet", synth, root


def build(base, name, plan=PLAN, **kw):
    packed, scores, synth, root = base
    needs = {"scores": scores} if name.startswith(("remove", "upweight")) else {}
    if name == "synthetic" and "control" not in kw:
        needs = {"synthetic": synth}
    cfg = MixConfig(variant=name, **needs, **kw)
    tag = "-".join(f"{k}{v}" for k, v in sorted(kw.items()))
    content = build_variant(packed.dir, root / "variants" / f"{name}{tag}", cfg)
    return PackedCorpus(build_seed_variant(content, content / "orders" / f"seed{plan.seed}-{plan.per_seed}", plan))


def top_k(scores_path, k_frac=0.1):
    s = pl.read_parquet(scores_path).sort("score", descending=True)
    return set(s["seq"].head(round(k_frac * len(s))).to_list())


VARIANTS = [("synthetic", {"ratio": 0.05}), ("synthetic", {"ratio": 0.2}), ("natural", {"ratio": 0.05}), ("upweight_top", {}),
            ("upweight_random", {}), ("remove_top", {}), ("remove_random", {})]


@pytest.mark.parametrize(("name", "kw"), VARIANTS)
def test_a_variant_differs_from_its_baseline_only_in_its_declared_slots(base, name, kw):
    baseline = build(base, "baseline").order(0, BUDGET)
    v = build(base, name, **kw)
    order, slots = v.order(0, BUDGET), np.load(v.dir / "slots.npy")
    changed = np.nonzero(order != baseline)[0]
    assert set(changed) <= set(slots) and len(changed) == manifest(v.dir)["changed_positions"] > 0
    assert slots.min() >= WINDOW[0] and slots.max() < WINDOW[1]
    assert manifest(v.dir)["same_fraction"] == pytest.approx(1 - len(changed) / BUDGET)


def test_synthetic_dose_is_exact_and_slots_nest_and_are_shared_by_equal_ratios(base):
    w = WINDOW[1] - WINDOW[0]
    five, two = build(base, "synthetic", ratio=0.05), build(base, "synthetic", ratio=0.02)
    s5, s2 = np.load(five.dir / "slots.npy"), np.load(two.dir / "slots.npy")
    assert len(s5) == round(0.05 * w) and len(s2) == round(0.02 * w)
    assert set(s2) <= set(s5)
    control = build(base, "synthetic", ratio=0.05, control="repeated_spans", control_options={"n_docs": 40, "span": 6})
    assert np.array_equal(np.load(control.dir / "slots.npy"), s5)
    natural = build(base, "natural", ratio=0.05)  # the null control: other natural text in the same slots
    assert np.array_equal(np.load(natural.dir / "slots.npy"), s5)
    assert (natural.order(0, BUDGET)[s5] < natural.meta["base_sequences"]).all()
    assert (five.order(0, BUDGET)[s5] >= five.meta["base_sequences"]).all()


def test_mix_of_a_5pct_synthetic_variant_keeps_the_base_sequence_at_95pct_of_positions(base):
    packed, _, synth, root = base
    v = PackedCorpus(build_variant(packed.dir, root / "plain5", MixConfig(variant="synthetic", ratio=0.05,
                                                                          synthetic=synth, budget=BUDGET)))
    same = float((v.order(0, BUDGET) == packed.order(0, BUDGET)).mean())
    assert same == pytest.approx(1 - round(0.05 * BUDGET) / BUDGET) and same >= 0.94
    synth_docs = set(v.slices(v.order(0, BUDGET)[v.order(0, BUDGET) >= packed.n_sequences])["doc_id"].to_list())
    assert synth_docs and not synth_docs & set(packed.index["doc_id"].to_list())
    assert np.array_equal(v.tokens[: packed.n_sequences], packed.tokens)


def test_upweighting_writes_the_top_sequences_into_the_first_priority_slots(base):
    packed, scores, _, _ = base
    baseline = build(base, "baseline").order(0, BUDGET)
    v = build(base, "upweight_top")
    order = v.order(0, BUDGET)
    top = top_k(scores)
    window = order[WINDOW[0]:WINDOW[1]]
    for seq in top:  # each top sequence once more than the baseline consumed it, inside the window
        assert (window == seq).sum() >= (baseline[WINDOW[0]:WINDOW[1]] == seq).sum()
    assert set(order[np.load(v.dir / "slots.npy")].tolist()) == top
    assert manifest(v.dir)["same_fraction"] >= 1 - len(top) / BUDGET


def test_removal_replaces_in_place_with_sequences_from_outside_the_window(base):
    packed, scores, _, _ = base
    baseline = build(base, "baseline").order(0, BUDGET)
    v = build(base, "remove_top")
    order, slots = v.order(0, BUDGET), np.load(v.dir / "slots.npy")
    top = top_k(scores)
    assert not set(order[WINDOW[0]:WINDOW[1]].tolist()) & top
    assert set(baseline[slots].tolist()) <= top and len(slots) == len(top)  # every top sequence was in the window
    assert not set(order[slots].tolist()) & set(baseline[WINDOW[0]:WINDOW[1]].tolist())
    keep = np.ones(BUDGET, bool)
    keep[slots] = False
    assert np.array_equal(order[keep], baseline[keep])  # never a shift
    assert manifest(v.dir)["fill_never_consumed"] == len(slots)
    rand = build(base, "remove_random")
    assert manifest(rand.dir)["removed_slots"] == len(slots)  # the random control removes as many


def test_a_seed_placeholder_gives_each_seed_the_removal_set_of_its_own_scores(base):
    packed, scores, _, root = base
    window = pl.read_parquet(scores)["seq"].to_numpy()
    for seed in (0, 1):  # seed 1's ranking is seed 0's reversed: their top sets cannot overlap
        flip = 1.0 if seed == 0 else -1.0
        pl.read_parquet(scores).with_columns(pl.col("score") * flip).write_parquet(root / f"scores{seed}.parquet")
    cfg = MixConfig(variant="remove_top", scores=root / "scores{seed}.parquet")
    content = build_variant(packed.dir, root / "variants" / "remove_top_per_seed", cfg)
    removed = {}
    for seed in (0, 1):
        plan = OrderPlan(seed=seed, budget=BUDGET, window=WINDOW)
        v = build_seed_variant(content, content / "orders" / f"seed{seed}", plan)
        removed[seed] = set(manifest(v)["removed_sequences"])
    assert removed[0] == top_k(root / "scores0.parquet") and removed[1] == top_k(root / "scores1.parquet")
    assert not removed[0] & removed[1] and removed[0] | removed[1] <= set(window.tolist())
    with pytest.raises(ValueError, match="only placeholder"):
        MixConfig(variant="remove_top", scores=root / "scores{run}.parquet")


def test_seeds_permute_the_order_within_blocks_and_shared_mode_keeps_it(base):
    packed = base[0]
    a = build(base, "baseline").order(0, BUDGET)
    b = build(base, "baseline", plan=OrderPlan(seed=4, budget=BUDGET, window=WINDOW)).order(0, BUDGET)
    assert (a != b).mean() > 0.8
    for lo, hi in ((0, WINDOW[0]), WINDOW, (WINDOW[1], BUDGET)):
        assert sorted(a[lo:hi]) == sorted(b[lo:hi]) == sorted(packed.order(lo, hi))
    shared = build(base, "baseline", plan=OrderPlan(seed=4, budget=BUDGET, window=WINDOW, per_seed=False))
    assert np.array_equal(shared.order(0, BUDGET), packed.order(0, BUDGET))


def test_a_seed_order_links_the_content_instead_of_copying_it(base):
    v = build(base, "synthetic", ratio=0.05)
    content = v.dir.parent.parent
    assert os.stat(v.dir / "tokens.bin").st_ino == os.stat(content / "tokens.bin").st_ino
    assert v.n_sequences == v.meta["base_sequences"] + v.meta["synthetic_sequences"]


def test_the_positive_control_repeats_and_its_matched_control_does_not(base):
    pos = build(base, "synthetic", ratio=0.05, control="repeated_spans", control_options={"n_docs": 40, "span": 6})
    neg = build(base, "synthetic", ratio=0.05, control="spans_norepeat", control_options={"n_docs": 40, "span": 6})
    rp, rn = manifest(pos.dir)["synthetic_repeat_share"], manifest(neg.dir)["synthetic_repeat_share"]
    assert rp > 0.3 and rn < 0.15 and rp > 3 * rn


def test_variants_need_their_inputs():
    with pytest.raises(ValueError, match="needs scores"):
        MixConfig(variant="remove_top")
    with pytest.raises(ValueError, match="exactly one of synthetic"):
        MixConfig(variant="synthetic")
    with pytest.raises(ValueError, match="unknown control store"):
        MixConfig(variant="synthetic", control="nope")


def test_mix_verb_and_its_one_line_error(base, tmp_path):
    from typer.testing import CliRunner

    from mda_augment.cli import app

    packed, scores, _, _ = base
    ok = CliRunner().invoke(app, ["mix", str(packed.dir), "--out", str(tmp_path / "v"), "--variant", "remove_top",
                                  "--scores", str(scores), "--budget", "200"])
    assert ok.exit_code == 0, ok.output
    assert "removed_sequences" in ok.output
    bad = CliRunner().invoke(app, ["mix", str(packed.dir), "--out", str(tmp_path / "w"), "--variant", "remove_top",
                                   "--scores", str(tmp_path / "nope.parquet")])
    assert bad.exit_code == 2 and "run `mda-augment attribute` first" in bad.output
