"""Writing the run folders of a results folder: where each run lives, whether it is finished (it verifies,
:func:`empirics.readers.run_folder.check_run_folder`), and its files written atomically, metrics.json last.
Only the main process writes (several processes under accelerate launch / torchrun); the others wait at the
barrier."""

from __future__ import annotations

import shutil
from pathlib import Path

from core.errors import DataError, InvalidInputError
from core.io import atomic_write_text, read_jsonl_rows

from ..plans.spec import RunSpec
from ..processes import process_roles
from ..readers.run_folder import SPLITS, check_run_folder


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
