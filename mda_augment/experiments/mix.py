"""``mix``: training-corpus variants with common random numbers.

A variant is a packed corpus in the base's layout (the trainer needs no change): the base
sequences (files hard-linked, not copied), optionally synthetic sequences appended after them
(packed with the base's exact tokenizer), and an ``order.npy`` of exactly ``budget`` sequence
ids: what training consumes, position by position.

**Every variant keeps its seed's base order position by position** and writes only the slots
its intervention declares (``slots.npy``), so two arms of one seed see the same batches except
there. Earlier versions *shifted* the order (an inserted sequence pushed every later one back),
so paired runs saw different batches from the first changed slot on and correlated only 0.26.

    baseline         the seed's base order
    synthetic        the first ``round(ratio * W)`` slots of the seed's slot priority (a seeded
                     permutation of the ``W`` window positions) hold synthetic sequences, which
                     *replace* the base sequence there. Slots depend on the seed and the ratio
                     only, so arms of equal ratio (mined mixture, positive control, no-repeat
                     control) differ only by content, and lower ratios' slots nest in higher ones.
    upweight_top     the top-k% scored sequences replace the base sequences in the first k
                     priority slots (consumed once more, inside the window)
    upweight_random  as many random scored sequences, in the same slots
    remove_top       every window slot holding a top-k% scored sequence gets, in place, a
                     sequence from outside the window (one the run never consumes when the
                     corpus has them, else one consumed outside the window); never a shift
    remove_random    the same for as many random scored sequences
    natural          the null control of a mixture: the synthetic arm's slots at equal ratio get
                     other natural sequences, from outside the window (never-consumed first)

**Orders per seed** (:class:`OrderPlan`): with ``per_seed`` the base order is permuted with the
study seed *within* three blocks: positions before the branch point, from there to the horizon,
and after it. So the seed varies every batch, while the set of sequences consumed after the
branch point (which the attribution scored) is the same for every seed, and removal finds them
in every seed's window.

``manifest.json`` records what changed: slot count, the share of positions equal to the
baseline's (over the budget and inside the window), removed/added sequence ids and documents.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import polars as pl

from ..artifacts import CONFIG_NAME, atomic_write_json, building, read_json, require_complete
from ..attribution.scores import ranked_scores
from ..corpus.layout import INDEX, META, ORDER, TOKEN_FILES, TOKENIZER, TOKENS
from ..corpus.packed import PackedCorpus
from ..corpus.packing import PackConfig, pack
from ..errors import ConfigError, DataError
from .config import NEEDS_SCORES, MixConfig, Variant

__all__ = ["NEEDS_SCORES", "MixConfig", "OrderPlan", "Variant", "build_seed_variant", "build_variant", "manifest",
           "seed_base_order", "slot_priority"]

ORDER_SALT, SLOT_SALT = 0x5EED, 0x510
LINKED = TOKEN_FILES  # hard-linked from the base; a variant writes its own order and meta
MANIFEST = "manifest.json"  # what a variant changed: slots, budget, same fractions, removed/added ids


@dataclass(frozen=True)
class OrderPlan:
    """Which order one seed's variants are cut from.

    Attributes:
        seed: the study seed (also the model initialisation of its runs).
        budget: positions consumed (``steps x global_batch``).
        window: positions ``[lo, hi)`` this variant's intervention may change.
        per_seed: permute the base order with ``seed`` (within the three blocks) or keep it.
        block: positions of the middle block (default: the window). Every variant of one
            experiment shares it (after the branch point, up to the horizon), so the seed's
            baseline order is the same whatever window a variant acts on.
    """

    seed: int
    budget: int
    window: tuple[int, int]
    per_seed: bool = True
    block: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        lo, hi = self.window
        blo, bhi = self.middle
        if not 0 <= blo <= lo < hi <= bhi <= self.budget:
            raise ConfigError(f"order plan: window [{lo}, {hi}) must lie inside the block [{blo}, {bhi}) and the "
                              f"budget [0, {self.budget})")

    @property
    def middle(self) -> tuple[int, int]:
        return self.block if self.block is not None else self.window


def default_plan(base: PackedCorpus, cfg: MixConfig) -> OrderPlan:
    """``mix`` on its own: the base order unpermuted; the window is the whole budget, or for a
    variant acting on scored sequences, the positions up to the last scored one (the window the
    attribution scored), so removal can fill from what follows it."""
    budget = cfg.budget or base.n_sequences
    hi = budget
    if cfg.variant in NEEDS_SCORES:
        scored = np.nonzero(np.isin(base.order(0, budget), ranked_scores(cfg.scores_for(0))["seq"].to_numpy()))[0]
        hi = int(scored.max()) + 1 if len(scored) else budget
    return OrderPlan(seed=0, budget=budget, window=(0, hi), per_seed=False)


def seed_base_order(base: PackedCorpus, plan: OrderPlan) -> np.ndarray:
    """The seed's baseline order: (budget,) sequence ids."""
    order = base.order(0, plan.budget)
    if not plan.per_seed:
        return order
    lo, hi = plan.middle
    out = order.copy()
    for block, (a, b) in enumerate(((0, lo), (lo, hi), (hi, plan.budget))):
        if b > a:
            out[a:b] = order[a:b][np.random.default_rng([base.seed, ORDER_SALT, plan.seed, block]).permutation(b - a)]
    return out


