"""Packing: provenance round-trip, recorded order, held-out split, crash safety."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from mda_augment.artifacts import is_complete
from mda_augment.corpus import packing
from mda_augment.corpus.packed import PackedCorpus
from mda_augment.corpus.packing import PackConfig, pack
from mda_augment.corpus.store import iter_documents

CFG = PackConfig(tokenizer="bpe-300", seq_len=32, heldout_fraction=0.1, seed=3)


@pytest.fixture
def packed(small_store, tmp_path):
    return PackedCorpus(pack(small_store, tmp_path / "packed", CFG))


def test_every_sequence_is_exactly_its_document_slices(packed, small_store):
    """For random sequences, tokens == tokenization of the document slices the index names."""
    tok = packed.tokenizer()
    texts = {d.id: d.text for d in iter_documents(small_store)}
    rng = np.random.default_rng(0)
    for seq in rng.choice(packed.n_sequences, size=25, replace=False):
        rebuilt = []
        for row in packed.slices([seq]).sort("offset").iter_rows(named=True):
            doc_tokens = tok.encode(texts[row["doc_id"]]) + [packed.eos_id]
            rebuilt.extend(doc_tokens[row["doc_start"] : row["doc_end"]])
        assert rebuilt == packed.tokens[seq].tolist()


def test_index_covers_every_token_once(packed):
    per_seq = (packed.index.with_columns((pl.col("doc_end") - pl.col("doc_start")).alias("n"))
               .group_by("seq").agg(pl.col("n").sum(), pl.col("offset").min()).sort("seq"))
    assert per_seq["seq"].to_list() == list(range(packed.n_sequences))
    assert set(per_seq["n"].to_list()) == {packed.seq_len}
    assert set(per_seq["offset"].to_list()) == {0}


def test_heldout_documents_never_in_training(packed):
    train_docs = set(packed.index["doc_id"].to_list())
    held_docs = set(packed.heldout_index["doc_id"].to_list())
    assert held_docs and train_docs
    assert not train_docs & held_docs


def test_order_is_recorded_and_answers_what_was_seen_before_a_step(packed):
    order = np.load(packed.dir / "order.npy")
    assert sorted(order.tolist()) == list(range(packed.n_sequences))
    seen = packed.sequences_before_step(step=3, batch_size=4)
    assert seen["seq"].to_list() == order[:12].tolist()
    assert seen["step"].to_list() == [0] * 4 + [1] * 4 + [2] * 4
    # past one epoch the order continues with a fresh seeded permutation
    n = packed.n_sequences
    second = packed.order(n, 2 * n)
    assert sorted(second.tolist()) == list(range(n)) and not np.array_equal(second, order)
    docs = packed.documents_before_step(3, 4)
    expect = set(packed.slices(order[:12])["doc_id"].to_list())
    assert set(docs["doc_id"].to_list()) == expect


def test_pack_is_deterministic(small_store, tmp_path, packed):
    again = PackedCorpus(pack(small_store, tmp_path / "again", CFG))
    assert np.array_equal(again.tokens, packed.tokens)
    assert np.array_equal(np.load(again.dir / "order.npy"), np.load(packed.dir / "order.npy"))


def test_crash_mid_pack_leaves_nothing_complete_and_rerun_resumes(small_store, tmp_path, monkeypatch):
    out = tmp_path / "packed"
    calls = {"n": 0}
    real_add = packing._SequenceWriter.add

    def failing_add(self, *args):
        calls["n"] += 1
        if calls["n"] == 40:
            raise KeyboardInterrupt("simulated crash")
        return real_add(self, *args)

    monkeypatch.setattr(packing._SequenceWriter, "add", failing_add)
    with pytest.raises(KeyboardInterrupt):
        pack(small_store, out, CFG)
    assert not out.exists() and not is_complete(out)
    assert not list(tmp_path.glob(".packed.tmp-*"))
    monkeypatch.setattr(packing._SequenceWriter, "add", real_add)
    # a stale temp dir from a kill -9 is removed, never mistaken for a finished artifact
    (tmp_path / ".packed.tmp-stale").mkdir()
    pack(small_store, out, CFG)
    assert is_complete(out) and not list(tmp_path.glob(".packed.tmp-*"))


def test_rerun_skips_and_overwrite_rebuilds(small_store, tmp_path):
    out = pack(small_store, tmp_path / "p", CFG)
    stamp = (out / "_COMPLETE.json").stat().st_mtime_ns
    pack(small_store, out, CFG)
    assert (out / "_COMPLETE.json").stat().st_mtime_ns == stamp
    pack(small_store, out, CFG, overwrite=True)
    assert (out / "_COMPLETE.json").stat().st_mtime_ns != stamp
    assert (out / "config.json").is_file()


def test_config_records_the_fingerprint_of_inputs_and_outputs(packed, small_store):
    from mda_augment.artifacts import read_json
    from mda_augment.corpus.fingerprint import file_sha256
    from mda_augment.corpus.store import content_sha256

    fp = read_json(packed.dir / "config.json")["fingerprint"]
    assert fp["documents_content_sha256"] == content_sha256(small_store)
    assert fp["documents_content_sha256"] == read_json(small_store / "composition.json")["content_sha256"]
    for key, name in (("tokens_sha256", "tokens.bin"), ("order_sha256", "order.npy"),
                      ("heldout_sha256", "heldout.bin"), ("tokenizer_sha256", "tokenizer/tokenizer.json")):
        assert fp[key] == file_sha256(packed.dir / name)
    assert fp["tokenizers_version"]
