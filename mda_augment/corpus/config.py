"""The corpus stage's recipe section: where the documents come from (light: no heavy imports)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from ..config import StrictModel
from ..errors import ConfigError
from .minipile import MinipileConfig

# What each reader accepts as its path: a folder, a file, or either.
PATH_KIND = {"folder": "dir", "jsonl": "file", "parquet": "any"}


class CorpusConfig(StrictModel):
    """Where the documents come from: the embedded minipile or one of the readers."""

    source: Literal["minipile", "folder", "jsonl", "parquet", "hf"] = Field(
        "minipile", description="minipile (built from Debian packages) or a reader: folder, jsonl, parquet, hf")
    minipile: MinipileConfig = Field(default_factory=MinipileConfig)
    path: str | None = Field(None, description="input path or dataset name for non-minipile sources")
    text_field: str = Field("text", description="column/key holding the text (jsonl, parquet, hf)")
    pattern: str = Field("**/*", description="glob for the folder reader")
    split: str = Field("train", description="split for the hf reader")

    @model_validator(mode="after")
    def _path_fits_source(self) -> CorpusConfig:
        if self.source != "minipile" and not self.path:
            raise ValueError(f"corpus.source '{self.source}' needs corpus.path (a file, folder or dataset name)")
        if self.source == "minipile" and self.path:
            raise ValueError("corpus.path is set but corpus.source is 'minipile' (the default), which ignores it; "
                             "set corpus.source to folder, jsonl, parquet or hf")
        return self


def check_input_path(cfg: CorpusConfig, where: str = "corpus.path") -> None:
    """The reader's input exists and is the right kind (a folder for 'folder', a file for 'jsonl')."""
    kind = PATH_KIND.get(cfg.source)
    if kind is None or cfg.path is None:
        return
    path = Path(cfg.path)
    if not path.exists():
        raise ConfigError(f"{where}: {path} does not exist; pass an existing "
                          f"{'folder' if kind == 'dir' else 'file'} for source '{cfg.source}'")
    if kind == "dir" and not path.is_dir():
        raise ConfigError(f"{where}: {path} is a file; source 'folder' needs a folder of text files")
    if kind == "file" and not path.is_file():
        raise ConfigError(f"{where}: {path} is a folder; source '{cfg.source}' needs a file")


class PackConfig(StrictModel):
    """How to tokenize and pack a document store."""

    tokenizer: str = Field("bpe-512", description="'pythia', 'hf:REPO[@REV]' or 'bpe-N'")
    seq_len: int = Field(128, ge=8, le=65536, description="tokens per training sequence (8..65536)")
    seed: int = Field(0, description="seeds document shuffling and the sequence order")
    heldout_fraction: float = Field(0.02, ge=0.0, lt=0.5, description="share of documents held out")
    batch_docs: int = Field(512, ge=1, description="documents per tokenizer call")
    bpe_training_mb: float = Field(20.0, gt=0, description="text used to train a bpe-N tokenizer")

    @field_validator("tokenizer")
    @classmethod
    def _known(cls, v: str) -> str:
        if not (v == "pythia" or v.startswith("hf:") or v.startswith("bpe-")):
            raise ValueError("use 'pythia', 'hf:REPO[@REV]' or 'bpe-N'")
        return v
