"""Training throughput: our trainer vs a plain Hugging Face ``Trainer`` loop, same run.

Same model (a preset, same seed), same packed corpus, same batch, same optimizer settings
(AdamW 0.9/0.95, wd 0.1, clip 1.0, warmup then cosine). Each side is timed over the same
number of optimizer steps after a few warm-up steps, with unit evaluation and checkpointing
off, alternating the two sides ``--rounds`` times so that a busy machine hurts both alike.
Throughput is reported per wall second and per CPU second of this process (``process_time``):
on a shared machine the wall figure swings with other jobs, the CPU figure much less.

    python benchmarks/bench_train.py --corpus /work/data/packed-small-bpe512-128 --preset nano
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from transformers import Trainer as HFTrainer
from transformers import TrainerCallback, TrainingArguments

from mda_augment.corpus.packed import PackedCorpus
from mda_augment.model.build import build_model
from mda_augment.model.presets import get_preset
from mda_augment.training.config import TrainConfig
from mda_augment.training.loop import Trainer

WARMUP = 5


class CorpusDataset(torch.utils.data.Dataset):
    """The packed sequences in training order, as HF ``Trainer`` wants them."""

    def __init__(self, corpus: PackedCorpus, n: int):
        self.corpus, self.ids = corpus, corpus.order(0, n)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict:
        seq = torch.from_numpy(np.asarray(self.corpus.tokens[self.ids[i]], dtype=np.int64))
        return {"input_ids": seq, "labels": seq}


def _now() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _rates(tokens: int, start: tuple[float, float], stop: tuple[float, float]) -> tuple[float, float]:
    """(tokens per wall second, tokens per CPU second)."""
    return tokens / (stop[0] - start[0]), tokens / (stop[1] - start[1])


def ours(cfg: TrainConfig, steps: int) -> tuple[float, float]:
    """Tokens/s of our trainer's optimizer steps (no evaluation or checkpoints timed)."""
    trainer = Trainer(cfg, overwrite=True)
    for step in range(WARMUP):
        trainer.train_step(step)
    start = _now()
    for step in range(WARMUP, WARMUP + steps):
        trainer.train_step(step)
    return _rates(steps * cfg.global_batch * trainer.corpus.seq_len, start, _now())


class _Clock(TrainerCallback):
    def __init__(self) -> None:
        self.start = self.stop = (0.0, 0.0)

    def on_step_end(self, args, state, control, **kwargs):  # noqa: ANN001, ANN003
        if state.global_step == WARMUP:
            self.start = _now()
        self.stop = _now()


def huggingface(cfg: TrainConfig, steps: int, out: Path) -> tuple[float, float]:
    """Tokens/s of ``transformers.Trainer`` on the same model, data and batch."""
    corpus = PackedCorpus(cfg.corpus)
    model = build_model(get_preset(cfg.preset), corpus.vocab_size, corpus.seq_len, cfg.seed)
    args = TrainingArguments(
        output_dir=str(out), per_device_train_batch_size=cfg.micro_batch,
        gradient_accumulation_steps=cfg.global_batch // cfg.micro_batch, max_steps=WARMUP + steps,
        learning_rate=cfg.lr, adam_beta1=cfg.betas[0], adam_beta2=cfg.betas[1], adam_epsilon=cfg.eps,
        weight_decay=cfg.weight_decay, max_grad_norm=cfg.grad_clip, warmup_steps=cfg.warmup_steps,
        lr_scheduler_type="cosine", logging_strategy="no", save_strategy="no", report_to=[],
        dataloader_num_workers=0, use_cpu=not torch.cuda.is_available(), disable_tqdm=True,
        seed=cfg.seed, bf16=torch.cuda.is_available())
    clock = _Clock()
    data = CorpusDataset(corpus, (WARMUP + steps) * cfg.global_batch)
    HFTrainer(model=model, args=args, train_dataset=data, callbacks=[clock]).train()
    return _rates(steps * cfg.global_batch * corpus.seq_len, clock.start, clock.stop)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--preset", default="nano")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = TrainConfig(preset=args.preset, corpus=args.corpus, out=Path(tmp) / "ours",
                          steps=WARMUP + args.steps, threads=args.threads, progress=False)
        print(f"preset {args.preset}, corpus {args.corpus}, batch {cfg.global_batch} x "
              f"{PackedCorpus(args.corpus).seq_len}, micro {cfg.micro_batch}, {args.steps} timed steps, "
              f"{args.threads} thread(s), device {'cuda' if torch.cuda.is_available() else 'cpu'}")
        rows = []
        for r in range(args.rounds):
            a = ours(cfg, args.steps)
            b = huggingface(cfg, args.steps, Path(tmp) / "hf")
            rows.append((*a, *b))
            print(_line(f"round {r}", *a, *b))
        print(_line("median", *(statistics.median(col) for col in zip(*rows, strict=True))))


def _line(label: str, wall_a: float, cpu_a: float, wall_b: float, cpu_b: float) -> str:
    return (f"{label:8s}| ours {wall_a:8,.0f} tok/s wall {cpu_a:8,.0f} tok/CPU-s | HF Trainer "
            f"{wall_b:8,.0f} tok/s wall {cpu_b:8,.0f} tok/CPU-s | ratio wall {wall_a / wall_b:.2f}x, "
            f"CPU {cpu_a / cpu_b:.2f}x")


if __name__ == "__main__":
    main()
