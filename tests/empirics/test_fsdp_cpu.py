"""Sharded training at tiny scale on CPU: the suite's reward model and loss under PyTorch FSDP (fully_shard on
every transformer block and the root, two processes on gloo) train to the same weights as one process on the
whole batch. Accelerate runs several CPU processes as DDP whatever its FSDP setting, so its FSDP path
itself (``accelerate launch`` with an FSDP config, GPUs) is not run here; this is the closest check on CPU:
the model, its pooling, the pairwise forward pass and the loss are shardable and give the unsharded
numbers."""

import os
import subprocess
import sys

import pytest
import torch

WORKER = r"""
import sys
import numpy as np
import torch
import torch.distributed as dist
from torch.distributed.fsdp import fully_shard

from empirics.inputs.frozen import blocks
from empirics.training.losses import get_loss
from empirics.inputs.models import RewardModel, batch_pair_logits, load_backbone
from empirics.processes import end_processes

mode, model_name, out = sys.argv[1:4]
backbone, tok, s = load_backbone(model_name)
model = RewardModel(backbone, s.kind)
rng = np.random.default_rng(0)
words = ["the", "cat", "sat", "on", "a", "mat", "and", "then", "slept", "well"]
firsts = [" ".join(rng.choice(words, 3 + i % 5)) for i in range(8)]
seconds = [" ".join(rng.choice(words, 2 + i % 4)) for i in range(8)]
y = torch.tensor(rng.uniform(0.1, 0.9, 8), dtype=torch.float32)
rows, rank = list(range(8)), 0
if mode == "fsdp":
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    owner, attr = blocks(backbone)
    for block in getattr(owner, attr):
        fully_shard(block)
    fully_shard(model)
    rows = rows[rank::world]  # each process a shard of every batch; gradients averaged over processes
def full_state():  # the whole weights (a sharded DTensor gathered)
    full = lambda v: v.full_tensor() if hasattr(v, "full_tensor") else v
    return {k: full(v).detach().clone() for k, v in model.state_dict().items()}

initial = full_state()
opt = torch.optim.SGD(model.parameters(), lr=0.5)  # linear in the gradient (Adam would blow up rounding noise
# in gradients that vanish analytically, such as the key bias)
loss = get_loss("reverse_kl", 1e-3)
for step in range(3):
    z = batch_pair_logits(model, tok, [firsts[i] for i in rows], [seconds[i] for i in rows], 48, None)
    value = loss(z, y[rows], step / 3, None)
    value.backward()
    opt.step()
    opt.zero_grad()
trained = full_state()  # a collective under FSDP: every process gathers
if rank == 0:
    torch.save({"initial": initial, "trained": trained}, out)
if mode == "fsdp":  # every process leaves together (empirics.processes.end_processes)
    end_processes()
"""


@pytest.mark.parametrize("model", ["tiny-qwen2", "tiny-bert"])
def test_fsdp_on_two_cpu_processes_trains_to_the_single_process_weights(model, tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    single, sharded = tmp_path / "single.pt", tmp_path / "fsdp.pt"
    one = [sys.executable, str(script), "single", model, str(single)]
    two = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", str(script), "fsdp", model]
    for cmd in (one, [*two, str(sharded)]):
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
    a, b = torch.load(single), torch.load(sharded)
    for k, start in a["initial"].items():  # both processes start from the same weights
        torch.testing.assert_close(b["initial"][k], start, rtol=0, atol=0, msg=k)
    assert a["trained"].keys() == b["trained"].keys()
    for k, w in a["trained"].items():
        torch.testing.assert_close(b["trained"][k], w, rtol=1e-5, atol=1e-6, msg=k)  # seen: 3e-7
    # the comparison is of trained weights: three steps move most of them
    moved = [k for k, w in a["trained"].items() if (w - a["initial"][k]).abs().max() > 1e-3]
    assert len(moved) > len(a["trained"]) // 3
