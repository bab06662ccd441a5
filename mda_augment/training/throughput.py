"""Tokens per second and model FLOP utilisation (MFU) of a training run.

FLOP accounting is PaLM's (Chowdhery et al. 2022, appendix B), the one most MFU figures use:
per token, a forward and backward pass cost ``6 N + 12 L d T`` FLOPs, with ``N`` the
non-embedding parameters (embeddings and the unembedding ``lm_head`` excluded), ``L`` layers,
``d`` the model width and ``T`` the positions attended over (the trained context, ``seq_len - 1``
here since the last token is only a label). The second term is the attention scores and
weighted sum (``Q K^T`` and ``A V``), counted over the full square as PaLM does, not the causal
half. The unembedding matmul is not counted: for a small model with a relatively large
vocabulary (nano: width 128, vocabulary 512) this makes MFU a conservative figure.

MFU = achieved model FLOP/s / (peak FLOP/s per device x devices). Peak FLOP/s comes from the
run's ``peak_tflops`` when set, else from :data:`PEAK_TFLOPS` by CUDA device name (dense
tensor-core figures from NVIDIA's datasheets, at the run's precision), else it is unknown
(CPUs, unlisted GPUs) and MFU is recorded as null.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..registry import Registry

THROUGHPUT = "throughput.json"  # a run directory's summary: tokens/s, MFU, what they were computed from
FLOPS_ACCOUNTING = "PaLM (Chowdhery et al. 2022, app. B): 6 N + 12 L d T per token, N non-embedding"


@dataclass(frozen=True)
class DevicePeak:
    """Dense peak TFLOP/s of one accelerator (no structured sparsity)."""

    bf16: float
    fp32: float  # plain fp32 (no TF32): what torch's matmuls use by default


# Looked up by the first name that occurs in ``torch.cuda.get_device_name()``: more specific
# names first (``H100 PCIe`` before ``H100``, ``L40S`` before ``L4``).
PEAK_TFLOPS: Registry[DevicePeak] = Registry("accelerator")
PEAK_TFLOPS.add("H200", DevicePeak(bf16=989.0, fp32=67.0))  # also GH200
PEAK_TFLOPS.add("H100 PCIe", DevicePeak(bf16=756.0, fp32=51.0))
PEAK_TFLOPS.add("H100 NVL", DevicePeak(bf16=835.0, fp32=60.0))
PEAK_TFLOPS.add("H100", DevicePeak(bf16=989.0, fp32=67.0))  # SXM: "NVIDIA H100 80GB HBM3"
PEAK_TFLOPS.add("A100", DevicePeak(bf16=312.0, fp32=19.5))
PEAK_TFLOPS.add("L40S", DevicePeak(bf16=362.0, fp32=91.6))
PEAK_TFLOPS.add("L4", DevicePeak(bf16=121.0, fp32=30.3))


def flops_per_token(non_embedding_params: int, n_layers: int, d_model: int, context: int) -> int:
    """Training FLOPs per token (forward + backward), PaLM accounting."""
    return 6 * non_embedding_params + 12 * n_layers * d_model * context


def peak_flops(device_name: str | None, precision: str, configured_tflops: float | None) -> tuple[float | None, str]:
    """(peak FLOP/s of one device or None, where the number came from)."""
    if configured_tflops is not None:
        return configured_tflops * 1e12, "peak_tflops setting"
    for name, peak in PEAK_TFLOPS.items():
        if device_name and name in device_name:
            return (peak.bf16 if precision == "bf16" else peak.fp32) * 1e12, f"table: {name} {precision}"
    return None, f"unknown for {device_name or 'this device'}; set peak_tflops"


@dataclass(frozen=True)
class Throughput:
    """What one run's steps achieve; ``mfu`` is None where the peak is unknown."""

    flops_per_token: int
    tokens_per_step: int  # positions trained per optimizer step (all devices)
    peak_flops: float | None  # per device
    devices: int

    def mfu(self, step_seconds: float) -> float | None:
        if self.peak_flops is None or step_seconds <= 0:
            return None
        return self.flops_per_token * self.tokens_per_step / step_seconds / (self.peak_flops * self.devices)


def summary_line(label: str, summary: dict) -> str:
    """One line per finished run: tokens/s and MFU (or why there is none)."""
    mfu = summary.get("mfu")
    text = f"{label}: {summary['tokens_per_s']:,.0f} tokens/s"
    if mfu is None:
        return f"{text}, MFU n/a (peak FLOP/s {summary['peak_source']})"
    return f"{text}, MFU {mfu:.2%} of {summary['peak_flops'] / 1e12:,.1f} TFLOP/s x {summary['devices']} ({summary['peak_source']})"
