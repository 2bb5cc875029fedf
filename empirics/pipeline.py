"""One weak-to-strong experiment: weak teacher -> weak labels -> strong ceiling -> students, as run folders.

Every run writes ``<out>/<run name>/``: ``config.json`` (experiment, run, gamma, git commit, package versions,
hardware), ``predictions_test.jsonl`` and ``predictions_train_w2s.jsonl`` (id, label, weak_prob, prob, logit), and
last ``metrics.json``. A run is finished exactly when its metrics.json exists; every file is written atomically, so
a sweep killed at any moment and rerun loses no finished run and recomputes nothing finished (features and weak
labels are cached by content hash as well).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from theory.divergences import InvalidInputError

from . import heads as H
from .data import SPLITS, PreferencePair, content_hash, load_split
from .features import atomic_save_npz, pair_features
from .finetune import FinetuneConfig, finetune, predict_logits
from .losses import CONVEX_FIXED_OBJECTIVES, LOSSES, get_loss
from .metrics import pgr, run_metrics
from .models import cache_dir, load_backbone, spec

MODES = ("last_layer", "finetune")


@dataclass(frozen=True)
class Noise:
    """Label noise on the weak labels: flip a seeded fraction (p -> 1 - p), or shrink all towards 1/2 by alpha."""

    kind: str = "none"  # none | flip | shrink
    level: float = 0.0

    def __post_init__(self):
        if self.kind not in ("none", "flip", "shrink"):
            raise InvalidInputError(f"unknown noise kind {self.kind!r}; use none, flip:RHO or shrink:ALPHA")
        if self.kind == "flip" and not 0 <= self.level <= 1:
            raise InvalidInputError(f"flip fraction must lie in [0, 1], got {self.level}")
        if self.kind == "shrink" and not -1 <= self.level <= 1:
            raise InvalidInputError(f"shrink factor must lie in [-1, 1], got {self.level}")

    @classmethod
    def parse(cls, text: str) -> "Noise":
        if text == "none":
            return cls()
        kind, _, level = text.partition(":")
        try:
            value = float(level)
        except ValueError:
            raise InvalidInputError(f"bad noise {text!r}; use none, flip:RHO or shrink:ALPHA") from None
        return cls(kind, value)

    @property
    def tag(self) -> str:
        return "none" if self.kind == "none" else f"{self.kind}{self.level:g}"

    def apply(self, p: np.ndarray, seed: int) -> np.ndarray:
        p = np.asarray(p, np.float64).copy()
        if self.kind == "flip":
            rng = np.random.default_rng([seed, 7919])
            hit = rng.permutation(len(p))[: int(round(self.level * len(p)))]
            p[hit] = 1 - p[hit]
        elif self.kind == "shrink":
            p = 0.5 + self.level * (p - 0.5)
        return p


@dataclass(frozen=True)
class Experiment:
    """Settings shared by every run of a sweep."""

    dataset: str = "hh-rlhf-harmless"
    data_dir: str | None = None
    n_pairs: int | None = None  # per split; None = all
    mode: str = "last_layer"
    gamma: float = 1e-3
    max_length: int = 512
    data_seed: int = 0  # the seeded order swap of each pair
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)
    head_steps: int = 1500
    head_lr: float = 0.05
    head_l2: float = 0.1  # fixed a priori for every model and loss (not tuned on test)
    simplex_dim: int = 64
    feature_batch_size: int = 16

    def __post_init__(self):
        if self.mode not in MODES:
            raise InvalidInputError(f"unknown mode {self.mode!r}; choose one of {MODES}")
        if not 0 < self.gamma < 0.5:
            raise InvalidInputError(f"gamma = {self.gamma} is outside (0, 1/2)")


@dataclass(frozen=True)
class RunSpec:
    role: str  # weak | ceiling | student
    model: str
    seed: int = 0
    head: str = "logistic"  # last-layer head; "full" in fine-tuning mode
    loss: str = "forward_ce"
    weak_model: str | None = None
    noise: Noise = field(default_factory=Noise)

    @property
    def name(self) -> str:
        slug = lambda s: re.sub(r"[^A-Za-z0-9.]+", "-", s)  # noqa: E731
        parts = [self.role, slug(self.model), self.head]
        if self.role == "student":
            parts += [f"from-{slug(self.weak_model)}", self.loss, self.noise.tag]
        return "__".join(parts + [f"s{self.seed}"])


def atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def read_jsonl_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def environment() -> dict:
    import torch

    from theory.report import environment as base

    env = base()
    from importlib import metadata

    for pkg in ("transformers", "datasets", "accelerate", "tokenizers"):
        try:
            env["packages"][pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            env["packages"][pkg] = None
    env["hardware"] = {"machine": platform.machine(), "torch_threads": torch.get_num_threads(),
                       "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}
    return env


def simplex_design_file(results: Path, model: str) -> Path:
    """Where a results folder keeps G per split (P(first chosen) = 1/2 + G w) of `model`'s simplex head."""
    return Path(results) / "simplex_design" / f"{re.sub(r'[^A-Za-z0-9.]+', '-', model)}.npz"


