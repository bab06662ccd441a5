"""A packed corpus where the high-influence windows are mapping tables (codepoint, the same
codepoint again, a name) among prose, as in the quickstart's top samples; one cluster.

Table lines repeat their arbitrary content (the hex code) a few tokens later and step the
code by one per line; the boilerplate is only ``0x``, tabs and ``#``, so a matched no-repeat
control should fall to about the prose background.
"""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl

from mda_augment.artifacts import building
from mda_augment.clustering import ClusterConfig, build_clusters
from mda_augment.corpus.packed import PackedCorpus
from mda_augment.corpus.packing import PackConfig, pack
from mda_augment.corpus.schema import Document
from mda_augment.corpus.store import StoreWriter
from tests.scored_corpus import prose_doc

_names_rng = random.Random(7)
NAMES = ["".join(_names_rng.choice("ABCDEFGHIKLMNOPRSTUWY") for _ in range(_names_rng.randint(3, 8))) for _ in range(3000)]


def table_doc(rng: random.Random) -> str:
    code = rng.randrange(0x1000, 0xF000)
    lines = []
    for i in range(rng.randint(15, 30)):
        name = " ".join(rng.choice(NAMES) for _ in range(rng.randint(1, 3)))
        lines.append(f"0x{code + i:04X}\t0x{code + i:04X}\t# {name}")
    return "\n".join(lines)


def build(root: Path, n_docs: int = 160, seed: int = 0) -> Path:
    """Docs, packed corpus (bpe-300, 128 tokens), scores and the clusters artifact; returns it."""
    rng = random.Random(seed)
    with building(root / "docs") as tmp:
        writer = StoreWriter(tmp)
        for i in range(n_docs):
            kind = "table" if i % 4 == 0 else "prose"
            text = table_doc(rng) if kind == "table" else prose_doc(rng)
            writer.add(Document(text=text, source="test", path=f"d{i}", kind=kind))
        writer.close()
    packed_dir = pack(root / "docs", root / "packed", PackConfig(tokenizer="bpe-300", seq_len=128))
    packed = PackedCorpus(packed_dir)
    scores = []
    for seq in range(packed.n_sequences):
        kinds = packed.slices([seq])["kind"].to_list()
        scores.append(sum(k == "table" for k in kinds) / len(kinds) + rng.gauss(0, 0.05))
    pl.DataFrame({"seq": list(range(packed.n_sequences)), "score": scores}).write_parquet(root / "scores.parquet")
    return build_clusters(root / "scores.parquet", packed_dir, root / "clusters",
                          ClusterConfig(top_fraction=0.15, k=1, background=200))
