"""Which precision the models run in: bf16 autocast where the hardware has it natively, fp32 elsewhere."""

from __future__ import annotations

import contextlib
from functools import cache
from pathlib import Path

import torch

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
