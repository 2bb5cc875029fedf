"""One run folder of a results folder, read and checked: :class:`RunRecord`, :func:`check_run_folder`,
:func:`load_runs`. (Writing them: :mod:`empirics.runs.run_folders`.)

A run is ``<out>/<run name>/`` with ``config.json``, ``predictions_test.jsonl``,
``predictions_train_w2s.jsonl`` and, written last, ``metrics.json``: a run is finished exactly when its
metrics.json exists and verifies. No torch here."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.errors import DataError, InvalidInputError
from core.io import read_json, read_jsonl_rows

from ..plans.spec import RunSpec, slug

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


def simplex_design_file(results: str | Path, model: str) -> Path:
    """Where a results folder keeps G per split (P(first chosen) = 1/2 + G w) of `model`'s simplex head."""
    return Path(results) / "simplex_design" / f"{slug(model)}.npz"
