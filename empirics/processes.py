"""Which process writes, and leaving a multi-process launch together. One process unless launched by
accelerate launch / torchrun; torch is imported only when several processes run."""

from __future__ import annotations

import os


def process_roles():
    """(is this the main process, a barrier). One process unless launched by accelerate launch / torchrun:
    then every process trains (DDP) and only the main one writes files, the others waiting for it."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return True, lambda: None
    import torch
    from accelerate import PartialState

    state = PartialState(cpu=not torch.cuda.is_available())  # the same flag as finetune's Accelerator
    return state.is_main_process, state.wait_for_everyone


def end_processes() -> None:
    """Leave a multi-process launch together: every process waits for the others, then the process group is
    destroyed, before any process exits. A process that exits while a peer still works, or with its group
    alive, tears gloo's worker threads down under it (std::terminate, "terminate called without an active
    exception"). Nothing to do in one process."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def pid_alive(pid: int) -> bool:
    """Whether process `pid` runs on this machine (another user's counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process
        return True
    return True
