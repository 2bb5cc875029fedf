"""Precision contexts: extraction on a GPU runs bf16 attention without the cuDNN kernel (plan per length)."""

from contextlib import nullcontext

import torch

from empirics.inputs.precision import autocast, inference_autocast


def sdpa_flags() -> dict[str, bool]:
    b = torch.backends.cuda
    return {
        "cudnn": b.cudnn_sdp_enabled(),
        "flash": b.flash_sdp_enabled(),
        "efficient": b.mem_efficient_sdp_enabled(),
        "math": b.math_sdp_enabled(),
    }


def test_gpu_extraction_excludes_cudnn_attention_and_restores_the_flags(monkeypatch):
    before = sdpa_flags()
    assert before["cudnn"], "precondition: PyTorch's default enables cuDNN attention"
    # a GPU, as far as the precision module can tell (torch.autocast itself would initialise CUDA: recorded)
    asked = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(
        torch, "autocast", lambda device, dtype: asked.append((device, dtype)) or nullcontext()
    )
    with inference_autocast(True):
        assert sdpa_flags() == {"cudnn": False, "flash": True, "efficient": True, "math": True}
    assert sdpa_flags() == before
    with autocast(True):  # training keeps PyTorch's choice (measured for extraction only)
        assert sdpa_flags() == before
    assert asked == [("cuda", torch.bfloat16)] * 2


def test_cpu_and_fp32_extraction_leave_attention_alone():
    before = sdpa_flags()
    with inference_autocast(True):  # no GPU here: CPU bf16 autocast, attention flags untouched
        assert torch.is_autocast_enabled("cpu")
        assert sdpa_flags() == before
    with inference_autocast(False):
        assert not torch.is_autocast_enabled("cpu")
        assert sdpa_flags() == before
