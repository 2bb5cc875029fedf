"""GPU benchmark (needs CUDA): bf16 full fine-tuning of a GPT-2-large-sized, randomly initialised reward
model.

No gradient checkpointing. Fixed-length random token batches (no padding), both texts of each pair in one
forward pass, Adam, bf16 autocast with fp32 master weights. Reports tokens/s, MFU = 6 N tokens/s / 989 TFLOP/s
(H100/H200 dense bf16 peak) and against a measured matmul peak (default 790 TFLOP/s, or --measure-peak), and
peak memory. Prints the device and the torch / transformers versions first. Sized to finish in a few minutes
of device time.

    python benchmarks/gpu_mfu.py [--pairs 8] [--seq 512] [--steps 10] [--measure-peak] \
        [--out results/benchmarks]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from core.cli import COUNT, MAX_LENGTH, OneLineErrorParser, run_command
from core.errors import InvalidInputError


def matmul_peak(n: int = 8192, reps: int = 20) -> float:
    a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(reps):
        a @ b
    torch.cuda.synchronize()
    return 2 * n**3 * reps / (time.perf_counter() - t0)


def parser() -> OneLineErrorParser:
    ap = OneLineErrorParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=COUNT, default=8)
    ap.add_argument("--seq", type=MAX_LENGTH, default=512)
    ap.add_argument("--steps", type=COUNT, default=10)
    ap.add_argument("--measure-peak", action="store_true")
    ap.add_argument("--out", type=Path, default=Path("results") / "benchmarks")
    return ap


def main():
    args = parser().parse_args()
    if not torch.cuda.is_available():
        raise InvalidInputError("needs a CUDA GPU (none is visible here); nothing was measured")
    import transformers

    from empirics.inputs.models import RewardModel

    print(
        f"device {torch.cuda.get_device_name(0)}; torch {torch.__version__}; transformers "
        f"{transformers.__version__}"
    )
    cfg = transformers.GPT2Config(n_embd=1280, n_layer=36, n_head=20, n_positions=1024)  # GPT-2 large shape
    torch.manual_seed(0)
    model = RewardModel(transformers.AutoModel.from_config(cfg), "decoder").cuda()
    n_params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.Adam(model.parameters(), lr=1e-5)
    ids = torch.randint(0, cfg.vocab_size, (2 * args.pairs, args.seq), device="cuda")
    mask = torch.ones_like(ids)
    y = torch.rand(args.pairs, device="cuda")

    def step():
        with torch.autocast("cuda", dtype=torch.bfloat16):
            z = model(ids, mask, pairs=True)
            loss = torch.nn.functional.binary_cross_entropy_with_logits(z.float(), y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    for _ in range(3):
        step()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        step()
    torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    tokens_per_s = 2 * args.pairs * args.seq * args.steps / seconds
    flops = 6 * n_params * tokens_per_s
    peak = matmul_peak() if args.measure_peak else 790e12
    result = {
        "device": torch.cuda.get_device_name(0),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "params": n_params,
        "pairs": args.pairs,
        "seq": args.seq,
        "steps": args.steps,
        "tokens_per_second": tokens_per_s,
        "mfu_vs_989": flops / 989e12,
        "mfu_vs_matmul_peak": flops / peak,
        "matmul_peak_flops": peak,
        "peak_memory_gib": torch.cuda.max_memory_allocated() / 2**30,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "gpu_mfu.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    sys.exit(run_command("gpu_mfu.py", main))
