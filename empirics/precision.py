"""Which precision the models run in: bf16 autocast where the hardware has it natively, fp32 elsewhere."""

from __future__ import annotations

import contextlib
from functools import cache
from pathlib import Path

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

NATIVE_BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


@cache
def native_bf16() -> bool:
    """A CUDA GPU, or a CPU whose flags include a native bf16 instruction set (Linux /proc/cpuinfo)."""
    if torch.cuda.is_available():
        return True
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False
    return any(flag in flags for flag in NATIVE_BF16_CPU_FLAGS)


def resolve_bf16(setting: str) -> bool:
    """--bf16 on / off, or auto: on exactly where it is native."""
    return setting == "on" or (setting == "auto" and native_bf16())


def autocast(enabled: bool):
    """bf16 autocast on the device the models run on (a no-op when disabled)."""
    if not enabled:
        return contextlib.nullcontext()
    return torch.autocast("cuda" if torch.cuda.is_available() else "cpu", dtype=torch.bfloat16)


# Scaled-dot-product attention may pick cuDNN's kernel under bf16 on a GPU; that kernel builds a plan for
# every new sequence length, and a forward-only pass over a split (extraction: batches sorted by length, one
# pass) meets each length about once. Measured for extraction on an H200
# (benchmarks/bench_extraction_precision.py, Gemma-3-270M, 4,000 texts, batch 16): bf16 autocast 22.8 s with
# cuDNN attention, 7.7 s without it, fp32 8.7 s. Forward-only passes (extraction, lower-block states,
# prediction) exclude it; training keeps PyTorch's choice.
INFERENCE_SDPA_BACKENDS = (SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH)


def inference_autocast(enabled: bool):
    """:func:`autocast` for forward-only passes: on a GPU also without the cuDNN attention kernel."""
    if not (enabled and torch.cuda.is_available()):
        return autocast(enabled)
    stack = contextlib.ExitStack()
    stack.enter_context(autocast(True))
    stack.enter_context(sdpa_kernel(list(INFERENCE_SDPA_BACKENDS)))
    return stack
