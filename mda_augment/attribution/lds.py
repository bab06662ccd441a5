"""Linear datamodeling score (LDS): do summed scores predict what training on a subset does?

Design (one window of a run, ``m`` subsets):

* the window is the ``n = steps x batch`` sequences consumed at steps ``[start, start + steps)``;
  each consumption position (a *slot*) also gets a **filler**: the sequence consumed at the
  same offset of the *next* ``steps`` steps of the original order (natural data of the same
  distribution that the continuation would not otherwise see);
* subset ``j`` keeps a seeded random half of the slots' window sequences and puts the filler
  in every other slot, **in place**, so every continuation consumes the same number of
  sequences at the same steps and differs only in which half of the window it sees;
* each continuation resumes the run's checkpoint ``start`` (weights, optimizer, RNG) and runs
  the run's own training step (:meth:`Trainer.train_step`, same optimizer, lr schedule,
  clipping) for ``steps`` steps; the probe the scores target is measured at the end;
* a method's prediction for subset ``j`` is the sum of the scores of the sequences it consumed
  (kept window sequences and the fillers of the other slots), and its LDS is the Spearman
  correlation of predictions and measured probes over the ``m`` subsets, with bootstrap CIs
  over subsets (paired between methods: every method is judged on the same continuations).

Fillers are scored like window sequences (they occupy the same slots, at the same steps), see
:class:`SlotOrder`.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
from scipy import stats
from statsmodels.stats.multitest import multipletests

from ..artifacts import CONFIG_NAME, atomic_write_json, building, read_json
from ..corpus.layout import META, ORDER, TOKEN_FILES, TOKENIZER
from ..corpus.packed import PackedCorpus
from ..errors import ConfigError
from .window import WINDOW_SCHEMA, PackedOrder

LINKED = (*TOKEN_FILES, TOKENIZER)


@dataclass(frozen=True)
class Design:
    """The window, its fillers and the ``m`` kept-halves (``keep[j, i]``: slot ``i`` keeps its
    window sequence in subset ``j``)."""

    start: int
    steps: int
    batch: int
    window: np.ndarray  # (n,) sequence ids in consumption order
    filler: np.ndarray  # (n,) the sequence that takes slot i when its window sequence is left out
    keep: np.ndarray  # (m, n) bool

    def consumed(self, j: int) -> np.ndarray:
        """(n,) sequence ids continuation ``j`` consumes, slot by slot."""
        return np.where(self.keep[j], self.window, self.filler)

    def predictions(self, score_of: dict[int, float]) -> np.ndarray:
        """(m,) sum of the scores of the sequences each subset consumes."""
        w = np.array([score_of[int(s)] for s in self.window])
        f = np.array([score_of[int(s)] for s in self.filler])
        return np.where(self.keep, w[None, :], f[None, :]).sum(axis=1)

    def window_only(self, score_of: dict[int, float]) -> np.ndarray:
        """(m,) the classic LDS prediction: sum of the kept window sequences' scores only."""
        w = np.array([score_of[int(s)] for s in self.window])
        return (self.keep * w[None, :]).sum(axis=1)


def make_design(corpus: PackedCorpus, start: int, steps: int, batch: int, m: int, *,
                keep_fraction: float = 0.5, seed: int = 0) -> Design:
    """Draw ``m`` subsets keeping exactly ``round(keep_fraction * n)`` window slots each."""
    n = steps * batch
    window = corpus.order(start * batch, start * batch + n)
    filler = corpus.order(start * batch + n, start * batch + 2 * n)
    if np.isin(filler, window).any():
        raise ConfigError("LDS: the fillers (the next window of the order) repeat window sequences; "
                          "use a window inside one epoch of the corpus")
    rng = np.random.default_rng([seed, 5])
    k = round(keep_fraction * n)
    keep = np.zeros((m, n), dtype=bool)
    for j in range(m):
        keep[j, rng.choice(n, size=k, replace=False)] = True
    return Design(start, steps, batch, window, filler, keep)