def slot_priority(plan: OrderPlan) -> np.ndarray:
    """The window's positions in the seed's priority order: a dose of n slots takes the first n.

    One permutation of the middle block per seed, restricted to the window: doses nest, and a
    variant acting on a later window uses the block's priority order over that part of it.
    """
    lo, hi = plan.window
    blo, bhi = plan.middle
    priority = blo + np.random.default_rng([SLOT_SALT, plan.seed]).permutation(bhi - blo)
    return priority[(priority >= lo) & (priority < hi)]


def chosen_sequences(cfg: MixConfig, plan: OrderPlan) -> tuple[np.ndarray, np.ndarray]:
    """(the k% scored sequences the variant acts on, all scored sequences)."""
    seqs = ranked_scores(cfg.scores_for(plan.seed))["seq"].to_numpy()
    k = max(1, round(cfg.k_frac * len(seqs)))
    if cfg.variant.endswith("_top"):
        return seqs[:k], seqs
    rng = np.random.default_rng([cfg.seed, plan.seed, 1])
    return np.sort(rng.choice(seqs, size=k, replace=False)), seqs


def _fill_pool(base: PackedCorpus, order: np.ndarray, plan: OrderPlan, exclude: np.ndarray, n: int) -> np.ndarray:
    """``n`` natural sequences for replaced slots, from outside the window where possible.

    Never-consumed sequences first, then ones consumed outside the window; only when the run
    consumes the whole corpus inside the window (``mix`` of a full epoch) do sequences consumed
    elsewhere in the window follow (the manifest counts them as ``fill_from_window``).
    """
    lo, hi = plan.window
    rng = np.random.default_rng([plan.seed, 4])
    unseen = rng.permutation(np.setdiff1d(np.arange(base.n_sequences), order))
    taken = np.concatenate([order[lo:hi], exclude])
    outside = rng.permutation(np.setdiff1d(np.concatenate([order[:lo], order[hi:]]), taken))
    inside = rng.permutation(np.setdiff1d(order[lo:hi], exclude))
    pool = np.concatenate([unseen, outside, inside])
    if len(pool) < n:
        raise DataError(f"{base.dir}: only {len(pool)} sequences can fill {n} replaced slots; use a smaller "
                        "k_frac or ratio, or a larger corpus")
    return pool[:n]


def _fill_info(fill: np.ndarray, order: np.ndarray, plan: OrderPlan) -> dict:
    lo, hi = plan.window
    return {"fill_never_consumed": int(np.isin(fill, order, invert=True).sum()),
            "fill_from_window": int(np.isin(fill, order[lo:hi]).sum())}


