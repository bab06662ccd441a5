"""Attribute a run of this project, or a released Pythia checkpoint, by name.

Resolves the user-facing choices into an :class:`AttributionConfig`:

* heads ``top`` -> the head with the highest final prefix-matching score in ``units.parquet``;
* no step -> the last checkpoint *before* the target heads' emergence step (emergence as in
  :func:`mda_augment.units.report.emergence_step`: first step from which the score stays at or
  above the threshold);
* no end step -> the checkpoint step (score everything the checkpoint has seen since
  ``start_step``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
from pathlib import Path

import polars as pl

from ..artifacts import CONFIG_NAME, read_json
from ..errors import ArtifactError, ConfigError
from ..training import rundir
from ..units.report import emergence_step
from .config import AttributionConfig
from .heads import HeadRef, parse_heads
from .pipeline import attribute
from .window import PackedOrder, PythiaOrder

METRIC = "prefix_matching"


def _units(run: Path) -> pl.DataFrame:
    path = run / rundir.UNITS
    if not path.is_file():
        raise ArtifactError(f"{run}: no {rundir.UNITS}; pass explicit --heads and --step")
    return pl.read_parquet(path).filter(pl.col("metric") == METRIC)


def top_head(run: str | os.PathLike) -> HeadRef:
    """The head with the highest prefix-matching score at the last evaluated step."""
    units = _units(Path(run))
    last = units.filter(pl.col("step") == units["step"].max()).sort("value", descending=True)
    if last.height == 0:
        raise ArtifactError(f"{run}: {rundir.UNITS} has no {METRIC} rows; pass explicit --heads")
    return HeadRef(int(last["layer"][0]), int(last["head"][0]))


def emergence(run: str | os.PathLike, heads: list[HeadRef], threshold: float) -> int | None:
    """Earliest emergence step among ``heads`` (None when none of them emerged)."""
    units = _units(Path(run))
    found = []
    for h in heads:
        g = units.filter((pl.col("layer") == h.layer) & (pl.col("head") == h.head)).sort("step")
        if g.height:
            step = emergence_step(g["step"].to_numpy(), g["value"].to_numpy(), threshold)
            if step is not None:
                found.append(step)
    return min(found) if found else None


def checkpoint_before(run: str | os.PathLike, step: int) -> int:
    """The last complete checkpoint strictly before ``step``."""
    earlier = [s for s in rundir.list_checkpoints(run) if s < step]
    if not earlier:
        raise ArtifactError(f"{run}: no checkpoint before step {step}; pass --step explicitly")
    return earlier[-1]


def resolve_heads(run: str | os.PathLike, heads: str) -> list[HeadRef]:
    return [top_head(run)] if heads.strip() == "top" else parse_heads(heads)


def attribute_run(run: str | os.PathLike, out: str | os.PathLike, *, heads: str = "top",
                  step: int | None = None, end_step: int | None = None, threshold: float = 0.3,
                  overwrite: bool = False, **options) -> Path:
    """Attribute ``run``'s head(s) at a checkpoint over the run's own data order.

    Args:
        run: run directory (``mda-augment train``).
        out: artifact directory.
        heads: ``top`` or names such as ``L1H0,L0H3``.
        step: checkpoint to attribute (default: the one before emergence).
        end_step: window end (default: ``step``).
        threshold: prefix-matching emergence threshold used when ``step`` is None.
        overwrite: rebuild a complete artifact.
        **options: further :class:`AttributionConfig` fields (probe, mode, start_step, sample...).
    """
    run = Path(run)
    if not (run / CONFIG_NAME).is_file():
        raise ArtifactError(f"{run}: not a run directory (no config.json); train first")
    targets = resolve_heads(run, heads)
    emerged = emergence(run, targets, threshold) if (run / rundir.UNITS).is_file() else None
    if step is None:
        if emerged is None:
            raise ConfigError(f"{run}: heads {','.join(map(str, targets))} never reach {METRIC} "
                              f">= {threshold}; pass --step")
        step = checkpoint_before(run, emerged)
    if step not in rundir.list_checkpoints(run):
        raise ArtifactError(f"{run}: no checkpoint at step {step}; available "
                            f"{rundir.list_checkpoints(run)}")
    record = read_json(run / CONFIG_NAME)
    cfg = AttributionConfig(heads=[str(h) for h in targets], step=step,
                            end_step=end_step if end_step is not None else step, **options)
    order = PackedOrder(record["corpus"], record["global_batch"])
    model = rundir.load_model_at(run, step)
    provenance = {"run": str(run.resolve()), "corpus": record["corpus"], "global_batch": record["global_batch"],
                  "emergence_step": emerged, "threshold": threshold}
    loaders = {s: partial(rundir.load_model_at, run, s) for s in rundir.list_checkpoints(run)}
    return attribute(model, order, cfg, out, overwrite=overwrite, record=provenance,
                     checkpoints=loaders, lr=run_lr(record))


def run_lr(record: dict) -> Callable[[int], float]:
    """The learning rate a run (its resolved ``config.json``) used at each step, relative to its peak."""
    from ..training.schedule import lr_at

    return partial(lr_at, peak=1.0, warmup=record["warmup_steps"], total=record["steps"],
                   schedule=record["schedule"], min_ratio=record["min_lr_ratio"])


def attribute_pythia(name: str, token_file: str | os.PathLike, out: str | os.PathLike, *, heads: str,
                     step: int, revision: str | None = None, model=None, overwrite: bool = False,
                     seq_len: int = 2049, batch: int = 1024, tokenizer=None, **options) -> Path:
    """Attribute a released Pythia checkpoint (``revision`` defaults to ``step{step}``).

    ``model`` may be passed directly (tests use a tiny local model); otherwise it is loaded from
    the Hugging Face hub with :func:`mda_augment.model.build.load_pythia`, and ``checkpoint_mode``
    ``nearest``/``tracin`` load the released revisions they need (``PYTHIA_CHECKPOINTS``) and
    weight them by Pythia's schedule.
    """
    if heads.strip() == "top":
        raise ConfigError("heads: 'top' needs a run's units.parquet; name Pythia heads, e.g. L2H2")
    order = PythiaOrder(token_file, seq_len=seq_len, batch=batch, tokenizer=tokenizer,
                        vocab_size=model.config.vocab_size if model is not None else 50304)
    loaders = None
    if model is None:
        from ..model.build import load_pythia

        model = load_pythia(name, revision or f"step{step}")
        loaders = {s: partial(load_pythia, name, f"step{s}") for s in PYTHIA_CHECKPOINTS}
    end = options.pop("end_step", None)
    cfg = AttributionConfig(heads=[str(h) for h in parse_heads(heads)], step=step,
                            end_step=end if end is not None else step, **options)
    record = {"pythia": name, "revision": revision or f"step{step}", "token_file": str(Path(token_file).resolve())}
    return attribute(model, order, cfg, out, overwrite=overwrite, record=record, checkpoints=loaders,
                     lr=pythia_lr)


# EleutherAI's released revisions and schedule (FACTS: warmup 1% of 143,000 steps, cosine to 10%).
PYTHIA_STEPS = 143_000
PYTHIA_CHECKPOINTS = [0] + [2**i for i in range(10)] + list(range(1000, PYTHIA_STEPS + 1, 1000))


def pythia_lr(step: int) -> float:
    """Pythia's learning rate at ``step`` relative to its peak (only ratios are used)."""
    from ..training.schedule import lr_at

    return lr_at(step, peak=1.0, warmup=PYTHIA_STEPS // 100, total=PYTHIA_STEPS, schedule="cosine", min_ratio=0.1)