class SlotOrder(PackedOrder):
    """A run's order in which each window step holds its sequences *and* their fillers.

    Lets the attribution pipeline score window and filler sequences in one pass, each with the
    step of its slot (what ``nearest``/``tracin`` need). ``pos`` stays unique: window rows keep
    their consumption position, fillers get the position they had in the original order.
    """

    def __init__(self, corpus: str | os.PathLike | PackedCorpus, design: Design):
        super().__init__(corpus, design.batch)
        self.design = design

    def step_ids(self, start_step: int, end_step: int) -> pl.DataFrame:
        d = self.design
        if start_step < d.start or end_step > d.start + d.steps:
            raise ConfigError(f"LDS order: steps [{start_step}, {end_step}) are outside the design's window "
                              f"[{d.start}, {d.start + d.steps})")
        n = d.steps * d.batch
        pos = np.arange(d.start * d.batch, d.start * d.batch + n)
        step = pos // d.batch
        frame = pl.DataFrame({"pos": np.concatenate([pos, pos + n]), "step": np.concatenate([step, step]),
                              "seq": np.concatenate([d.window, d.filler])}, schema=WINDOW_SCHEMA)
        return frame.filter((pl.col("step") >= start_step) & (pl.col("step") < end_step)).sort("pos")


def subset_corpus(src: str | os.PathLike, out: str | os.PathLike, design: Design, j: int) -> Path:
    """A packed corpus (token files linked) whose order is the original's with subset ``j`` in place."""
    base = PackedCorpus(src)
    with building(out, config={"source": str(base.dir), "subset": j, "start": design.start,
                               "steps": design.steps}) as tmp:
        if tmp is not None:
            for name in LINKED:
                if (base.dir / name).exists():
                    os.symlink(base.dir / name, tmp / name)
            head = base.order(0, design.start * design.batch)
            np.save(tmp / ORDER, np.concatenate([head, design.consumed(j)]).astype(np.int64))
            atomic_write_json(tmp / META, {**base.meta, "derived_from": str(base.dir)})
    return Path(out)


@dataclass(frozen=True)
class Continuation:
    """One continuation job (picklable, for a process pool)."""

    run: str
    corpus: str
    out: str
    start: int
    steps: int
    heads: tuple[str, ...]
    probe: str
    probes: np.ndarray  # (n_probe, 1 + 2 * half) the attribution's probe sequences
    half: int
    threads: int = 1


def resumed_trainer(run: str | os.PathLike, start: int, corpus: str | os.PathLike, out: str | os.PathLike,
                    threads: int = 1):
    """``run``'s own :class:`Trainer`, resumed at its checkpoint ``start`` in the scratch dir ``out``.

    Same optimizer, lr schedule (of the full run) and clipping; only the data order (``corpus``)
    and the directory differ. Unit probes are cut to prefix matching (all that is measured).
    """
    import torch

    from ..training import rundir
    from ..training.config import TrainConfig
    from ..training.loop import Trainer

    torch.set_num_threads(threads)
    record = read_json(Path(run) / CONFIG_NAME)
    fields = {k: v for k, v in record.items() if k in TrainConfig.model_fields}
    fields.update({"corpus": str(corpus), "out": str(out), "progress": False, "threads": threads,
                   "units": {**record.get("units", {}), "probes": ["prefix_matching"]}})
    if Path(out).exists():
        shutil.rmtree(out)
    shutil.copytree(rundir.checkpoint_dir(run, start), rundir.checkpoint_dir(out, start))
    trainer = Trainer(TrainConfig(**fields))
    if trainer.state.step != start:
        raise ConfigError(f"{run}: resumed at step {trainer.state.step}, expected {start}")
    return trainer


def continue_run(job: Continuation) -> dict:
    """Resume ``job.run`` at ``job.start`` on ``job.corpus`` for ``job.steps`` steps and measure.

    Only the trainer's step is called, so nothing is logged or checkpointed; the scratch
    directory is removed afterwards.

    Returns:
        ``probe``: the attribution probe summed over the probe set; ``prefix_matching``: the
        target heads' mean prefix-matching score (the run's unit metric).
    """
    import torch

    from .heads import parse_heads
    from .probes import get_attribution_probe
    from .task import attention_impl

    trainer = resumed_trainer(job.run, job.start, job.corpus, job.out, job.threads)
    losses = [trainer.train_step(s) for s in range(job.start, job.start + job.steps)]
    model = trainer.raw_model.eval()
    heads = parse_heads(list(job.heads))
    probe = get_attribution_probe(job.probe)
    with torch.no_grad(), attention_impl(model, "eager" if probe.needs_attention else None):
        value = float(probe.fn(model, torch.from_numpy(job.probes), heads, job.half).double().sum())
    units = trainer.evaluator.evaluate(model, job.start + job.steps)
    pm = [u["value"] for u in units if u["metric"] == "prefix_matching"
          and any(u["layer"] == h.layer and u["head"] == h.head for h in heads)]
    shutil.rmtree(job.out)
    return {"probe": value, "prefix_matching": float(np.mean(pm)), "loss_last100": float(np.mean(losses[-100:]))}