def plan_changes(base: PackedCorpus, order: np.ndarray, cfg: MixConfig, plan: OrderPlan,
                 n_synth: int) -> tuple[np.ndarray, np.ndarray, dict]:
    """(slots, the ids written there, manifest facts) of the variant on the seed's order."""
    lo, hi = plan.window
    priority = slot_priority(plan)
    if cfg.variant == "baseline":
        return np.zeros(0, np.int64), np.zeros(0, np.int64), {}
    if cfg.variant == "synthetic":
        n = round(cfg.ratio * (hi - lo))
        rng = np.random.default_rng([cfg.seed, plan.seed, 3])
        cycle = np.concatenate([rng.permutation(n_synth) for _ in range(-(-max(n, 1) // n_synth))])
        return priority[:n], base.n_sequences + cycle[:n], {"added_synthetic_sequences": n}
    if cfg.variant == "natural":
        n = round(cfg.ratio * (hi - lo))
        fill = _fill_pool(base, order, plan, np.zeros(0, np.int64), n)
        return priority[:n], fill, _fill_info(fill, order, plan)
    acted, _ = chosen_sequences(cfg, plan)
    info = {"documents": sorted(set(base.slices(acted)["doc_id"].to_list()))}
    if cfg.variant.startswith("upweight"):
        rng = np.random.default_rng([cfg.seed, plan.seed, 2])
        return priority[: len(acted)], rng.permutation(acted), info | {"upweighted_sequences": acted.tolist()}
    slots = lo + np.nonzero(np.isin(order[lo:hi], acted))[0]
    fill = _fill_pool(base, order, plan, acted, len(slots))
    info |= {"removed_sequences": acted.tolist(), "removed_slots": len(slots), **_fill_info(fill, order, plan)}
    return slots, fill, info


def _link_content(src: Path, tmp: Path) -> None:
    """Hard-link a corpus's token and index files (copy across file systems), copy its tokenizer."""
    for name in LINKED:
        if (src / name).exists():
            try:
                os.link(src / name, tmp / name)
            except OSError:
                shutil.copy2(src / name, tmp / name)
    shutil.copytree(src / TOKENIZER, tmp / TOKENIZER)


def _synthetic_store(base_dir: Path, cfg: MixConfig, stores: Path) -> Path:
    if cfg.synthetic is not None:
        return Path(cfg.synthetic)
    from .controls import build_control

    tag = "-".join(f"{k}{v}" for k, v in sorted(cfg.control_options.items()))
    return build_control(cfg.control, base_dir, stores / f"{cfg.control}{'-' + tag if tag else ''}",  # type: ignore[arg-type]
                         **cfg.control_options)


def _append_synthetic(base: PackedCorpus, store: Path, tmp: Path) -> tuple[int, pl.DataFrame, float]:
    """Pack ``store`` with the base tokenizer and append its sequences after the base ones.

    Returns (sequences appended, their index rows, their model-token repeat share).
    """
    from ..structure.stats import induction_predictable_share

    synth_dir = tmp / "synthetic_packed"
    pack(store, synth_dir, PackConfig(tokenizer="pythia", seq_len=base.seq_len, seed=base.seed, heldout_fraction=0.0),
         tokenizer=base.tokenizer())
    synth = PackedCorpus(synth_dir)
    if synth.n_sequences == 0:
        raise ConfigError(f"{store}: synthetic store too small for one {base.seq_len}-token sequence")
    os.unlink(tmp / TOKENS)  # the hard link must not be appended to
    with open(tmp / TOKENS, "wb") as f:
        f.write(np.asarray(base.tokens).tobytes())
        f.write(np.asarray(synth.tokens).tobytes())
    sample = np.asarray(synth.tokens[: min(500, synth.n_sequences)])
    share = float(np.mean([induction_predictable_share(row.tolist(), context=base.seq_len) for row in sample]))
    return synth.n_sequences, synth.index.with_columns(pl.col("seq") + base.n_sequences), share


def _write_order(tmp: Path, base: PackedCorpus, cfg: MixConfig, plan: OrderPlan, n_synth: int,
                 manifest_extra: dict) -> None:
    """order.npy, slots.npy and manifest.json of ``cfg`` on ``plan`` (content already in ``tmp``)."""
    baseline = seed_base_order(base, plan)
    slots, ids, info = plan_changes(base, baseline, cfg, plan, n_synth)
    order = baseline.copy()
    order[slots] = ids
    changed = np.nonzero(order != baseline)[0]
    lo, hi = plan.window
    np.save(tmp / ORDER, order.astype(np.int64))
    np.save(tmp / "slots.npy", np.sort(slots).astype(np.int64))
    atomic_write_json(tmp / MANIFEST, {
        "variant": cfg.variant, "plan": asdict(plan), "budget": plan.budget, "declared_slots": int(len(slots)),
        "changed_positions": int(len(changed)), "same_fraction": 1 - len(changed) / plan.budget,
        "same_fraction_window": 1 - len(changed) / (hi - lo), **manifest_extra, **info})


def build_variant(base_dir: str | os.PathLike, out: str | os.PathLike, cfg: MixConfig,
                  plan: OrderPlan | None = None, *, overwrite: bool = False) -> Path:
    """Write the variant ``cfg`` of the packed corpus ``base_dir`` to ``out``: content and one order.

    Without ``plan`` the order is :func:`default_plan`'s (``mix`` on its own). The directory is
    also the *content* that per-seed orders link to (:func:`build_seed_variant`).
    """
    base = PackedCorpus(base_dir)
    plan = plan or default_plan(base, cfg)
    record = {"mix": cfg.model_dump(mode="json"), "base": str(Path(base_dir).resolve()), "plan": asdict(plan)}
    with building(out, config=record, overwrite=overwrite) as tmp:
        if tmp is None:
            return Path(out)
        _link_content(base.dir, tmp)
        index, n_synth, extra = base.index, 0, {}
        if cfg.variant == "synthetic":
            store = _synthetic_store(base.dir, cfg, Path(out).parent / "_controls")
            n_synth, synth_index, share = _append_synthetic(base, store, tmp)
            index = pl.concat([base.index, synth_index.cast(base.index.schema)])
            index.write_parquet(tmp / f"{INDEX}.new")
            os.replace(tmp / f"{INDEX}.new", tmp / INDEX)  # replaces the link, not the base file
            extra = {"synthetic_store": str(store), "synthetic_sequences": n_synth, "synthetic_repeat_share": share}
        meta = {**base.meta, "train_sequences": base.n_sequences + n_synth, "variant": cfg.variant,
                "base_sequences": base.n_sequences, "synthetic_sequences": n_synth}
        atomic_write_json(tmp / META, meta)
        _write_order(tmp, base, cfg, plan, n_synth, extra)
    return Path(out)


def build_seed_variant(content_dir: str | os.PathLike, out: str | os.PathLike, plan: OrderPlan,
                       *, overwrite: bool = False) -> Path:
    """The variant in ``content_dir`` (from :func:`build_variant`) on the order of ``plan``.

    Token and index files are hard-linked from the content, so a seed costs one ``order.npy``.
    """
    content = require_complete(content_dir, "mixture variant")
    record = read_json(content / CONFIG_NAME)
    cfg, base = MixConfig(**record["mix"]), PackedCorpus(record["base"])
    with building(out, config={**record, "plan": asdict(plan), "content": str(content.resolve())},
                  overwrite=overwrite) as tmp:
        if tmp is None:
            return Path(out)
        _link_content(content, tmp)
        meta = read_json(content / META)
        atomic_write_json(tmp / META, meta)
        keep = ("synthetic_store", "synthetic_sequences", "synthetic_repeat_share")
        extra = {k: v for k, v in manifest(content).items() if k in keep}
        _write_order(tmp, base, cfg, plan, meta["synthetic_sequences"], extra)
    return Path(out)


def manifest(variant_dir: str | os.PathLike) -> dict:
    return read_json(Path(variant_dir) / MANIFEST)
