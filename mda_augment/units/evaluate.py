"""Run the registered probes on a model: fixed probe data, one pass per source.

The probe data is drawn once per run (seeded) so that scores at different steps are measured
on the same inputs. Forward passes use eager attention (sdpa returns no probabilities), in
fp32, without gradients; the model's previous attention implementation and train/eval mode
are restored afterwards.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import torch
from transformers import GPTNeoXForCausalLM

from ..corpus.packed import PackedCorpus
from ..errors import DataError
from . import scores
from .config import UnitsConfig
from .pool import POOL_SEQUENCES, probe_token_pool, repeated_random
from .probes import SOURCES, SourceOutputs, get_probes

MAX_HALF = 64  # repeated block length cap (FACTS: 2 x 64 random tokens)


@contextlib.contextmanager
def eager_eval(model: GPTNeoXForCausalLM) -> Iterator[GPTNeoXForCausalLM]:
    """Temporarily switch to eager attention and eval mode."""
    previous, was_training = model.config._attn_implementation, model.training
    model.set_attn_implementation("eager")
    model.eval()
    try:
        yield model
    finally:
        model.set_attn_implementation(previous)
        model.train(was_training)


class UnitEvaluator:
    """Holds a run's probe data and evaluates models on it."""

    def __init__(self, corpus: PackedCorpus, cfg: UnitsConfig, batch_size: int = 16):
        self.cfg = cfg
        self.probes = get_probes(cfg.probes)
        self.batch_size = batch_size
        self.vocab = corpus.vocab_size
        seq_len = corpus.seq_len
        self.half = min(MAX_HALF, (seq_len - 1) // 2)
        # A mixture variant appends its synthetic sequences after the base ones; ranking token
        # frequencies on base sequences only keeps the probe set identical across the arms.
        n_base = min(POOL_SEQUENCES, corpus.meta.get("base_sequences", corpus.n_sequences))
        pool = probe_token_pool(corpus.tokens[:n_base], corpus.eos_id, corpus.vocab_size)
        self.inputs: dict[str, np.ndarray] = {
            "repeated_random": repeated_random(pool, cfg.n_random, self.half, corpus.eos_id, cfg.seed),
            "weights": np.random.default_rng(cfg.seed).choice(pool, size=min(512, len(pool)),
                                                              replace=False)[None],
        }
        if any(p.source == "natural" for p in self.probes):
            if corpus.n_heldout == 0:
                raise DataError(f"{corpus.dir}: no held-out sequences for natural-text probes; "
                                "repack with heldout_fraction > 0 or drop those probes")
            self.inputs["natural"] = np.asarray(corpus.heldout[: cfg.n_natural], dtype=np.int64)

    def _batches(self, model: GPTNeoXForCausalLM, source: str) -> Iterator[SourceOutputs]:
        """Forward the source's inputs batch by batch (attention never held for all at once)."""
        tokens = torch.from_numpy(self.inputs[source])
        if source == "weights":
            yield SourceOutputs(tokens=tokens, attentions=[], losses=None)
            return
        device = next(model.parameters()).device
        for lo in range(0, len(tokens), self.batch_size):
            batch = tokens[lo : lo + self.batch_size].to(device)
            out = model(batch, output_attentions=True, output_hidden_states=True)
            yield SourceOutputs(tokens=batch, attentions=[a.float() for a in out.attentions],
                                losses=scores.token_losses(out.logits, batch), half=self.half,
                                residuals=list(out.hidden_states[:-1]))  # the stream entering each layer

    @torch.no_grad()
    def evaluate(self, model: GPTNeoXForCausalLM, step: int) -> list[dict]:
        """Rows ``{step, layer, head, metric, value}`` for every requested probe.

        Every probe is a mean over sequences, so per-batch values are combined as a mean
        weighted by batch size.
        """
        totals: dict[tuple[str, int, int], float] = {}
        with eager_eval(model):
            for source in SOURCES:
                probes = [p for p in self.probes if p.source == source]
                if not probes:
                    continue
                n_seq = len(self.inputs[source])
                for out in self._batches(model, source):
                    weight = len(out.tokens) / n_seq
                    for probe in probes:
                        for layer, head, value in probe.fn(model, out, {"vocab_size": self.vocab}):
                            key = (probe.name, layer, head)
                            totals[key] = totals.get(key, 0.0) + weight * value
        return [{"step": step, "layer": layer, "head": head, "metric": name, "value": value}
                for (name, layer, head), value in totals.items()]
