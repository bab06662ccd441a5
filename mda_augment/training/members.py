"""One member of a batched run: its config, corpus, run directory, logs and resume point.

Everything here mirrors what :class:`loop.Trainer` does for its single run (same
``config.json`` record and same-recipe check, same calendar, same logs and truncation on
resume, same checkpoint files), so that a member's directory cannot be told apart from a
single run's except by float rounding in its numbers.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_model
from transformers import GPTNeoXForCausalLM

from ..artifacts import CONFIG_NAME, atomic_write_json, read_json, to_jsonable
from ..corpus.packed import PackedCorpus
from ..errors import ConfigError
from ..model.build import build_model
from ..model.presets import get_preset
from ..units.evaluate import UnitEvaluator
from . import rundir
from .config import TrainConfig
from .logs import ParquetLog
from .loop import METRICS_SCHEMA, UNITS_SCHEMA, check_same_run, resolved_record
from .schedule import checkpoint_steps, lr_at

# Fields every member must share: they define the computation and the calendar. A member may
# differ in seed, corpus, out and units (and in progress / flush_every_s, taken from the first).
SHARED_FIELDS = ("preset", "steps", "global_batch", "micro_batch", "lr", "warmup_steps", "schedule",
                 "min_lr_ratio", "weight_decay", "betas", "eps", "grad_clip", "checkpoint_log_until",
                 "checkpoint_every", "eval_every", "precision", "compile", "threads")


def check_members(cfgs: list[TrainConfig]) -> None:
    """Raise a one-line ConfigError if these configs cannot be trained as one batch."""
    if not cfgs:
        raise ConfigError("batched training: no runs given")
    first = cfgs[0]
    for cfg in cfgs[1:]:
        for field in SHARED_FIELDS:
            a, b = getattr(first, field), getattr(cfg, field)
            if a != b:
                raise ConfigError(f"batched training: {cfg.out} has {field}={b!r} but {first.out} has "
                                  f"{a!r}; members must share {field} (train them in separate batches)")
    outs = [Path(c.out).resolve() for c in cfgs]
    if len(set(outs)) != len(outs):
        raise ConfigError("batched training: two members write the same out directory; give each its own")
    if first.compile:
        raise ConfigError("batched training: compile is not supported; set compile: false")
    if first.precision == "bf16" or (first.precision == "auto" and torch.cuda.is_available()):
        raise ConfigError("batched training runs in fp32 on CPU; set precision: fp32 "
                          "(or train these runs one by one on the GPU)")


class Member:
    """A run of a batch: built (seeded init) or resumed from its newest complete checkpoint."""

    def __init__(self, cfg: TrainConfig, corpus: PackedCorpus, evaluator: UnitEvaluator):
        self.cfg, self.out, self.corpus, self.evaluator = cfg, Path(cfg.out), corpus, evaluator
        self.model: GPTNeoXForCausalLM = build_model(get_preset(cfg.preset), corpus.vocab_size,
                                                     corpus.seq_len, cfg.seed)
        # The single trainer's process RNG right after building this model: what its
        # checkpoints record (training itself draws no random numbers).
        self.rng = rundir.rng_state()
        self.record = resolved_record(cfg, corpus, self.model)
        self.ckpt_steps = set(checkpoint_steps(cfg.steps, cfg.checkpoint_log_until, cfg.checkpoint_every))
        if (self.out / CONFIG_NAME).is_file():
            check_same_run(self.out, self.record)
        else:
            atomic_write_json(self.out / CONFIG_NAME, self.record)
        self.metrics = ParquetLog(self.out / rundir.METRICS, METRICS_SCHEMA)
        self.units = ParquetLog(self.out / rundir.UNITS, UNITS_SCHEMA)
        self.optimizer_state: dict | None = None
        self.step, self.tokens = self._resume()

    def _resume(self) -> tuple[int, int]:
        """Load the newest complete checkpoint (weights, optimizer state, RNG) or start at 0."""
        steps = rundir.list_checkpoints(self.out)
        if not steps:
            self.metrics.truncate_from(0)
            self.units.truncate_from(0)
            return 0, 0
        directory = rundir.checkpoint_dir(self.out, steps[-1])
        load_model(self.model, str(directory / rundir.WEIGHTS))
        self.optimizer_state = torch.load(directory / rundir.OPTIMIZER, map_location="cpu", weights_only=False)
        self.rng = torch.load(directory / rundir.RNG, weights_only=False)
        state = read_json(directory / rundir.STATE)
        self.metrics.truncate_from(state["step"])
        self.units.truncate_from(state["step"])
        return state["step"], state["tokens"]

    def lr(self, step: int) -> float:
        c = self.cfg
        return lr_at(step, peak=c.lr, warmup=c.warmup_steps, total=c.steps, schedule=c.schedule,
                     min_ratio=c.min_lr_ratio)

    def log_step(self, step: int, tokens: int, loss: float, lr: float, rate: float) -> None:
        self.step, self.tokens = step + 1, self.tokens + tokens
        self.metrics.append([{"step": step, "tokens": self.tokens, "loss": loss, "lr": lr,
                              "tokens_per_s": rate}])

    def save_checkpoint(self, step: int, optimizer) -> None:  # noqa: ANN001 (has state_dict())
        """``rundir.save_checkpoint`` with this member's RNG state (not the shared process's)."""
        state = {"step": step, "tokens": self.tokens, "sequences_consumed": step * self.cfg.global_batch,
                 "global_batch": self.cfg.global_batch, "corpus": self.record["corpus"]}
        rundir.set_rng_state(self.rng)
        rundir.save_checkpoint(self.out, step, self.model, optimizer, state)


def load_members(cfgs: list[TrainConfig]) -> list[Member]:
    """Build every member; corpora and probe data are shared between members that share them."""
    corpora: dict[Path, PackedCorpus] = {}
    for cfg in cfgs:
        where = Path(cfg.corpus).resolve()
        if where not in corpora:
            corpora[where] = PackedCorpus(cfg.corpus)
    shapes = {(c.seq_len, c.vocab_size): c.dir for c in corpora.values()}
    if len(shapes) > 1:
        (shape_a, dir_a), (shape_b, dir_b) = list(shapes.items())[:2]
        raise ConfigError(f"batched training: corpus {dir_b} has (seq_len, vocab) {shape_b} but {dir_a} "
                          f"has {shape_a}; members need the same shape")
    evaluators: dict[tuple, UnitEvaluator] = {}
    members = []
    for cfg in cfgs:
        corpus = corpora[Path(cfg.corpus).resolve()]
        key = (corpus.dir, json.dumps(to_jsonable(cfg.units), sort_keys=True))
        if key not in evaluators:
            evaluators[key] = UnitEvaluator(corpus, cfg.units)
        members.append(Member(cfg, corpus, evaluators[key]))
    return members
