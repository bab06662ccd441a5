"""Bit-reproducibility of corpus artifacts: what README "Reproducibility" promises."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from mda_augment.artifacts import read_json
from mda_augment.corpus.packing import PackConfig, pack
from mda_augment.corpus.schema import Document
from mda_augment.corpus.store import content_sha256

from ..conftest import make_prose_store, write_store

ROOT = Path(__file__).resolve().parents[2]
PACK = ("import sys; from mda_augment.corpus.packing import PackConfig, pack; "
        "pack(sys.argv[1], sys.argv[2], PackConfig(tokenizer='bpe-400', seq_len=32, bpe_training_mb=1.0))")


def test_bpe_training_and_packing_are_identical_across_runs_and_rayon_threads(tmp_path):
    """The tokenizers library trains BPE on a Rayon pool; the merges (hence the tokens) must
    not depend on how many threads it gets. The pool size is fixed at its first use, so the
    one-thread run is a fresh process; this process packs with its default pool (one thread
    per core, unless RAYON_NUM_THREADS says otherwise)."""
    store = make_prose_store(tmp_path / "docs", n_docs=400)
    env = {**os.environ, "RAYON_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", PACK, str(store), str(tmp_path / "one-thread")], env=env,
                   check=True, capture_output=True, timeout=120)
    pack(store, tmp_path / "default-pool", PackConfig(tokenizer="bpe-400", seq_len=32, bpe_training_mb=1.0))
    one, default = (read_json(tmp_path / d / "config.json")["fingerprint"] for d in ("one-thread", "default-pool"))
    assert one == default
    assert one["tokens_sha256"] and one["tokenizer_sha256"]


def test_store_content_hash_ignores_shard_size_but_not_content(tmp_path):
    docs = [Document(text=f"document number {i}", source="t", path=f"p{i}") for i in range(50)]

    def build(name, shard_docs, items):
        from mda_augment.artifacts import building
        from mda_augment.corpus.store import StoreWriter

        with building(tmp_path / name) as tmp:
            writer = StoreWriter(tmp, shard_docs=shard_docs)
            writer.add_all(items)
            writer.close()
        return tmp_path / name

    one, many = build("one", 1000, docs), build("many", 7, docs)
    assert len(list(many.glob("shard-*.parquet"))) == 8
    assert content_sha256(one) == content_sha256(many) == read_json(one / "composition.json")["content_sha256"]
    changed = build("changed", 1000, [*docs[:-1], Document(text="document number 49", source="t", path="other")])
    assert content_sha256(changed) != content_sha256(one)  # metadata counts, not only the text
    assert content_sha256(write_store(tmp_path / "reordered", docs[::-1])) != content_sha256(one)
