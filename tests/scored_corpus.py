"""A small packed corpus of three recognisable structures with synthetic influence scores.

Shared by the clustering and motif tests (imported by their conftests). Prose documents get
low scores; XML with recurring random ids and timestamped log lines get high ones, so the
top samples over-represent structured text exactly as the paper reports, and tests can
check that clustering finds it.
"""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl

from mda_augment.artifacts import building
from mda_augment.corpus.packed import PackedCorpus
from mda_augment.corpus.packing import PackConfig, pack
from mda_augment.corpus.schema import Document
from mda_augment.corpus.store import StoreWriter

# prose from a Zipf-distributed vocabulary of 3,000 pseudo-words: like natural text, it repeats
# little inside a window (a 25-word vocabulary made the "natural" background repeat more than
# real prose does, ~0.5 of positions predictable in model tokens against ~0.2 now)
_SYLLABLES = [c + v for c in "bcdfghklmnprstvwz" for v in "aeiou"] + ["th", "st", "ch", "er", "an", "in", "on"]
_vocab_rng = random.Random(12345)
WORDS = ["".join(_vocab_rng.choice(_SYLLABLES) for _ in range(_vocab_rng.choice([1, 1, 2, 2, 2, 3, 3, 4])))
         for _ in range(3000)]
ZIPF = [1 / (i + 1) for i in range(len(WORDS))]


def prose_doc(rng: random.Random) -> str:
    sents = [" ".join(rng.choices(WORDS, ZIPF, k=rng.randint(8, 16))).capitalize() + "."
             for _ in range(rng.randint(6, 12))]
    return " ".join(sents)


def xml_doc(rng: random.Random) -> str:
    ids = [f"{rng.getrandbits(32):08x}" for _ in range(4)]
    items = [f'  <item id="{rng.choice(ids)}" ref="{rng.choice(ids)}">\n    <name>n{rng.randint(1, 99)}</name>\n  </item>'
             for _ in range(rng.randint(4, 10))]
    return "<?xml version=\"1.0\"?>\n<catalog>\n" + "\n".join(items) + "\n</catalog>"


def log_doc(rng: random.Random) -> str:
    rid = [f"{rng.getrandbits(48):012x}" for _ in range(3)]
    return "\n".join(f"2024-03-0{rng.randint(1, 9)}T1{rng.randint(0, 9)}:{rng.randint(10, 59)}:{rng.randint(10, 59)}Z "
                     f"INFO [api] request_id={rng.choice(rid)} status={rng.choice([200, 404, 500])}"
                     for _ in range(rng.randint(5, 12)))


MAKERS = {"prose": prose_doc, "xml": xml_doc, "log": log_doc}
SCORE_MEAN = {"prose": 0.0, "xml": 1.0, "log": 2.0}


def build(root: Path, n_docs: int = 200, seq_len: int = 256, seed: int = 0) -> tuple[Path, Path]:
    """Write ``root/docs``, ``root/packed`` and ``root/scores.parquet``; returns (packed, scores)."""
    rng = random.Random(seed)
    with building(root / "docs") as tmp:
        writer = StoreWriter(tmp)
        for i in range(n_docs):
            kind = ["prose", "prose", "prose", "prose", "xml", "log"][i % 6]  # structured text a third
            writer.add(Document(text=MAKERS[kind](rng), source="test", path=f"d{i}", kind=kind))
        writer.close()
    packed_dir = pack(root / "docs", root / "packed", PackConfig(tokenizer="bpe-300", seq_len=seq_len))
    packed = PackedCorpus(packed_dir)
    scores = []
    for seq in range(packed.n_sequences):
        kinds = packed.slices([seq])["kind"].to_list()
        scores.append(sum(SCORE_MEAN[k] for k in kinds) / len(kinds) + rng.gauss(0, 0.2))
    pl.DataFrame({"seq": list(range(packed.n_sequences)), "score": scores}).write_parquet(root / "scores.parquet")
    return packed_dir, root / "scores.parquet"
