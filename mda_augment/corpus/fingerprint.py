"""Content hashes that say exactly which inputs an artifact was built from.

Each artifact records them in its ``config.json`` under ``fingerprint`` (the minipile: every
``.deb`` read and the lock; a document store: ``content_sha256`` in ``composition.json``; a
packed corpus: its token files, its tokenizer and the source store; a training run: the token
files it read). Two artifacts with equal fingerprints were built from the same bytes.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from .layout import HELDOUT, ORDER, TOKENIZER, TOKENIZER_JSON, TOKENS

PACKED_FILES = {"tokens_sha256": TOKENS, "order_sha256": ORDER,
                "heldout_sha256": HELDOUT, "tokenizer_sha256": f"{TOKENIZER}/{TOKENIZER_JSON}"}


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 of a file, read in 1 MiB blocks (symlinks followed)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def packed_fingerprint(directory: str | os.PathLike) -> dict[str, str | None]:
    """sha256 of a packed corpus's token files, order and tokenizer (None when absent)."""
    directory = Path(directory)
    return {key: file_sha256(directory / name) if (directory / name).is_file() else None
            for key, name in PACKED_FILES.items()}
