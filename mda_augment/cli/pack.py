"""``pack``: tokenize a document store into fixed-length training sequences with provenance."""

from __future__ import annotations

from pathlib import Path

import typer

from ._app import app, user_errors


@app.command("pack")
@user_errors
def pack_cmd(
    documents: Path = typer.Argument(..., help="document store directory (Parquet shards)"),
    out: Path = typer.Option(..., "--out", "-o", help="packed corpus directory to write"),
    tokenizer: str = typer.Option("bpe-512", help="'pythia', 'hf:REPO[@REV]' or 'bpe-N'"),
    seq_len: int = typer.Option(128, help="tokens per training sequence"),
    seed: int = typer.Option(0, help="seed for document shuffling and sequence order"),
    heldout_fraction: float = typer.Option(0.02, help="share of documents held out"),
    overwrite: bool = typer.Option(False, help="rebuild even if complete"),
) -> None:
    """Tokenize DOCUMENTS and pack them into fixed-length sequences with provenance."""
    from ..artifacts import read_json
    from ..config import validate
    from ..corpus.packing import META, PackConfig
    from ..corpus.stage import PackStage

    cfg = validate(PackConfig, {"tokenizer": tokenizer, "seq_len": seq_len, "seed": seed,
                                "heldout_fraction": heldout_fraction}, "pack options")
    path = PackStage().build({"corpus": documents}, out, cfg, overwrite=overwrite)
    meta = read_json(path / META)
    typer.echo(f"packed corpus: {path} ({meta['train_sequences']} train / {meta['heldout_sequences']} held-out "
               f"sequences of {meta['seq_len']} tokens, tokenizer {meta['tokenizer']})")
