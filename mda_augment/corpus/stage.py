"""The ``corpus`` and ``pack`` stages: documents with provenance, then packed training sequences."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ..artifacts import read_json
from ..errors import ConfigError
from ..stage import Section, Stage
from .config import CorpusConfig, PackConfig, check_input_path
from .layout import META
from .store import COMPOSITION, SKIPPED


class CorpusStage(Stage):
    """Build the minipile from Debian packages, or read a folder / JSONL / Parquet / HF dataset."""

    name = "corpus"
    Config = CorpusConfig
    default = True
    summary = "documents {id, text, source, path, kind, license, meta} as Parquet shards"
    files = (COMPOSITION, SKIPPED)

    def check(self, cfg: CorpusConfig, recipe) -> None:
        from .minipile import lock_file

        check_input_path(cfg, "corpus.path")
        if cfg.source == "minipile":
            try:
                lock_file(cfg.minipile)  # the lock exists (its pins are checked when building)
            except ConfigError as err:
                raise ConfigError(f"corpus.{err}") from None

    def build(self, inputs: Mapping[str, Path], out: Path, cfg: CorpusConfig, *, overwrite: bool = False) -> Path:
        from .minipile import build_minipile
        from .readers import ingest

        if cfg.source == "minipile":
            return build_minipile(out, cfg.minipile, overwrite=overwrite)
        return ingest(cfg.source, cfg.path or "", out, overwrite=overwrite, text_field=cfg.text_field,
                      pattern=cfg.pattern, split=cfg.split)

    def report_section(self, out: Path) -> Section | None:
        import polars as pl

        from ..report.html import fmt, table

        comp = read_json(out / COMPOSITION)
        rows = pl.DataFrame([{"kind": k, **v} for k, v in comp["by_kind"].items()])
        skipped = read_json(out / SKIPPED) if (out / SKIPPED).is_file() else {}
        note = f"<p>{fmt(comp['documents'])} documents, {fmt(comp['mb'])} MB; " \
               f"{fmt(skipped.get('total', 0))} inputs skipped (reasons in {SKIPPED}).</p>"
        return Section("Corpus", note + table(rows))


class PackStage(Stage):
    """Tokenize and cut the documents into fixed-length sequences with a slice index and an order."""

    name = "pack"
    Config = PackConfig
    needs = ("corpus",)
    default = True
    summary = "tokens.bin (n_sequences, seq_len), index.parquet provenance, order.npy, held-out split"
    files = (META,)

    def build(self, inputs: Mapping[str, Path], out: Path, cfg: PackConfig, *, overwrite: bool = False) -> Path:
        from .packing import pack

        return pack(inputs["corpus"], out, cfg, overwrite=overwrite)

    def report_section(self, out: Path) -> Section | None:
        from ..report.html import kv_table

        meta = read_json(out / META)
        keep = ("tokenizer", "vocab_size", "seq_len", "train_sequences", "heldout_sequences",
                "train_documents", "heldout_documents")
        return Section("Packed corpus", kv_table({k: meta.get(k) for k in keep}))
