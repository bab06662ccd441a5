"""The counterfactual check: continue training without chosen sequences and watch the head.

Nothing in the trainer changes. A *reordered corpus* is a packed-corpus directory that shares
the original's token files (symlinks) and differs only in ``order.npy``: consumption
positions before ``from_pos`` are untouched (what the checkpoint already saw), and from there
on the removed sequence ids are moved to the end of epoch 0, so a continuation that stops
before the end of the epoch never sees them and every later sequence moves up. A
*continuation* is a new run directory seeded with a copy of one checkpoint of the original run
(weights, optimizer, RNG; :func:`mda_augment.experiments.spawn.seed_checkpoint`, the same
branching the experiment's arms use), which the trainer then resumes as if it had crashed there.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from ..artifacts import CONFIG_NAME, atomic_write_json, building, read_json
from ..corpus.layout import META, ORDER, TOKEN_FILES, TOKENIZER
from ..errors import ConfigError
from ..experiments.spawn import seed_checkpoint
from ..training.config import TrainConfig
from ..training.loop import train

SHARED = (*TOKEN_FILES, TOKENIZER)


def reordered_corpus(src: str | os.PathLike, out: str | os.PathLike, remove: np.ndarray, from_pos: int,
                     *, shuffle_seed: int | None = None, overwrite: bool = False) -> Path:
    """A corpus whose epoch-0 order skips ``remove`` from position ``from_pos`` on.

    Args:
        src: original packed corpus.
        out: new corpus directory (token files are symlinked, not copied).
        remove: sequence ids to drop.
        from_pos: first consumption position that may change (``start_step * global_batch``).
        shuffle_seed: if set, the positions from ``from_pos`` on are first permuted with this
            seed, the same way whatever ``remove`` is, so arms that share a seed differ only
            by the removal (replicates of the removal check).
    """
    src, out = Path(src).resolve(), Path(out)
    remove = np.unique(np.asarray(remove, dtype=np.int64))
    with building(out, config={"source": str(src), "removed": len(remove), "from_pos": from_pos,
                               "shuffle_seed": shuffle_seed},
                  overwrite=overwrite) as tmp:
        if tmp is None:
            return out
        for name in SHARED:
            if (src / name).exists():
                os.symlink(src / name, tmp / name)
        order = np.load(src / ORDER)
        head, tail = order[:from_pos], order[from_pos:]
        if shuffle_seed is not None:
            tail = tail[np.random.default_rng([shuffle_seed, 7]).permutation(len(tail))]
        gone = np.isin(tail, remove)
        np.save(tmp / ORDER, np.concatenate([head, tail[~gone], tail[gone]]))
        np.save(tmp / "removed.npy", remove)
        meta = read_json(src / META)
        meta.update({"derived_from": str(src), "clean_positions": int(from_pos + (~gone).sum())})
        atomic_write_json(tmp / META, meta)
    return out


def continue_training(run: str | os.PathLike, step: int, corpus: str | os.PathLike, out: str | os.PathLike,
                      *, steps: int | None = None, overwrite: bool = False) -> Path:
    """Resume ``run``'s checkpoint ``step`` on ``corpus`` into the new run ``out``.

    The recipe (model, optimizer, schedule, unit probes) is the original's; only the data
    order and the output directory differ. ``steps`` defaults to the original length, so the
    learning-rate schedule is the same.
    """
    run, out = Path(run), Path(out)
    record = read_json(run / CONFIG_NAME)
    fields = {k: v for k, v in record.items() if k in TrainConfig.model_fields}
    fields.update({"corpus": str(corpus), "out": str(out), "progress": False})
    if steps is not None:
        fields["steps"] = steps
    cfg = TrainConfig(**fields)
    meta = read_json(Path(corpus) / META)
    clean = meta.get("clean_positions")
    if clean is not None and cfg.steps * cfg.global_batch > clean:
        raise ConfigError(f"{corpus}: only {clean // cfg.global_batch} steps of data remain after "
                          f"removal, the continuation needs {cfg.steps}; use fewer steps")
    if overwrite and out.exists():
        shutil.rmtree(out)
    seed_checkpoint(run, step, out)
    return train(cfg)
