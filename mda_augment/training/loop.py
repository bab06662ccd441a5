"""The training loop: Pythia-style optimisation with exact data provenance and resume.

Step ``s`` consumes ``PackedCorpus.batch_ids(s, global_batch)`` (split evenly over devices,
then into micro-batches for gradient accumulation), so "step N saw exactly these sequences"
holds by construction. Checkpoints follow Pythia's calendar and hold everything needed to
continue: rerunning the same command after a crash (even ``kill -9``) resumes from the last
complete checkpoint and replays the same batches, giving the same loss curve as an
uninterrupted run. See :mod:`rundir` for the directory layout.

Several processes (``accelerate launch --multi_gpu --num_processes N -m mda_augment train ...``,
DDP; on CPU over gloo) split each global batch evenly, so the loss curve is the one process's
at the same global batch, up to float reduction order. Only the main process writes the run
directory (config, checkpoints, logs, ``progress.json``, unit metrics); the others wait at
each checkpoint. Each step's time gives tokens/s and MFU (:mod:`.throughput`), recorded per
step in ``metrics.parquet`` and for the whole run in ``throughput.json``.
"""

from __future__ import annotations

import contextlib
import platform
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import torch
import torch.nn.functional as F
from accelerate import Accelerator
from accelerate.state import AcceleratorState
from tqdm import tqdm

from ..artifacts import CONFIG_NAME, MARKER, atomic_write_json, is_complete, read_json, to_jsonable
from ..console import say
from ..corpus.fingerprint import packed_fingerprint
from ..corpus.packed import PackedCorpus
from ..errors import ConfigError
from ..model.build import build_model, count_parameters
from ..model.presets import get_preset
from ..units.evaluate import UnitEvaluator
from . import rundir
from .config import TrainConfig
from .feed import BatchFeed
from .logs import ParquetLog
from .progress import ProgressWriter
from .schedule import checkpoint_steps, lr_at
from .throughput import (
    FLOPS_ACCOUNTING,
    THROUGHPUT,
    Throughput,
    flops_per_token,
    peak_flops,
    summary_line,
)

# ``mfu`` was added later: older run directories lack it and read back as null (see logs.py).
METRICS_SCHEMA = {"step": pl.Int64, "tokens": pl.Int64, "loss": pl.Float64, "lr": pl.Float64,
                  "tokens_per_s": pl.Float64, "mfu": pl.Float64}
TIMING_COLUMNS = ("tokens_per_s", "mfu")  # wall-clock figures: the columns that differ between equal runs
UNITS_SCHEMA = {"step": pl.Int64, "layer": pl.Int32, "head": pl.Int32, "metric": pl.Utf8,
                "value": pl.Float64}


class _Discard:
    """A log on a process other than the main one: every table is written once, by the main."""

    def append(self, rows: list[dict]) -> None:
        pass

    def flush(self) -> None:
        pass

    def truncate_from(self, step: int) -> None:
        pass


def use_cuda(device: str) -> bool:
    """Whether a run with ``device`` (auto, cpu, cuda) trains on CUDA."""
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device cuda: no CUDA device is visible to this process; use device auto or cpu")
    return device == "cuda" or (device == "auto" and torch.cuda.is_available())


