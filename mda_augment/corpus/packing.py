"""Pack a document store into fixed-length training sequences with exact provenance.

Artifact layout (a directory, built atomically; the names are constants in :mod:`.layout`)::

    tokens.bin          train sequences, a (n_sequences, seq_len) uint16/uint32 memmap
    index.parquet       one row per document slice: seq, offset, doc_id, doc_start, doc_end, kind
    order.npy           int64 sequence ids in the order training consumes them (epoch 0)
    heldout.bin         held-out sequences (documents never in tokens.bin), same layout
    heldout_index.parquet
    tokenizer/          the tokenizer used (tokenizer.json, tok.json)
    meta.json           seq_len, counts, dtype, vocab, eos, seeds, source store
    config.json         the PackConfig, the store's path and ``fingerprint``: sha256 of
                        tokens.bin, heldout.bin, order.npy, tokenizer.json, the source store's
                        content_sha256 and the tokenizers library version

Documents are tokenized as ``encode(text) + [eos]``, shuffled by a seed, concatenated and cut
into ``seq_len`` blocks (GPT-NeoX/Pythia style: a document may span sequences). Row
``(seq, offset, doc_id, doc_start, doc_end)`` says that ``tokens[seq, offset:offset+n]`` equals
tokens ``[doc_start, doc_end)`` of that document, ``n = doc_end - doc_start``. Held-out documents
are chosen by their content hash, so the split is stable across rebuilds and tokenizers.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl
import tokenizers
from tqdm import tqdm

from ..artifacts import atomic_write_json, building
from ..errors import ConfigError
from .config import PackConfig  # defined in the light config module; re-exported here
from .fingerprint import packed_fingerprint
from .layout import HELDOUT, HELDOUT_INDEX, INDEX, META, ORDER, TOKENIZER, TOKENS
from .store import read_table, recorded_content_sha256
from .tokenizers import Tok, get_tokenizer


def is_heldout(doc_id: str, fraction: float) -> bool:
    """Stable split by content id: the first 8 hex digits as a number in [0, 1)."""
    return int(doc_id[:8], 16) / 0x1_0000_0000 < fraction


class _SequenceWriter:
    """Cuts a stream of per-document token lists into seq_len rows and records the slices."""

    def __init__(self, path: Path, seq_len: int, dtype: np.dtype):
        self.f = open(path, "wb")
        self.seq_len = seq_len
        self.dtype = dtype
        self.pending: list[np.ndarray] = []  # token chunks of the sequence being filled
        self.fill = 0
        self.n_seq = 0
        self.rows: dict[str, list] = {k: [] for k in ("seq", "offset", "doc_id", "doc_start", "doc_end", "kind")}

    def add(self, doc_id: str, kind: str, ids: np.ndarray) -> None:
        start = 0
        while start < len(ids):
            take = min(self.seq_len - self.fill, len(ids) - start)
            self.pending.append(ids[start : start + take])
            for key, val in zip(self.rows, (self.n_seq, self.fill, doc_id, start, start + take, kind), strict=True):
                self.rows[key].append(val)
            self.fill += take
            start += take
            if self.fill == self.seq_len:
                self.f.write(np.concatenate(self.pending).astype(self.dtype).tobytes())
                self.pending, self.fill = [], 0
                self.n_seq += 1

    def close(self) -> pl.DataFrame:
        """Drop the last partial sequence (its slices too) and return the index."""
        self.f.close()
        index = pl.DataFrame(self.rows, schema={
            "seq": pl.Int64, "offset": pl.Int32, "doc_id": pl.Utf8,
            "doc_start": pl.Int64, "doc_end": pl.Int64, "kind": pl.Categorical,
        })
        return index.filter(pl.col("seq") < self.n_seq)


def _token_batches(tok: Tok, texts: list[str], ids: list[str], kinds: list[str], batch: int) -> Iterator[tuple[str, str, np.ndarray]]:
    eos = np.array([tok.eos_id], dtype=np.int64)
    for lo in range(0, len(texts), batch):
        encoded = tok.encode_batch(texts[lo : lo + batch])
        for j, toks in enumerate(encoded):
            yield ids[lo + j], kinds[lo + j], np.concatenate([np.asarray(toks, dtype=np.int64), eos])


def sequence_order(n_sequences: int, seed: int, epoch: int) -> np.ndarray:
    """The seeded permutation of sequence ids for one epoch."""
    return np.random.default_rng([seed, epoch]).permutation(n_sequences).astype(np.int64)


def resolve_tokenizer(cfg: PackConfig, texts: list[str]) -> Tok:
    """Build the configured tokenizer; a bpe-N is trained on a seeded sample of ``texts``."""
    if not cfg.tokenizer.startswith("bpe-"):
        return get_tokenizer(cfg.tokenizer)
    budget = int(cfg.bpe_training_mb * 1024 * 1024)
    picked, used = [], 0
    for i in np.random.default_rng(cfg.seed).permutation(len(texts)):
        if used >= budget:
            break
        picked.append(texts[i])
        used += len(texts[i])
    return get_tokenizer(cfg.tokenizer, training_texts=picked)


def pack(documents: str | os.PathLike, out: str | os.PathLike, cfg: PackConfig, *, overwrite: bool = False,
         tokenizer: Tok | None = None) -> Path:
    """Tokenize and pack a document store into ``out`` (skipped when already complete).

    ``tokenizer`` overrides ``cfg.tokenizer`` with an existing one, e.g. to pack synthetic
    documents with the exact tokenizer of the corpus they will be mixed into.
    """
    out = Path(out)
    # filled in before building() writes config.json at the end: what exactly went in and out
    fingerprint: dict = {}
    record = {"pack": cfg.model_dump(), "documents": str(documents), "fingerprint": fingerprint}
    with building(out, config=record, overwrite=overwrite) as tmp:
        if tmp is None:
            return out
        fingerprint["documents_content_sha256"] = recorded_content_sha256(documents)
        table = read_table(documents, columns=["id", "text", "kind"])
        if table.num_rows == 0:
            raise ConfigError(f"{documents}: document store is empty; nothing to pack")
        ids, texts, kinds = (table.column(c).to_pylist() for c in ("id", "text", "kind"))
        del table
        tok = tokenizer or resolve_tokenizer(cfg, texts)
        tok.save(tmp / TOKENIZER)
        dtype = np.dtype(np.uint16 if tok.vocab_size <= 65535 else np.uint32)
        perm = np.random.default_rng(cfg.seed).permutation(len(texts))
        held = np.array([is_heldout(ids[i], cfg.heldout_fraction) for i in perm], dtype=bool)
        meta = {"seq_len": cfg.seq_len, "dtype": dtype.name, "tokenizer": tok.name,
                "vocab_size": tok.vocab_size, "eos_id": tok.eos_id, "order_seed": cfg.seed,
                "documents": str(Path(documents).resolve())}
        for split, chosen in (("train", perm[~held]), ("heldout", perm[held])):
            writer = _SequenceWriter(tmp / (TOKENS if split == "train" else HELDOUT), cfg.seq_len, dtype)
            sub = [texts[i] for i in chosen]
            stream = _token_batches(tok, sub, [ids[i] for i in chosen], [kinds[i] for i in chosen], cfg.batch_docs)
            for doc_id, kind, toks in tqdm(stream, total=len(sub), desc=f"pack {split}", unit="doc", leave=False):
                writer.add(doc_id, kind, toks)
            index = writer.close()
            index.write_parquet(tmp / (INDEX if split == "train" else HELDOUT_INDEX))
            meta[f"{split}_sequences"] = writer.n_seq
            meta[f"{split}_documents"] = len(sub)
        if meta["train_sequences"] == 0:
            raise ConfigError(f"{documents}: too little text for one {cfg.seq_len}-token sequence; lower seq_len or add documents")
        np.save(tmp / ORDER, sequence_order(meta["train_sequences"], cfg.seed, 0))
        atomic_write_json(tmp / META, meta)
        fingerprint.update(packed_fingerprint(tmp), tokenizers_version=tokenizers.__version__)
    return out
