"""Common random numbers: how much of the baseline's order does each ``mix`` variant keep?

    python benchmarks/bench_crn.py --packed /work/data/quickstart/packed \\
        --scores /work/data/quickstart/attribution/scores.parquet --out runs/bench-crn

For each variant, the share of consumption positions at which the variant consumes exactly the
baseline's sequence, over the whole budget (one base epoch, what ``mix`` builds by default) and
inside the window it may change. "before" replays the rule of the previous ``mix`` in this same
run: a synthetic position or an upweighted insertion *shifted* every later base sequence (the
synthetic variant drew its positions with probability ``ratio`` and filled the rest with the base
order in sequence; upweighting inserted the extra sequences and truncated at the budget), so
after the first change almost no position matched. Goals (issue 13): a 5% synthetic variant
>= 94%, upweighting 10% of a 4,000-sequence window >= 98%.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from mda_augment.attribution.scores import ranked_scores
from mda_augment.corpus.packed import PackedCorpus
from mda_augment.experiments.mix import MixConfig, build_variant, manifest


def before_synthetic(base: PackedCorpus, ratio: float, budget: int) -> float:
    """The previous rule: synthetic positions drawn at ``ratio``, the base order shifted around them."""
    is_synth = np.random.default_rng([0, 3]).random(budget) < ratio
    order = np.full(budget, -1)
    order[~is_synth] = base.order(0, int((~is_synth).sum()))
    return float((order == base.order(0, budget)).mean())


def before_upweight(base: PackedCorpus, extra: np.ndarray, window: int, budget: int) -> float:
    """The previous rule: each extra sequence inserted at a random slot of the window (a shift)."""
    order = base.order(0, budget).tolist()
    rng = np.random.default_rng([0, 2])
    for slot, seq in zip(np.sort(rng.integers(0, window, size=len(extra)))[::-1], rng.permutation(extra), strict=True):
        order.insert(int(slot), int(seq))
    return float((np.asarray(order[:budget]) == base.order(0, budget)).mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--packed", type=Path, required=True)
    ap.add_argument("--scores", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    base = PackedCorpus(args.packed)
    budget = base.n_sequences
    scored = ranked_scores(args.scores)["seq"].to_numpy()
    window = int(np.nonzero(np.isin(base.order(0, budget), scored))[0].max()) + 1
    k = round(0.1 * len(scored))
    print(f"corpus {args.packed}: {base.n_sequences} sequences (budget = one epoch); {len(scored)} scored "
          f"sequences, last one at position {window - 1}; k = {k} (10%)")
    arms = {"synthetic 5% (positive control store)": (MixConfig(variant="synthetic", ratio=0.05, control="repeated_spans"),
                                                       before_synthetic(base, 0.05, budget)),
            "upweight_top 10% of the scored window": (MixConfig(variant="upweight_top", scores=args.scores),
                                                      before_upweight(base, scored[:k], window, budget)),
            "remove_top 10% of the scored window": (MixConfig(variant="remove_top", scores=args.scores), None),
            "natural 5% (null control)": (MixConfig(variant="natural", ratio=0.05), None)}
    print("| variant | slots changed | same as baseline, budget (before) | after | after, inside window |")
    print("|---|---|---|---|---|")
    for name, (cfg, before) in arms.items():
        m = manifest(build_variant(base.dir, args.out / cfg.variant, cfg))
        b = "-" if before is None else f"{before:.3f}"
        print(f"| {name} | {m['changed_positions']} | {b} | {m['same_fraction']:.4f} | {m['same_fraction_window']:.4f} |")


if __name__ == "__main__":
    main()
