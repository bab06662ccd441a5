"""``corpus`` verbs: build the minipile, read other sources into a store, inspect a store."""

from __future__ import annotations

from pathlib import Path

import typer

from ..artifacts import read_json
from ..corpus.store import COMPOSITION
from ._app import app, user_errors

corpus_app = typer.Typer(help="Build, read and inspect document stores (the corpus stage).", no_args_is_help=True)
app.add_typer(corpus_app, name="corpus")


@corpus_app.command("minipile")
@user_errors
def minipile_cmd(
    out: Path = typer.Option(..., "--out", "-o", help="document store directory to write"),
    profile: str = typer.Option("small", help="package set: small or full"),
    target_mb: float = typer.Option(30.0, help="approximate corpus size in MB"),
    seed: int = typer.Option(0, help="sampling seed"),
    deb: list[Path] = typer.Option([], help="extra local .deb files to read"),
    lock: Path = typer.Option(None, help="lock file pinning package versions and sha256 (e.g. recipes/minipile-small.lock.json)"),
    overwrite: bool = typer.Option(False, help="rebuild even if complete"),
) -> None:
    """Build the minipile from Debian packages (apt-get download; nothing is installed)."""
    from ..config import validate
    from ..corpus.minipile import MinipileConfig, build_minipile

    cfg = validate(MinipileConfig, {"profile": profile, "target_mb": target_mb, "seed": seed, "lock": lock,
                                    "local_debs": [str(d) for d in deb]}, "corpus minipile options")
    _print_composition(build_minipile(out, cfg, overwrite=overwrite))


@corpus_app.command("lock")
@user_errors
def lock_cmd(
    out: Path = typer.Option(..., "--out", "-o", help="lock file to write (JSON)"),
    profile: str = typer.Option("small", help="package set: small or full"),
) -> None:
    """Pin the package versions (and sha256) the Debian archive serves today into a lock file."""
    from ..config import validate
    from ..corpus.minipile import MinipileConfig, write_lock

    path = write_lock(validate(MinipileConfig, {"profile": profile}, "corpus lock options"), out)
    typer.echo(f"lock: {path}")


@corpus_app.command("read")
@user_errors
def read_cmd(
    fmt: str = typer.Argument(..., help="folder | jsonl | parquet | hf"),
    source: str = typer.Argument(..., help="folder, file, or dataset name / local path"),
    out: Path = typer.Option(..., "--out", "-o", help="document store directory to write"),
    text_field: str = typer.Option("text", help="column/key holding the text"),
    pattern: str = typer.Option("**/*", help="glob for the folder reader"),
    split: str = typer.Option("train", help="split for the hf reader"),
    overwrite: bool = typer.Option(False, help="rebuild even if complete"),
) -> None:
    """Read a folder of text files, JSONL, Parquet or a Hugging Face dataset into a store."""
    from ..config import validate
    from ..corpus.config import CorpusConfig, check_input_path
    from ..corpus.stage import CorpusStage

    cfg = validate(CorpusConfig, {"source": fmt, "path": source, "text_field": text_field, "pattern": pattern,
                                  "split": split}, "corpus read arguments")
    check_input_path(cfg, "SOURCE")
    _print_composition(CorpusStage().build({}, out, cfg, overwrite=overwrite))


@corpus_app.command("info")
@user_errors
def info_cmd(store: Path = typer.Argument(..., help="document store directory")) -> None:
    """Print a document store's composition (MB and documents per kind)."""
    from ..artifacts import require_complete

    _print_composition(require_complete(store, "document store"))


def _print_composition(store: Path) -> None:
    comp = read_json(store / COMPOSITION)
    typer.echo(f"{store}: {comp['documents']} documents, {comp['mb']} MB")
    for kind, row in comp["by_kind"].items():
        typer.echo(f"  {kind:<16} {row['mb']:>8.2f} MB {row['documents']:>7} docs")
