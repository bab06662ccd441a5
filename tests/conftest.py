"""Shared fixtures: small real corpora built on disk (no network)."""

from __future__ import annotations

import random
from collections.abc import Iterable
from pathlib import Path

import pytest

from mda_augment.artifacts import building
from mda_augment.corpus.packing import PackConfig, pack
from mda_augment.corpus.schema import Document
from mda_augment.corpus.store import StoreWriter

SOUP = ["alpha", "beta", "gamma", "delta", "<item id='7'>", "</item>", "\\begin{equation}",
        "\\end{equation}", "def", "return", "x", "=", "1", "\n", "the", "of", "and"]
PROSE = ["the", "cat", "sat", "on", "a", "mat", "while", "two", "dogs", "ran", "after", "one", "red",
         "ball", "and", "every", "child", "saw", "how", "quickly", "small", "things", "move", "when",
         "wind", "blows", "across", "open", "fields", "near", "old", "towns"]


def write_store(path: Path, docs: Iterable[Document]) -> Path:
    """Write ``docs`` as a complete document store at ``path`` (skipped if it exists)."""
    with building(path) as tmp:
        if tmp is not None:
            writer = StoreWriter(tmp)
            writer.add_all(docs)
            writer.close()
    return path


def make_store(path: Path, n_docs: int = 120, seed: int = 0) -> Path:
    """A document store of random word soup with varied lengths and kinds."""
    rng = random.Random(seed)
    return write_store(path, (
        Document(text=f"doc {i}: " + " ".join(rng.choice(SOUP) for _ in range(rng.randint(3, 300))),
                 source="test", path=f"d{i}", kind=rng.choice(["prose", "xml", "latex"]))
        for i in range(n_docs)))


def _prose_document(rng: random.Random) -> str:
    """Prose-like text with a repeated made-up identifier (something induction could copy)."""
    ident = "".join(rng.choice("abcdefghijklmnop") for _ in range(6))
    words = [rng.choice(PROSE) for _ in range(rng.randint(40, 120))]
    for pos in sorted(rng.sample(range(len(words)), 3)):
        words.insert(pos, ident)
    return " ".join(words) + "."


def make_prose_store(directory: Path, n_docs: int = 300, seed: int = 0) -> Path:
    rng = random.Random(seed)
    return write_store(directory, (Document(text=_prose_document(rng), source="test", path=f"doc{i}", kind="prose")
                                   for i in range(n_docs)))


@pytest.fixture
def small_store(tmp_path: Path) -> Path:
    return make_store(tmp_path / "docs")


@pytest.fixture(scope="session")
def packed_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A packed corpus: bpe-300 tokenizer, 32-token sequences, ~10% held out."""
    root = tmp_path_factory.mktemp("corpus")
    store = make_prose_store(root / "docs")
    return pack(store, root / "packed", PackConfig(tokenizer="bpe-300", seq_len=32, heldout_fraction=0.1,
                                                  bpe_training_mb=1.0))


def write_pipeline_texts(folder: Path, n: int = 80, seed: int = 0) -> Path:
    """XML records and log lines whose ids recur within a document, plus some prose."""
    import uuid

    rng = random.Random(seed)
    folder.mkdir(parents=True)
    for i in range(n):
        ids = [str(uuid.UUID(int=rng.getrandbits(128)))[:8] for _ in range(4)]
        if i % 3 == 0:
            body = "".join(f"<record id='{rng.choice(ids)}'><value>{rng.randint(0, 99)}</value></record>\n"
                           for _ in range(30))
            (folder / f"r{i}.xml").write_text(f"<?xml version='1.0'?>\n<records>\n{body}</records>\n")
        elif i % 3 == 1:
            body = "".join(f"2024-03-0{rng.randint(1, 9)} 12:{rng.randint(10, 59)}:0{rng.randint(0, 9)} "
                           f"api[{rng.choice(ids)}] request {rng.choice(ids)} done\n" for _ in range(30))
            (folder / f"l{i}.log").write_text(body)
        else:
            words = ["the", "model", "reads", "every", "line", "and", "then", "the", "next", "one", "again"]
            (folder / f"p{i}.txt").write_text(" ".join(rng.choice(words) for _ in range(200)) + "\n")
    return folder


TINY_RECIPE = """
name: t
out_dir: {root}/runs
corpus: {{source: folder, path: {root}/texts}}
pack: {{tokenizer: bpe-300, seq_len: 32, heldout_fraction: 0.1, bpe_training_mb: 1}}
train:
  scales: [tiny]
  seeds: [0, 1]
  steps: 16
  jobs: 2
  options: {{eval_every: 4, checkpoint_every: 8, units: {{probes: [prefix_matching, icl, heldout_loss], n_random: 4, n_natural: 8}}}}
attribute:
  heads: L1H0
  threshold: 0.99     # tiny never gets there: attribution falls back to the last checkpoint
  options: {{probe: copy_target, factor_examples: 32, train_batch: 8, n_probe: 4, probe_half: 8}}
cluster: {{top_fraction: 0.3, k: 2, background: 20}}
# 32-token windows of an untrained model's top samples repeat less than the background: the
# model-token share targets (>= cluster, >= 1.5x background) are off here; this test is plumbing
extract: {{validation: {{cluster_factor: 0, background_factor: 0, share_margin: 0}}}}
synthesize: {{generators: ["@extract"], n: 40, allow_code_execution: true}}
experiment:
  threshold: 0.05     # a legacy top-level key: lifted into endpoint
  branch: {{step: 8}}
  power: {{seeds: 2}}
  variants:
    synthetic: {{variant: synthetic, ratio: 0.25, synthetic: "@synthesize"}}
"""


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory: pytest.TempPathFactory):
    """Every stage of a tiny recipe, run once by the real CLI: (run root, recipe path, CLI result)."""
    from typer.testing import CliRunner

    from mda_augment.cli import app

    root = tmp_path_factory.mktemp("pipe")
    write_pipeline_texts(root / "texts")
    recipe = root / "r.yaml"
    recipe.write_text(TINY_RECIPE.format(root=root))
    result = CliRunner().invoke(app, ["run", str(recipe)])
    return root / "runs" / "t", recipe, result
