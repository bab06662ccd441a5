"""Train k runs as one stacked model: seeds of an arm, or arms of a seed, for less CPU.

``train_batched(cfgs)`` trains k :class:`TrainConfig` runs that share the recipe (preset,
steps, schedule, batch, calendar) but have their own seed (init), corpus (data order) and run
directory, in one process: every step feeds member ``m`` its own
``PackedCorpus(cfg.corpus).batch_ids(step, global_batch)`` through the stacked model of
:mod:`stacked`, clips each member's gradients by its own norm and applies one fused AdamW.
Each member's directory is written exactly as the single :class:`loop.Trainer` writes it
(``config.json``, checkpoints on the same calendar with the optimizer state in the same
format, ``metrics.parquet``, ``units.parquet`` from the same :class:`UnitEvaluator`,
``_COMPLETE.json``), so later stages read it unchanged and a single run can resume it.

Resume: each member starts from its own newest complete checkpoint (or fresh at step 0), so
a crash, or arms branched from a trunk checkpoint copied into their directories, continue
where they are. Members at the same step train together; a group that is behind trains alone
until it reaches the next group's step (saving a checkpoint there), then they merge.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ..artifacts import MARKER, atomic_write_json, is_complete
from ..errors import ConfigError
from . import rundir
from .config import TrainConfig
from .members import Member, check_members, load_members
from .stacked import StackedGPTNeoX
from .stacked_optim import MemberOptimizerView, StackedAdamW, group_names

__all__ = ["BatchedTrainer", "train_batched"]


class BatchedTrainer:
    """k members, all at the same step, trained as one stacked model until a given step."""

    def __init__(self, cfgs: list[TrainConfig]):
        self.cfg = cfgs[0]  # the shared recipe (check_members: equal where it matters)
        if self.cfg.threads:
            torch.set_num_threads(self.cfg.threads)
        self.members: list[Member] = load_members(cfgs)
        starts = {m.step for m in self.members}
        if len(starts) != 1:
            raise ConfigError(f"batched training: members start at different steps {sorted(starts)}; "
                              "use train_batched, which groups them")
        self.step = starts.pop()
        self.stacked = StackedGPTNeoX([m.model for m in self.members])
        self.optimizer = StackedAdamW(self.stacked, group_names(self.members[0].model, self.cfg), self.cfg)
        if self.step > 0:
            self.optimizer.load_member_states([m.optimizer_state for m in self.members])
        for m in self.members:
            m.optimizer_state = None  # now held by the stack
        self.seq_len = self.members[0].corpus.seq_len

    @property
    def k(self) -> int:
        return len(self.members)

    def lr(self, step: int) -> float:
        return self.members[0].lr(step)

    def batch(self, step: int) -> torch.Tensor:
        """Every member's global batch at ``step``: (k, global_batch, seq_len) int64."""
        rows = [np.asarray(m.corpus.tokens[m.corpus.batch_ids(step, self.cfg.global_batch)], dtype=np.int64)
                for m in self.members]
        return torch.from_numpy(np.stack(rows))

    def train_step(self, step: int) -> torch.Tensor:
        """One optimizer step of every member; returns (k,) mean losses, as the single trainer logs."""
        self.optimizer.set_lr(self.lr(step))
        micro = self.batch(step).split(self.cfg.micro_batch, dim=1)
        total = torch.zeros(self.k)
        for chunk in micro:
            losses = self.stacked.losses(chunk)  # (k,)
            (losses.sum() / len(micro)).backward()  # members are independent: sum = each own loss
            total += losses.detach() / len(micro)
        self.optimizer.step()
        return total

    def _checkpoint_and_eval(self, step: int, evaluate: bool = True, force_checkpoint: bool = False) -> None:
        """The single trainer's per-step bookkeeping, for every member."""
        for i, m in enumerate(self.members):
            is_ckpt = step in m.ckpt_steps or force_checkpoint
            due = evaluate and (step in m.ckpt_steps or step % self.cfg.eval_every == 0)
            if not (is_ckpt or due):
                continue
            self.stacked.write_member(i, m.model)
            if is_ckpt and step not in rundir.list_checkpoints(m.out):
                m.metrics.flush()
                m.units.flush()
                m.save_checkpoint(step, MemberOptimizerView(self.optimizer, i))
            if due:
                m.units.append(m.evaluator.evaluate(m.model, step))
                m.units.flush()

    def run(self, until: int | None = None) -> None:
        """Train steps ``[self.step, until)``; at the recipe's end, finish every member's run.

        Stopping short of the end (a group catching up with members that are ahead) leaves a
        checkpoint at ``until`` and no unit evaluation there: the merged group evaluates it.
        """
        cfg = self.cfg
        until = cfg.steps if until is None else until
        tokens_per_step = cfg.global_batch * self.seq_len
        bar = tqdm(total=until, initial=self.step, unit="step", disable=not cfg.progress,
                   desc=f"batched x{self.k}")
        last_flush = time.monotonic()
        for step in range(self.step, until):
            self._checkpoint_and_eval(step)
            t0 = time.perf_counter()
            losses = self.train_step(step).tolist()
            rate = tokens_per_step / (time.perf_counter() - t0)  # one member's tokens per wall second
            for m, loss in zip(self.members, losses, strict=True):
                m.log_step(step, tokens_per_step, loss, self.lr(step), rate)
            bar.update(1)
            bar.set_postfix(loss=f"{np.mean(losses):.3f}", tok_s=f"{rate * self.k:,.0f}")
            if time.monotonic() - last_flush > cfg.flush_every_s:
                for m in self.members:
                    m.metrics.flush()
                last_flush = time.monotonic()
        self.step = until
        bar.close()
        if until < cfg.steps:
            self._checkpoint_and_eval(until, evaluate=False, force_checkpoint=True)
            for m in self.members:
                m.metrics.flush()
            return
        self._checkpoint_and_eval(until)
        for m in self.members:
            m.metrics.flush()
            atomic_write_json(m.out / MARKER, {"steps": cfg.steps, "tokens": m.tokens})


def _start_step(cfg: TrainConfig) -> int:
    steps = rundir.list_checkpoints(cfg.out)
    return steps[-1] if steps else 0


def train_batched(cfgs: list[TrainConfig], overwrite: bool = False) -> list[Path]:
    """Train (or resume, or skip when complete) k runs together; returns their run directories.

    Args:
        cfgs: one config per member. They must agree on everything but ``seed``, ``corpus``,
            ``out``, ``units``, ``progress`` and ``flush_every_s`` (a ConfigError names the
            first field that differs), and their corpora must share ``seq_len`` and vocabulary.
        overwrite: delete the members' run directories first.

    Each member starts from its own newest complete checkpoint; see the module docstring for
    how members at different steps are grouped.
    """
    cfgs = list(cfgs)
    check_members(cfgs)
    if overwrite:
        for cfg in cfgs:
            shutil.rmtree(cfg.out, ignore_errors=True)
    while todo := [c for c in cfgs if not is_complete(c.out)]:
        starts = [_start_step(c) for c in todo]
        low = min(starts)
        ahead = [s for s in starts if s > low]
        group = [c for c, s in zip(todo, starts, strict=True) if s == low]
        BatchedTrainer(group).run(until=min(ahead) if ahead else None)
    return [Path(c.out) for c in cfgs]