def shadow_run(run: str | os.PathLike, out: str | os.PathLike, step: int, threads: int = 1) -> Path:
    """A run directory linking ``run``'s checkpoints plus a faithful new one at ``step``.

    The new checkpoint replays the run's own data from its last checkpoint before ``step`` (a
    continuation that reproduces the run exactly, see the tests), so an LDS window can start
    between the run's checkpoints. Nothing of ``run`` is modified.
    """
    from ..training import rundir

    run, out = Path(run), Path(out)
    record = read_json(run / CONFIG_NAME)
    with building(out, config=record) as tmp:
        if tmp is not None:
            for s in rundir.list_checkpoints(run):
                rundir.checkpoint_dir(tmp, s).parent.mkdir(parents=True, exist_ok=True)
                os.symlink(rundir.checkpoint_dir(run, s).resolve(), rundir.checkpoint_dir(tmp, s))
            if step not in rundir.list_checkpoints(run):
                prev = max(s for s in rundir.list_checkpoints(run) if s < step)
                trainer = resumed_trainer(run, prev, record["corpus"], tmp / "replay", threads)
                for s in range(prev, step):
                    trainer.train_step(s)
                state = {"step": step, "tokens": step * record["global_batch"] * record["seq_len"],
                         "sequences_consumed": step * record["global_batch"],
                         "global_batch": record["global_batch"], "corpus": record["corpus"]}
                rundir.save_checkpoint(tmp, step, trainer.raw_model, trainer.optimizer, state)
                shutil.rmtree(tmp / "replay")
    return out


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    return float(stats.spearmanr(x, y).statistic)


def bootstrap_lds(preds: dict[str, np.ndarray], actual: np.ndarray, *, reps: int = 2000,
                  seed: int = 0) -> np.ndarray:
    """(reps, methods) Spearman over subsets resampled with replacement (same resample for all)."""
    rng = np.random.default_rng([seed, 9])
    m = len(actual)
    names = list(preds)
    out = np.empty((reps, len(names)))
    for r in range(reps):
        idx = rng.integers(0, m, size=m)
        ranked_actual = stats.rankdata(actual[idx])
        for k, name in enumerate(names):
            out[r, k] = np.corrcoef(stats.rankdata(preds[name][idx]), ranked_actual)[0, 1]
    return out


def lds_table(preds: dict[str, np.ndarray], actual: np.ndarray, reference: str, *, reps: int = 2000,
              seed: int = 0) -> pl.DataFrame:
    """Per method: LDS with a 95% percentile bootstrap CI, and its paired difference to ``reference``.

    ``p_diff`` is the two-sided bootstrap p-value of the difference (share of resamples on the
    other side of zero, doubled); ``p_holm`` corrects it over the methods compared (statsmodels).
    """
    boot = bootstrap_lds(preds, actual, reps=reps, seed=seed)
    names = list(preds)
    ref = boot[:, names.index(reference)]
    rows = []
    for k, name in enumerate(names):
        diff = boot[:, k] - ref
        p = 1.0 if name == reference else float(min(1.0, 2 * min((diff <= 0).mean(), (diff >= 0).mean())))
        rows.append({"method": name, "lds": spearman(preds[name], actual),
                     "ci_low": float(np.nanquantile(boot[:, k], 0.025)), "ci_high": float(np.nanquantile(boot[:, k], 0.975)),
                     f"diff_vs_{reference}": spearman(preds[name], actual) - spearman(preds[reference], actual),
                     "diff_ci_low": float(np.nanquantile(diff, 0.025)), "diff_ci_high": float(np.nanquantile(diff, 0.975)),
                     "p_diff": p})
    others = [k for k, name in enumerate(names) if name != reference]
    adjusted = multipletests([rows[k]["p_diff"] for k in others], method="holm")[1] if others else []
    for k, p in zip(others, adjusted, strict=True):
        rows[k]["p_holm"] = float(p)
    rows[names.index(reference)]["p_holm"] = 1.0
    return pl.DataFrame(rows)
