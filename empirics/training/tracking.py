"""Experiment trackers for fine-tuning runs, by option (``sweep --log-with tensorboard``; W&B, MLflow and the
rest of Accelerate's trackers alike), none by default. Each fine-tuning run (full or top-block) is one tracker
run named after its folder, written under ``<results>/tracking/``; every optimiser step logs the record that
train_log.json keeps (loss, learning rate, gradient norm before clipping, pairs per second). Operational like
``--out``: recorded nowhere in the sweep and changes no number. A tracker that is not installed is refused in
one line before any work."""

from __future__ import annotations

from pathlib import Path

from core.errors import ConfigError

# the tracker's name -> the package it needs (Accelerate's names)
PACKAGES = {
    "tensorboard": "tensorboard",
    "wandb": "wandb",
    "mlflow": "mlflow",
    "comet_ml": "comet_ml",
    "aim": "aim",
    "clearml": "clearml",
    "dvclive": "dvclive",
    "swanlab": "swanlab",
    "trackio": "trackio",
}


def installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def check_trackers(names) -> list:
    """The trackers asked for, checked: a known name whose package is installed, or a tracker object
    (accelerate.tracking.GeneralTracker, from the Python API)."""
    out = []
    for t in names or ():
        if not isinstance(t, str):
            out.append(t)
            continue
        if t not in PACKAGES:
            raise ConfigError(f"--log-with {t}: unknown tracker; choose from {', '.join(PACKAGES)}")
        if t == "tensorboard":  # Accelerate's TensorBoard tracker takes either package
            found = installed("tensorboard") or installed("tensorboardX")
        else:
            found = installed(PACKAGES[t])
        if not found:
            raise ConfigError(f"--log-with {t}: {PACKAGES[t]} is not installed (pip install {PACKAGES[t]})")
        out.append(t)
    return out


class RunTracking:
    """One run's tracker run: ``log`` each step's record, ``finish`` at the end (main process only, as
    Accelerate does)."""

    def __init__(self, trackers: list, folder: str | Path, run_name: str):
        from .finetune import accelerator

        self.acc = accelerator(log_with=list(trackers), project_dir=str(folder))
        self.acc.init_trackers(run_name)

    def log(self, row: dict) -> None:
        values = {k: v for k, v in row.items() if k != "step" and v is not None}
        self.acc.log(values, step=row["step"])

    def finish(self) -> None:
        self.acc.end_training()
