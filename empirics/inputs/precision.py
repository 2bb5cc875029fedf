"""Which precision the models run in: bf16 autocast where the hardware has it natively, fp32 elsewhere.

The one machine-dependent decision of the empirics pipeline is ``--bf16 auto``: it reads the hardware (a CUDA
GPU, or the CPU flags in Linux's /proc/cpuinfo). ``$W2S_NATIVE_BF16`` (1 or 0) overrides that reading, so that
a test, or a user reproducing another machine's run, decides it instead of the CPU; every run records the
reading, the override and the resulting precision (:func:`precision_provenance`). The reference presets
(``replication-*``) pin fp32, so that their numbers do not depend on the machine that regenerates them."""

from __future__ import annotations

import contextlib
import os
from functools import cache
from pathlib import Path

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

from core.errors import ConfigError

NATIVE_BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")
NATIVE_BF16_ENV = "W2S_NATIVE_BF16"  # "1" / "0": what --bf16 auto takes the hardware to have


@cache
def cpu_flags() -> tuple[str, ...]:
    """The CPU's flags (Linux /proc/cpuinfo, read once; empty elsewhere or when unreadable)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return ()
    line = next((ln for ln in text.splitlines() if ln.startswith(("flags", "Features"))), "")
    return tuple(line.partition(":")[2].split())


@cache
def detected_native_bf16() -> bool:
    """A CUDA GPU, or a CPU whose flags include a native bf16 instruction set."""
    if torch.cuda.is_available():
        return True
    return any(flag in cpu_flags() for flag in NATIVE_BF16_CPU_FLAGS)


def forced_native_bf16() -> bool | None:
    """$W2S_NATIVE_BF16 as a bool (None when unset or empty); any other value is a ConfigError."""
    value = os.environ.get(NATIVE_BF16_ENV, "").strip()
    if not value:
        return None
    if value not in ("0", "1"):
        raise ConfigError(f"${NATIVE_BF16_ENV} must be 1 or 0 (or unset), got {value!r}")
    return value == "1"


def native_bf16() -> bool:
    """What ``--bf16 auto`` takes the hardware to have: $W2S_NATIVE_BF16 where set, else the detection."""
    forced = forced_native_bf16()
    return detected_native_bf16() if forced is None else forced


def precision_provenance() -> dict:
    """What decided the precision on this machine, for each run's config.json."""
    flags = cpu_flags()
    return {
        "native_bf16_detected": detected_native_bf16(),
        "native_bf16_forced": forced_native_bf16(),  # $W2S_NATIVE_BF16, None when unset
        "cpu_bf16_flags": [f for f in NATIVE_BF16_CPU_FLAGS if f in flags],
        # the vector instruction set PyTorch's CPU kernels dispatch to ($ATEN_CPU_CAPABILITY lowers it)
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
    }


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
