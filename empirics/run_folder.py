"""The run folders of a results folder: where each run lives, when it is finished, reading and writing it.

A run is ``<out>/<run name>/`` with ``config.json``, ``predictions_test.jsonl``,
``predictions_train_w2s.jsonl`` and, written last, ``metrics.json``: a run is finished exactly when its
metrics.json exists. Only the main process writes (several processes under accelerate launch / torchrun); the
others wait at the barrier. No torch here unless several processes run."""

from __future__ import annotations

import json
import os
from pathlib import Path

from core.io import atomic_write_text, read_jsonl_rows

from .config import RunSpec, slug


def process_roles():
    """(is this the main process, a barrier). One process unless launched by accelerate launch / torchrun:
    then every process trains (DDP) and only the main one writes files, the others waiting for it."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return True, lambda: None
    import torch
    from accelerate import PartialState

    state = PartialState(cpu=not torch.cuda.is_available())  # the same flag as finetune's Accelerator
    return state.is_main_process, state.wait_for_everyone


def simplex_design_file(results: str | Path, model: str) -> Path:
    """Where a results folder keeps G per split (P(first chosen) = 1/2 + G w) of `model`'s simplex head."""
    return Path(results) / "simplex_design" / f"{slug(model)}.npz"


class RunFolders:
    """The runs of one results folder."""

    def __init__(self, out: str | Path):
        self.out = Path(out)

    def dir(self, spec: RunSpec) -> Path:
        return self.out / spec.name

    def finished(self, spec: RunSpec) -> bool:
        return (self.dir(spec) / "metrics.json").is_file()

    def metrics(self, spec: RunSpec) -> dict:
        """metrics.json of a finished run (reading never trains: an unfinished run is an error)."""
        self._require(spec)
        return json.loads((self.dir(spec) / "metrics.json").read_text())

    def predictions(self, spec: RunSpec, split: str) -> list[dict]:
        self._require(spec)
        return read_jsonl_rows(self.dir(spec) / f"predictions_{split}.jsonl")

    def _require(self, spec: RunSpec) -> None:
        if not self.finished(spec):
            raise RuntimeError(f"run {spec.name} is not finished in {self.out}; run its dependencies first")

    @staticmethod
    def write(files: dict[Path, str]) -> None:
        """Write a run's files atomically, metrics.json last (the dict's order), from the main process
        only."""
        main, barrier = process_roles()
        if main:
            for path, text in files.items():
                atomic_write_text(path, text)
        barrier()
