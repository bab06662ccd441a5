"""Control document stores built from the base corpus itself, for experiment arms.

A mixture arm is only interpretable next to arms that bracket it: a *positive control* (data
known to make induction heads form, so the design must detect it) and a *matched control*
(the same kind of data without the property under test). Both are built here from the packed
corpus the experiment trains on, deterministically, so a recipe can name them without a
separate synthesis stage:

``repeated_spans``
    Random spans of ``span`` tokens drawn from the probe token pool (moderately frequent
    tokens, as the prefix-matching probe uses), each followed at once by itself: the known
    catalyst of induction heads (FACTS: repeated random tokens form a head in ~350 steps).
``spans_norepeat``
    The matched no-repeat control: the same number of spans from the same pool at the same
    length, each followed by an *independent* span, so the token distribution and document
    length match and only the in-context repetition is missing.

Documents are decoded to text with the corpus's own tokenizer (so they travel through the
ordinary store -> pack path with provenance); re-encoding byte-level BPE text can merge across
span edges, so the model-token repeat share is measured after packing and recorded in the
variant's manifest rather than assumed.

Register another builder with ``CONTROLS.add_lazy("name", "package.module:function")``; a
builder has the signature ``fn(packed_dir, out_dir, *, seed, **options) -> Path``.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..registry import Registry

CONTROLS: Registry = Registry("control store")
CONTROLS.add_lazy("repeated_spans", "mda_augment.experiments.controls:repeated_spans")
CONTROLS.add_lazy("spans_norepeat", "mda_augment.experiments.controls:spans_norepeat")


def _span_documents(packed_dir: str | os.PathLike, *, repeat: bool, n_docs: int, span: int, blocks: int,
                    seed: int) -> list[list[int]]:
    """Token-id documents: ``blocks`` x (span, span again | an independent span)."""
    import numpy as np

    from ..corpus.packed import PackedCorpus
    from ..units.pool import POOL_SEQUENCES, probe_token_pool

    corpus = PackedCorpus(packed_dir)
    pool = probe_token_pool(corpus.tokens[:POOL_SEQUENCES], corpus.eos_id, corpus.vocab_size)
    rng = np.random.default_rng([seed, 0xC0])  # the same spans for both controls at equal seed
    docs = []
    for _ in range(n_docs):
        parts = []
        for _ in range(blocks):
            first = rng.choice(pool, size=span)
            other = rng.choice(pool, size=span)  # drawn in both modes so the first spans match
            parts += [first, first if repeat else other]
        docs.append(np.concatenate(parts).tolist())
    return docs


def _write(packed_dir: str | os.PathLike, out: str | os.PathLike, docs: list[list[int]], name: str,
           options: dict) -> Path:
    from ..artifacts import building
    from ..corpus.packed import PackedCorpus
    from ..corpus.schema import Document
    from ..corpus.store import StoreWriter

    tok = PackedCorpus(packed_dir).tokenizer()
    with building(out, config={"control": name, "packed": str(Path(packed_dir).resolve()), **options}) as tmp:
        if tmp is not None:
            writer = StoreWriter(tmp)
            for i, ids in enumerate(docs):
                writer.add(Document(text=tok.decode(ids), source=f"control:{name}", path=f"{name}#{i}",
                                    kind="synthetic_control", meta={"tokens": len(ids)}))
            writer.close()
    return Path(out)


def repeated_spans(packed_dir: str | os.PathLike, out: str | os.PathLike, *, seed: int = 0, n_docs: int = 8000,
                   span: int = 24, blocks: int = 3) -> Path:
    """The positive control: random spans, each repeated at once (see module docstring)."""
    opts = {"seed": seed, "n_docs": n_docs, "span": span, "blocks": blocks}
    docs = _span_documents(packed_dir, repeat=True, n_docs=n_docs, span=span, blocks=blocks, seed=seed)
    return _write(packed_dir, out, docs, "repeated_spans", opts)


def spans_norepeat(packed_dir: str | os.PathLike, out: str | os.PathLike, *, seed: int = 0, n_docs: int = 8000,
                   span: int = 24, blocks: int = 3) -> Path:
    """The matched no-repeat control: the same spans, each followed by an independent one."""
    opts = {"seed": seed, "n_docs": n_docs, "span": span, "blocks": blocks}
    docs = _span_documents(packed_dir, repeat=False, n_docs=n_docs, span=span, blocks=blocks, seed=seed)
    return _write(packed_dir, out, docs, "spans_norepeat", opts)


def build_control(name: str, packed_dir: str | os.PathLike, out: str | os.PathLike, **options) -> Path:
    """Build the registered control store ``name`` (skipped when complete)."""
    return CONTROLS.get(name)(packed_dir, out, **options)
