"""The run folders of a results folder: where each run lives, when it is finished, reading and writing it.

A run is ``<out>/<run name>/`` with ``config.json``, ``predictions_test.jsonl``,
``predictions_train_w2s.jsonl`` and, written last, ``metrics.json``: a run is finished exactly when its
metrics.json exists. Only the main process writes (several processes under accelerate launch / torchrun); the
others wait at the barrier. No torch here unless several processes run."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from core.errors import DataError, InvalidInputError
from core.io import atomic_write_text, read_json, read_jsonl_rows

from .config import RunSpec, slug

SPLITS = ("train_w2s", "test")  # the splits a run predicts


@dataclass(frozen=True)
class RunRecord:
    """A finished run as the readers see it: its folder, typed spec, config.json and metrics.json."""

    dir: Path
    spec: RunSpec
    config: dict
    metrics: dict

    @property
    def name(self) -> str:
        return self.dir.name

    @property
    def test(self) -> dict:
        """The test split's metrics (accuracy, n, ...)."""
        return self.metrics["test"]

    def predictions_path(self, split: str) -> Path:
        return self.dir / f"predictions_{split}.jsonl"

    def predictions(self, split: str) -> list[dict]:
        return read_jsonl_rows(self.predictions_path(split))


def check_run_folder(folder: str | Path) -> RunRecord:
    """A finished run, verified: config.json and metrics.json parse, its run spec is one, and every
    predictions file its metrics speak of exists, parses and has the recorded number of rows. A damaged run is
    a DataError naming the file."""
    d = Path(folder)
    cfg, metrics = read_json(d / "config.json"), read_json(d / "metrics.json")
    if not isinstance(cfg, dict) or not isinstance(cfg.get("run"), dict):
        raise DataError(f"{d / 'config.json'}: damaged (no run spec)")
    if not isinstance(metrics, dict):
        raise DataError(f"{d / 'metrics.json'}: damaged (not an object)")
    try:
        spec = RunSpec.from_dict(cfg["run"], f"{d / 'config.json'}")
    except InvalidInputError as exc:
        raise DataError(f"{exc} (damaged)") from None
    for split in SPLITS:
        if isinstance(metrics.get(split), dict) and "n" in metrics[split]:
            path = d / f"predictions_{split}.jsonl"
            rows = read_jsonl_rows(path)
            if len(rows) != metrics[split]["n"]:
                raise DataError(f"{path}: damaged ({len(rows)} rows, the run recorded {metrics[split]['n']})")
    return RunRecord(d, spec, cfg, metrics)


def load_runs(results: str | Path) -> list[RunRecord]:
    """Every finished run of a results folder (one with metrics.json), in name order, each verified by
    :func:`check_run_folder`. A folder that is not there, or has no finished run, is a DataError."""
    results = Path(results)
    if not results.is_dir():
        raise DataError(f"results folder not found: {results}")
    runs = [check_run_folder(m.parent) for m in sorted(results.glob("*/metrics.json"))]
    if not runs:
        raise DataError(f"{results} holds no finished run")
    return runs


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


def simplex_design_file(results: str | Path, model: str) -> Path:
    """Where a results folder keeps G per split (P(first chosen) = 1/2 + G w) of `model`'s simplex head."""
    return Path(results) / "simplex_design" / f"{slug(model)}.npz"


class RunFolders:
    """The runs of one results folder. A run counts as finished only when it verifies: config, metrics and
    every predictions file exist, parse and have as many rows as the split (check_run_folder)."""

    def __init__(self, out: str | Path, split_sizes: dict[str, int] | None = None):
        self.out = Path(out)
        self.split_sizes = split_sizes or {}
        # runs verified finished in this process (their metrics): a student reads its teacher several times,
        # and each verification parses every predictions file; forgotten when this object writes or discards
        self._verified: dict[Path, dict] = {}

    def dir(self, spec: RunSpec) -> Path:
        d = self.out / spec.name
        if d.resolve().parent != self.out.resolve():  # names are slugs; this guards the invariant
            raise InvalidInputError(f"run name {spec.name!r} leaves the results folder {self.out}")
        return d

    def status(self, spec: RunSpec) -> str:
        """ "missing", "finished", or "damaged: <why>" (a metrics.json whose run does not verify)."""
        d = self.dir(spec)
        if d in self._verified:
            return "finished"
        if not (d / "metrics.json").is_file():
            return "missing"
        try:
            rec = check_run_folder(d)
        except DataError as exc:
            return f"damaged: {exc}"
        for split, n in self.split_sizes.items():
            if split in SPLITS and rec.metrics.get(split, {}).get("n") != n:
                recorded = rec.metrics.get(split, {}).get("n")
                return f"damaged: {d / 'metrics.json'} records {recorded} {split} rows, not {n}"
        self._verified[d] = rec.metrics
        return "finished"

    def finished(self, spec: RunSpec) -> bool:
        return self.status(spec) == "finished"

    def discard(self, spec: RunSpec) -> None:
        """Remove an unfinished or damaged run folder before it is redone (nothing of it is kept)."""
        self._verified.pop(self.dir(spec), None)
        shutil.rmtree(self.dir(spec), ignore_errors=True)

    def metrics(self, spec: RunSpec) -> dict:
        """metrics.json of a finished run (reading never trains: an unfinished run is an error)."""
        self._require(spec)
        return self._verified[self.dir(spec)]

    def predictions(self, spec: RunSpec, split: str) -> list[dict]:
        self._require(spec)
        return read_jsonl_rows(self.dir(spec) / f"predictions_{split}.jsonl")

    def _require(self, spec: RunSpec) -> None:
        status = self.status(spec)
        if status != "finished":
            raise RuntimeError(f"run {spec.name} is not finished in {self.out} ({status}); run it first")

    def write(self, files: dict[Path, str]) -> None:
        """Write a run's files atomically, metrics.json last (the dict's order), from the main process
        only. A failed write (full disk, no permission) is a StorageError naming the path (core.io)."""
        for path in files:
            self._verified.pop(path.parent, None)
        main, barrier = process_roles()
        if main:
            for path, text in files.items():
                atomic_write_text(path, text)
        barrier()
