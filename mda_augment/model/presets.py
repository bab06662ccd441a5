"""Model scales by name: four Pythia shapes and two CPU scales.

A preset fixes the architecture and the training defaults that belong to it (peak learning
rate, batch, context); the vocabulary comes from the packed corpus's tokenizer. The Pythia
rows follow EleutherAI's published configs (see FACTS.md): rotary on 25% of each head,
parallel residual, untied embeddings, Adam (0.9, 0.95), weight decay 0.1, clip 1.0, warmup 1%
then cosine to 10% of peak.

``tiny`` exists for tests (a step takes milliseconds). ``nano`` is the CPU scale in which an
induction head forms from the default corpus within minutes on two cores; how it was found
is recorded in ``benchmarks/results/nano_search.md``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..config import StrictModel
from ..registry import Registry


class ModelPreset(StrictModel):
    """Architecture plus the training defaults that go with it."""

    n_layers: int = Field(ge=1)
    d_model: int = Field(ge=8)
    n_heads: int = Field(ge=1)
    d_mlp: int = Field(ge=0, description="0 = attention-only layers (no MLP)")
    rotary_pct: float = Field(0.25, gt=0, le=1)
    parallel_residual: bool = True
    tie_embeddings: bool = False
    lr: float = Field(gt=0, description="peak learning rate")
    global_batch: int = Field(ge=1, description="sequences per optimizer step")
    micro_batch: int = Field(ge=1, description="sequences per forward pass (per device)")
    seq_len: int = Field(ge=8, description="context the preset was designed for")
    warmup_frac: float = Field(0.01, ge=0, le=0.5)
    schedule: Literal["cosine", "constant"] = "cosine"
    weight_decay: float = Field(0.1, ge=0)
    vocab_multiple: int = Field(64, ge=1, description="pad the vocabulary to a multiple of this")


_PYTHIA = dict(global_batch=1024, micro_batch=16, seq_len=2048)

PRESETS: Registry[ModelPreset] = Registry("model preset")
PRESETS.add("pythia-14m", ModelPreset(n_layers=6, d_model=128, n_heads=4, d_mlp=512, lr=1e-3, **_PYTHIA))
PRESETS.add("pythia-31m", ModelPreset(n_layers=6, d_model=256, n_heads=8, d_mlp=1024, lr=1e-3, **_PYTHIA))
PRESETS.add("pythia-70m", ModelPreset(n_layers=6, d_model=512, n_heads=8, d_mlp=2048, lr=1e-3, **_PYTHIA))
PRESETS.add("pythia-160m", ModelPreset(n_layers=12, d_model=768, n_heads=12, d_mlp=3072, lr=6e-4, **_PYTHIA))
# Tests only: trains in milliseconds per step.
PRESETS.add("tiny", ModelPreset(n_layers=2, d_model=32, n_heads=2, d_mlp=64, lr=3e-3, global_batch=8,
                                micro_batch=4, seq_len=32, warmup_frac=0.05))
# CPU research scale; see benchmarks/results/nano_search.md for how it was chosen.
PRESETS.add("nano", ModelPreset(n_layers=2, d_model=128, n_heads=4, d_mlp=0, tie_embeddings=True, lr=2e-3,
                                global_batch=4, micro_batch=4, seq_len=128, warmup_frac=0.01,
                                schedule="constant"))


def get_preset(name: str) -> ModelPreset:
    """Look a preset up by name; one-line error listing the known names."""
    return PRESETS.get(name)


def padded_vocab(vocab_size: int, multiple: int) -> int:
    """Round the tokenizer's vocabulary up (Pythia pads 50,277 to 50,304) for fast matmuls."""
    return -(-vocab_size // multiple) * multiple
