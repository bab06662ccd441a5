"""Control generators shipped with the tool: the catalyst and the matched no-repeat nulls.

- **Positive control** ``repeat_spans_v1`` (``prompts/templates/repeat_spans_v1.py.j2``): random
  token spans from the probe pool of the corpus the mixture is for, repeated at varied lags.
  A sandboxed generator cannot load the tokenizer, so the pool is written into the file as
  the *text* of each token (only tokens that re-encode to themselves). Re-tokenizing the
  generated text can still merge neighbouring tokens; :func:`retokenization` measures how
  much of the intended repetition survives. ``repeat_spans_norepeat_v1`` is the same file with
  ``REPEAT = False``: random tokens, same pool, nothing repeated.
- **Matched no-repeat control** of a mined generator: the same file with ``REPEAT = False``
  (see :func:`~.offline.render_mined`), so an experiment can separate repetition from
  distribution shift.

Controls are written to the extraction artifact's ``controls/`` folder, not ``generators/``:
``@motifs`` in a recipe means the accepted generators only.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..artifacts import atomic_write_text
from ..corpus.packed import PackedCorpus
from ..sandbox import SandboxConfig, run_code
from ..structure.model_tokens import ModelView, pack_windows, text_stats, window_stats
from ..synthesis.registry import load_spec
from ..units.pool import POOL_SEQUENCES, probe_token_pool
from .offline import json_chunks
from .prompts import render, sha
from .validate import ValidationConfig, measure

POSITIVE = "repeat_spans_v1"
POSITIVE_NULL = "repeat_spans_norepeat_v1"


def pool_tokens(packed: PackedCorpus, max_tokens: int = 4096, seed: int = 0) -> tuple[list[int], list[str]]:
    """Probe-pool token ids (as the unit probes draw them) whose text re-encodes to that one
    token, at most ``max_tokens`` of them (a seeded sample), and their texts."""
    tok = packed.tokenizer()
    pool = probe_token_pool(np.asarray(packed.tokens[:POOL_SEQUENCES]), packed.eos_id, packed.vocab_size)
    ids, texts = [], []
    for t in pool.tolist():
        text = tok.decode([t])
        if text and "\ufffd" not in text and tok.encode(text) == [t]:
            ids.append(t)
            texts.append(text)
    if len(ids) > max_tokens:
        keep = np.sort(np.random.default_rng(seed).choice(len(ids), max_tokens, replace=False))
        ids, texts = [ids[i] for i in keep], [texts[i] for i in keep]
    return ids, texts


def render_repeat_spans(texts: list[str], view: ModelView, corpus: str, *, repeat: bool = True) -> str:
    """Source of the positive control (``repeat=False``: its no-repeat null)."""
    name = POSITIVE if repeat else POSITIVE_NULL
    ctx = {"name": name, "repeat": repeat, "corpus": corpus, "tokenizer": view.name, "seq_len": view.seq_len,
           "pool_size": len(texts), "span": (6, 20), "gap": (0, min(16, view.seq_len // 16)), "copies": 4,
           "recall": 0.25,
           "doc_tokens": 4 * view.seq_len, "pool_chunks": json_chunks(texts), "template_sha": "",
           "title": ("Positive control: random probe-pool token spans, each repeated at varied lags."
                     if repeat else "Null control: random probe-pool tokens, nothing repeated (REPEAT = False).")}
    ctx["template_sha"] = sha(render("templates/repeat_spans_v1.py", **{**ctx, "pool_chunks": []}))
    return render("templates/repeat_spans_v1.py", **ctx)


def write_positive_controls(packed_dir: str | os.PathLike, folder: str | os.PathLike) -> list[Path]:
    """Write ``repeat_spans_v1.py`` and ``repeat_spans_norepeat_v1.py`` for ``packed_dir``."""
    packed = PackedCorpus(packed_dir)
    _, texts = pool_tokens(packed)
    view = ModelView.from_packed(packed_dir)
    paths = []
    for repeat in (True, False):
        path = Path(folder) / f"{POSITIVE if repeat else POSITIVE_NULL}.py"
        atomic_write_text(path, render_repeat_spans(texts, view, str(packed.dir), repeat=repeat))
        paths.append(path)
    return paths


def retokenization(code: str, packed_dir: str | os.PathLike, n: int = 8, seed: int = 0,
                   sandbox: SandboxConfig | None = None) -> dict:
    """How much of the positive control's intended repetition survives re-tokenization.

    Runs the control twice in the sandbox with one seed, once emitting text and once the
    intended pool indices, and compares the model-token induction share of the re-encoded
    text with that of the intended token ids (both packed into the corpus's windows).
    """
    packed = PackedCorpus(packed_dir)
    ids, _ = pool_tokens(packed)
    view = ModelView.from_packed(packed_dir)
    sandbox = sandbox or SandboxConfig(timeout_s=60, cpu_s=60)
    text_run = run_code(code, seed, n, sandbox)
    ids_run = run_code(code.replace("\nEMIT_IDS = False\n", "\nEMIT_IDS = True\n"), seed, n, sandbox)
    if not (text_run.ok and ids_run.ok):
        return {"ok": False, "reason": text_run.reason if not text_run.ok else ids_run.reason}
    intended = [[ids[int(i)] for i in doc.split()] for doc in ids_run.docs]
    encoded = view.encode_docs(text_run.docs)
    want = window_stats(pack_windows(intended, view.tok.eos_id, view.seq_len))
    got = window_stats(pack_windows(encoded, view.tok.eos_id, view.seq_len))
    return {"ok": True, "intended_share": want["induction_share"], "retokenized_share": got["induction_share"],
            "tokens_intended": sum(map(len, intended)), "tokens_retokenized": sum(map(len, encoded)),
            "lag_median_intended": want["lag_median"], "lag_median_retokenized": got["lag_median"]}


def measure_control(path: Path, cluster: dict, cfg: ValidationConfig) -> dict:
    """A control's output measured against its cluster like a candidate (it is expected to
    fail the repetition check: that is the point of a no-repeat control)."""
    result = run_code(path.read_text(encoding="utf-8"), cfg.seed, cfg.n, cfg.sandbox)
    if not result.ok:
        return {"ok": False, "reason": result.reason, "message": result.message[:300]}
    checks, stats = measure(result.docs, cluster, cfg)
    return {"ok": True, "checks": checks, "model": stats["model"], "generated": stats["generated"],
            "novelty": stats["novelty"]}


def positive_controls(packed_dir: str | os.PathLike, folder: Path, cfg: ValidationConfig) -> dict:
    """Write the positive control and its null into ``folder``; their measured shares and
    the positive control's re-tokenization check."""
    view = ModelView.from_packed(packed_dir)
    out = {}
    for path in write_positive_controls(packed_dir, folder):
        load_spec(path, path.parent)  # the registry must accept it
        result = run_code(path.read_text(encoding="utf-8"), cfg.seed, cfg.n, cfg.sandbox)
        row = {"generator": path.stem, "ok": result.ok, "reason": result.reason}
        if result.ok:
            row["model"] = text_stats(result.docs, view)
        out[path.stem] = row
    out[POSITIVE]["retokenization"] = retokenization((folder / f"{POSITIVE}.py").read_text(encoding="utf-8"),
                                                     packed_dir, cfg.n, cfg.seed, cfg.sandbox)
    return out
