"""One run of a weak-to-strong experiment, whose dependencies are finished: train it, predict, write its
folder.

The weak model and the ceiling train on ground truth (train_gt); a student trains on the weak model's saved
predictions for train_w2s (after noise). Every run writes its folder (see :mod:`empirics.readers.run_folder`);
features and weak labels are cached by content hash as well. Config types live in :mod:`empirics.plans`, the
grid in :mod:`empirics.plans.grid`, the loop over a grid in :mod:`empirics.runs.sweep`."""

from __future__ import annotations

import json
import os
import platform
import re
from dataclasses import asdict
from functools import cache
from pathlib import Path

import numpy as np

from core.errors import DataError, InvalidInputError
from core.io import BASE_PACKAGES, environment, jsonl_text
from core.numerics import logit, sigmoid

from ..inputs.baselines import RULES, rule_probabilities
from ..inputs.data import data_source
from ..inputs.partition import mark_training_rows, run_partition
from ..inputs.precision import forced_native_bf16, precision_provenance, resolve_bf16
from ..inputs.streams import RunStreams
from ..logs import get_logger
from ..plans.experiment import Experiment
from ..plans.grid import ceiling_spec, dependencies, weak_spec
from ..plans.spec import RunSpec
from ..readers.metrics import pgr, run_metrics
from ..registries.heads import HEAD_REGISTRY, HEADS
from ..registries.losses import LOSSES
from ..registries.models import spec
from ..training.checkpoints import RunCheckpoints, clear_run_checkpoints, run_checkpoint_folder
from ..training.losses import get_loss
from ..training.run_inputs import RunInputs, StageTimer
from ..training.tracking import RunTracking, check_trackers
from ..training.trainers import Trainer
from .run_folders import RunFolders

log = get_logger(__name__)

# recorded in every run's config.json beside core's base packages: the libraries a run's numbers depend on
EMPIRICS_PACKAGES = ("transformers", "datasets", "accelerate", "tokenizers")
NUMERICS_ENV = (
    "ATEN_CPU_CAPABILITY",
    "MKL_ENABLE_INSTRUCTIONS",
    "MKL_CBWR",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "OPENBLAS_CORETYPE",
    "W2S_NATIVE_BF16",
)


class TrainingDiverged(RuntimeError):
    """A run produced a non-finite loss, prediction or metric: it fails instead of reporting numbers."""


def check_finite(metrics: dict, run: str, path: str = "") -> None:
    """Every number in a run's metrics is finite (never NaN or inf in metrics.json)."""
    for key, value in metrics.items():
        where = f"{path}.{key}" if path else key
        if isinstance(value, dict):
            check_finite(value, run, where)
        elif isinstance(value, float) and not np.isfinite(value):
            raise TrainingDiverged(f"run {run}: metric {where} is {value}")