@dataclass
class RunState:
    """What the loop needs besides the model and optimizer."""

    step: int
    tokens: int


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices only (not on biases or layer-norm gains)."""
    decay, no_decay = [], []
    seen: set[int] = set()
    for _, p in model.named_parameters():
        if id(p) in seen or not p.requires_grad:
            continue
        seen.add(id(p))
        (decay if p.dim() >= 2 else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": cfg.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    # The fused kernel (CPU and CUDA) is the same update as the foreach one, ~20-30% faster
    # per step on the nano scale where the optimizer is a visible share of the step.
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=cfg.betas, eps=cfg.eps, fused=True)


def resolved_record(cfg: TrainConfig, corpus: PackedCorpus, model: torch.nn.Module) -> dict:
    """The run's ``config.json``: resolved config plus what later stages need to know.

    ``fingerprint`` records what makes a loss curve reproducible (see README
    "Reproducibility"): the exact token files read (hashed here, so a mixture variant's own
    order is covered too), the torch version and the thread count (float sums are only
    bit-identical at the same version and thread count).
    """
    fingerprint = {**{k: v for k, v in packed_fingerprint(corpus.dir).items() if k != "heldout_sha256"},
                   "torch": torch.__version__, "threads": torch.get_num_threads()}
    return {**to_jsonable(cfg), "corpus": str(Path(corpus.dir).resolve()),
            "global_batch": cfg.global_batch, "seq_len": corpus.seq_len,
            "vocab_size": corpus.vocab_size, "model": model.config.to_dict(),
            "fingerprint": fingerprint}


def check_same_run(out: Path, record: dict) -> None:
    """Refuse to resume a run directory that was started with a different recipe."""
    old = read_json(out / CONFIG_NAME)
    keys = ("preset", "corpus", "steps", "seed", "global_batch", "micro_batch", "lr", "schedule",
            "warmup_steps", "weight_decay")
    diff = [k for k in keys if old.get(k) != record.get(k)]
    if diff:
        raise ConfigError(f"{out}: exists with a different {diff[0]} ({old.get(diff[0])!r} vs "
                          f"{record.get(diff[0])!r}); pass overwrite or choose another out")


class Trainer:
    """One run: builds or resumes the model, trains, evaluates units and checkpoints."""

    def __init__(self, cfg: TrainConfig, overwrite: bool = False):
        self.cfg = cfg
        self.out = Path(cfg.out)
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        cuda = use_cuda(cfg.device)
        self.precision = "bf16" if cfg.precision == "bf16" or (cfg.precision == "auto" and cuda) else "fp32"
        # accelerate runs the prepared model's forward under torch.autocast(bf16) and casts its
        # outputs back to fp32; the loss below is computed from fp32 logits.
        # accelerate keeps one AcceleratorState per process and refuses another precision; a
        # worker process trains several runs in turn, so reset it (the process group stays).
        AcceleratorState._reset_state(reset_partial_state=False)
        self.acc = Accelerator(mixed_precision="bf16" if self.precision == "bf16" else "no", cpu=not cuda)
        self.corpus = PackedCorpus(cfg.corpus)
        world = self.acc.num_processes
        if cfg.global_batch % (world * cfg.micro_batch):
            raise ConfigError(f"global_batch {cfg.global_batch} must be a multiple of "
                              f"{world} devices x micro_batch {cfg.micro_batch}")
        self.model = build_model(get_preset(cfg.preset), self.corpus.vocab_size, self.corpus.seq_len, cfg.seed)
        self.optimizer = make_optimizer(self.model, cfg)
        self.record = resolved_record(cfg, self.corpus, self.model)
        self.ckpt_steps = set(checkpoint_steps(cfg.steps, cfg.checkpoint_log_until, cfg.checkpoint_every))
        self.evaluator = UnitEvaluator(self.corpus, cfg.units)
        self._prepare_dir(overwrite)
        main = self.acc.is_main_process
        self.metrics = ParquetLog(self.out / rundir.METRICS, METRICS_SCHEMA) if main else _Discard()
        self.units = ParquetLog(self.out / rundir.UNITS, UNITS_SCHEMA) if main else _Discard()
        self.state = self._resume()
        self.throughput = self._throughput()
        self.model, self.optimizer = self.acc.prepare(self.model, self.optimizer)
        self.forward = torch.compile(self.model) if cfg.compile else self.model

    def _throughput(self) -> Throughput:
        """FLOPs per step and the device's peak, for MFU (see :mod:`.throughput`)."""
        mc, context = self.model.config, self.corpus.seq_len - 1
        per_token = flops_per_token(count_parameters(self.model, non_embedding=True),
                                    mc.num_hidden_layers, mc.hidden_size, context)
        peak, self.peak_source = peak_flops(self.device_name, self.precision, self.cfg.peak_tflops)
        return Throughput(per_token, self.cfg.global_batch * context, peak, self.acc.num_processes)

    @property
    def device_name(self) -> str:
        if self.acc.device.type == "cuda":
            return torch.cuda.get_device_name(self.acc.device)
        return platform.processor() or platform.machine() or "cpu"

    @property
    def raw_model(self) -> torch.nn.Module:
        return self.acc.unwrap_model(self.model)

    def _prepare_dir(self, overwrite: bool) -> None:
        if overwrite and self.out.exists() and self.acc.is_main_process:
            shutil.rmtree(self.out)
        self.acc.wait_for_everyone()
        if (self.out / CONFIG_NAME).is_file():
            check_same_run(self.out, self.record)
        elif self.acc.is_main_process:
            atomic_write_json(self.out / CONFIG_NAME, self.record)

    def _resume(self) -> RunState:
        """Load the newest complete checkpoint, or start fresh at step 0."""
        steps = rundir.list_checkpoints(self.out)
        if not steps:
            self.metrics.truncate_from(0)
            self.units.truncate_from(0)
            return RunState(step=0, tokens=0)
        state = rundir.load_training_state(rundir.checkpoint_dir(self.out, steps[-1]), self.model, self.optimizer)
        self.metrics.truncate_from(state["step"])
        self.units.truncate_from(state["step"])
        return RunState(step=state["step"], tokens=state["tokens"])

    def _batch(self, step: int) -> torch.Tensor:
        """This device's share of the global batch at ``step``: (per_device, seq_len) int64, on the host."""
        ids = self.corpus.batch_ids(step, self.cfg.global_batch)
        per = len(ids) // self.acc.num_processes
        mine = ids[self.acc.process_index * per : (self.acc.process_index + 1) * per]
        return torch.from_numpy(np.asarray(self.corpus.tokens[mine], dtype=np.int64))

    def train_step(self, step: int, tokens: torch.Tensor | None = None) -> float:
        """One optimizer step with gradient accumulation; returns the global mean loss.

        ``tokens`` is this device's batch of ``step`` (from a :class:`BatchFeed`); built here when None.
        """
        lr = self.lr(step)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        if tokens is None:
            tokens = self._batch(step).to(self.acc.device)
        micro = tokens.split(self.cfg.micro_batch)
        total = torch.zeros((), device=self.acc.device)
        for i, chunk in enumerate(micro):
            sync = i == len(micro) - 1
            ctx = self.acc.no_sync(self.model) if not sync else contextlib.nullcontext()
            with ctx:
                logits = self.forward(chunk[:, :-1]).logits  # (micro, seq-1, vocab)
                loss = F.cross_entropy(logits.float().flatten(0, 1), chunk[:, 1:].flatten())
                self.acc.backward(loss / len(micro))
            total += loss.detach() / len(micro)
        self.acc.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        return float(self.acc.reduce(total, reduction="mean"))

    def lr(self, step: int) -> float:
        c = self.cfg
        return lr_at(step, peak=c.lr, warmup=c.warmup_steps, total=c.steps, schedule=c.schedule,
                     min_ratio=c.min_lr_ratio)

    def _checkpoint_and_eval(self, step: int) -> None:
        """At a checkpoint step: flush logs, save; then units (both only on the main process)."""
        is_ckpt = step in self.ckpt_steps
        if not (is_ckpt or step % self.cfg.eval_every == 0):
            return
        if self.acc.is_main_process:
            if is_ckpt and step not in rundir.list_checkpoints(self.out):
                self.metrics.flush()
                self.units.flush()
                state = {"step": step, "tokens": self.state.tokens,
                         "sequences_consumed": step * self.cfg.global_batch,
                         "global_batch": self.cfg.global_batch, "corpus": self.record["corpus"]}
                rundir.save_checkpoint(self.out, step, self.raw_model, self.optimizer, state)
            rows = self.evaluator.evaluate(self.raw_model, step)
            self.progress.eval_rows(rows)
            self.units.append(rows)
            self.units.flush()
        self.acc.wait_for_everyone()

    def run(self) -> Path:
        """Train to ``cfg.steps`` (from wherever the run directory left off)."""
        cfg = self.cfg
        tokens_per_step = cfg.global_batch * self.corpus.seq_len
        main = self.acc.is_main_process
        bar = tqdm(total=cfg.steps, initial=self.state.step, unit="step", disable=not (cfg.progress and main))
        self.progress = ProgressWriter(self.out, cfg.steps, self.state.step)
        last_flush = time.monotonic()
        steps = range(self.state.step, cfg.steps)
        with BatchFeed(self._batch, steps, self.acc.device, cfg.prefetch) as feed:
            for step in steps:
                self._checkpoint_and_eval(step)
                t0 = time.perf_counter()
                loss = self.train_step(step, feed.get(step))
                seconds = time.perf_counter() - t0
                rate, mfu = tokens_per_step / seconds, self.throughput.mfu(seconds)
                self.state = RunState(step=step + 1, tokens=self.state.tokens + tokens_per_step)
                self.metrics.append([{"step": step, "tokens": self.state.tokens, "loss": loss,
                                      "lr": self.lr(step), "tokens_per_s": rate, "mfu": mfu}])
                bar.update(1)
                score = "-" if self.progress.score is None else f"{self.progress.score:.3f}"
                bar.set_postfix(loss=f"{loss:.3f}", prefix_matching=score, tok_s=f"{rate:,.0f}",
                                **({} if mfu is None else {"mfu": f"{mfu:.1%}"}))
                if main:
                    self.progress.update(step + 1, loss, rate)
                if time.monotonic() - last_flush > cfg.flush_every_s and main:
                    self.metrics.flush()
                    last_flush = time.monotonic()
        self._checkpoint_and_eval(cfg.steps)
        bar.close()
        if main:
            self.progress.update(cfg.steps, None, force=True)
            self.metrics.flush()
            summary = self.summary()
            atomic_write_json(self.out / THROUGHPUT, summary)
            if cfg.progress:
                say(summary_line(f"run {self.out}", summary))
            atomic_write_json(self.out / MARKER, {"steps": cfg.steps, "tokens": self.state.tokens})
        return self.out

    def summary(self) -> dict:
        """The run's throughput over all its timed steps (evaluation and checkpoints excluded)."""
        consumed = self.cfg.global_batch * self.corpus.seq_len
        rates = self.metrics.frame()["tokens_per_s"].drop_nulls()
        seconds = float((consumed / rates).sum()) if len(rates) else 0.0
        t = self.throughput
        return {"tokens_per_s": consumed * len(rates) / seconds if seconds else 0.0,
                "mfu": t.mfu(seconds / len(rates)) if seconds else None,
                "step_seconds_median": float((consumed / rates).median()) if len(rates) else None,
                "steps_timed": len(rates), "flops_per_token": t.flops_per_token,
                "flop_accounting": FLOPS_ACCOUNTING, "trained_tokens_per_step": t.tokens_per_step,
                "peak_flops": t.peak_flops, "peak_source": self.peak_source, "devices": t.devices,
                "device": self.acc.device.type, "device_name": self.device_name,
                "precision": self.precision, "compile": self.cfg.compile}


def train(cfg: TrainConfig, overwrite: bool = False) -> Path:
    """Train (or resume, or skip when complete) the run described by ``cfg``."""
    out = Path(cfg.out)
    if is_complete(out) and not overwrite:
        return out
    return Trainer(cfg, overwrite=overwrite).run()