def process_roles():
    """(is this the main process, a barrier). One process unless launched by accelerate launch / torchrun: then
    every process trains (DDP) and only the main one writes files, the others waiting for it."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return True, lambda: None
    import torch
    from accelerate import PartialState

    state = PartialState(cpu=not torch.cuda.is_available())  # the same flag as finetune's Accelerator
    return state.is_main_process, state.wait_for_everyone


class Pipeline:
    """Runs RunSpecs of one Experiment into an output folder, with in-memory and on-disk caches."""

    def __init__(self, exp: Experiment, out: str | Path, log=print):
        self.exp, self.out, self.log = exp, Path(out), log
        self._splits: dict[str, list[PreferencePair]] = {}
        self._std: dict[str, dict[str, np.ndarray]] = {}  # standardised features per model and split
        self._design: dict[str, dict[str, np.ndarray]] = {}
        self._feats: dict[str, dict] = {}

    # ------------------------------------------------------------------------------------------ data
    def split(self, name: str) -> list[PreferencePair]:
        if name not in self._splits:
            e = self.exp
            self._splits[name] = load_split(e.dataset, name, e.data_dir, e.n_pairs, e.data_seed)
        return self._splits[name]

    def labels(self, split: str) -> np.ndarray:
        return np.array([p.label for p in self.split(split)], dtype=np.float64)

    def features(self, model: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Frozen features of every split: extracted once (the backbone is loaded only if something is missing),
        cached on disk by content hash and kept in memory for the following runs."""
        if model not in self._feats:
            loaded = []

            def backbone():
                if not loaded:
                    loaded.append(load_backbone(model))
                return loaded[0]

            self._feats[model] = {s: pair_features(model, self.split(s), self.exp.max_length, s, backbone,
                                                   self.exp.feature_batch_size) for s in SPLITS}
        return self._feats[model]

    # ------------------------------------------------------------------------------------------ training
    def _fit_predict(self, model: str, head: str, train_split: str, labels: np.ndarray, loss: str, seed: int):
        """Train on `train_split` with soft labels; return ({split: logits}, extra metrics)."""
        e = self.exp
        if e.mode == "finetune":
            rm, tok, _ = finetune(model, self.split(train_split), labels, get_loss(loss, e.gamma), e.finetune, seed,
                                  desc=f"{model} {loss}")
            return {s: predict_logits(rm, tok, self.split(s), e.finetune.max_length, e.finetune.eval_batch_size)
                    for s in ("train_w2s", "test")}, {}
        if head == "logistic":
            u = self.standardized(model)
            v = H.train_logistic(u[train_split], labels, loss, e.gamma, e.head_steps, e.head_lr, e.head_l2, seed)
            return {s: u[s] @ v for s in ("train_w2s", "test")}, {}
        design = self.simplex_design(model)
        sol = H.fit_simplex_head(design[train_split], labels, loss, e.gamma)
        extra = {"simplex_certificate_gap": sol.gap, "simplex_certified": sol.certified,
                 "simplex_objective": sol.value, "simplex_w": sol.w.tolist()}
        return {s: H.logit(0.5 + design[s] @ sol.w) for s in ("train_w2s", "test")}, extra

    def standardized(self, model: str) -> dict[str, np.ndarray]:
        """u = (phi(first) - phi(second)) / sigma per split; sigma fit on unlabelled train_w2s features."""
        if model not in self._std:
            feats = self.features(model)
            std = H.Standardizer.fit(*feats["train_w2s"])
            self._std[model] = {s: std(*feats[s]) for s in SPLITS}
        return self._std[model]

    def simplex_design(self, model: str) -> dict[str, np.ndarray]:
        """The simplex head's class for `model`: G per split, P(first chosen) = 1/2 + G w. The fixed map h is fit
        on unlabelled train_w2s features; the design is saved once per model so audits can compute in the class."""
        if model not in self._design:
            u = self.standardized(model)
            h = H.SimplexMap.fit(u["train_w2s"], self.exp.simplex_dim, seed=self.exp.data_seed)
            self._design[model] = {s: h.design(u[s]) for s in SPLITS}
            path = self.simplex_design_path(model)
            if not path.is_file() and process_roles()[0]:
                atomic_save_npz(path, **self._design[model])
        return self._design[model]

    def simplex_design_path(self, model: str) -> Path:
        return simplex_design_file(self.out, model)

    # ------------------------------------------------------------------------------------------ runs
    def run_dir(self, spec_: RunSpec) -> Path:
        return self.out / spec_.name

    def finished(self, spec_: RunSpec) -> bool:
        return (self.run_dir(spec_) / "metrics.json").is_file()

    def metrics(self, spec_: RunSpec) -> dict:
        if not self.finished(spec_):
            self.run(spec_)
        return json.loads((self.run_dir(spec_) / "metrics.json").read_text())

    def predictions(self, spec_: RunSpec, split: str) -> list[dict]:
        if not self.finished(spec_):
            self.run(spec_)
        return read_jsonl_rows(self.run_dir(spec_) / f"predictions_{split}.jsonl")

    def weak_spec(self, s: RunSpec) -> RunSpec:
        return RunSpec("weak", s.weak_model, s.seed, "logistic" if self.exp.mode == "last_layer" else "full")

    def ceiling_spec(self, s: RunSpec) -> RunSpec:
        return RunSpec("ceiling", s.model, s.seed, s.head)

    def weak_labels_key(self, weak: RunSpec) -> str:
        e = self.exp
        blob = json.dumps([weak.model, weak.seed, weak.head, e.mode, e.max_length, e.head_steps, e.head_lr, e.head_l2,
                           asdict(e.finetune) if e.mode == "finetune" else None,
                           [content_hash(self.split(s)) for s in SPLITS]])
        return hashlib.sha256(blob.encode()).hexdigest()[:20]

    def run(self, s: RunSpec) -> dict:
        """Run one spec (and, first, whatever it depends on); returns its metrics."""
        if self.finished(s):
            return json.loads((self.run_dir(s) / "metrics.json").read_text())
        e = self.exp
        spec(s.model)
        if s.loss not in LOSSES:
            get_loss(s.loss)  # raises with the known names
        if e.mode == "last_layer" and s.head not in H.HEADS:
            raise InvalidInputError(f"unknown head {s.head!r}; choose one of {H.HEADS}")
        if s.head == "simplex" and s.loss not in CONVEX_FIXED_OBJECTIVES:
            raise InvalidInputError(f"the simplex head supports {CONVEX_FIXED_OBJECTIVES}, not {s.loss!r}")
        weak_prob = {}
        if s.role == "student":
            weak = self.weak_spec(s)
            for split in ("train_w2s", "test"):
                weak_prob[split] = np.array([r["prob"] for r in self.predictions(weak, split)])
            train_split, labels = "train_w2s", s.noise.apply(weak_prob["train_w2s"], s.seed)
        elif s.role in ("weak", "ceiling"):
            train_split, labels = "train_gt", self.labels("train_gt")
        else:
            raise InvalidInputError(f"unknown role {s.role!r}")
        self.log(f"run {s.name}")
        logits, extra = self._fit_predict(s.model, s.head, train_split, labels, s.loss, s.seed)
        d = self.run_dir(s)
        files = {d / "config.json": json.dumps({"experiment": asdict(e), "run": asdict(s), "name": s.name,
                                                "gamma": e.gamma, "environment": environment()}, indent=2)}
        metrics = {"run": s.name, "role": s.role, **extra}
        for split, z in logits.items():
            prob = 1 / (1 + np.exp(-z))
            wp = weak_prob.get(split)
            rows = [{"id": p.id, "label": p.label, "weak_prob": None if wp is None else float(wp[i]),
                     "prob": float(prob[i]), "logit": float(z[i])} for i, p in enumerate(self.split(split))]
            if split == train_split:  # the soft label actually trained on (after noise, before the gamma-floor)
                for r, t in zip(rows, labels):
                    r["target"] = float(t)
            files[d / f"predictions_{split}.jsonl"] = "".join(json.dumps(r) + "\n" for r in rows)
            metrics[split] = run_metrics(prob, self.labels(split), e.gamma, wp)
            if s.role == "weak" and split == "train_w2s":  # the weak-label artifact, keyed by what affects it
                metrics["weak_labels_artifact"] = key = self.weak_labels_key(s)
                files[cache_dir() / "weak_labels" / f"{key}.jsonl"] = "".join(
                    json.dumps({"id": r["id"], "label": r["label"], "weak_logit": r["logit"], "weak_prob": r["prob"]})
                    + "\n" for r in rows)
        if s.role == "student":
            weak_m, ceil_m = self.metrics(self.weak_spec(s)), self.metrics(self.ceiling_spec(s))
            metrics["test"].update(pgr(metrics["test"], weak_m["test"], ceil_m["test"]))
            metrics["weak_run"], metrics["ceiling_run"] = self.weak_spec(s).name, self.ceiling_spec(s).name
        files[d / "metrics.json"] = json.dumps(metrics, indent=2)  # last: a run is finished once this exists
        main, barrier = process_roles()
        if main:
            for path, text in files.items():
                atomic_write(path, text)
        barrier()
        return metrics


def student_specs(pairs, losses, heads, seeds, noises) -> list[RunSpec]:
    """The grid of students; the simplex head only takes the fixed convex objectives."""
    out = []
    for weak, strong in pairs:
        for head in heads:
            for loss in losses:
                if head == "simplex" and loss not in CONVEX_FIXED_OBJECTIVES:
                    continue
                for seed in seeds:
                    for noise in noises:
                        out.append(RunSpec("student", strong, seed, head, loss, weak, noise))
    return out


def with_dependencies(students: list[RunSpec], pipeline: Pipeline) -> list[RunSpec]:
    """Weak runs, then ceilings, then students: each once, in that order."""
    weak = list(dict.fromkeys(pipeline.weak_spec(s) for s in students))
    ceil = list(dict.fromkeys(pipeline.ceiling_spec(s) for s in students))
    return weak + ceil + students


__all__ = ["Experiment", "Noise", "Pipeline", "RunSpec", "student_specs", "with_dependencies"]
