"""Resume inside a fine-tuning run: every N optimiser steps (``sweep --checkpoint-every N``) the
training state is saved with Accelerate (``save_state``: model, optimiser, learning-rate schedule and every
process's RNG states); a rerun of the same command continues from the latest checkpoint to the same final
numbers as an uninterrupted run. The data order needs no saving: a run's batches are a function of its seed
(its ``batch_order`` stream, empirics.inputs.streams).

Layout: ``<results>/.checkpoints/<run>/step-<k>/`` holds Accelerate's files and ``checkpoint.json`` (the
step, the per-step log so far, a fingerprint of what the run trains on and with, and the sha256 of every
file), written last, atomically: a folder without it is a save that was interrupted and is ignored. A
checkpoint whose fingerprint differs (other settings, data or process count) or whose files fail their
checksums is left out with a warning and the run starts over: a checkpoint is never mixed into a run it was
not made by. A run's checkpoints are removed once its folder is written. Checkpointing is an operational
option like ``--out``: it changes no number and is recorded nowhere in the run's config."""

from __future__ import annotations

import hashlib
import json
import random
import re
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.io import atomic_write_text, hash_file

from ..logs import get_logger
from ..processes import process_roles

log = get_logger(__name__)

CHECKPOINT_FOLDER = ".checkpoints"
META = "checkpoint.json"
_STEP = re.compile(r"step-(\d+)$")


def run_checkpoint_folder(results: str | Path, run_name: str) -> Path:
    return Path(results) / CHECKPOINT_FOLDER / run_name


def fingerprint(**what) -> str:
    """sha256 of everything a run's training depends on (JSON-serialisable values)."""
    return hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()


def _sha256(path: Path) -> str:
    return hash_file(hashlib.sha256(), path).hexdigest()


@dataclass(frozen=True)
class RunCheckpoints:
    """The checkpoints of one run: saved every `every` optimiser steps and after the last one."""

    folder: Path
    every: int

    def due(self, step: int, total: int) -> bool:
        return step % self.every == 0 or step == total

    def _complete(self) -> list[tuple[int, Path]]:
        """(step, folder) of the saves that finished (their checkpoint.json exists), latest first."""
        found = []
        for d in self.folder.glob("step-*"):
            m = _STEP.match(d.name)
            if m and (d / META).is_file():
                found.append((int(m.group(1)), d))
        return sorted(found, reverse=True)

    def save(self, acc, step: int, train_log: list[dict], print_: str) -> None:
        """Save the state after `step` (every process calls this), then drop the older checkpoints."""
        main, barrier = process_roles()
        d = self.folder / f"step-{step:09d}"
        if main and d.exists():
            shutil.rmtree(d)
        barrier()
        acc.save_state(str(d))
        barrier()
        if main:
            files = {p.name: _sha256(p) for p in sorted(d.iterdir()) if p.is_file()}
            meta = {"step": step, "fingerprint": print_, "train_log": train_log, "sha256": files}
            atomic_write_text(d / META, json.dumps(meta))
            for old in self.folder.glob("step-*"):
                if old != d:
                    shutil.rmtree(old, ignore_errors=True)
        barrier()

    def restore(self, acc, print_: str) -> tuple[int, list[dict]]:
        """(steps done, the per-step log so far) after loading the latest checkpoint of this run into the
        prepared objects; (0, []) when there is none, or it is foreign or damaged (with a warning)."""
        complete = self._complete()
        if not complete:
            return 0, []
        step, d = complete[0]
        why = self._unusable(d, print_)
        if why:
            warnings.warn(f"{d}: {why}; the run starts over from step 0", stacklevel=2)
            return 0, []
        keep = random.getstate(), np.random.get_state()
        acc.load_state(str(d))  # torch's states: inside the run's dropout fork (empirics.inputs.streams)
        random.setstate(keep[0])  # Accelerate also sets Python's and numpy's global generators: put back
        np.random.set_state(keep[1])
        log.info("resuming %s from step %d", self.folder.name, step)
        meta = json.loads((d / META).read_text())
        return step, meta["train_log"]

    @staticmethod
    def _unusable(d: Path, print_: str) -> str | None:
        try:
            meta = json.loads((d / META).read_text())
            if meta.get("fingerprint") != print_:
                return "a checkpoint of other settings, data or process count"
            for name, digest in meta["sha256"].items():
                if not (d / name).is_file() or _sha256(d / name) != digest:
                    return f"{name} is missing or damaged (checksum)"
            if not isinstance(meta["train_log"], list) or not isinstance(meta["step"], int):
                return "checkpoint.json is damaged"
        except (OSError, ValueError, KeyError, TypeError) as exc:
            return f"checkpoint.json is unreadable ({type(exc).__name__})"
        return None


def clear_run_checkpoints(results: str | Path, run_name: str) -> None:
    """Remove a run's checkpoints once its folder is written (whether or not this sweep checkpoints), and
    the checkpoint folder once empty."""
    folder = run_checkpoint_folder(results, run_name)
    if process_roles()[0] and folder.exists():
        shutil.rmtree(folder, ignore_errors=True)
        if not any(folder.parent.iterdir()):
            folder.parent.rmdir()
