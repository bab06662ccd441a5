"""What is bit-reproducible here, measured: packing across Rayon thread counts, training
across runs and torch thread counts.

Usage: python benchmarks/check_reproducibility.py STORE [--tokenizer bpe-512] [--seq-len 128]

1. Packs the document store STORE twice, each in a fresh process (the Rayon pool size is
   fixed at first use), with RAYON_NUM_THREADS=1 and =2, and compares the packed corpus
   fingerprints (tokenizer.json, tokens.bin, order.npy, held-out sha256).
2. Trains the ``tiny`` preset for 60 steps three times on a small packed corpus: twice with one
   torch thread, once with two, and prints the largest loss / unit-metric differences.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PACK = ("import sys; from mda_augment.corpus.packing import PackConfig, pack; "
        "pack(sys.argv[1], sys.argv[2], PackConfig(tokenizer=sys.argv[3], seq_len=int(sys.argv[4])))")


def pack_across_threads(store: Path, tokenizer: str, seq_len: int, work: Path) -> None:
    prints = {}
    for threads in ("1", "2"):
        out = work / f"packed-rayon{threads}"
        env = {**os.environ, "RAYON_NUM_THREADS": threads, "PYTHONPATH": str(ROOT)}
        subprocess.run([sys.executable, "-c", PACK, str(store), str(out), tokenizer, str(seq_len)],
                       env=env, check=True, capture_output=True)
        prints[threads] = json.loads((out / "config.json").read_text())["fingerprint"]
    print(f"pack {store} ({tokenizer}, seq {seq_len}): RAYON_NUM_THREADS=1 vs 2 identical: "
          f"{prints['1'] == prints['2']}")
    for key in sorted(prints["1"]):
        print(f"  {key}: {prints['1'][key]}" + ("" if prints["1"][key] == prints["2"][key] else f" vs {prints['2'][key]}"))


def train_across_threads(work: Path) -> None:
    import polars as pl

    from mda_augment.corpus.packing import PackConfig, pack
    from mda_augment.training.config import TrainConfig
    from mda_augment.training.loop import train
    from tests.conftest import make_prose_store

    corpus = pack(make_prose_store(work / "docs"), work / "packed-small",
                  PackConfig(tokenizer="bpe-300", seq_len=32, heldout_fraction=0.1, bpe_training_mb=1.0))
    runs = {}
    for name, threads in (("1a", 1), ("1b", 1), ("2", 2)):
        cfg = TrainConfig(preset="tiny", corpus=corpus, out=work / f"run-{name}", steps=60, seed=3,
                          threads=threads, checkpoint_log_until=8, checkpoint_every=20, eval_every=20,
                          progress=False, units={"n_random": 4, "n_natural": 8})
        runs[name] = train(cfg)
    metrics = {k: pl.read_parquet(v / "metrics.parquet").sort("step") for k, v in runs.items()}
    units = {k: pl.read_parquet(v / "units.parquet").sort("step", "metric", "layer", "head") for k, v in runs.items()}
    for other, label in (("1b", "1 thread, second run"), ("2", "2 threads")):
        loss = (metrics["1a"]["loss"] - metrics[other]["loss"]).abs().max()
        unit = (units["1a"]["value"] - units[other]["value"]).abs().max()
        same = metrics["1a"]["loss"].to_list() == metrics[other]["loss"].to_list()
        print(f"train tiny 60 steps, 1 thread vs {label}: bit-identical losses {same}, "
              f"max |loss diff| {loss:.3e}, max |unit metric diff| {unit:.3e}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("store", type=Path)
    parser.add_argument("--tokenizer", default="bpe-512")
    parser.add_argument("--seq-len", type=int, default=128)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mda-repro-"))
    pack_across_threads(args.store, args.tokenizer, args.seq_len, work)
    train_across_threads(work)
    print(f"(artifacts in {work})")


if __name__ == "__main__":
    main()