def run_environment() -> dict:
    """Provenance of a run: commit, versions, and the hardware it trained on -- with what can move its numbers
    in the last bits (measured on tiny models in fp32, tests/empirics/test_machine.py: logits move by up to
    ~3e-5 between PyTorch's thread counts in fine-tuning and between CPU instruction sets in both modes; the
    thread count changes nothing in last-layer mode) and what decides its precision (--bf16 auto)."""
    import torch

    env = environment(BASE_PACKAGES + EMPIRICS_PACKAGES)
    env["hardware"] = {
        "machine": platform.machine(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        **precision_provenance(),
        "blas": dict(blas_libraries()),
        # variables that choose kernels or threads, where set (each can move fp32 results in the last bits)
        "numerics_env": {k: os.environ[k] for k in NUMERICS_ENV if k in os.environ},
    }
    return env


@cache
def blas_libraries() -> dict:
    """The BLAS behind torch (its build) and behind numpy / scipy (the heads, the audit); read once."""
    import torch

    torch_blas = re.findall(r"BLAS_INFO=(\w+)", torch.__config__.show())
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        numpy_blas = f"{blas.get('name')} {blas.get('version')}".strip()
    except (KeyError, TypeError, AttributeError):  # numpy < 1.26 prints its config only
        numpy_blas = None
    return {"torch": torch_blas[0] if torch_blas else None, "numpy": numpy_blas}


class Pipeline:
    """Runs RunSpecs of one Experiment into an output folder: reads its inputs once (:class:`RunInputs`),
    trains each run (:class:`Trainer`) and writes its folder (:class:`RunFolders`)."""

    def __init__(self, exp: Experiment, out: str | Path, checkpoint_every: int | None = None, log_with=()):
        self.exp, self.out = exp, Path(out)
        # operational, changing no number: checkpoints every so many steps, trackers (fine-tuning runs)
        self.checkpoint_every, self.log_with = checkpoint_every, check_trackers(log_with)
        forced_native_bf16()  # a malformed $W2S_NATIVE_BF16 is refused before any work, whatever --bf16 says
        self.bf16 = resolve_bf16(exp.setup.bf16)  # the precision every stage runs in, recorded with each run
        self.folders = RunFolders(out)
        self.timer = StageTimer()
        self.inputs = RunInputs(exp, self.out, self.bf16, self.timer)
        self.trainer = Trainer(exp, self.inputs)
        self.timing = self.timer.timing  # seconds per stage in this process (the sweep saves them)
        self.timed = self.timer.timed

    def check(self, s: RunSpec) -> None:
        """Names and combinations a run needs, before any work."""
        if s.role == "baseline":
            if s.model not in RULES:
                raise InvalidInputError(f"unknown baseline rule {s.model!r}; rules: {', '.join(RULES)}")
            return
        spec(s.model)  # an unknown model raises, naming the known ones
        if s.loss not in LOSSES:
            get_loss(s.loss)  # raises with the known names
        if self.exp.mode == "last_layer" and s.head not in HEADS:
            raise InvalidInputError(f"unknown head {s.head!r}; choose one of {HEADS}")
        if s.head in HEAD_REGISTRY and not HEAD_REGISTRY[s.head].fits(s.loss):
            raise InvalidInputError(
                f"the {s.head} head supports {HEAD_REGISTRY[s.head].losses}, not {s.loss!r}"
            )
        if s.role not in ("weak", "ceiling", "student", "baseline"):
            raise InvalidInputError(f"unknown role {s.role!r}")

    def prepare(self) -> None:
        """Read and check every split (empty, duplicate ids, pairs shared between splits), once; run folders
        then verify their row counts against the splits."""
        if not self.folders.split_sizes:
            from .validate import load_checked_splits

            splits = load_checked_splits(self)
            self.folders.split_sizes = {name: len(pairs) for name, pairs in splits.items()}

    def teacher_predictions(self, s: RunSpec) -> dict[str, np.ndarray]:
        """The weak model's saved P(first chosen) for a student's splits, checked to be for exactly its pairs:
        the same data (content hashes) and the same ids in the same order."""
        weak = weak_spec(s, self.exp.mode, self.exp.finetune.teacher_head)
        recorded = self.folders.metrics(weak).get("data")
        if recorded != self.inputs.data_hashes():
            raise DataError(
                f"run {weak.name} was made on other data than this sweep's; rerun it into a new --out"
            )
        out = {}
        for split in ("train_w2s", "test"):
            rows = self.folders.predictions(weak, split)
            if [r["id"] for r in rows] != [p.id for p in self.inputs.split(split)]:
                raise DataError(
                    f"{self.folders.dir(weak)}/predictions_{split}.jsonl: ids differ from the {split} pairs"
                )
            out[split] = np.array([r["prob"] for r in rows], dtype=np.float64)
        return out

    def run_record(self, s: RunSpec) -> dict:
        """What made a run's numbers, as its config.json records it (the environment aside)."""
        e = self.exp
        return {
            "experiment": asdict(e),
            "run": asdict(s),
            "name": s.name,
            "gamma": e.gamma,
            "precision": "bf16 autocast" if self.bf16 else "fp32",
            "data": {
                **data_source(e.data.dataset, e.data.data_dir),
                "content_hash": self.inputs.data_hashes(),
            },
        }

    def run(self, s: RunSpec) -> dict:
        """Run one spec whose dependencies are finished; returns its metrics (a finished run is read back)."""
        self.prepare()
        folders = self.folders
        if folders.finished(s):
            return folders.metrics(s)
        e = self.exp
        self.check(s)
        missing = [
            d.name for d in dependencies(s, e.mode, e.finetune.teacher_head) if not folders.finished(d)
        ]
        if missing:
            raise RuntimeError(f"run {s.name} needs finished runs first: {', '.join(missing)}")
        weak_prob = {}
        if s.role == "student":
            weak_prob = self.teacher_predictions(s)
            noise_rng = RunStreams(s.seed).numpy("label_noise")
            train_split, labels = "train_w2s", s.noise.apply(weak_prob["train_w2s"], noise_rng)
        else:
            train_split, labels = "train_gt", self.inputs.labels("train_gt")
        log.info("run %s", s.name)
        folders.discard(s)  # a half-written or damaged folder of this run: nothing of it is kept
        checkpoints = None
        if self.checkpoint_every:
            checkpoints = RunCheckpoints(run_checkpoint_folder(self.out, s.name), self.checkpoint_every)
        tracking = None
        if self.log_with and s.head == "full" and s.role != "baseline":
            tracking = RunTracking(self.log_with, self.out / "tracking", s.name)
        logits, extra = self._train(s, train_split, labels, checkpoints, tracking)
        metrics = self._write(s, logits, extra, weak_prob, train_split, labels)
        clear_run_checkpoints(self.out, s.name)  # nothing left to resume, also of an earlier sweep
        return metrics

    def _train(self, s: RunSpec, train_split, labels, checkpoints=None, tracking=None) -> tuple[dict, dict]:
        """({split: logits}, what the run records); a non-finite loss or prediction fails the run."""
        try:
            if s.role == "baseline":  # a rule: no model, no training
                logits = {
                    sp: logit(rule_probabilities(s.model, self.inputs.split(sp), self.exp.gamma))
                    for sp in ("train_w2s", "test")
                }
                extra = {"rule": s.model}
            else:
                with self.timed("heads" if s.head != "full" else "fine-tuning"):
                    logits, extra = self.trainer.fit_predict(
                        s.model, s.head, train_split, labels, s.loss, s.seed, checkpoints, tracking
                    )
        except FloatingPointError as exc:
            raise TrainingDiverged(f"run {s.name}: {exc}") from None
        for split, z in logits.items():
            if not np.all(np.isfinite(z)):
                raise TrainingDiverged(
                    f"run {s.name}: {int(np.sum(~np.isfinite(z)))} non-finite {split} predictions"
                )
        return logits, extra

    def _write(self, s, logits: dict, extra: dict, weak_prob: dict, train_split: str, labels) -> dict:
        """The run's folder: config.json, train_log.json (fine-tuning), predictions per split, and
        metrics.json last (a run is finished once it exists)."""
        e, folders = self.exp, self.folders
        d = folders.dir(s)
        record = {**self.run_record(s), "environment": run_environment()}
        files = {d / "config.json": json.dumps(record, indent=2)}
        steps, loop = extra.pop("train_log", None), extra.pop("loop", None)
        if steps is not None:  # fine-tuning: the loop's settings and its per-step log
            files[d / "train_log.json"] = json.dumps({"loop": loop, "steps": steps}, indent=1)
        metrics = {"run": s.name, "role": s.role, **extra, "data": self.inputs.data_hashes()}
        for split, z in logits.items():
            prob = sigmoid(z)
            wp = weak_prob.get(split)
            rows = [
                {
                    "id": p.id,
                    "label": p.label,
                    "weak_prob": None if wp is None else float(wp[i]),
                    "prob": float(prob[i]),
                    "logit": float(z[i]),
                }
                for i, p in enumerate(self.inputs.split(split))
            ]
            if split == train_split:
                mark_training_rows(
                    rows, labels, run_partition(s.model, RunStreams(s.seed), len(labels), e.data.heldout_frac)
                )
            files[d / f"predictions_{split}.jsonl"] = jsonl_text(rows)
            metrics[split] = run_metrics(prob, self.inputs.labels(split), e.gamma, wp)
        if s.role == "student":
            weak = weak_spec(s, e.mode, e.finetune.teacher_head)
            weak_m, ceil_m = folders.metrics(weak), folders.metrics(ceiling_spec(s))
            metrics["test"].update(pgr(metrics["test"], weak_m["test"], ceil_m["test"]))
            metrics["weak_run"], metrics["ceiling_run"] = weak.name, ceiling_spec(s).name
        check_finite(metrics, s.name)
        files[d / "metrics.json"] = json.dumps(metrics, indent=2)  # last: a run is finished once this exists
        with self.timed("writing"):
            folders.write(files)
        return metrics
